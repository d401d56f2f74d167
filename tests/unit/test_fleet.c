/*
 * test_fleet.c - banhelper/fleet_event.c and fleet_apply.c without Redis:
 * an event's one spelling, what a hostile line cannot get through, stream
 * ids in order, and this server's rules over the fleet's events (a ban of
 * its own holds, an unban lifts only its owner's ban, allowlist and trust
 * refuse, fleet_accept and fleet_rate, nothing of its own taken back).
 */
#include "testlib.h"

#include "../../banhelper/fleet.h"

#define NOW	1900000000LL

static struct fleet_event
ev_of(const char *line)
{
	struct fleet_event ev;
	const char *why;

	if (fleet_event_parse(line, strlen(line), &ev, &why) != 0)
		fail_msg("refused \"%s\": bad %s", line, why);
	return ev;
}

static const char *
refusal(const char *line)
{
	struct fleet_event ev;
	const char *why = NULL;

	if (fleet_event_parse(line, strlen(line), &ev, &why) == 0)
		return NULL;
	assert_non_null(why);
	return why;
}

static void
event_round_trip(void **state)
{
	const char *good[] = {
		"v1 ban 203.0.113.7 1900000600 web-1 web-1 auto sshd 4 failures",
		"v1 ban 2001:db8::/64 1900000600 a a manual - -",
		"v1 ban 198.51.100.0/24 1900000600 a.b_c-d a.b_c-d auto dovecot -",
		"v1 unban 203.0.113.7 0 web-2 web-1 - - -",
	};
	char out[FLEET_LINE_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct fleet_event ev = ev_of(good[i]);

		assert_true(fleet_event_format(&ev, out, sizeof(out)) > 0);
		assert_string_equal(out, good[i]);
	}
	assert_string_equal(ev_of(good[0]).reason, "4 failures");
	assert_string_equal(ev_of(good[3]).owner, "web-1");
	assert_int_equal(ev_of(good[1]).kind, AB_ORIGIN_MANUAL);
}

static void
event_refusals(void **state)
{
	char big[FLEET_LINE_MAX + 8];

	(void)state;
	assert_string_equal(refusal("v2 ban 203.0.113.7 1900000600 a a auto - -"),
	    "version");
	assert_string_equal(refusal("v1 kick 203.0.113.7 1900000600 a a auto - -"),
	    "operation");
	assert_string_equal(refusal("v1 ban 203.0.113.7/33 1900000600 a a auto - -"),
	    "prefix");
	assert_string_equal(refusal("v1 ban 203.0.113.7/24 1900000600 a a auto - -"),
	    "prefix");		/* host bits set: not the canonical form */
	assert_string_equal(refusal("v1 ban 2001:DB8::1 1900000600 a a auto - -"),
	    "prefix");
	assert_string_equal(refusal("v1 ban example.com 1900000600 a a auto - -"),
	    "prefix");
	assert_string_equal(refusal("v1 ban 203.0.113.7 01900000600 a a auto - -"),
	    "end of the ban");
	assert_string_equal(refusal("v1 ban 203.0.113.7 -5 a a auto - -"),
	    "end of the ban");
	assert_string_equal(refusal("v1 ban 203.0.113.7 0 a a auto - -"),
	    "end of the ban");
	assert_string_equal(refusal("v1 unban 203.0.113.7 5 a a - - -"),
	    "end of the ban");
	assert_string_equal(refusal("v1 ban 203.0.113.7 1900000600 a/b a/b auto - -"),
	    "origin");
	assert_string_equal(refusal("v1 ban 203.0.113.7 1900000600 a b auto - -"),
	    "owner");		/* a ban is its origin's own */
	assert_string_equal(refusal("v1 ban 203.0.113.7 1900000600 a a trusted - -"),
	    "kind");
	assert_string_equal(refusal("v1 ban 203.0.113.7 1900000600 a a auto s%d -"),
	    "service");
	assert_string_equal(refusal("v1 ban 203.0.113.7 1900000600 a a auto -"),
	    "reason");
	assert_string_equal(refusal("v1 unban 203.0.113.7 0 a b - - why"),
	    "reason");
	assert_string_equal(refusal("v1 ban 203.0.113.7 1900000600 a a auto - \x1b[31m"),
	    "line");
	assert_string_equal(refusal("v1  ban 203.0.113.7 1900000600 a a auto - -"),
	    "operation");
	assert_string_equal(refusal(""), "line");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "v1 ban 203.0.113.7 1900000600 a a auto - ", 41);
	assert_string_equal(refusal(big), "line");
	/* A NUL inside the bytes is a control byte too. */
	{
		struct fleet_event ev;
		const char *why;
		const char nul[] = "v1 ban 203.0.113.7 1900000600 a a auto - x\0y";

		assert_int_equal(fleet_event_parse(nul, sizeof(nul) - 1, &ev,
		    &why), -1);
	}
}

