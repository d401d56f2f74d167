/*
 * resolve.c - the host names in ignoreip (a dynamic DNS name for the
 * admin's home), resolved by the daemon every resolve_interval and written
 * into the ban store (store_allow.c), where the module checks them without
 * DNS.
 *
 * MUST:
 *  - never stall the daemon: resolution runs in a thread of its own (a
 *    resolver may take many seconds to fail), with a store handle of its
 *    own; the daemon only starts a round when the last one ended;
 *  - keep a name's last addresses when it stops resolving (the module lets
 *    them in until resolve_interval + resolve_keep after the last success),
 *    and say so once;
 *  - lift a ban that covers an address a name now resolves to, so that the
 *    admin is never dropped by the kernel from his own address, and wake
 *    the daemon (a byte on its pipe) to take it out of the kernel at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"
#include "resolve.h"

struct resolver {
	struct ab_config cfg;	/* a copy: the daemon may reload its own */
	const struct ab_log *log;
	int pipefd[2];		/* [0] the daemon polls, [1] we write */
	atomic_int busy;
	int failing[AB_IGNORE_NAMES_MAX];	/* said once per outage */
};

int
resolver_new(struct resolver **out, const struct ab_log *log)
{
	struct resolver *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return -ENOMEM;
	if (pipe2(r->pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
		free(r);
		return -errno;
	}
	r->log = log;
	atomic_init(&r->busy, 0);
	*out = r;
	return 0;
}

int
resolver_fd(const struct resolver *r)
{
	return r != NULL ? r->pipefd[0] : -1;
}

/* Up to max unique addresses of name: how many, or -1 (said why in err). */
static int
lookup(const char *name, struct ab_addr *a, size_t max, char *err, size_t n)
{
	struct addrinfo hints, *res, *ai;
	size_t k = 0, i;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(name, NULL, &hints, &res)) != 0) {
		snprintf(err, n, "%s", rc == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && k < max; ai = ai->ai_next) {
		struct ab_addr x;

		memset(&x, 0, sizeof(x));
		if (ai->ai_family == AF_INET) {
			x.family = 4;
			x.plen = 32;
			memcpy(x.a, &((struct sockaddr_in *)(void *)
			    ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			x.family = 6;
			x.plen = 128;
			memcpy(x.a, &((struct sockaddr_in6 *)(void *)
			    ai->ai_addr)->sin6_addr, 16);
		} else
			continue;
		for (i = 0; i < k; i++)
			if (memcmp(&a[i], &x, sizeof(x)) == 0)
				break;
		if (i == k)
			a[k++] = x;
	}
	freeaddrinfo(res);
	if (k == 0)
		snprintf(err, n, "no IPv4 or IPv6 address");
	return k > 0 ? (int)k : -1;
}

/* Lift any ban on a's addresses: 1 if one was lifted. */
static int
lift_bans(struct resolver *r, struct ab_store *st, const char *name,
    const struct ab_addr *a, size_t n, int64_t now)
{
	char s[AB_ADDRSTRLEN], p[AB_ADDRSTRLEN];
	struct ab_ban b;
	size_t i;
	int lifted = 0;

	for (i = 0; i < n; i++) {
		if (policy_find_ban(st, &a[i], now, &b, NULL, NULL, NULL) != 1)
			continue;
		if (policy_unban(st, &b.prefix, now) >= 0) {
			ab_logf(r->log, LOG_WARNING, "ignoreip %s now resolves "
			    "to %s, which was banned as %s: ban lifted", name,
			    addr_format(&a[i], s, sizeof(s)),
			    addr_format(&b.prefix, p, sizeof(p)));
			lifted = 1;
		}
	}
	return lifted;
}

static void
round_run(struct resolver *r)
{
	struct ab_addr a[AB_ALLOW_ADDRS_MAX], old[AB_ALLOW_ADDRS_MAX];
	struct ab_store *st = NULL;
	char err[128], list[AB_ALLOW_ADDRS_MAX * AB_ADDRSTRLEN];
	size_t i, j, nold;
	int64_t now, last_ok;
	int k, lifted = 0;

	if (store_open(&st, &r->cfg, r->log) != 0)
		return;
	for (i = 0; i < r->cfg.nignore_names; i++) {
		const char *name = r->cfg.ignore_names[i];

		k = lookup(name, a, AB_ALLOW_ADDRS_MAX, err, sizeof(err));
		now = (int64_t)time(NULL);
		if (k < 0) {
			if (r->failing[i]++ == 0)
				ab_logf(r->log, LOG_WARNING, "ignoreip %s does "
				    "not resolve (%s): its last addresses stay "
				    "allowed for resolve_keep", name, err);
			continue;
		}
		if (r->failing[i] != 0)
			ab_logf(r->log, LOG_NOTICE, "ignoreip %s resolves "
			    "again", name);
		r->failing[i] = 0;
		/* Say what changed, once. */
		if (store_allow_get(st, name, old, AB_ALLOW_ADDRS_MAX, &nold,
		    &last_ok) != 1)
			nold = 0;
		if (nold != (size_t)k || memcmp(old, a, (size_t)k *
		    sizeof(a[0])) != 0) {
			list[0] = '\0';
			for (j = 0; j < (size_t)k; j++) {
				char s[AB_ADDRSTRLEN];

				snprintf(list + strlen(list), sizeof(list) -
				    strlen(list), "%s%s", j ? " " : "",
				    addr_format(&a[j], s, sizeof(s)));
			}
			ab_logf(r->log, LOG_NOTICE, "ignoreip %s resolves to "
			    "%s", name, list);
		}
		if (store_allow_put(st, name, a, (size_t)k, now) != 0)
			continue;
		lifted |= lift_bans(r, st, name, a, (size_t)k, now);
	}
	store_close(st);
	if (lifted)
		(void)!write(r->pipefd[1], "x", 1);
}

static void *
thread_main(void *arg)
{
	struct resolver *r = arg;

	round_run(r);
	atomic_store(&r->busy, 0);
	return NULL;
}

void
resolver_start(struct resolver *r, const struct ab_config *cfg)
{
	pthread_attr_t at;
	pthread_t t;

	if (r == NULL || cfg->nignore_names == 0 ||
	    atomic_exchange(&r->busy, 1) != 0)
		return;
	r->cfg = *cfg;
	if (pthread_attr_init(&at) != 0)
		goto fail;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, thread_main, r) != 0) {
		pthread_attr_destroy(&at);
		goto fail;
	}
	pthread_attr_destroy(&at);
	return;
fail:
	ab_logf(r->log, LOG_ERR, "cannot start resolving ignoreip names: %s",
	    strerror(errno));
	atomic_store(&r->busy, 0);
}

void
resolver_drain(struct resolver *r)
{
	char buf[64];

	if (r != NULL)
		while (read(r->pipefd[0], buf, sizeof(buf)) > 0)
			;
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL || atomic_load(&r->busy) != 0)
		return;
	close(r->pipefd[0]);
	close(r->pipefd[1]);
	free(r);
}
