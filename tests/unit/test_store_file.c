/*
 * test_store_file.c - a store file LMDB would crash on is refused before
 * LMDB maps it: cut short, garbage in its meta pages, a damaged page
 * anywhere; a file whose creation was cut short starts again; the seal.
 */
#include "testlib.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static char *
bans_path(struct fixture *f)
{
	static char p[600];

	snprintf(p, sizeof(p), "%s/db/%s", f->dir, AB_BANS_FILE);
	return p;
}

static int
set_cb(struct ab_ban *rec, int found, void *arg)
{
	const int64_t *t = arg;

	(void)found;
	rec->origin = AB_ORIGIN_MANUAL;
	rec->start = *t;
	rec->until = *t + 3600;
	rec->nbans = 1;
	return AB_WRITE;
}

static int
many_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	(void)i;
	return set_cb(rec, found, arg);
}

/* n bans in the fixture's store, in transactions of 500. */
static void
fill(struct fixture *f, int n)
{
	struct ab_store *st = fixture_store(f);
	struct ab_addr *p = calloc((size_t)n, sizeof(*p));
	int64_t t = now_s();
	int i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		char a[64];

		snprintf(a, sizeof(a), "2001:db8:%x:%x::/64", i >> 16, i & 0xffff);
		p[i] = A(a);
	}
	for (i = 0; i < n; i += 500)
		assert_int_equal(store_ban_update_many(st, p + i,
		    (size_t)(n - i < 500 ? n - i : 500), many_cb, &t), 0);
	free(p);
}

static long
file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (long)sb.st_size;
}

static void
read_file(const char *path, unsigned char **buf, long *len)
{
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	*len = file_size(path);
	*buf = malloc((size_t)*len);
	assert_non_null(*buf);
	assert_int_equal(fread(*buf, 1, (size_t)*len, fp), (size_t)*len);
	fclose(fp);
}

static void
write_file(const char *path, const unsigned char *buf, long len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
}

/* What every reader and writer of the store must survive. */
static int
use_store(struct fixture *f)
{
	struct ab_store *st = f->st;
	struct ab_addr h = A("2001:db8:0:7::1"), u = A("2001:db8:0:7::/64");
	struct ab_decision d;
	struct ab_ban b;
	int rc;

	rc = policy_find_ban(st, &h, now_s(), &b, &u, &b, NULL);
	(void)store_check(st);
	(void)policy_attempt(st, &h, "sshd", now_s() * NS, &d);
	(void)policy_prune(st, now_s(), NULL, NULL);
	return rc;
}

/* A store cut short at every page, and in the middle of one. */
static void
cut_short(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf;
	long len, cut;

	fill(f, 3000);
	read_file(bans_path(f), &buf, &len);
	assert_true(len > 16 * 4096);
	for (cut = len - 4096; cut > 2 * 4096; cut -= 4096 * 3 + 7) {
		write_file(bans_path(f), buf, cut);
		logbuf_reset(&f->lb);
		assert_int_equal(use_store(f), AB_ECORRUPT);
		assert_logged(&f->lb, "not mapped");
		/* Loses no data: the file is as it was cut, never replaced. */
		assert_int_equal(file_size(bans_path(f)), cut);
	}
	free(buf);
}

/* Garbage in the meta pages: the page size (a division by zero in
 * LMDB), the magic, the version, the last page, the roots. */
static void
bad_meta(void **state)
{
	static const struct {
		long off;
		unsigned char val;
		int want;
	} cases[] = {
		{ 16 + 25, 0, AB_ECORRUPT },		/* page size 0 */
		{ 16 + 25, 0x77, AB_ECORRUPT },		/* odd page size */
		{ 16, 0, AB_ECORRUPT },			/* magic */
		{ 16 + 4, 2, AB_EVERSION },		/* data version */
		{ 16 + 24 + 96 + 7, 0x40, AB_ECORRUPT },	/* last page */
		{ 16 + 24 + 48 + 47, 0x7f, AB_ECORRUPT },	/* main root */
		{ 4096 + 16, 0, AB_ECORRUPT },		/* other meta */
	};
	struct fixture *f = *state;
	unsigned char *buf;
	long len;
	size_t i;

	fill(f, 200);
	read_file(bans_path(f), &buf, &len);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char save[2];

		/* Both metas: the one in use, whichever it is. */
		save[0] = buf[cases[i].off];
		save[1] = buf[cases[i].off % 4096 + 4096];
		buf[cases[i].off] = cases[i].val;
		if (cases[i].off < 4096)
			buf[cases[i].off + 4096] = cases[i].val;
		write_file(bans_path(f), buf, len);
		logbuf_reset(&f->lb);
		if (use_store(f) != cases[i].want)
			fail_msg("case %zu: want %s\n%s", i,
			    ab_strerror(cases[i].want), f->lb.text);
		buf[cases[i].off] = save[0];
		buf[cases[i].off % 4096 + 4096] = save[1];
	}
	free(buf);
}

