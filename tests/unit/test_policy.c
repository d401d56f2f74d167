/* test_policy.c - window, bans, escalation, refunds, allowlist, prefixes. */
#include "testlib.h"

#include <time.h>

/* A fixed "now" far from the real clock's edges; tests move it by hand. */
#define T0	(1800000000LL)

static struct ab_store *
open_with(struct fixture *f, unsigned maxretry, int64_t findtime,
    int64_t bantime)
{
	f->cfg.maxretry = maxretry;
	f->cfg.findtime = findtime;
	f->cfg.bantime = bantime;
	return fixture_store(f);
}

/* The policy as the module calls it for sshd. */
static int
attempt_sshd(struct ab_store *st, const struct ab_addr *h, int64_t t,
    struct ab_decision *d)
{
	return policy_attempt(st, h, "sshd", t, d);
}

static int
fail_sshd(struct ab_store *st, const struct ab_addr *h, int64_t t,
    struct ab_decision *d)
{
	return policy_fail(st, h, "sshd", t, d);
}

static int
verdict(struct ab_store *st, int (*fn)(struct ab_store *,
    const struct ab_addr *, int64_t, struct ab_decision *), const char *host,
    int64_t t_s, struct ab_decision *d)
{
	struct ab_addr h;

	assert_int_equal(addr_parse(host, &h), 0);
	assert_int_equal(fn(st, &h, t_s * NS, d), 0);
	return d->verdict;
}

static void
authfail_bans_at_maxretry(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 4, 600, 3600);
	struct ab_decision d;
	int i;

	for (i = 1; i <= 3; i++) {
		assert_int_equal(verdict(st, fail_sshd, "203.0.113.7", T0 + i,
		    &d), AB_PASS);
		assert_int_equal(d.failures, (unsigned)i);
	}
	assert_int_equal(verdict(st, fail_sshd, "203.0.113.7", T0 + 4, &d),
	    AB_BANNED);
	assert_int_equal(d.failures, 4);
	assert_int_equal(d.ban.until, T0 + 4 + 3600);
	assert_int_equal(d.ban.nbans, 1);
	assert_int_equal(d.ban.origin, AB_ORIGIN_AUTO);
	assert_int_equal(verdict(st, policy_check, "203.0.113.7", T0 + 5, &d),
	    AB_REFUSE);
	assert_int_equal(verdict(st, policy_check, "203.0.113.8", T0 + 5, &d),
	    AB_PASS);
}

static void
oneline_lets_exactly_maxretry_through(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 4, 600, 3600);
	struct ab_decision d;
	int i;

	for (i = 1; i <= 4; i++) {
		assert_int_equal(verdict(st, attempt_sshd, "203.0.113.7",
		    T0 + i, &d), AB_PASS);
		assert_true(d.attempt > 0);
	}
	/* The fifth is refused before any password check, and bans. */
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.7", T0 + 5, &d),
	    AB_BANNED);
	assert_int_equal(d.failures, 4);
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.7", T0 + 6, &d),
	    AB_REFUSE);
}

static void
sliding_window(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 3, 100, 3600);
	struct ab_decision d;

	/* Failures at 0, 60, 120: the first has left the window at 120. */
	assert_int_equal(verdict(st, fail_sshd, "198.51.100.1", T0, &d),
	    AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "198.51.100.1", T0 + 60, &d),
	    AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "198.51.100.1", T0 + 120, &d),
	    AB_PASS);
	assert_int_equal(d.failures, 2);
	/* Not a bucket: 150 still sees 60 and 120, so this is the third. */
	assert_int_equal(verdict(st, fail_sshd, "198.51.100.1", T0 + 150, &d),
	    AB_BANNED);
	/* A slow guesser (one per 60 s) never gets to three in 100 s. */
	assert_int_equal(verdict(st, fail_sshd, "198.51.100.2", T0, &d),
	    AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "198.51.100.2", T0 + 101, &d),
	    AB_PASS);
	assert_int_equal(d.failures, 1);	/* 0 slid out at 101 */
	assert_int_equal(verdict(st, fail_sshd, "198.51.100.2", T0 + 202, &d),
	    AB_PASS);
	assert_int_equal(d.failures, 1);	/* 101 has slid out at 202 */
}

