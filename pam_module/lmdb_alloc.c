/*
 * lmdb_alloc.c - the memory functions liblmdb.a calls inside the module.
 *
 * Why: an LMDB write environment allocates about 3 MB on every open (a
 * 2 MB dirty-page list with calloc, a 1 MB free-page list with malloc) and
 * frees it on close; the module opens one on every attempt.  glibc serves
 * blocks that large from fresh mappings, but freeing a mapped block raises
 * glibc's mmap threshold, for the whole process, to that block's size.
 * From then on sshd's monitor, which runs every attempt of a connection,
 * took the next attempt's 3 MB from its heap: calloc had to clear 2 MB by
 * hand (1.77 million instructions per attempt instead of 160 000, under
 * callgrind in one process; see bench/targets.md) and the heap kept 5 MB.
 * A module must not retune its host process's allocator.
 *
 * How: the build renames LMDB's malloc, calloc, realloc, free, strdup and
 * posix_memalign to the functions below (objcopy --redefine-sym on a copy
 * of liblmdb.a; see the Makefile).  A block of LMDB_ALLOC_BIG bytes or more
 * is a mapping of its own, unmapped when freed, as glibc does before
 * anything tunes it; a smaller one comes from libc's malloc.  Every block
 * starts with a header saying which.  No state: safe in threads and after
 * fork.  Only LMDB calls these, and only LMDB frees what they return.
 * tests/unit/test_lmdb_alloc.c tests them; tests/pam/module.sh checks
 * that a process's heap does not grow over several attempts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lmdb_alloc.h"

/* In front of every block; 32 bytes keep the caller's block 16-aligned. */
struct blk {
	void *base;		/* what malloc or mmap returned */
	size_t maplen;		/* 0: from malloc; else the mapping's length */
	size_t size;		/* what the caller asked for */
	size_t unused;
};

static struct blk *
blk_of(void *p)
{
	return (struct blk *)p - 1;
}

/* A mapping holding a header and size bytes aligned to align (2^n >= 16). */
static void *
blk_map(size_t size, size_t align)
{
	size_t len = sizeof(struct blk) + (align - 1);
	uintptr_t u;
	struct blk *h;
	void *base;

	if (size > SIZE_MAX - len) {
		errno = ENOMEM;
		return NULL;
	}
	len += size;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	u = ((uintptr_t)base + sizeof(struct blk) + (align - 1)) &
	    ~(uintptr_t)(align - 1);
	h = blk_of((void *)u);
	h->base = base;
	h->maplen = len;
	h->size = size;
	return (void *)u;
}

/* A block from libc's malloc (zeroed if zero). */
static void *
blk_heap(size_t size, int zero)
{
	struct blk *h;

	if (size > SIZE_MAX - sizeof(*h)) {
		errno = ENOMEM;
		return NULL;
	}
	h = zero ? calloc(1, sizeof(*h) + size) : malloc(sizeof(*h) + size);
	if (h == NULL)
		return NULL;
	h->base = h;
	h->maplen = 0;
	h->size = size;
	return h + 1;
}

/* A block of size bytes, 16-aligned, by its size: mapped or from malloc. */
static void *
blk_new(size_t size, int zero)
{
	/* A fresh anonymous mapping is zero already. */
	return size >= LMDB_ALLOC_BIG ? blk_map(size, 16) :
	    blk_heap(size, zero);
}

void *
ab_lmdb_malloc(size_t size)
{
	return blk_new(size, 0);
}

void *
ab_lmdb_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return blk_new(n * size, 1);
}

void
ab_lmdb_free(void *p)
{
	struct blk *h;

	if (p == NULL)
		return;
	h = blk_of(p);
	if (h->maplen != 0)
		munmap(h->base, h->maplen);
	else
		free(h->base);
}

/* LMDB grows its page lists this way, rarely: a copy is enough. */
void *
ab_lmdb_realloc(void *p, size_t size)
{
	void *q;
	size_t keep;

	if (p == NULL)
		return ab_lmdb_malloc(size);
	if ((q = ab_lmdb_malloc(size)) == NULL)
		return NULL;	/* p stays valid, as realloc leaves it */
	keep = blk_of(p)->size;
	memcpy(q, p, keep < size ? keep : size);
	ab_lmdb_free(p);
	return q;
}

char *
ab_lmdb_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *q;

	if ((q = ab_lmdb_malloc(n)) != NULL)
		memcpy(q, s, n);
	return q;
}

int
ab_lmdb_posix_memalign(void **pp, size_t align, size_t size)
{
	int saved = errno;
	void *q;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	q = align <= 16 ? ab_lmdb_malloc(size) : blk_map(size, align);
	errno = saved;
	if (q == NULL)
		return ENOMEM;
	*pp = q;
	return 0;
}
