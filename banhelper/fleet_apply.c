/*
 * fleet_apply.c - bans of other servers, taken under this server's rules.
 *
 * MUST: never ban loopback, ignoreip (addresses or the names' current
 * addresses), a prefix a user earned trust from here, or a prefix wider
 * than FLEET_V4_WIDEST / FLEET_V6_WIDEST, whatever an event says; never let a fleet ban replace a ban made here, nor a fleet unban
 * lift one unless this server is its owner; take at most fleet_rate events
 * a minute from one origin; log what is refused, escaped, without the
 * event's text beyond its checked fields.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

#define RATE_ORIGINS	256

struct rate_slot {
	char name[AB_FLEET_NAME_MAX];
	double tokens;
	int64_t at;			/* s: last refill */
};

struct fleet_rate {
	struct rate_slot s[RATE_ORIGINS];
	size_t n;
};

struct fleet_rate *
fleet_rate_new(void)
{
	return calloc(1, sizeof(struct fleet_rate));
}

void
fleet_rate_free(struct fleet_rate *r)
{
	free(r);
}

/* Take one token of origin's bucket (capacity and refill: rate a minute). */
static int
rate_take(struct fleet_rate *r, const char *origin, unsigned rate,
    int64_t now)
{
	struct rate_slot *s = NULL;
	size_t i, old = 0;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->s[i].name, origin) == 0) {
			s = &r->s[i];
			break;
		}
		if (r->s[i].at < r->s[old].at)
			old = i;
	}
	if (s == NULL) {
		s = r->n < RATE_ORIGINS ? &r->s[r->n++] : &r->s[old];
		snprintf(s->name, sizeof(s->name), "%s", origin);
		s->tokens = rate;
		s->at = now;
	}
	if (now > s->at) {
		s->tokens += (double)(now - s->at) * rate / 60.0;
		if (s->tokens > rate)
			s->tokens = rate;
		s->at = now;
	}
	if (s->tokens < 1.0)
		return 0;
	s->tokens -= 1.0;
	return 1;
}

/* Units some user earned trust from (still inside trust_window). */
struct trusted {
	struct ab_addr *u;
	size_t n, cap;
	int64_t since;
};

static int
trusted_cb(const struct ab_addr *unit, const char *user, int64_t last,
    void *arg)
{
	struct trusted *t = arg;

	(void)user;
	if (last < t->since)
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct ab_addr *u = reallocarray(t->u, cap, sizeof(*u));

		if (u == NULL)
			return -1;
		t->u = u;
		t->cap = cap;
	}
	t->u[t->n++] = *unit;
	return 0;
}

/* Why this server will not take a ban of prefix, or NULL. */
static const char *
refused(struct ab_store *st, const struct ab_addr *p, const struct trusted *t,
    int64_t now)
{
	const char *why = policy_protected(st, p, now);
	size_t k;

	/* One server's word never drops a whole network everywhere. */
	if (why == NULL && p->plen < (p->family == 4 ? FLEET_V4_WIDEST :
	    FLEET_V6_WIDEST))
		why = p->family == 4 ? "wider than /16" : "wider than /32";
	for (k = 0; why == NULL && k < t->n; k++)
		if (addr_overlaps(p, &t->u[k]))
			why = "a prefix a user earned trust from";
	return why;
}

struct apply {
	const struct ab_config *cfg;
	const char *self;
	struct fleet_event *ev;
	const uint8_t *skip;
	uint8_t *lifted;
	int64_t now;
	uint64_t applied, ignored;
};