static void
refund_and_success(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 4, 600, 3600);
	struct ab_decision d;
	struct ab_addr h = A("203.0.113.9");
	struct ab_counter c;
	int64_t good;
	int i;

	/* maxretry-1 mistakes, then the right password */
	for (i = 1; i <= 3; i++)
		assert_int_equal(verdict(st, attempt_sshd, "203.0.113.9",
		    T0 + i, &d), AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.9", T0 + 4, &d),
	    AB_PASS);
	good = d.attempt;
	assert_int_equal(policy_refund(st, &h, "sshd", good, (T0 + 4) * NS), 1);
	/* Twice (monitor, then session child): nothing more is refunded. */
	assert_int_equal(policy_refund(st, &h, "sshd", good, (T0 + 4) * NS), 0);
	assert_int_equal(store_count_get(st, &h, &c), 1);
	assert_int_equal(c.nfail, 3);
	assert_int_equal(c.nsucc, 1);
	assert_int_equal(c.last_success, T0 + 4);
	/* An unknown id never eats a real failure. */
	assert_int_equal(policy_refund(st, &h, "sshd", 12345, (T0 + 4) * NS), 0);
	assert_int_equal(store_count_get(st, &h, &c), 1);
	assert_int_equal(c.nfail, 3);
	/* The next real failure is the maxretry-th: it still gets checked... */
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.9", T0 + 5, &d),
	    AB_PASS);
	/* ...and the attempt after it is refused. */
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.9", T0 + 6, &d),
	    AB_BANNED);
}

static void
explicit_success_kept(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 4, 600, 3600);
	struct ab_decision d;
	struct ab_addr h = A("203.0.113.10");
	struct ab_counter c;

	assert_int_equal(verdict(st, fail_sshd, "203.0.113.10", T0, &d),
	    AB_PASS);
	assert_int_equal(policy_success(st, &h, (T0 + 1) * NS), 0);
	assert_int_equal(store_count_get(st, &h, &c), 1);
	assert_int_equal(c.nsucc, 1);
	assert_int_equal(c.nfail, 1);	/* a success does not wipe failures */
}

static void
escalation(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_decision d;
	int64_t t = T0;
	int round, want[] = { 100, 200, 400, 800, 1000, 1000 };

	f->cfg.bantime_increment = 2;
	f->cfg.bantime_max = 1000;
	f->cfg.forget_after = 5000;
	st = open_with(f, 2, 60, 100);
	for (round = 0; round < 6; round++) {
		assert_int_equal(verdict(st, fail_sshd, "192.0.2.50", t, &d),
		    AB_PASS);
		assert_int_equal(verdict(st, fail_sshd, "192.0.2.50", t + 1,
		    &d), AB_BANNED);
		assert_int_equal(d.ban.until - d.ban.start, want[round]);
		assert_int_equal(d.ban.nbans, (uint32_t)round + 1);
		/* Back just after the ban ends. */
		t = d.ban.until + 1;
		assert_int_equal(verdict(st, policy_check, "192.0.2.50", t, &d),
		    AB_PASS);
	}
	/* Good behaviour for longer than forget_after: back to bantime. */
	t += 5001;
	assert_int_equal(verdict(st, fail_sshd, "192.0.2.50", t, &d), AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "192.0.2.50", t + 1, &d),
	    AB_BANNED);
	assert_int_equal(d.ban.until - d.ban.start, 100);
	assert_int_equal(d.ban.nbans, 1);
}

static void
ban_lengths(void **state)
{
	struct ab_config cfg;

	(void)state;
	config_defaults(&cfg);
	cfg.bantime = 3600;
	cfg.bantime_increment = 1;
	assert_int_equal(policy_ban_length(&cfg, 0), 3600);
	assert_int_equal(policy_ban_length(&cfg, 10), 3600);
	cfg.bantime_increment = 3;
	cfg.bantime_max = 86400;
	assert_int_equal(policy_ban_length(&cfg, 1), 10800);
	assert_int_equal(policy_ban_length(&cfg, 2), 32400);
	assert_int_equal(policy_ban_length(&cfg, 3), 86400);
	assert_int_equal(policy_ban_length(&cfg, 4000000000u), 86400);
	cfg.bantime_increment = 100;
	cfg.bantime_max = AB_DURATION_MAX;
	assert_int_equal(policy_ban_length(&cfg, 50), AB_DURATION_MAX);
	cfg.bantime_max = 60;	/* below bantime: bantime wins */
	assert_int_equal(policy_ban_length(&cfg, 5), 3600);
}

