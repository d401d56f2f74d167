/*
 * policy.c - when a host is counted, banned, refused or forgiven.
 *
 * The rules, in one place:
 *  - The unit counted and banned is the host's address masked to
 *    ipv4_prefix / ipv6_prefix.  Loopback and ignoreip are never counted.
 *  - A failure counts while it is younger than findtime (a true sliding
 *    window: timestamps, not a bucket) and younger than the unit's last ban
 *    (failures before a ban are paid for by it).
 *  - One-line mode records every attempt as a failure before the password
 *    is checked, so an attempt cut short (LoginGraceTime, a killed child)
 *    still counts; a good login refunds exactly its own attempt.  A unit
 *    that already has maxretry failures is banned at its next attempt, which
 *    is refused: so exactly maxretry passwords are ever checked.
 *  - A repeat offender's n-th ban (n counted from 0, while its last ban ended
 *    less than forget_after ago) lasts bantime * bantime_increment^n, capped
 *    at bantime_max.
 *  - A record is kept while it matters: counts while a failure is inside
 *    findtime or the last success is, a ban's record while the ban is
 *    active or ended less than forget_after ago.
 *  - The wall clock may step.  Anything dated ahead of the clock by more
 *    than CLOCK_SKEW was recorded before it stepped back: a ban lasts its
 *    own length from now and is set right in the store, and the failures
 *    of its unit dated ahead, which it paid for, go; any other failure
 *    dated ahead counts as made now (and ages out from now).  So no step
 *    back makes a ban longer, bans twice for one offence, or refuses an
 *    honest login.  A step forward ends bans and ages failures early, by
 *    the step.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "autoban.h"
#include "policy_int.h"

#define NS		1000000000LL
#define CLOCK_SKEW	60	/* seconds ahead of the clock still trusted */

int64_t
policy_ban_length(const struct ab_config *cfg, uint32_t n)
{
	int64_t len = cfg->bantime, cap = cfg->bantime_max;
	uint32_t i;

	if (cap < cfg->bantime)
		cap = cfg->bantime;
	for (i = 0; i < n && len < cap; i++) {
		if (len > cap / (int64_t)cfg->bantime_increment) {
			len = cap;
			break;
		}
		len *= cfg->bantime_increment;
	}
	return len < cap ? len : cap;
}

/* The longest a ban of this origin may last. */
static int64_t
ban_cap(const struct ab_config *cfg, const struct ab_ban *b)
{
	if (b->origin == AB_ORIGIN_MANUAL)
		return AB_DURATION_MAX;
	return cfg->bantime_max > cfg->bantime ? cfg->bantime_max :
	    cfg->bantime;
}

int64_t
policy_ban_end(const struct ab_config *cfg, const struct ab_ban *b,
    int64_t now)
{
	int64_t cap = ban_cap(cfg, b), len, end;

	if (b->until <= now)
		return 0;
	/* Its own length as recorded, at most the cap. */
	len = b->start > 0 && b->until > b->start ? b->until - b->start : cap;
	if (len > cap)
		len = cap;
	/* Dated ahead of the clock: made before it stepped back. */
	if (b->start <= 0 || b->start > now + CLOCK_SKEW)
		end = now + len;
	else
		end = b->start + len;
	if (end > b->until)
		end = b->until;
	return end > now ? end : 0;
}

/* A record dated ahead of the clock, set right: its length from now. */
static int
ban_fix_clock(const struct ab_config *cfg, struct ab_ban *b, int64_t now)
{
	int64_t end;

	if (b->start <= now + CLOCK_SKEW)
		return 0;
	end = policy_ban_end(cfg, b, now);
	b->start = now;
	/* An ended ban stays ended; its history is kept. */
	b->until = end > 0 ? end : now;
	return 1;
}

/*
 * Failures and a success stamped after now were recorded before the clock
 * stepped back: they count as made now, kept ascending and unique.
 */
