/* test_util.c - escaping, durations, error text. */
#include "testlib.h"

static void
escape_plain(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(ab_escape("203.0.113.7", out, sizeof(out)),
	    "203.0.113.7");
	assert_string_equal(ab_escape(NULL, out, sizeof(out)), "(null)");
}

static void
escape_controls(void **state)
{
	char out[128];

	(void)state;
	/* CR/LF and friends can never start a fake log line. */
	assert_string_equal(ab_escape("a\r\nb\tc\x1b[0m", out, sizeof(out)),
	    "a\\x0d\\x0ab\\x09c\\x1b[0m");
	assert_string_equal(ab_escape("back\\slash", out, sizeof(out)),
	    "back\\\\slash");
	assert_string_equal(ab_escape("\xff\x80", out, sizeof(out)),
	    "\\xff\\x80");
}

static void
escape_truncates(void **state)
{
	char out[12];

	(void)state;
	assert_string_equal(ab_escape("0123456789abcdef", out, sizeof(out)),
	    "01234567...");
	assert_int_equal(strlen(out), 11);
	/* Exactly fitting input is not marked. */
	assert_string_equal(ab_escape("0123456789a", out, sizeof(out)),
	    "0123456789a");
	/* A multi-byte escape never gets cut in half. */
	assert_string_equal(ab_escape("0123456\n89abc", out, sizeof(out)),
	    "0123456...");
}

static void
durations(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(ab_fmt_duration(0, out, sizeof(out)), "0s");
	assert_string_equal(ab_fmt_duration(-5, out, sizeof(out)), "0s");
	assert_string_equal(ab_fmt_duration(59, out, sizeof(out)), "59s");
	assert_string_equal(ab_fmt_duration(3600, out, sizeof(out)), "1h");
	assert_string_equal(ab_fmt_duration(3661, out, sizeof(out)), "1h1m1s");
	assert_string_equal(ab_fmt_duration(8 * 86400 + 2, out, sizeof(out)),
	    "1w1d2s");
}

static void
error_text(void **state)
{
	(void)state;
	assert_string_equal(ab_strerror(0), "success");
	assert_string_equal(ab_strerror(AB_EUNTRUSTED),
	    "file or directory is not trusted");
	assert_string_equal(ab_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(ab_strerror(12345), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape_plain),
		cmocka_unit_test(escape_controls),
		cmocka_unit_test(escape_truncates),
		cmocka_unit_test(durations),
		cmocka_unit_test(error_text),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