static int
apply_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	struct apply *a = arg;
	const struct fleet_event *e = &a->ev[i];
	int active = found && policy_ban_end(a->cfg, rec, a->now) > 0;

	if (a->skip[i])
		return AB_KEEP;
	if (e->op == FLEET_UNBAN) {
		if (active && ((rec->from[0] != '\0' &&
		    strcmp(rec->from, e->owner) == 0) ||
		    (rec->from[0] == '\0' && strcmp(e->owner, a->self) == 0 &&
		    rec->origin != AB_ORIGIN_TRUSTED))) {
			a->applied++;
			if (a->lifted != NULL)
				a->lifted[i] = 1;
			return AB_DELETE;
		}
		a->ignored++;
		return AB_KEEP;
	}
	/* A ban of this server's own holds; the same ban again is nothing. */
	if (active && (rec->from[0] == '\0' || (strcmp(rec->from,
	    e->origin) == 0 && rec->until == e->until))) {
		a->ignored++;
		return AB_KEEP;
	}
	if (!active)
		rec->nbans = found && rec->until + a->cfg->forget_after >=
		    a->now ? rec->nbans + 1 : 1;
	rec->origin = (uint8_t)e->kind;
	snprintf(rec->from, sizeof(rec->from), "%s", e->origin);
	memcpy(rec->service, e->service, AB_SERVICE_MAX);
	rec->failures = 0;
	rec->start = a->now;
	rec->until = e->until;
	a->applied++;
	return AB_WRITE;
}

int
fleet_apply(struct ab_store *st, const char *self, struct fleet_event *ev,
    size_t n, int snapshot, int64_t now, struct fleet_rate *rate,
    const struct ab_log *log, struct fleet_counts *c, uint8_t *lifted)
{
	const struct ab_config *cfg = store_config(st);
	struct trusted t = { NULL, 0, 0, now - cfg->trust_window };
	struct apply a = { cfg, self, ev, NULL, lifted, now, 0, 0 };
	struct ab_addr *pfx;
	uint8_t *skip;
	char ep[AB_ADDRSTRLEN];
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	pfx = calloc(n, sizeof(*pfx));
	skip = calloc(n, 1);
	if (pfx == NULL || skip == NULL) {
		free(pfx);
		free(skip);
		return -ENOMEM;
	}
	for (i = 0; i < n && ev[i].op != FLEET_BAN; i++)
		;
	if (i < n && cfg->trust_factor > 1 &&
	    (rc = store_trust_foreach(st, trusted_cb, &t)) != 0) {
		ab_logf(log, LOG_ERR, "fleet: cannot read the trusted prefixes "
		    "(%s): taking no fleet ban now", ab_strerror(rc));
		for (i = 0; i < n; i++)
			skip[i] = ev[i].op == FLEET_BAN;
	}
	for (i = 0; i < n; i++) {
		struct fleet_event *e = &ev[i];
		const char *why;

		pfx[i] = e->prefix;
		if (lifted != NULL)
			lifted[i] = 0;
		if (skip[i] || strcmp(e->origin, self) == 0) {
			skip[i] = 1;	/* ours: already applied here */
			c->ignored++;
			continue;
		}
		if (!snapshot && !rate_take(rate, e->origin, cfg->fleet_rate,
		    now)) {
			skip[i] = 1;
			if (c->limited++ % 1000 == 0)
				ab_logf(log, LOG_WARNING, "fleet: %s sends more "
				    "than fleet_rate (%u a minute): its events "
				    "are dropped (%llu so far)", e->origin,
				    cfg->fleet_rate,
				    (unsigned long long)c->limited);
			continue;
		}
		if (e->op != FLEET_BAN)
			continue;
		if (e->until <= now ||
		    !(cfg->fleet_accept & (e->kind == AB_ORIGIN_MANUAL ?
		    AB_FLEET_MANUAL : AB_FLEET_AUTO))) {
			skip[i] = 1;	/* over, or not a kind we take */
			c->ignored++;
			continue;
		}
		why = e->until > now + AB_DURATION_MAX ? "longer than a year" :
		    refused(st, &e->prefix, &t, now);
		if (why != NULL) {
			skip[i] = 1;
			c->rejected++;
			ab_logf(log, LOG_WARNING, "fleet: refused a ban of %s from "
			    "%s: %s", addr_format(&e->prefix, ep, sizeof(ep)),
			    e->origin, why);
		}
	}
	a.skip = skip;
	rc = store_ban_update_many(st, pfx, n, apply_cb, &a);
	if (rc == 0) {
		c->applied += a.applied;
		c->ignored += a.ignored;
	}
	free(t.u);
	free(pfx);
	free(skip);
	return rc;
}