static void
failures_before_a_ban_are_paid(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 3, 10000, 100);
	struct ab_decision d;

	f->cfg.bantime_increment = 1;
	assert_int_equal(verdict(st, fail_sshd, "192.0.2.60", T0, &d), AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "192.0.2.60", T0 + 1, &d),
	    AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "192.0.2.60", T0 + 2, &d),
	    AB_BANNED);
	/* After the ban, the window (10000 s) still holds those three, but
	 * they were paid for: the host starts again from one. */
	assert_int_equal(verdict(st, fail_sshd, "192.0.2.60", T0 + 200, &d),
	    AB_PASS);
	assert_int_equal(d.failures, 1);
}

static void
allowlist_never_counted(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_decision d;
	struct ab_store_stat ss;
	int i;

	f->cfg.ignore[0] = A("198.51.100.0/24");
	f->cfg.nignore = 1;
	st = open_with(f, 2, 600, 3600);
	for (i = 0; i < 10; i++) {
		assert_int_equal(verdict(st, attempt_sshd, "198.51.100.20",
		    T0 + i, &d), AB_IGNORED);
		assert_int_equal(verdict(st, fail_sshd, "127.0.0.1", T0 + i,
		    &d), AB_IGNORED);
		assert_int_equal(verdict(st, attempt_sshd, "::1", T0 + i, &d),
		    AB_IGNORED);
	}
	assert_int_equal(store_stat(st, &ss), 0);
	assert_int_equal(ss.counts.records, 0);
	assert_int_equal(ss.bans.records, 0);
	/* Even a manual prefix ban over it does not refuse it. */
	assert_int_equal(policy_ban_manual(st, &(struct ab_addr){ 4, 16,
	    { 198, 51 } }, 600, 1, T0, NULL), 0);
	assert_int_equal(verdict(st, policy_check, "198.51.100.20", T0 + 1,
	    &d), AB_IGNORED);
}

static void
ipv6_unit_is_the_64(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 3, 600, 3600);
	struct ab_decision d;
	char out[AB_ADDRSTRLEN];

	/* An attacker hopping addresses inside its /64 is one unit. */
	assert_int_equal(verdict(st, fail_sshd, "2001:db8:7:7::1", T0, &d),
	    AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "2001:db8:7:7::2", T0 + 1,
	    &d), AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "2001:db8:7:7:ffff::9",
	    T0 + 2, &d), AB_BANNED);
	assert_string_equal(addr_format(&d.ban.prefix, out, sizeof(out)),
	    "2001:db8:7:7::/64");
	assert_int_equal(verdict(st, policy_check, "2001:db8:7:7:1:2:3:4",
	    T0 + 3, &d), AB_REFUSE);
	assert_int_equal(verdict(st, policy_check, "2001:db8:7:8::1", T0 + 3,
	    &d), AB_PASS);
	/* IPv4-mapped counts as the IPv4 address. */
	assert_int_equal(verdict(st, fail_sshd, "::ffff:203.0.113.40", T0,
	    &d), AB_PASS);
	assert_int_equal(verdict(st, fail_sshd, "203.0.113.40", T0 + 1, &d),
	    AB_PASS);
	assert_int_equal(d.failures, 2);
}

static void
manual_bans(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_decision d;
	struct ab_ban b;
	struct ab_addr net = A("203.0.113.0/24");
	char out[AB_ADDRSTRLEN];

	f->cfg.ignore[0] = A("203.0.113.200");
	f->cfg.nignore = 1;
	st = open_with(f, 5, 600, 3600);
	/* Covers an allowlisted address: refused unless forced. */
	assert_int_equal(policy_ban_manual(st, &net, 600, 0, T0, &b),
	    AB_EIGNORED);
	assert_int_equal(policy_ban_manual(st, &(struct ab_addr){ 4, 8,
	    { 127 } }, 600, 0, T0, &b), AB_EIGNORED);
	assert_int_equal(policy_ban_manual(st, &net, 600, 1, T0, &b), 0);
	assert_int_equal(b.origin, AB_ORIGIN_MANUAL);
	assert_int_equal(b.until, T0 + 600);
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.9", T0 + 1, &d),
	    AB_REFUSE);
	assert_string_equal(addr_format(&d.ban.prefix, out, sizeof(out)),
	    "203.0.113.0/24");
	/* Default length is bantime; a re-ban sets a new end. */
	assert_int_equal(policy_ban_manual(st, &net, 0, 1, T0, &b), 0);
	assert_int_equal(b.until, T0 + 3600);
	assert_int_equal(b.nbans, 1);
	/* Unban: the prefix passes again, and its counts are gone. */
	assert_int_equal(verdict(st, fail_sshd, "203.0.114.9", T0, &d),
	    AB_PASS);
	assert_int_equal(policy_unban(st, &net, T0 + 2), 1);
	assert_int_equal(policy_unban(st, &net, T0 + 2), 0);
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.9", T0 + 3, &d),
	    AB_PASS);
	net = A("203.0.114.9");
	assert_int_equal(policy_unban(st, &net, T0 + 3), 0);
	assert_int_equal(verdict(st, fail_sshd, "203.0.114.9", T0 + 4, &d),
	    AB_PASS);
	assert_int_equal(d.failures, 1);	/* history went with the unban */
}

