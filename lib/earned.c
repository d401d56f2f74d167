/*
 * earned.c - earned trust: a (unit, user) pair that logged in within
 * trust_window gets trust_factor * maxretry failures for that user before
 * a ban; failures of other or unknown users from the unit count as usual.
 * fail2ban declined "reset on success" because one valid account would
 * shield a brute force on the others; here only the account that logged
 * in gets room, and only from where it did.
 *
 * A unit some user earned trust from is banned at PAM only
 * (AB_ORIGIN_TRUSTED): never dropped in the kernel, so its owner's key
 * login (which never reaches the auth stack) still works while passwords
 * are refused, and such a ban ends when a login from the unit succeeds
 * (policy_trust_success, from the account line or a good password).
 *
 * MUST: only a pair whose trust record is within trust_window counts
 * apart; trust_factor = 1 turns it all off (no record is read or written);
 * a user name that is not one (store_trust_user) earns nothing.
 */
#include <string.h>

#include "autoban.h"
#include "policy_int.h"

#define NS	1000000000LL

static int
trust_on(const struct ab_config *cfg)
{
	return cfg->trust_factor > 1 && cfg->trust_window > 0;
}

void
earned_probe(struct ab_store *st, const char *user, int64_t now,
    struct ab_trust_probe *q)
{
	const struct ab_config *cfg = store_config(st);

	memset(q, 0, sizeof(*q));
	if (!trust_on(cfg) || user == NULL || !store_trust_user(user))
		return;
	q->user = user;
	q->since = now - cfg->trust_window;
}

int
earned_prefix(struct ab_store *st, const struct ab_addr *unit, int64_t now)
{
	const struct ab_config *cfg = store_config(st);

	if (!trust_on(cfg))
		return 0;
	return store_trust_since(st, unit, NULL, now - cfg->trust_window,
	    NULL);
}

struct pair_ctx {
	int64_t now_ns, cut_ns;
	unsigned limit;
	int pending;
	int ban;		/* out */
	unsigned n;		/* out: failures in the window */
	int64_t id;		/* out */
	int64_t refund;		/* earned_refund: the id to take back */
	int refunded;
};

static int
pair_cb(int64_t *t, size_t *n, size_t max, void *arg)
{
	struct pair_ctx *c = arg;
	size_t i = 0;
	int64_t id = c->now_ns;

	while (i < *n && t[i] <= c->cut_ns)
		i++;
	memmove(t, t + i, (*n - i) * sizeof(*t));
	*n -= i;
	if (c->pending && *n >= c->limit) {
		c->ban = 1;
		c->n = (unsigned)*n;
		return AB_WRITE;
	}
	while (*n >= max || *n >= c->limit) {
		memmove(t, t + 1, (*n - 1) * sizeof(*t));
		(*n)--;
	}
	if (*n > 0 && id <= t[*n - 1])
		id = t[*n - 1] + 1;
	t[(*n)++] = id;
	c->id = id;
	c->n = (unsigned)*n;
	if (!c->pending && *n >= c->limit)
		c->ban = 1;
	return AB_WRITE;
}

int
earned_count(struct ab_store *st, const struct ab_addr *host,
    const struct ab_addr *unit, const char *user, const char *service,
    int64_t now_ns, int64_t since_ns, int pending, struct ab_decision *d)
{
	const struct ab_config *cfg = store_config(st);
	struct pair_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.now_ns = now_ns;
	c.cut_ns = now_ns - cfg->findtime * NS;
	if (c.cut_ns < since_ns)
		c.cut_ns = since_ns;
	c.limit = cfg->maxretry * cfg->trust_factor;
	if (c.limit > AB_TRUST_FAILS_MAX)
		c.limit = AB_TRUST_FAILS_MAX;
	c.pending = pending;
	if ((rc = store_tfail_update(st, unit, user, pair_cb, &c)) != 0)
		return rc;
	d->failures = c.n;
	if (c.ban) {
		/* The pair starts afresh after its ban. */
		store_trust_forget_fails(st, unit, user);
		return policy_ban_unit(st, host, unit, service, now_ns / NS,
		    c.n, d);
	}
	d->verdict = AB_PASS;
	d->attempt = c.id;
	return 0;
}

static int
refund_cb(int64_t *t, size_t *n, size_t max, void *arg)
{
	struct pair_ctx *c = arg;
	size_t i;

	(void)max;
	for (i = 0; i < *n && t[i] != c->refund; i++)
		;
	if (i == *n)
		return AB_KEEP;
	memmove(t + i, t + i + 1, (*n - i - 1) * sizeof(*t));
	(*n)--;
	c->refunded = 1;
	return AB_WRITE;
}

int
earned_refund(struct ab_store *st, const struct ab_addr *unit,
    const char *user, int64_t attempt)
{
	struct pair_ctx c;
	int rc;

	if (!trust_on(store_config(st)) || user == NULL ||
	    !store_trust_user(user))
		return 0;
	memset(&c, 0, sizeof(c));
	c.refund = attempt;
	if ((rc = store_tfail_update(st, unit, user, refund_cb, &c)) != 0)
		return rc == AB_EADDR ? 0 : rc;
	return c.refunded;
}

struct end_ctx {
	int64_t now;
	int ended;
};

static int
end_cb(struct ab_ban *rec, int found, void *arg)
{
	struct end_ctx *e = arg;

	if (!found || rec->origin != AB_ORIGIN_TRUSTED || rec->until <= e->now)
		return AB_KEEP;
	rec->until = e->now;
	e->ended = 1;
	return AB_WRITE;
}

int
policy_trust_success(struct ab_store *st, const struct ab_addr *host,
    const char *user, int64_t now)
{
	const struct ab_config *cfg = store_config(st);
	struct end_ctx e = { now, 0 };
	struct ab_addr unit;
	char a[AB_ADDRSTRLEN], p[AB_ADDRSTRLEN], eu[80];
	int rc;

	if (!trust_on(cfg) || config_is_ignored(cfg, host) || user == NULL ||
	    !store_trust_user(user))
		return 0;
	config_unit(cfg, host, &unit);
	if ((rc = store_trust_put(st, &unit, user, now)) != 0)
		return rc;
	if ((rc = store_ban_update(st, &unit, end_cb, &e)) != 0)
		return rc;
	if (e.ended) {
		wake_send(cfg);
		ab_logf(store_log(st), LOG_NOTICE, "%s logged in from %s: the "
		    "ban of %s (a trusted prefix, refused at PAM only) ends "
		    "now", ab_escape(user, eu, sizeof(eu)), addr_format(host,
		    a, sizeof(a)), addr_format(&unit, p, sizeof(p)));
	}
	return e.ended;
}

int
earned_prune(struct ab_store *st, int64_t now)
{
	const struct ab_config *cfg = store_config(st);
	int rc;

	if ((rc = store_trust_prune(st, now - cfg->trust_window)) < 0)
		return rc;
	rc = store_tfail_prune(st, (now - cfg->findtime) * NS);
	return rc < 0 ? rc : 0;
}
