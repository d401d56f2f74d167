/*
 * test_lmdb_alloc.c - pam_module/lmdb_alloc.c, the memory functions
 * liblmdb.a is linked against inside the module: large blocks are mappings
 * of their own and leave libc's heap and its thresholds as they were;
 * small ones come from malloc; each keeps what realloc, calloc, strdup and
 * posix_memalign promise.  And pam_module/lmdb_open.c, the open it is
 * linked against: LMDB's open of /proc/self/fd/N gets a duplicate of N
 * when N is open as LMDB asks, and anything else is opened by name.
 */
#include "testlib.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>

#include "../../pam_module/lmdb_alloc.h"

/* What LMDB asks for on every write environment's open. */
#define DIRTY_LIST	((size_t)131072 * 16)	/* MDB_IDL_UM_SIZE ID2s */
#define FREE_PAGES	((size_t)131074 * 8)	/* MDB_IDL_UM_MAX + 2 IDs */

static int
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/*
 * Opening and closing a write environment four times, as sshd's monitor
 * does over four attempts of one connection: libc's heap does not grow by
 * the 3 MB, and every dirty list is zero.  With libc's own calloc and free
 * the first free raised glibc's mmap threshold, the second open took the
 * 3 MB from the heap and it stayed there.
 */
static void
large_blocks_leave_heap(void **state)
{
	struct mallinfo2 before, after;

	(void)state;
	before = mallinfo2();
	for (int i = 0; i < 4; i++) {
		unsigned char *dl = ab_lmdb_calloc(131072, 16);
		unsigned char *fp = ab_lmdb_malloc(FREE_PAGES);

		assert_non_null(dl);
		assert_non_null(fp);
		assert_true(((uintptr_t)dl & 15) == 0);
		assert_true(((uintptr_t)fp & 15) == 0);
		assert_true(all_zero(dl, DIRTY_LIST));
		memset(dl, 0xa5, DIRTY_LIST);	/* dirty it, as LMDB does */
		memset(fp, 0x5a, FREE_PAGES);
		ab_lmdb_free(fp);
		ab_lmdb_free(dl);
	}
	after = mallinfo2();
	assert_true(after.arena < before.arena + 256 * 1024);
	assert_int_equal(after.hblkhd, before.hblkhd);
	/* libc's own threshold is untouched: a 1 MB malloc is still mapped. */
	{
		void *p = malloc(FREE_PAGES);

		assert_non_null(p);
		assert_true(mallinfo2().hblkhd >= before.hblkhd + FREE_PAGES);
		free(p);
	}
}

static void
small_blocks(void **state)
{
	unsigned char *p, *z;

	(void)state;
	p = ab_lmdb_malloc(100);
	z = ab_lmdb_calloc(10, 10);
	assert_non_null(p);
	assert_non_null(z);
	assert_true(((uintptr_t)p & 15) == 0);
	assert_true(all_zero(z, 100));
	memset(p, 1, 100);
	ab_lmdb_free(p);
	ab_lmdb_free(z);
	ab_lmdb_free(NULL);
	p = ab_lmdb_malloc(0);
	assert_non_null(p);
	ab_lmdb_free(p);
}

static void
calloc_overflow(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ab_lmdb_calloc(SIZE_MAX / 2, 4));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(ab_lmdb_malloc(SIZE_MAX - 8));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(ab_lmdb_malloc(SIZE_MAX / 2));	/* no such mapping */
	assert_int_equal(errno, ENOMEM);
}

/* LMDB grows an ID list with realloc: across the small/large line too. */
static void
realloc_keeps(void **state)
{
	unsigned char *p, *q;

	(void)state;
	assert_non_null(p = ab_lmdb_realloc(NULL, 64));
	for (int i = 0; i < 64; i++)
		p[i] = (unsigned char)i;
	assert_non_null(q = ab_lmdb_realloc(p, LMDB_ALLOC_BIG * 2));
	for (int i = 0; i < 64; i++)
		assert_int_equal(q[i], i);
	q[LMDB_ALLOC_BIG * 2 - 1] = 7;
	assert_non_null(p = ab_lmdb_realloc(q, LMDB_ALLOC_BIG * 4));
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], i);
	assert_int_equal(p[LMDB_ALLOC_BIG * 2 - 1], 7);
	assert_non_null(q = ab_lmdb_realloc(p, 32));	/* shrinks */
	for (int i = 0; i < 32; i++)
		assert_int_equal(q[i], i);
	/* A failed realloc leaves the block as it was. */
	assert_null(ab_lmdb_realloc(q, SIZE_MAX - 8));
	assert_int_equal(q[31], 31);
	ab_lmdb_free(q);
}

static void
strdup_copies(void **state)
{
	char *s;

	(void)state;
	assert_non_null(s = ab_lmdb_strdup("/proc/self/fd/5"));
	assert_string_equal(s, "/proc/self/fd/5");
	ab_lmdb_free(s);
	assert_non_null(s = ab_lmdb_strdup(""));
	assert_string_equal(s, "");
	ab_lmdb_free(s);
}