/* ---- the wall clock steps ----------------------------------------------- */

#define DAY	86400LL

/*
 * An admin mistyped while the clock was 30 days ahead and was banned;
 * once the clock is right, the ban lasts its hour from now (not 30 days),
 * and after it his password works: the failures it paid for are gone.
 */
static void
clock_back_30_days(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 3, 600, 3600);
	struct ab_decision d;
	int64_t ahead = T0 + 30 * DAY;
	char left[32];
	int i;

	for (i = 1; i <= 3; i++)
		assert_int_equal(verdict(st, attempt_sshd, "198.51.100.9",
		    ahead + i, &d), AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.9", ahead + 4,
	    &d), AB_BANNED);
	/* The clock is put right. */
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.9", T0, &d),
	    AB_REFUSE);
	assert_true(d.ban.until - T0 <= 3600);
	assert_string_equal(ab_fmt_duration(d.ban.until - T0, left,
	    sizeof(left)), "1h");
	/* Set right in the store too: it no longer slides with the clock. */
	assert_int_equal(verdict(st, policy_check, "198.51.100.9", T0 + 1800,
	    &d), AB_REFUSE);
	assert_int_equal(d.ban.until, T0 + 3600);
	/* After the hour, the next day: not banned again. */
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.9",
	    T0 + 3601, &d), AB_PASS);
	assert_int_equal(d.failures, 1);
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.9", T0 + DAY,
	    &d), AB_PASS);
}

/* Two typos 30 days ahead: the right password still works now, and the
 * attempt ids do not stay in the future. */
static void
clock_back_typos(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 5, 600, 3600);
	struct ab_decision d;
	struct ab_counter c;
	struct ab_addr u = A("198.51.100.10");

	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.10",
	    T0 + 30 * DAY, &d), AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.10",
	    T0 + 30 * DAY + 1, &d), AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.10", T0, &d),
	    AB_PASS);
	assert_true(d.attempt <= T0 * NS);
	assert_int_equal(policy_refund(st, &u, "sshd", d.attempt, T0 * NS), 1);
	assert_int_equal(store_count_get(st, &u, &c), 1);
	assert_true(c.fail[c.nfail - 1] <= T0 * NS);
	/* They age out from now, like any failure. */
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.10",
	    T0 + 601, &d), AB_PASS);
	assert_int_equal(d.failures, 1);
}

/* A day back and a day forward around a one-hour ban. */
static void
clock_steps_a_day(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 2, 600, 3600);
	struct ab_decision d;
	struct ab_ban b;
	struct ab_addr h = A("198.51.100.11");

	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.11", T0, &d),
	    AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.11", T0 + 1,
	    &d), AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.11", T0 + 2,
	    &d), AB_BANNED);
	/* A day back: still a one-hour ban, not 25 hours. */
	assert_int_equal(policy_find_ban(st, &h, T0 - DAY, &b, NULL, NULL,
	    NULL), 1);
	assert_int_equal(b.until - (T0 - DAY), 3600);
	/* ... and it ended an hour later. */
	assert_int_equal(policy_find_ban(st, &h, T0 - DAY + 3601, &b, NULL,
	    NULL, NULL), 0);
	/* A day forward from the start: no ban, and a fresh window. */
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.11",
	    T0 + DAY, &d), AB_PASS);
	assert_int_equal(d.failures, 1);
}