#ifdef __SANITIZE_ADDRESS__
#define DAMAGE_STRIDE	61	/* each open costs several times more */
#else
#define DAMAGE_STRIDE	13
#endif

/*
 * One damaged byte anywhere in a small store: refused, or read as it is,
 * but never a crash (a signal kills this test).  Every 13th byte of every
 * page past the metas (a prime step: each offset within a page and a node
 * is hit across the pages; every 61st under ASan), set to two values;
 * fuzz_store does the rest.
 */
static void
damaged_anywhere(void **state)
{
	static const unsigned char vals[] = { 0xff, 0x01 };
	struct fixture *f = *state;
	unsigned char *buf;
	long len, off;
	size_t v;
	int refused = 0;

	fill(f, 120);
	read_file(bans_path(f), &buf, &len);
	for (off = 2 * 4096; off < len; off += DAMAGE_STRIDE) {
		for (v = 0; v < sizeof(vals); v++) {
			unsigned char save = buf[off];

			buf[off] = vals[v];
			write_file(bans_path(f), buf, len);
			refused += use_store(f) == AB_ECORRUPT;
			buf[off] = save;
		}
	}
	/* Some damage is harmless (a byte of a key): not all is refused. */
	assert_true(refused > 0);
	free(buf);
}

/* The disk was full when the store was made: it starts again. */
static void
creation_cut_short(void **state)
{
	struct fixture *f = *state;
	struct ab_ban b;
	struct ab_addr h = A("198.51.100.7");
	unsigned char *buf;
	long len;
	int64_t t = now_s();

	fill(f, 10);
	read_file(bans_path(f), &buf, &len);
	/* Nothing written at all, then half a meta page. */
	write_file(bans_path(f), buf, 0);
	assert_int_equal(policy_find_ban(f->st, &h, t, &b, NULL, NULL, NULL),
	    0);
	assert_int_equal(store_ban_update(f->st, &h, set_cb, &t), 0);
	assert_int_equal(policy_find_ban(f->st, &h, t, &b, NULL, NULL, NULL),
	    1);
	write_file(bans_path(f), buf, 2000);
	logbuf_reset(&f->lb);
	assert_int_equal(store_ban_update(f->st, &h, set_cb, &t), 0);
	assert_logged(&f->lb, "was cut short while being created (2000 bytes, "
	    "no valid meta pages): creating it again");
	assert_int_equal(policy_find_ban(f->st, &h, t, &b, NULL, NULL, NULL),
	    1);
	free(buf);
}

/*
 * The seal: written beside the file after each commit, owned like the
 * directory; a file changed behind our back no longer matches it and is
 * judged whole again.
 */
static void
seal(void **state)
{
	struct fixture *f = *state;
	char seal[700];
	struct stat sb;
	unsigned char *buf;
	long len;

	fill(f, 600);
	snprintf(seal, sizeof(seal), "%s.seal", bans_path(f));
	assert_int_equal(stat(seal, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, 72);
	/* A page damaged where the meta check cannot see it. */
	read_file(bans_path(f), &buf, &len);
	memset(buf + len - 4096 + 16, 0xee, 64);
	write_file(bans_path(f), buf, len);
	logbuf_reset(&f->lb);
	assert_int_equal(store_check(f->st), AB_ECORRUPT);
	free(buf);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, \
    fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(cut_short),
		T(bad_meta),
		T(damaged_anywhere),
		T(creation_cut_short),
		T(seal),
	};

	return cmocka_run_group_tests_name("store-file", tests, NULL, NULL);
}
