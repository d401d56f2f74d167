/* test_addr.c - PAM_RHOST parsing, prefixes, masking. */
#include "testlib.h"

static void
expect(const char *in, const char *want)
{
	struct ab_addr a;
	char out[AB_ADDRSTRLEN];

	if (addr_parse(in, &a) != 0)
		fail_msg("addr_parse(\"%s\") failed", in);
	assert_string_equal(addr_format(&a, out, sizeof(out)), want);
}

static void
reject(const char *in)
{
	struct ab_addr a;

	if (addr_parse(in, &a) != AB_EADDR)
		fail_msg("addr_parse(\"%s\") accepted", in ? in : "NULL");
}

static void
parse_ipv4(void **state)
{
	struct ab_addr a;

	(void)state;
	assert_int_equal(addr_parse("203.0.113.7", &a), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(a.plen, 32);
	assert_memory_equal(a.a, "\xcb\x00\x71\x07", 4);
	expect("192.0.2.1", "192.0.2.1");
}

static void
parse_ipv6(void **state)
{
	struct ab_addr a;

	(void)state;
	assert_int_equal(addr_parse("2001:db8::1", &a), 0);
	assert_int_equal(a.family, 6);
	assert_int_equal(a.plen, 128);
	expect("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
}

static void
parse_mapped_is_ipv4(void **state)
{
	struct ab_addr a;

	(void)state;
	assert_int_equal(addr_parse("::ffff:203.0.113.9", &a), 0);
	assert_int_equal(a.family, 4);
	expect("::ffff:203.0.113.9", "203.0.113.9");
	expect("::FFFF:cb00:7109", "203.0.113.9");
	/* IPv4-compatible (deprecated) and NAT64 stay IPv6. */
	expect("::203.0.113.9", "::203.0.113.9");
	expect("64:ff9b::cb00:7109", "64:ff9b::cb00:7109");
}

static void
parse_brackets_and_zone(void **state)
{
	(void)state;
	expect("[2001:db8::5]", "2001:db8::5");
	expect("fe80::1%eth0", "fe80::1");
	expect("[fe80::1%eth0]", "fe80::1");
	expect("[203.0.113.7]", "203.0.113.7");
}

static void
parse_rejects(void **state)
{
	char longhost[400];

	(void)state;
	reject(NULL);
	reject("");
	reject("host.example.org");	/* UseDNS yes: never resolved */
	reject("localhost");
	reject("1.2.3");
	reject("1.2.3.4.5");
	reject("256.1.1.1");
	reject(" 203.0.113.7");
	reject("203.0.113.7 ");
	reject("203.0.113.7%eth0");	/* a zone is IPv6 only */
	reject("fe80::1%");
	reject("%eth0");
	reject("[2001:db8::1");
	reject("2001:db8::1]");
	reject("[]");
	reject("[2001:db8::1]:22");
	reject("203.0.113.7:22");
	reject("2001:db8::/64");	/* a prefix is not a host */
	reject("::ffff:1.2.3");
	memset(longhost, '1', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	reject(longhost);
	/* Over-long but with a valid address in front: still refused. */
	memcpy(longhost, "203.0.113.7", 11);
	reject(longhost);
}

static void
prefixes(void **state)
{
	struct ab_addr a;
	char out[AB_ADDRSTRLEN];

	(void)state;
	assert_int_equal(addr_parse_prefix("203.0.113.0/24", 0, &a), 0);
	assert_string_equal(addr_format(&a, out, sizeof(out)), "203.0.113.0/24");
	assert_int_equal(addr_parse_prefix("2001:db8::/32", 0, &a), 0);
	assert_string_equal(addr_format(&a, out, sizeof(out)), "2001:db8::/32");
	assert_int_equal(addr_parse_prefix("203.0.113.7", 0, &a), 0);
	assert_int_equal(a.plen, 32);
	assert_int_equal(addr_parse_prefix("::ffff:203.0.113.0/120", 0, &a), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(a.plen, 24);
	/* Host bits: refused strictly, cleared when loose. */
	assert_int_equal(addr_parse_prefix("203.0.113.7/24", 0, &a), AB_EADDR);
	assert_int_equal(addr_parse_prefix("203.0.113.7/24", 1, &a), 0);
	assert_string_equal(addr_format(&a, out, sizeof(out)), "203.0.113.0/24");
	assert_int_equal(addr_parse_prefix("203.0.113.0/33", 0, &a), AB_EADDR);
	assert_int_equal(addr_parse_prefix("2001:db8::/129", 0, &a), AB_EADDR);
	assert_int_equal(addr_parse_prefix("203.0.113.0/", 0, &a), AB_EADDR);
	assert_int_equal(addr_parse_prefix("203.0.113.0/2x", 0, &a), AB_EADDR);
	assert_int_equal(addr_parse_prefix("203.0.113.0/-1", 0, &a), AB_EADDR);
	assert_int_equal(addr_parse_prefix("/24", 0, &a), AB_EADDR);
	assert_int_equal(addr_parse_prefix("::ffff:1.2.3.0/64", 0, &a),
	    AB_EADDR);
	assert_int_equal(addr_parse_prefix("0.0.0.0/0", 0, &a), 0);
	assert_int_equal(a.plen, 0);
}

static void
masking_and_contains(void **state)
{
	struct ab_addr a = A("2001:db8:1:2:3:4:5:6"), net, h;
	char out[AB_ADDRSTRLEN];

	(void)state;
	addr_mask(&a, 64);
	assert_string_equal(addr_format(&a, out, sizeof(out)), "2001:db8:1:2::/64");
	a = A("203.0.113.77");
	addr_mask(&a, 20);
	assert_string_equal(addr_format(&a, out, sizeof(out)), "203.0.112.0/20");
	net = A("203.0.113.0/24");
	h = A("203.0.113.200");
	assert_true(addr_contains(&net, &h));
	h = A("203.0.114.1");
	assert_false(addr_contains(&net, &h));
	h = A("2001:db8::1");
	assert_false(addr_contains(&net, &h));	/* other family */
	net = A("2001:db8:1:2::/64");
	h = A("2001:db8:1:2:ffff::1");
	assert_true(addr_contains(&net, &h));
	/* A shorter prefix never lies inside a longer one. */
	h = A("2001:db8:1::/48");
	assert_false(addr_contains(&net, &h));
}

static void
loopback(void **state)
{
	struct ab_addr a;

	(void)state;
	a = A("127.0.0.1");
	assert_true(addr_is_loopback(&a));
	a = A("127.255.0.9");
	assert_true(addr_is_loopback(&a));
	a = A("::1");
	assert_true(addr_is_loopback(&a));
	assert_int_equal(addr_parse("::ffff:127.0.0.1", &a), 0);
	assert_true(addr_is_loopback(&a));
	a = A("203.0.113.1");
	assert_false(addr_is_loopback(&a));
	a = A("::2");
	assert_false(addr_is_loopback(&a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ipv4),
		cmocka_unit_test(parse_ipv6),
		cmocka_unit_test(parse_mapped_is_ipv4),
		cmocka_unit_test(parse_brackets_and_zone),
		cmocka_unit_test(parse_rejects),
		cmocka_unit_test(prefixes),
		cmocka_unit_test(masking_and_contains),
		cmocka_unit_test(loopback),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
