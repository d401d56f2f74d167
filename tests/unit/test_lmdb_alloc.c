/*
 * test_lmdb_alloc.c - pam_module/lmdb_alloc.c, the memory functions
 * liblmdb.a is linked against inside the module: large blocks are mappings
 * of their own and leave libc's heap and its thresholds as they were;
 * small ones come from malloc; each keeps what realloc, calloc, strdup and
 * posix_memalign promise.
 */
#include "testlib.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
