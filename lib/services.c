/*
 * services.c - the figures banhelper status shows per PAM service, as
 * fail2ban shows per jail: hosts whose last failure in findtime came
 * through the service, its failures, auto bans and refusals in all (the
 * totals the stores keep), and its auto bans active now.  The rules of
 * what is still alive are policy.c's (policy_window, policy_ban_end).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoban.h"

#define NS		1000000000LL

struct svc_ctx {
	const struct ab_config *cfg;
	int64_t now;
	struct ab_service_stat *v;
	size_t n, cap;
	int err;
};

static struct ab_service_stat *
svc_slot(struct svc_ctx *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct ab_service_stat *nv = reallocarray(c->v, cap,
		    sizeof(*nv));

		if (nv == NULL) {
			c->err = -ENOMEM;
			return NULL;
		}
		c->v = nv;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	snprintf(c->v[c->n].name, sizeof(c->v[0].name), "%s", name);
	return &c->v[c->n++];
}

static int
svc_total_cb(const char *service, int kind, uint64_t total, void *arg)
{
	struct svc_ctx *c = arg;
	struct ab_service_stat *s = svc_slot(c, service);

	if (s == NULL)
		return c->err;
	if (kind == AB_TOTAL_BANNED)
		s->banned_total = total;
	else if (kind == AB_TOTAL_REFUSED)
		s->refused_total = total;
	else
		s->failed_total = total;
	return 0;
}

static int
svc_count_cb(const struct ab_counter *rec, void *arg)
{
	struct svc_ctx *c = arg;
	struct ab_service_stat *s;

	if (rec->service[0] == '\0' ||
	    policy_window(c->cfg, rec, c->now * NS, 0) == 0)
		return 0;
	if ((s = svc_slot(c, rec->service)) == NULL)
		return c->err;
	s->failed_now++;
	return 0;
}

static int
svc_ban_cb(const struct ab_ban *rec, void *arg)
{
	struct svc_ctx *c = arg;
	struct ab_service_stat *s;

	if (rec->service[0] == '\0' || rec->origin == AB_ORIGIN_MANUAL ||
	    policy_ban_end(c->cfg, rec, c->now) <= 0)
		return 0;
	if ((s = svc_slot(c, rec->service)) == NULL)
		return c->err;
	s->banned_now++;
	return 0;
}

static int
svc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ab_service_stat *)a)->name,
	    ((const struct ab_service_stat *)b)->name);
}

int
policy_services(struct ab_store *st, int64_t now,
    struct ab_service_stat **out, size_t *n)
{
	struct svc_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cfg = store_config(st);
	c.now = now;
	*out = NULL;
	*n = 0;
	if ((rc = store_totals(st, AB_TOTAL_FAILED, svc_total_cb, &c)) == 0 &&
	    (rc = store_totals(st, AB_TOTAL_BANNED, svc_total_cb, &c)) == 0 &&
	    (rc = store_totals(st, AB_TOTAL_REFUSED, svc_total_cb, &c)) == 0 &&
	    (rc = store_count_foreach(st, svc_count_cb, &c)) == 0)
		rc = store_ban_foreach(st, svc_ban_cb, &c);
	if (rc != 0) {
		free(c.v);
		return rc;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(c.v[0]), svc_cmp);
	*out = c.v;
	*n = c.n;
	return 0;
}