static void
count_fix_clock(struct ab_counter *rec, int64_t now_ns)
{
	int64_t limit = now_ns + CLOCK_SKEW * NS;
	unsigned i;

	if (rec->nfail > 0 && rec->fail[rec->nfail - 1] > limit) {
		limit = now_ns - 1;	/* this attempt's id is now_ns */
		for (i = rec->nfail; i-- > 0;) {
			if (rec->fail[i] > limit)
				rec->fail[i] = limit;
			limit = rec->fail[i] - 1;
		}
	}
	if (rec->last_success > now_ns / NS + CLOCK_SKEW)
		rec->last_success = now_ns / NS;
}

/* The failures a unit's ban dated ahead paid for: those dated ahead. */
static int
drop_ahead_cb(struct ab_counter *rec, int found, void *arg)
{
	const int64_t *now_ns = arg;
	unsigned n = rec->nfail;

	if (!found)
		return AB_KEEP;
	while (rec->nfail > 0 &&
	    rec->fail[rec->nfail - 1] > *now_ns + CLOCK_SKEW * NS)
		rec->nfail--;
	return rec->nfail != n ? AB_WRITE : AB_KEEP;
}

/* Set right ban records dated ahead (with fn; NULL: done already), and
 * what they paid for. */
static int
fix_ahead(struct ab_store *st, const struct ab_addr *prefixes, size_t n,
    store_ban_many_fn fn, void *arg, int64_t now)
{
	const struct ab_config *cfg = store_config(st);
	int64_t now_ns = now * NS;
	size_t i;
	int rc;

	if (fn != NULL &&
	    (rc = store_ban_update_many(st, prefixes, n, fn, arg)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		if (prefixes[i].plen == config_unit_plen(cfg,
		    prefixes[i].family) && (rc = store_count_update(st,
		    &prefixes[i], drop_ahead_cb, &now_ns)) != 0)
			return rc;
	return 0;
}

/* Drop failures at or before cut_ns (the array is ascending). */
static void
window_trim(struct ab_counter *rec, int64_t cut_ns)
{
	unsigned i = 0;

	while (i < rec->nfail && rec->fail[i] <= cut_ns)
		i++;
	if (i > 0) {
		memmove(rec->fail, rec->fail + i,
		    (rec->nfail - i) * sizeof(rec->fail[0]));
		rec->nfail -= i;
	}
}

static int64_t
window_cut(const struct ab_config *cfg, int64_t now_ns, int64_t since_ns)
{
	int64_t cut = now_ns - cfg->findtime * NS;

	return cut > since_ns ? cut : since_ns;
}

unsigned
policy_window(const struct ab_config *cfg, const struct ab_counter *rec,
    int64_t now_ns, int64_t since_ns)
{
	int64_t cut = window_cut(cfg, now_ns, since_ns);
	unsigned i, n = 0;

	for (i = 0; i < rec->nfail; i++)
		if (rec->fail[i] > cut)
			n++;
	return n;
}

/* Failures at or before this instant were paid for by the unit's last ban. */
static int64_t
since_of(const struct ab_ban *unit_rec, int found, int64_t now_ns)
{
	int64_t since;

	if (!found || unit_rec->start <= 0)
		return 0;
	/* Whole second of the ban's start: nothing is recorded while banned. */
	since = unit_rec->start * NS + (NS - 1);
	return since < now_ns ? since : now_ns;
}

int64_t
policy_kernel_end(const struct ab_config *cfg, const struct ab_ban *rec,
    int64_t now)
{
	return rec->origin == AB_ORIGIN_TRUSTED ? 0 :
	    policy_ban_end(cfg, rec, now);
}

/* ---- counting ----------------------------------------------------------- */

struct count_ctx {
	const struct ab_config *cfg;
	const char *service;	/* normalized; "" for none */
	int64_t now_ns, since_ns;
	int pending;		/* one-line: ban before recording if full */
	int ban;		/* out: the unit must be banned */
	unsigned n;		/* out: failures in the window */
	int64_t id;		/* out: the recorded attempt */
};

static int
count_cb(struct ab_counter *rec, int found, void *arg)
{
	struct count_ctx *c = arg;
	int64_t id = c->now_ns;

	(void)found;
	count_fix_clock(rec, c->now_ns);
	window_trim(rec, window_cut(c->cfg, c->now_ns, c->since_ns));
	if (c->pending && rec->nfail >= c->cfg->maxretry) {
		c->ban = 1;
		c->n = rec->nfail;
		return AB_WRITE;
	}
	/* Full of older failures (maxretry lowered): make room. */
	while (rec->nfail >= AB_MAXRETRY_MAX || rec->nfail >= c->cfg->maxretry) {
		memmove(rec->fail, rec->fail + 1,
		    (rec->nfail - 1) * sizeof(rec->fail[0]));
		rec->nfail--;
	}
	/* Ids are the time in ns, made unique and ascending per unit. */
	if (rec->nfail > 0 && id <= rec->fail[rec->nfail - 1])
		id = rec->fail[rec->nfail - 1] + 1;
	rec->fail[rec->nfail++] = id;
	memcpy(rec->service, c->service, AB_SERVICE_MAX);
	rec->svc_delta = 1;
	c->id = id;
	c->n = rec->nfail;
	if (!c->pending && rec->nfail >= c->cfg->maxretry)
		c->ban = 1;
	return AB_WRITE;
}

/* ---- banning ------------------------------------------------------------ */

struct ban_ctx {
	const struct ab_config *cfg;
	const char *service;	/* normalized; "" for none */
	int64_t now;
	int64_t secs;		/* manual: length; 0 for automatic */
	unsigned failures;
	int pam_only;		/* a trusted prefix: AB_ORIGIN_TRUSTED */
	int already;		/* out: an active ban was there */
	struct ab_ban out;
};

static int
autoban_cb(struct ab_ban *rec, int found, void *arg)
{
	struct ban_ctx *b = arg;
	uint32_t n;

	if (found && policy_ban_end(b->cfg, rec, b->now) > 0) {
		b->already = 1;		/* another process was first */
		b->out = *rec;
		b->out.until = policy_ban_end(b->cfg, rec, b->now);
		return AB_KEEP;
	}
	n = found && rec->until + b->cfg->forget_after >= b->now ?
	    rec->nbans : 0;
	rec->origin = b->pam_only ? AB_ORIGIN_TRUSTED : AB_ORIGIN_AUTO;
	rec->from[0] = '\0';	/* a ban of this server now */
	memcpy(rec->service, b->service, AB_SERVICE_MAX);
	rec->svc_delta = 1;
	rec->nbans = n + 1;
	rec->failures = b->failures;
	rec->start = b->now;
	rec->until = b->now + policy_ban_length(b->cfg, n);
	b->out = *rec;
	return AB_WRITE;
}

/*
 * Ban unit now after failures; fills d.  A new ban is logged, then
 * banhelper is woken: the log line marks the decision, and the kernel can
 * only follow it.
 */
int
policy_ban_unit(struct ab_store *st, const struct ab_addr *host,
    const struct ab_addr *unit, const char *service, int64_t now,
    unsigned failures, struct ab_decision *d)
{
	char a[AB_ADDRSTRLEN], p[AB_ADDRSTRLEN], len[32];
	struct ban_ctx b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.cfg = store_config(st);
	b.service = service;
	b.now = now;
	b.failures = failures;
	/* A prefix that earned trust is refused at PAM only (earned.c). */
	b.pam_only = earned_prefix(st, unit, now) == 1;
	if ((rc = store_ban_update(st, unit, autoban_cb, &b)) != 0)
		return rc;
	d->ban = b.out;
	d->ban.prefix = *unit;
	d->failures = failures;
	if (b.already) {
		d->verdict = AB_REFUSE;
		return 0;
	}
	d->verdict = AB_BANNED;
	/*
	 * banhelper first, the log line after: sending to syslog wakes the
	 * syslog daemon, which may take this CPU for a while when the cores
	 * are busy (as they are under attack), and the ban would wait.
	 */
	wake_send(b.cfg);
	ab_logf(store_log(st), LOG_NOTICE, "banned %s as %s for %s after %u "
	    "failures (ban #%u%s); refusing it", addr_format(host, a,
	    sizeof(a)), addr_format(unit, p, sizeof(p)), ab_fmt_duration(
	    d->ban.until - d->ban.start, len, sizeof(len)), failures,
	    d->ban.nbans, b.pam_only ? ", a trusted prefix: refused at PAM, "
	    "not dropped" : "");
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

/* What policy_find_ban gathers from the records covering a host. */
struct cover {
	const struct ab_config *cfg;
	int64_t now;
	const struct ab_addr *unit;
	struct ab_ban ban, urec;
	int found, ufound;
	struct ab_addr ahead[8];	/* records dated ahead of the clock */
	size_t nahead;
};

static int
cover_cb(const struct ab_ban *rec, void *arg)
{
	struct cover *c = arg;
	int64_t end = policy_ban_end(c->cfg, rec, c->now);

	if (c->unit != NULL && c->unit->plen == rec->prefix.plen &&
	    memcmp(c->unit->a, rec->prefix.a, sizeof(rec->prefix.a)) == 0) {
		c->urec = *rec;
		c->ufound = 1;
	}
	if (rec->start > c->now + CLOCK_SKEW &&
	    c->nahead < sizeof(c->ahead) / sizeof(c->ahead[0]))
		c->ahead[c->nahead++] = rec->prefix;
	if (end > 0 && (!c->found || end > c->ban.until)) {
		c->ban = *rec;
		c->ban.until = end;
		c->found = 1;
	}
	return 0;
}

static int
fix_clock_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	struct cover *c = arg;

	(void)i;
	return found && ban_fix_clock(c->cfg, rec, c->now) ? AB_WRITE : AB_KEEP;
}

static int find_ban(struct ab_store *st, const struct ab_addr *host,
    int64_t now, struct ab_ban *ban, const struct ab_addr *unit,
    struct ab_ban *unit_rec, int *unit_found, struct ab_trust_probe *q);

int
policy_find_ban(struct ab_store *st, const struct ab_addr *host, int64_t now,
    struct ab_ban *ban, const struct ab_addr *unit, struct ab_ban *unit_rec,
    int *unit_found)
{
	return find_ban(st, host, now, ban, unit, unit_rec, unit_found, NULL);
}

/* policy_find_ban, also asking q in the same read (earned trust). */
static int
find_ban(struct ab_store *st, const struct ab_addr *host, int64_t now,
    struct ab_ban *ban, const struct ab_addr *unit, struct ab_ban *unit_rec,
    int *unit_found, struct ab_trust_probe *q)
{
	struct cover c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cfg = store_config(st);
	c.now = now;
	c.unit = unit;
	if ((rc = store_ban_covering_probe(st, host, cover_cb, &c, q)) != 0)
		return rc;
	/* Set right what the clock left ahead, then look again. */
	if (c.nahead > 0) {
		ab_logf(store_log(st), LOG_WARNING, "%zu ban record(s) dated "
		    "ahead of the clock (it stepped back?): each lasts its own "
		    "length from now", c.nahead);
		if ((rc = fix_ahead(st, c.ahead, c.nahead, fix_clock_cb, &c,
		    now)) != 0)
			return rc;
		memset(&c.ban, 0, sizeof(c.ban));
		c.found = c.ufound = 0;
		c.nahead = 0;
		if ((rc = store_ban_covering_probe(st, host, cover_cb, &c,
		    q)) != 0)
			return rc;
	}
	if (unit_rec != NULL) {
		*unit_rec = c.urec;
		if (!c.ufound && unit != NULL) {
			memset(unit_rec, 0, sizeof(*unit_rec));
			unit_rec->prefix = *unit;
		}
	}
	if (unit_found != NULL)
		*unit_found = c.ufound;
	if (c.found && ban != NULL)
		*ban = c.ban;
	return c.found;
}

/* Shared start: ignored?  banned?  Leaves unit and since_ns for counting. */
static int
check_host(struct ab_store *st, const struct ab_addr *host, int64_t now_ns,
    struct ab_decision *d, struct ab_addr *unit, int64_t *since_ns,
    struct ab_trust_probe *q)
{
	const struct ab_config *cfg = store_config(st);
	struct ab_ban urec;
	int rc, ufound;

	memset(d, 0, sizeof(*d));
	/* The allowlist: addresses, and what its names last resolved to. */
	if (config_is_ignored(cfg, host) ||
	    store_allow_match(st, cfg, host, now_ns / NS) == 1) {
		d->verdict = AB_IGNORED;
		return 1;
	}
	config_unit(cfg, host, unit);
	if (q != NULL)
		q->unit = *unit;
	rc = find_ban(st, host, now_ns / NS, &d->ban, unit, &urec, &ufound,
	    q);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		d->verdict = AB_REFUSE;
		return 1;
	}
	*since_ns = since_of(&urec, ufound, now_ns);
	return 0;
}

static int
count(struct ab_store *st, const struct ab_addr *host, const char *service,
    const char *user, int64_t now_ns, struct ab_decision *d, int pending)
{
	char svc[AB_SERVICE_MAX];
	struct ab_trust_probe q;
	struct count_ctx c;
	struct ab_addr unit;
	int64_t since_ns = 0;
	int rc;

	/* A user who logged in from here lately is counted apart (earned.c);
	 * asked in the same read as the bans. */
	earned_probe(st, user, now_ns / NS, &q);
	if ((rc = check_host(st, host, now_ns, d, &unit, &since_ns,
	    q.user != NULL ? &q : NULL)) != 0)
		return rc < 0 ? rc : 0;
	ab_service_name(service, svc);
	if (q.trusted)
		return earned_count(st, host, &unit, user, svc, now_ns,
		    since_ns, pending, d);
	memset(&c, 0, sizeof(c));
	c.cfg = store_config(st);
	c.service = svc;
	c.now_ns = now_ns;
	c.since_ns = since_ns;
	c.pending = pending;
	if ((rc = store_count_update(st, &unit, count_cb, &c)) != 0)
		return rc;
	d->failures = c.n;
	if (c.ban)
		return policy_ban_unit(st, host, &unit, svc, now_ns / NS, c.n,
		    d);
	d->verdict = AB_PASS;
	d->attempt = c.id;
	return 0;
}

int
policy_attempt(struct ab_store *st, const struct ab_addr *host,
    const char *service, int64_t now_ns, struct ab_decision *d)
{
	return count(st, host, service, NULL, now_ns, d, 1);
}

int
policy_attempt_user(struct ab_store *st, const struct ab_addr *host,
    const char *service, const char *user, int64_t now_ns,
    struct ab_decision *d)
{
	return count(st, host, service, user, now_ns, d, 1);
}

int
policy_fail(struct ab_store *st, const struct ab_addr *host,
    const char *service, int64_t now_ns, struct ab_decision *d)
{
	return policy_fail_user(st, host, service, NULL, now_ns, d);
}

int
policy_fail_user(struct ab_store *st, const struct ab_addr *host,
    const char *service, const char *user, int64_t now_ns,
    struct ab_decision *d)
{
	int rc = count(st, host, service, user, now_ns, d, 0);

	/* The failure itself was counted: report it as a plain refusal. */
	if (rc == 0 && d->verdict == AB_PASS)
		d->attempt = 0;
	return rc;
}

int
policy_check(struct ab_store *st, const struct ab_addr *host, int64_t now_ns,
    struct ab_decision *d)
{
	struct ab_addr unit;
	int64_t since_ns;
	int rc;

	rc = check_host(st, host, now_ns, d, &unit, &since_ns, NULL);
	if (rc < 0)
		return rc;
	if (rc == 0)
		d->verdict = AB_PASS;
	return 0;
}

struct succ_ctx {
	int64_t attempt, now;
	int refunded;
	const char *service;	/* of the refunded attempt */
};

static int
succ_cb(struct ab_counter *rec, int found, void *arg)
{
	struct succ_ctx *s = arg;
	unsigned i;

	if (s->attempt != 0) {
		if (!found)
			return AB_KEEP;
		for (i = 0; i < rec->nfail && rec->fail[i] != s->attempt; i++)
			;
		if (i == rec->nfail)
			return AB_KEEP;		/* already refunded */
		memmove(rec->fail + i, rec->fail + i + 1,
		    (rec->nfail - i - 1) * sizeof(rec->fail[0]));
		rec->nfail--;
		s->refunded = 1;
		rec->svc_delta = -1;
		rec->svc_delta_of = s->service;
	}
	rec->last_success = s->now;
	rec->nsucc++;
	return AB_WRITE;
}

int
policy_success(struct ab_store *st, const struct ab_addr *host,
    int64_t now_ns)
{
	struct succ_ctx s = { 0, now_ns / NS, 0, "" };
	struct ab_addr unit;

	if (config_is_ignored(store_config(st), host))
		return 0;
	config_unit(store_config(st), host, &unit);
	return store_count_update(st, &unit, succ_cb, &s);
}

int
policy_refund(struct ab_store *st, const struct ab_addr *host,
    const char *service, int64_t attempt, int64_t now_ns)
{
	char svc[AB_SERVICE_MAX];
	struct succ_ctx s = { attempt, now_ns / NS, 0, svc };
	struct ab_addr unit;
	int rc;

	ab_service_name(service, svc);
	if (attempt <= 0 || config_is_ignored(store_config(st), host))
		return 0;
	config_unit(store_config(st), host, &unit);
	if ((rc = store_count_update(st, &unit, succ_cb, &s)) != 0)
		return rc;
	return s.refunded;
}

int
policy_refund_user(struct ab_store *st, const struct ab_addr *host,
    const char *service, const char *user, int64_t attempt, int64_t now_ns)
{
	struct ab_addr unit;
	int rc;

	config_unit(store_config(st), host, &unit);
	/* A trusted pair's attempt was recorded apart (earned.c). */
	if (attempt > 0 && !config_is_ignored(store_config(st), host) &&
	    (rc = earned_refund(st, &unit, user, attempt)) != 0)
		return rc < 0 ? rc : policy_success(st, host, now_ns) == 0;
	return policy_refund(st, host, service, attempt, now_ns);
}

/* ---- forgetting --------------------------------------------------------- */

struct prune_ctx {
	const struct ab_config *cfg;
	int64_t now;
	struct ab_addr ahead[256];	/* bans set right: their units */
	size_t nahead;
};

static int
prune_ban_cb(struct ab_ban *rec, int found, void *arg)
{
	struct prune_ctx *p = arg;
	int fixed = ban_fix_clock(p->cfg, rec, p->now);

	(void)found;
	if (fixed && p->nahead < sizeof(p->ahead) / sizeof(p->ahead[0]))
		p->ahead[p->nahead++] = rec->prefix;
	if (policy_ban_end(p->cfg, rec, p->now) == 0 &&
	    rec->until + p->cfg->forget_after < p->now)
		return AB_DELETE;
	return fixed ? AB_WRITE : AB_KEEP;
}

static int
prune_count_cb(struct ab_counter *rec, int found, void *arg)
{
	struct prune_ctx *p = arg;
	struct ab_counter before = *rec;
	int64_t cut = p->now - p->cfg->findtime;

	(void)found;
	count_fix_clock(rec, p->now * NS);
	if (!((rec->nfail > 0 && rec->fail[rec->nfail - 1] / NS >= cut) ||
	    rec->last_success >= cut))
		return AB_DELETE;
	return memcmp(&before, rec, sizeof(before)) != 0 ? AB_WRITE : AB_KEEP;
}

int
policy_prune(struct ab_store *st, int64_t now, size_t *nb, size_t *nc)
{
	struct prune_ctx p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.cfg = store_config(st);
	p.now = now;
	/* Bans first: the failures a ban set right paid for go with it. */
	if ((rc = store_ban_sweep(st, prune_ban_cb, &p, 4096, nb)) != 0 ||
	    (rc = fix_ahead(st, p.ahead, p.nahead, NULL, NULL, now)) != 0 ||
	    (rc = store_count_sweep(st, prune_count_cb, &p, 4096, nc)) != 0)
		return rc;
	/* Trust past its window, pair failures past theirs. */
	if ((rc = earned_prune(st, now)) != 0)
		return rc;
	/* A change without a record is kept a day for banhelper. */
	return store_changes_trim(st, now - 86400, 10000, NULL);
}