static void
stream_ids(void **state)
{
	(void)state;
	assert_true(fleet_id_cmp("1700000000000-0", "1700000000000-1") < 0);
	assert_true(fleet_id_cmp("1700000000001-0", "1700000000000-9") > 0);
	assert_true(fleet_id_cmp("999-0", "1000-0") < 0);	/* numbers */
	assert_int_equal(fleet_id_cmp("5-5", "5-5"), 0);
	assert_true(fleet_id_cmp("junk", "0-0") < 0);
	assert_false(fleet_id_ok("1-"));
	assert_false(fleet_id_ok("-1"));
	assert_false(fleet_id_ok("1-2-3"));
	assert_true(fleet_id_ok("0-0"));
}

/* ---- this server's rules ------------------------------------------------- */

static int
apply_lines(struct fixture *f, struct fleet_rate *rate, const char **lines,
    size_t n, struct fleet_counts *c, uint8_t *lifted)
{
	struct fleet_event ev[16];
	size_t i;

	assert_true(n <= 16);
	for (i = 0; i < n; i++)
		ev[i] = ev_of(lines[i]);
	return fleet_apply(f->st, "me", ev, n, 0, NOW, rate, &f->log, c,
	    lifted);
}

static int
banned(struct fixture *f, const char *p, struct ab_ban *rec)
{
	struct ab_addr a;
	struct ab_ban r;

	assert_int_equal(addr_parse_prefix(p, 0, &a), 0);
	if (store_ban_get(f->st, &a, &r) != 1)
		return 0;
	if (rec != NULL)
		*rec = r;
	return policy_ban_end(&f->cfg, &r, NOW) > 0;
}

static void
apply_rules(void **state)
{
	struct fixture *f = *state;
	struct fleet_rate *rate = fleet_rate_new();
	struct fleet_counts c = { 0 };
	struct ab_addr a;
	struct ab_ban rec;
	uint8_t lifted[16];
	const char *l1[] = {
		"v1 ban 203.0.113.1 1900000600 web1 web1 auto sshd 4 failures",
		"v1 ban 203.0.113.2 1900000600 me me manual - -",
		"v1 ban 127.0.0.0/8 1900000600 web1 web1 manual - -",
		"v1 ban 192.0.2.0/23 1900000600 web1 web1 manual - -",
		"v1 ban 203.0.113.3 1899999000 web1 web1 manual - -",
		"v1 ban 203.0.113.4 1950000000 web1 web1 manual - -",
		"v1 ban 198.0.0.0/15 1900000600 web1 web1 manual - -",
		"v1 ban 2001:db8::/31 1900000600 web1 web1 manual - -",
		"v1 ban 198.51.0.0/16 1900000600 web1 web1 manual - -",
	};

	assert_non_null(rate);
	assert_int_equal(config_set(&f->cfg, "ignoreip", "192.0.2.7", "t", 1,
	    &f->log), 0);
	fixture_store(f);
	assert_int_equal(apply_lines(f, rate, l1, 9, &c, lifted), 0);
	assert_true(banned(f, "203.0.113.1", &rec));
	assert_string_equal(rec.from, "web1");
	assert_string_equal(rec.service, "sshd");
	assert_int_equal(rec.until, 1900000600);
	assert_int_equal(rec.origin, AB_ORIGIN_AUTO);
	assert_false(banned(f, "203.0.113.2", NULL));	/* ours: not again */
	assert_false(banned(f, "127.0.0.0/8", NULL));
	assert_false(banned(f, "192.0.2.0/23", NULL));	/* covers ignoreip */
	assert_false(banned(f, "203.0.113.3", NULL));	/* over already */
	assert_false(banned(f, "203.0.113.4", NULL));	/* over a year */
	assert_logged(&f->lb, "fleet: refused a ban of 127.0.0.0/8 from web1: "
	    "loopback");
	assert_logged(&f->lb, "fleet: refused a ban of 192.0.2.0/23 from web1: "
	    "in ignoreip");
	assert_logged(&f->lb, "refused a ban of 203.0.113.4 from web1: longer "
	    "than a year");
	assert_false(banned(f, "198.0.0.0/15", NULL));
	assert_false(banned(f, "2001:db8::/31", NULL));
	assert_true(banned(f, "198.51.0.0/16", NULL));	/* /16: taken */
	assert_logged(&f->lb, "refused a ban of 198.0.0.0/15 from web1: wider "
	    "than /16");
	assert_logged(&f->lb, "refused a ban of 2001:db8::/31 from web1: wider "
	    "than /32");
	assert_int_equal(c.rejected, 5);

	/* A ban made here holds against the fleet's ban and unban. */
	assert_int_equal(addr_parse_prefix("203.0.113.9", 0, &a), 0);
	assert_int_equal(policy_ban_manual(f->st, &a, 7200, 0, NOW, NULL), 0);
	{
		const char *l2[] = {
			"v1 ban 203.0.113.9 1900000100 web1 web1 auto sshd -",
			"v1 unban 203.0.113.9 0 web2 web1 - - -",
		};

		assert_int_equal(apply_lines(f, rate, l2, 2, &c, lifted), 0);
	}
	assert_true(banned(f, "203.0.113.9", &rec));
	assert_string_equal(rec.from, "");
	assert_int_equal(rec.until, NOW + 7200);
	assert_int_equal(lifted[1], 0);

	/* An unban lifts the owner's ban: not when it names another. */
	{
		const char *l3[] = {
			"v1 unban 203.0.113.1 0 web2 web3 - - -",
		};

		assert_int_equal(apply_lines(f, rate, l3, 1, &c, lifted), 0);
		assert_true(banned(f, "203.0.113.1", NULL));
	}
	{
		const char *l4[] = {
			"v1 unban 203.0.113.1 0 web2 web1 - - -",
			"v1 unban 203.0.113.9 0 web2 me - - -",
		};

		assert_int_equal(apply_lines(f, rate, l4, 2, &c, lifted), 0);
		assert_false(banned(f, "203.0.113.1", NULL));
		assert_false(banned(f, "203.0.113.9", NULL));
		assert_int_equal(lifted[0], 1);
		assert_int_equal(lifted[1], 1);
	}
	fleet_rate_free(rate);
}

