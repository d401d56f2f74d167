/*
 * lmdb_alloc.h - what liblmdb.a's malloc, calloc, realloc, free, strdup,
 * posix_memalign (see lmdb_alloc.c) and open (see lmdb_open.c) are renamed
 * to inside the module.
 */
#ifndef LMDB_ALLOC_H
#define LMDB_ALLOC_H

#include <stddef.h>

/* Blocks this large or larger are mappings of their own. */
#define LMDB_ALLOC_BIG	((size_t)128 * 1024)

#define LMDB_ALLOC_API	__attribute__((visibility("hidden")))

LMDB_ALLOC_API void *ab_lmdb_malloc(size_t);
LMDB_ALLOC_API void *ab_lmdb_calloc(size_t, size_t);
LMDB_ALLOC_API void *ab_lmdb_realloc(void *, size_t);
LMDB_ALLOC_API void ab_lmdb_free(void *);
LMDB_ALLOC_API char *ab_lmdb_strdup(const char *);
LMDB_ALLOC_API int ab_lmdb_posix_memalign(void **, size_t, size_t);
LMDB_ALLOC_API int ab_lmdb_open(const char *, int, ...);

#endif
