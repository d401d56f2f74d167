/*
 * cmd_list.c - banhelper list: the active bans, and with --all the hosts
 * being counted.  Reads the store only; any user who may read it may list.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh.h"

struct listing {
	struct ab_ban *bans;
	size_t nbans, capb;
	struct ab_counter *cnt;
	size_t ncnt, capc;
	const struct ab_config *cfg;
	int64_t now;
	int all, oom;
};

static int
list_ban_cb(const struct ab_ban *rec, void *arg)
{
	struct listing *l = arg;

	if (policy_ban_end(l->cfg, rec, l->now) == 0 && !l->all)
		return 0;
	if (l->nbans == l->capb) {
		size_t cap = l->capb ? l->capb * 2 : 64;
		struct ab_ban *nv = realloc(l->bans, cap * sizeof(*nv));

		if (nv == NULL) {
			l->oom = 1;
			return 1;
		}
		l->bans = nv;
		l->capb = cap;
	}
	l->bans[l->nbans++] = *rec;
	return 0;
}

static int
list_cnt_cb(const struct ab_counter *rec, void *arg)
{
	struct listing *l = arg;

	if (l->ncnt == l->capc) {
		size_t cap = l->capc ? l->capc * 2 : 64;
		struct ab_counter *nv = realloc(l->cnt, cap * sizeof(*nv));

		if (nv == NULL) {
			l->oom = 1;
			return 1;
		}
		l->cnt = nv;
		l->capc = cap;
	}
	l->cnt[l->ncnt++] = *rec;
	return 0;
}

/* Address order: family, address, then shorter prefixes first. */
static int
cmp_ban_prefix(const void *a, const void *b)
{
	const struct ab_ban *x = a, *y = b;
	int c;

	if (x->prefix.family != y->prefix.family)
		return x->prefix.family - y->prefix.family;
	if ((c = memcmp(x->prefix.a, y->prefix.a, 16)) != 0)
		return c;
	return x->prefix.plen - y->prefix.plen;
}

/* The unit's durable record, if any: failures before its ban are paid. */
static int64_t
since_ns(const struct listing *l, const struct ab_addr *unit)
{
	struct ab_ban key, *hit;

	memset(&key, 0, sizeof(key));
	key.prefix = *unit;
	hit = bsearch(&key, l->bans, l->nbans, sizeof(key), cmp_ban_prefix);
	return hit != NULL && hit->start > 0 ? hit->start * 1000000000LL +
	    999999999LL : 0;
}

int
cmd_list(struct bh *bh, int argc, char **argv)
{
	struct ab_store *st = NULL;
	struct listing l;
	json_t *jb = NULL, *jc = NULL;
	size_t i, shown = 0;
	int rc;

	(void)argc;
	(void)argv;
	memset(&l, 0, sizeof(l));
	l.cfg = &bh->cfg;
	l.now = (int64_t)time(NULL);
	l.all = 1;	/* all records; active ones are picked below */
	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	rc = store_ban_foreach(st, list_ban_cb, &l);
	if (rc >= 0 && bh->all)
		rc = store_count_foreach(st, list_cnt_cb, &l);
	store_close(st);
	if (rc < 0 || l.oom) {
		bh_err("cannot read the store: %s", l.oom ?
		    "out of memory" : ab_strerror(rc));
		rc = BH_ERR;
		goto out;
	}
	qsort(l.bans, l.nbans, sizeof(*l.bans), cmp_ban_prefix);
	if (bh->json) {
		json_t *root = json_object();

		jb = json_array();
		for (i = 0; i < l.nbans; i++) {
			const struct ab_ban *b = &l.bans[i];
			int64_t end = policy_ban_end(&bh->cfg, b, l.now);
			char a[AB_ADDRSTRLEN];

			if (end == 0)
				continue;
			json_array_append_new(jb, json_pack("{s:s, s:s, s:s, "
			    "s:i, s:I, s:I, s:I, s:i, s:s}", "prefix",
			    addr_format(&b->prefix, a, sizeof(a)), "origin",
			    ab_origin_name(b->origin),
			    "service", b->service, "failures", (int)b->failures,
			    "started", (json_int_t)b->start, "until",
			    (json_int_t)end, "left", (json_int_t)(end - l.now),
			    "times_banned", (int)b->nbans, "from", b->from));
		}
		json_object_set_new(root, "bans", jb);
		if (bh->all) {
			jc = json_array();
			for (i = 0; i < l.ncnt; i++) {
				const struct ab_counter *c = &l.cnt[i];
				char a[AB_ADDRSTRLEN];
				unsigned n = policy_window(&bh->cfg, c,
				    l.now * 1000000000LL, since_ns(&l,
				    &c->prefix));

				json_array_append_new(jc, json_pack("{s:s, s:i, "
				    "s:I, s:i, s:I}", "prefix",
				    addr_format(&c->prefix, a, sizeof(a)),
				    "failures", (int)n, "last_failure",
				    (json_int_t)(c->nfail ? c->fail[c->nfail - 1] /
				    1000000000LL : 0), "successes", (int)c->nsucc,
				    "last_success", (json_int_t)c->last_success));
			}
			json_object_set_new(root, "counting", jc);
		}
		bh_print_json(root);
		rc = BH_OK;
		goto out;
	}
	for (i = 0; i < l.nbans; i++) {
		const struct ab_ban *b = &l.bans[i];
		int64_t end = policy_ban_end(&bh->cfg, b, l.now);
		char a[AB_ADDRSTRLEN], t[32], left[32];

		if (end == 0)
			continue;
		if (shown++ == 0)
			printf("%-30s %-7s %-12s %8s  %-19s  %-10s %5s  %s\n",
			    "PREFIX", "ORIGIN", "SERVICE", "FAILURES", "STARTED",
			    "LEFT", "BANS", "FROM");
		printf("%-30s %-7s %-12s %8u  %-19s  %-10s %5u  %s\n",
		    addr_format(&b->prefix, a, sizeof(a)),
		    ab_origin_name(b->origin),
		    b->service[0] != '\0' ? b->service : "-", b->failures, bh_fmt_time(b->start, t, sizeof(t)),
		    ab_fmt_duration(end - l.now, left, sizeof(left)),
		    b->nbans, b->from[0] != '\0' ? b->from : "here");
	}
	if (shown == 0)
		printf("no active bans\n");
	if (bh->all) {
		printf("\n");
		if (l.ncnt == 0)
			printf("no hosts being counted\n");
		for (i = 0; i < l.ncnt; i++) {
			const struct ab_counter *c = &l.cnt[i];
			char a[AB_ADDRSTRLEN], t[32];
			unsigned n = policy_window(&bh->cfg, c, l.now *
			    1000000000LL, since_ns(&l, &c->prefix));

			if (i == 0)
				printf("%-30s %8s  %-19s  %9s\n", "COUNTING",
				    "FAILURES", "LAST FAILURE", "SUCCESSES");
			printf("%-30s %8u  %-19s  %9u\n",
			    addr_format(&c->prefix, a, sizeof(a)), n,
			    bh_fmt_time(c->nfail ? c->fail[c->nfail - 1] /
			    1000000000LL : 0, t, sizeof(t)), c->nsucc);
		}
	}
	rc = BH_OK;
out:
	free(l.bans);
	free(l.cnt);
	return rc;
}