static void
apply_trust_accept_rate(void **state)
{
	struct fixture *f = *state;
	struct fleet_rate *rate = fleet_rate_new();
	struct fleet_counts c = { 0 };
	struct ab_addr unit;
	char line[FLEET_LINE_MAX];
	const char *lines[16];
	char buf[16][FLEET_LINE_MAX];
	uint8_t lifted[16];
	size_t i;

	f->cfg.fleet_accept = AB_FLEET_AUTO;
	f->cfg.fleet_rate = 3;
	fixture_store(f);
	/* A user earned trust from 198.51.100.9: no fleet ban covers it. */
	assert_int_equal(addr_parse("198.51.100.9", &unit), 0);
	assert_int_equal(store_trust_put(f->st, &unit, "alice", NOW - 60), 0);
	{
		const char *l[] = {
			"v1 ban 198.51.100.0/24 1900000600 x x auto sshd -",
			"v1 ban 203.0.113.20 1900000600 x x manual - -",
		};

		assert_int_equal(apply_lines(f, rate, l, 2, &c, lifted), 0);
	}
	assert_false(banned(f, "198.51.100.0/24", NULL));
	assert_logged(&f->lb, "refused a ban of 198.51.100.0/24 from x: a "
	    "prefix a user earned trust from");
	assert_false(banned(f, "203.0.113.20", NULL));	/* fleet_accept */
	/* fleet_rate = 3 a minute: x has one token left, y has three. */
	for (i = 0; i < 6; i++) {
		snprintf(buf[i], sizeof(buf[i]), "v1 ban 203.0.113.%zu "
		    "1900000600 %s %s auto - -", 30 + i, i < 3 ? "x" : "y",
		    i < 3 ? "x" : "y");
		lines[i] = buf[i];
	}
	assert_int_equal(apply_lines(f, rate, lines, 6, &c, lifted), 0);
	assert_true(banned(f, "203.0.113.30", NULL));
	assert_false(banned(f, "203.0.113.31", NULL));
	assert_false(banned(f, "203.0.113.32", NULL));
	assert_true(banned(f, "203.0.113.33", NULL));
	assert_true(banned(f, "203.0.113.35", NULL));
	assert_int_equal(c.limited, 2);
	assert_logged(&f->lb, "fleet: x sends more than fleet_rate (3 a "
	    "minute)");
	(void)line;
	fleet_rate_free(rate);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, \
    fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(event_round_trip),
		cmocka_unit_test(event_refusals),
		cmocka_unit_test(stream_ids),
		T(apply_rules),
		T(apply_trust_accept_rate),
	};

	return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
