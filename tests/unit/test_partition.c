/*
 * test_partition.c - banhelper/fw_partition.c without a kernel: nested
 * prefix bans made disjoint ranges, each timed by the longest ban over it,
 * ranges back to the fewest prefixes, their text, unit elements, and the
 * three steps of a change.  A brute-force check compares the partition
 * with the answer computed address by address over a small space.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "../../banhelper/fw.h"

static struct fw_ban
B(const char *p, int64_t t)
{
	struct fw_ban b;

	memset(&b, 0, sizeof(b));
	if (addr_parse_prefix(p, 0, &b.prefix) != 0)
		fail_msg("bad prefix %s", p);
	b.timeout = t;
	return b;
}

static const char *
text(const struct fw_range *r)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	return fw_range_text(r, buf[i], sizeof(buf[i]));
}

/* One /24 with a /32 inside banned longer: three pieces. */
static void
nested(void **state)
{
	struct fw_ban in[] = { B("198.51.100.0/24", 100),
	    B("198.51.100.7/32", 500) };
	struct fw_range *r;
	size_t n;

	(void)state;
	assert_int_equal(fw_partition(in, 2, &r, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(text(&r[0]), "198.51.100.0-198.51.100.6");
	assert_int_equal(r[0].timeout, 100);
	assert_string_equal(text(&r[1]), "198.51.100.7");
	assert_int_equal(r[1].timeout, 500);
	assert_string_equal(text(&r[2]), "198.51.100.8-198.51.100.255");
	assert_int_equal(r[2].timeout, 100);
	free(r);
}

/* The inner ban shorter than the outer: it disappears into it. */
static void
shorter_inside(void **state)
{
	struct fw_ban in[] = { B("198.51.100.7/32", 50),
	    B("198.51.100.0/24", 100) };
	struct fw_range *r;
	size_t n;

	(void)state;
	assert_int_equal(fw_partition(in, 2, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(text(&r[0]), "198.51.100.0/24");
	assert_int_equal(r[0].timeout, 100);
	free(r);
}

/* Neighbours with equal timeouts merge; families stay apart. */
static void
neighbours_and_families(void **state)
{
	struct fw_ban in[] = { B("192.0.2.0/25", 60), B("192.0.2.128/25", 60),
	    B("2001:db8::/48", 60) };
	struct fw_range *r;
	size_t n;

	(void)state;
	assert_int_equal(fw_partition(in, 2, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(text(&r[0]), "192.0.2.0/24");
	free(r);
	assert_int_equal(fw_partition(in + 2, 1, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(text(&r[0]), "2001:db8::/48");
	free(r);
	assert_int_equal(fw_partition(in, 0, &r, &n), 0);
	assert_int_equal(n, 0);
	free(r);
}

/* The fewest prefixes for a range, lowest first. */
static void
range_prefixes(void **state)
{
	struct fw_range r;
	struct ab_addr out[64];
	char buf[AB_ADDRSTRLEN];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.family = 4;
	/* 198.51.100.1 .. 198.51.100.6: /32, /31, /31, /32 */
	addr_parse("198.51.100.1", &out[0]);
	fw_prefix_range(&out[0], &r);
	addr_parse("198.51.100.6", &out[1]);
	{
		struct fw_range hi;

		fw_prefix_range(&out[1], &hi);
		memcpy(r.hi, hi.hi, sizeof(r.hi));
	}
	n = fw_range_prefixes(&r, out, 64);
	assert_int_equal(n, 4);
	addr_format(&out[0], buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.1");
	addr_format(&out[1], buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.2/31");
	addr_format(&out[2], buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.4/31");
	addr_format(&out[3], buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.6");
	/* max bounds what is written */
	assert_int_equal(fw_range_prefixes(&r, out, 2), 2);
}

/* A unit set element is the unit's network address. */
static void
unit_elements(void **state)
{
	struct ab_addr a, u;
	char buf[AB_ADDRSTRLEN];

	(void)state;
	addr_parse_prefix("2001:db8:1:2::/64", 0, &a);
	u = fw_unit_net(&a);
	assert_non_null(inet_ntop(AF_INET6, u.a, buf, sizeof(buf)));
	assert_string_equal(buf, "2001:db8:1:2::");
	addr_parse_prefix("203.0.113.9/32", 0, &a);
	u = fw_unit_net(&a);
	addr_format(&u, buf, sizeof(buf));
	assert_string_equal(buf, "203.0.113.9");
}

/* A change: maybe-present elements pre-added, deleted, added; fresh ones
 * and a full rebuild only added; an unban only deleted. */
static void
steps(void **state)
{
	struct fw_ban b = B("203.0.113.9/32", 3600);
	struct fw_plan plan;

	(void)state;
	memset(&plan, 0, sizeof(plan));
	assert_true(fw_step_takes(&plan, &b, FW_STEP_PRE));
	assert_true(fw_step_takes(&plan, &b, FW_STEP_DEL));
	assert_true(fw_step_takes(&plan, &b, FW_STEP_ADD));
	assert_int_equal(fw_step_timeout(&b, FW_STEP_ADD), 3600);
	assert_int_equal(fw_step_timeout(&b, FW_STEP_DEL), 0);
	b.fresh = 1;
	assert_false(fw_step_takes(&plan, &b, FW_STEP_DEL));
	assert_true(fw_step_takes(&plan, &b, FW_STEP_ADD));
	b.fresh = 0;
	plan.full = 1;
	assert_false(fw_step_takes(&plan, &b, FW_STEP_PRE));
	assert_false(fw_step_takes(&plan, &b, FW_STEP_DEL));
	assert_true(fw_step_takes(&plan, &b, FW_STEP_ADD));
	plan.full = 0;
	b.timeout = 0;		/* an unban */
	assert_true(fw_step_takes(&plan, &b, FW_STEP_DEL));
	assert_false(fw_step_takes(&plan, &b, FW_STEP_ADD));
}

/*
 * Random nested bans inside 192.0.2.0/24, 200 rounds: every address is
 * covered by exactly one range, timed by the longest ban over it, and no
 * range covers an address no ban covers.
 */
static void
against_brute_force(void **state)
{
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		struct fw_ban in[12];
		int64_t want[256], got[256];
		struct fw_range *r;
		size_t n, i;
		int k, nb = 1 + (int)(rand_r(&seed) % 12), a;

		memset(want, 0, sizeof(want));
		memset(got, 0, sizeof(got));
		for (k = 0; k < nb; k++) {
			char p[64];
			int len = 24 + (int)(rand_r(&seed) % 9);
			int base = (int)(rand_r(&seed) % 256) &
			    ~((1 << (32 - len)) - 1);

			snprintf(p, sizeof(p), "192.0.2.%d/%d", base, len);
			in[k] = B(p, 1 + (int64_t)(rand_r(&seed) % 5) * 100);
			for (a = base; a < base + (1 << (32 - len)); a++)
				if (in[k].timeout > want[a])
					want[a] = in[k].timeout;
		}
		assert_int_equal(fw_partition(in, (size_t)nb, &r, &n), 0);
		for (i = 0; i < n; i++) {
			int lo = r[i].lo[3], hi = r[i].hi[3];

			assert_int_equal(r[i].lo[2], 2);
			for (a = lo; a <= hi; a++) {
				if (got[a] != 0)
					fail_msg("round %d: %d covered twice",
					    round, a);
				got[a] = r[i].timeout;
			}
			if (i > 0 && r[i - 1].timeout == r[i].timeout &&
			    r[i - 1].hi[3] + 1 == lo)
				fail_msg("round %d: equal neighbours not "
				    "merged at %d", round, lo);
		}
		for (a = 0; a < 256; a++)
			if (got[a] != want[a])
				fail_msg("round %d: address %d: %lld, want "
				    "%lld", round, a, (long long)got[a],
				    (long long)want[a]);
		free(r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nested),
		cmocka_unit_test(shorter_inside),
		cmocka_unit_test(neighbours_and_families),
		cmocka_unit_test(range_prefixes),
		cmocka_unit_test(unit_elements),
		cmocka_unit_test(steps),
		cmocka_unit_test(against_brute_force),
	};

	return cmocka_run_group_tests_name("partition", tests, NULL, NULL);
}