/* The daemon's pass sets right what the module has not touched yet. */
static void
clock_prune_sets_right(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 1, 600, 3600);
	struct ab_decision d;
	struct ab_ban b;
	struct ab_addr u = A("198.51.100.12");
	size_t nb = 0, nc = 0;

	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.12",
	    T0 + 30 * DAY, &d), AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "198.51.100.12",
	    T0 + 30 * DAY + 1, &d), AB_BANNED);
	assert_int_equal(policy_prune(st, T0, &nb, &nc), 0);
	assert_int_equal(store_ban_get(st, &u, &b), 1);
	assert_int_equal(b.start, T0);
	assert_int_equal(b.until, T0 + 3600);
}

static const struct ab_service_stat *
svc_find(const struct ab_service_stat *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	fail_msg("no figures for service %s", name);
	return NULL;
}

/*
 * Each failure and each auto ban is recorded with the PAM service it came
 * through, and each service keeps its figures: hosts failing now, failures
 * in all (a good login's attempt refunded), bans now and in all.  Bans
 * are per host: a host banned through one service is refused through
 * every other.
 */
static void
services_figures(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = open_with(f, 3, 600, 3600);
	struct ab_service_stat *v;
	struct ab_decision d;
	struct ab_addr h, m = A("198.51.100.0/24");
	struct ab_ban b;
	const struct ab_service_stat *s;
	int64_t good;
	size_t n;
	int i;

	/* A: two attempts on sshd, the second a good login (refunded). */
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.1", T0, &d),
	    AB_PASS);
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.1", T0 + 1, &d),
	    AB_PASS);
	good = d.attempt;
	assert_int_equal(addr_parse("203.0.113.1", &h), 0);
	assert_int_equal(policy_refund(st, &h, "sshd", good, (T0 + 2) * NS),
	    1);
	/* B: one failure on dovecot. */
	assert_int_equal(addr_parse("203.0.113.2", &h), 0);
	assert_int_equal(policy_attempt(st, &h, "dovecot", T0 * NS, &d), 0);
	assert_int_equal(d.verdict, AB_PASS);
	/* C: three on dovecot, the fourth banned; then refused on sshd. */
	assert_int_equal(addr_parse("203.0.113.3", &h), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(policy_attempt(st, &h, "dovecot",
		    (T0 + i) * NS, &d), 0);
		assert_int_equal(d.verdict, AB_PASS);
	}
	assert_int_equal(policy_attempt(st, &h, "dovecot", (T0 + 3) * NS, &d),
	    0);
	assert_int_equal(d.verdict, AB_BANNED);
	assert_string_equal(d.ban.service, "dovecot");
	assert_int_equal(verdict(st, attempt_sshd, "203.0.113.3", T0 + 4, &d),
	    AB_REFUSE);
	/* A manual ban belongs to no service. */
	assert_int_equal(policy_ban_manual(st, &m, 600, 0, T0, &b), 0);
	assert_string_equal(b.service, "");

	assert_int_equal(policy_services(st, T0 + 10, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "dovecot");	/* sorted */
	s = svc_find(v, n, "sshd");
	assert_int_equal(s->failed_now, 1);
	assert_int_equal(s->failed_total, 1);
	assert_int_equal(s->banned_now, 0);
	assert_int_equal(s->banned_total, 0);
	s = svc_find(v, n, "dovecot");
	assert_int_equal(s->failed_now, 2);
	assert_int_equal(s->failed_total, 4);
	assert_int_equal(s->banned_now, 1);
	assert_int_equal(s->banned_total, 1);
	free(v);
	/* The window passes and the ban ends: only the totals remain. */
	assert_int_equal(policy_services(st, T0 + 7200, &v, &n), 0);
	s = svc_find(v, n, "dovecot");
	assert_int_equal(s->failed_now, 0);
	assert_int_equal(s->banned_now, 0);
	assert_int_equal(s->failed_total, 4);
	assert_int_equal(s->banned_total, 1);
	free(v);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, \
    fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(authfail_bans_at_maxretry),
		T(oneline_lets_exactly_maxretry_through),
		T(sliding_window),
		T(refund_and_success),
		T(explicit_success_kept),
		T(escalation),
		cmocka_unit_test(ban_lengths),
		T(failures_before_a_ban_are_paid),
		T(allowlist_never_counted),
		T(ipv6_unit_is_the_64),
		T(manual_bans),
		T(clock_back_30_days),
		T(clock_back_typos),
		T(clock_steps_a_day),
		T(clock_prune_sets_right),
		T(services_figures),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
