/*
 * populate - fill an autoban store for the benchmarks:
 *   populate CONF HOSTS [BANS]
 * HOSTS counted units (one failure each, now), named as pamdrive names its
 * IPv6 hosts (host i: 2001:db8:<i>>16>:<i&0xffff>::/64), and BANS active
 * bans of other units (2001:db8:8000+<i>>16>:<i&0xffff>::/64), in one
 * transaction each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoban.h"

static int64_t now_ns;

static int
one_fail(struct ab_counter *rec, int found, void *arg)
{
	(void)found;
	(void)arg;
	rec->nfail = 1;
	rec->fail[0] = now_ns;
	return AB_WRITE;
}

static void
log_stderr(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	(void)prio;
	fprintf(stderr, "populate: %s\n", msg);
}

static void
unit(long i, int bans, struct ab_addr *a)
{
	char s[64];

	snprintf(s, sizeof(s), "2001:db8:%lx:%lx::/64",
	    (bans ? 0x8000 : 0) + ((i >> 16) & 0x7fff), i & 0xffff);
	if (addr_parse_prefix(s, 0, a) != 0) {
		fprintf(stderr, "populate: bad %s\n", s);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct ab_log log = { log_stderr, NULL };
	struct ab_config cfg;
	struct ab_store *st;
	struct ab_addr *v;
	long hosts, bans, i;
	int *res, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: populate CONF HOSTS [BANS]\n");
		return 2;
	}
	hosts = atol(argv[2]);
	bans = argc > 3 ? atol(argv[3]) : 0;
	config_defaults(&cfg);
	if (config_load(&cfg, argv[1], 1, &log) != 0)
		return 1;
	if (store_open(&st, &cfg, &log) != 0)
		return 1;
	now_ns = (int64_t)time(NULL) * 1000000000LL;
	v = calloc((size_t)(hosts > bans ? hosts : bans) + 1, sizeof(*v));
	res = calloc((size_t)bans + 1, sizeof(*res));
	if (v == NULL || res == NULL)
		return 1;
	for (i = 0; i < hosts; i++)
		unit(i, 0, &v[i]);
	if (hosts > 0 && (rc = store_count_update_many(st, v, (size_t)hosts,
	    one_fail, NULL)) != 0) {
		fprintf(stderr, "populate: counts: %s\n", ab_strerror(rc));
		return 1;
	}
	for (i = 0; i < bans; i++)
		unit(i, 1, &v[i]);
	if (bans > 0 && (rc = policy_ban_manual_many(st, v, (size_t)bans,
	    cfg.bantime, 1, (int64_t)time(NULL), res, NULL)) != 0) {
		fprintf(stderr, "populate: bans: %s\n", ab_strerror(rc));
		return 1;
	}
	store_close(st);
	printf("populated %ld counted hosts and %ld bans\n", hosts, bans);
	return 0;
}