/* LMDB's file copy asks for page-aligned buffers. */
static void
aligned_blocks(void **state)
{
	void *p = NULL;

	(void)state;
	assert_int_equal(ab_lmdb_posix_memalign(&p, 4096, 8192), 0);
	assert_true(((uintptr_t)p & 4095) == 0);
	memset(p, 3, 8192);
	ab_lmdb_free(p);
	assert_int_equal(ab_lmdb_posix_memalign(&p, 65536, 100), 0);
	assert_true(((uintptr_t)p & 65535) == 0);
	ab_lmdb_free(p);
	assert_int_equal(ab_lmdb_posix_memalign(&p, 8, 100), 0);
	assert_true(((uintptr_t)p & 7) == 0);
	ab_lmdb_free(p);
	p = NULL;
	errno = 0;
	assert_int_equal(ab_lmdb_posix_memalign(&p, 3, 8), EINVAL);
	assert_int_equal(ab_lmdb_posix_memalign(&p, 4, 8), EINVAL);
	assert_int_equal(ab_lmdb_posix_memalign(&p, 4096, SIZE_MAX - 8),
	    ENOMEM);
	assert_null(p);
	assert_int_equal(errno, 0);
}

/* A file of 16 bytes in $TMPDIR, open as flags; removed at once. */
static int
scratch_file(int flags)
{
	char path[] = "/tmp/test_lmdb_open.XXXXXX";
	int fd, rw;

	assert_true((rw = mkstemp(path)) >= 0);
	assert_int_equal(write(rw, "0123456789abcdef", 16), 16);
	assert_true((fd = open(path, flags | O_CLOEXEC)) >= 0);
	assert_int_equal(unlink(path), 0);
	close(rw);
	return fd;
}

static void
fd_name(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* Whether a and b share one open file description (offset and all). */
static int
same_description(int a, int b)
{
	off_t was = lseek(a, 0, SEEK_CUR), seen;

	assert_true(lseek(a, 7, SEEK_SET) == 7);
	seen = lseek(b, 0, SEEK_CUR);
	assert_true(lseek(a, was, SEEK_SET) == was);
	return seen == 7;
}

/*
 * Open a scratch file as fd_flags, then its /proc/self/fd name through
 * ab_lmdb_open as lmdb_flags (with mode 0600): 1 if LMDB got the same open
 * file description, 0 if one of its own.  Either way the descriptor LMDB
 * got is a working one with the status flags asked for, and closing it
 * leaves the scratch descriptor open.
 */
static int
shares(int fd_flags, int lmdb_flags)
{
	char name[64];
	int fd, got, shared;

	fd = scratch_file(fd_flags);
	fd_name(name, sizeof(name), fd);
	assert_true((got = ab_lmdb_open(name, lmdb_flags, 0600)) >= 0);
	assert_true(got != fd);
	shared = same_description(fd, got);
	if (shared)	/* as every descriptor the module opens */
		assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	else
		assert_int_equal(lseek(got, 0, SEEK_CUR), 0);
	assert_int_equal(fcntl(got, F_GETFL) & (O_ACCMODE | O_DSYNC),
	    lmdb_flags & (O_ACCMODE | O_DSYNC));
	close(got);
	assert_true(fcntl(fd, F_GETFL) != -1);
	close(fd);
	return shared;
}

/* What LMDB opens for a store: the checked descriptor, shared. */
static void
open_dups_the_checked_fd(void **state)
{
	(void)state;
	/* A read environment, and a write environment. */
	assert_true(shares(O_RDONLY, O_RDONLY));
	assert_true(shares(O_RDWR, O_RDWR | O_CREAT));
}

/* Any other request is LMDB's own open of the name, as before. */
static void
open_by_name_otherwise(void **state)
{
	char name[64], dir[64];
	int fd, got;

	(void)state;
	/* Another access mode: a description of its own. */
	assert_false(shares(O_RDWR, O_RDONLY));
	/* The meta descriptor of a synced write environment. */
	assert_false(shares(O_RDWR, O_WRONLY | O_DSYNC));
	/* A read-only descriptor asked for writing (the name is opened anew,
	 * which the file's mode allows its owner). */
	assert_false(shares(O_RDONLY, O_RDWR | O_CREAT));

	/* Names that only look like it. */
	fd = scratch_file(O_RDONLY);
	snprintf(name, sizeof(name), "/proc/self/fd/0%d", fd);
	got = ab_lmdb_open(name, O_RDONLY);
	assert_true(got < 0 || !same_description(fd, got));
	if (got >= 0)
		close(got);
	snprintf(name, sizeof(name), "/proc/self/fd/%dx", fd);
	errno = 0;
	assert_int_equal(ab_lmdb_open(name, O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(name, sizeof(name), "/proc/self/fd/%d/", fd);
	assert_int_equal(ab_lmdb_open(name, O_RDONLY), -1);
	assert_int_equal(ab_lmdb_open("/proc/self/fd/99999999999",
	    O_RDONLY), -1);
	close(fd);

	/* A descriptor that is not open: no duplicate, and open fails. */
	fd = scratch_file(O_RDONLY);
	fd_name(name, sizeof(name), fd);
	close(fd);
	errno = 0;
	assert_int_equal(ab_lmdb_open(name, O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);

	/* An ordinary name, with O_CREAT and its mode. */
	umask(022);
	snprintf(dir, sizeof(dir), "/tmp/test_lmdb_open.d.%ld", (long)getpid());
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(name, sizeof(name), "%s/new", dir);
	assert_true((got = ab_lmdb_open(name, O_RDWR | O_CREAT, 0640)) >= 0);
	{
		struct stat sb;

		assert_int_equal(fstat(got, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0640);
	}
	close(got);
	assert_int_equal(unlink(name), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(large_blocks_leave_heap),
		cmocka_unit_test(small_blocks),
		cmocka_unit_test(calloc_overflow),
		cmocka_unit_test(realloc_keeps),
		cmocka_unit_test(strdup_copies),
		cmocka_unit_test(aligned_blocks),
		cmocka_unit_test(open_dups_the_checked_fd),
		cmocka_unit_test(open_by_name_otherwise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
