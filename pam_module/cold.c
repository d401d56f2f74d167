/*
 * cold.c - libc functions the module calls rarely or never, bound when
 * first called instead of on every load.
 *
 * Why: libpam loads every module with RTLD_NOW and sshd loads it afresh for
 * every connection, so each libc function the module imports costs a
 * symbol lookup through every library of sshd's process on every login
 * (about 750 instructions each with libpam and libc alone, more in sshd),
 * whether it is called or not.  Most of the module's imports come from
 * Debian's liblmdb.a, which is one object: its robust mutexes, reader-table
 * thread keys and the copy thread are linked in although the module opens
 * every environment with MDB_NOLOCK | MDB_NOTLS and never copies one.
 *
 * How: each function below is defined here, hidden, under libc's name, so
 * the static link binds the module's and LMDB's references to it and the
 * module imports only dlsym for all of them.  When called, it looks up
 * libc's function (dlsym(RTLD_DEFAULT), the scope the dynamic linker
 * would have searched) and calls it with the same arguments, so a call
 * does exactly what the import would have done, only a lookup later.
 * Nothing is cached: the module keeps no state between PAM calls.  The
 * definitions are compiled against libc's own prototypes (a mismatch does
 * not compile).  If the lookup fails, which libc cannot do for its own
 * exported names, the function fails the way it documents (an error number,
 * or -1 with errno), abort() traps.
 *
 * MUST: only functions the module's common paths (counting, refusing,
 * banning, refunding) never call.  A hot one here would cost a dlsym per
 * call.
 * tests/pam/module.sh checks that none of these names is imported;
 * tests/unit/test_cold.c calls each one through this file.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define COLD	__attribute__((visibility("hidden")))

/* libc's NAME, or NULL. */
static void *
libc_fn(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

/* TYPE NAME PARAMS, calling libc's NAME with ARGS; FAIL if it is missing. */
#define FORWARD(type, name, params, args, fail)				\
	COLD type							\
	name params							\
	{								\
		type (*fn) params;					\
									\
		*(void **)&fn = libc_fn(#name);				\
		if (fn == NULL)						\
			fail;						\
		return fn args;						\
	}
/* For pthread functions: they return an error number. */
#define FAIL_ERRNUM	return ENOSYS
/* For system call wrappers: -1 and errno. */
#define FAIL_ERRNO	do { errno = ENOSYS; return -1; } while (0)

/* LMDB's lock table (unused under MDB_NOLOCK). */
FORWARD(int, pthread_mutexattr_init, (pthread_mutexattr_t *a), (a),
    FAIL_ERRNUM)
FORWARD(int, pthread_mutexattr_destroy, (pthread_mutexattr_t *a), (a),
    FAIL_ERRNUM)
FORWARD(int, pthread_mutexattr_setpshared, (pthread_mutexattr_t *a, int v),
    (a, v), FAIL_ERRNUM)
FORWARD(int, pthread_mutexattr_setrobust, (pthread_mutexattr_t *a, int v),
    (a, v), FAIL_ERRNUM)
FORWARD(int, pthread_mutex_init, (pthread_mutex_t *restrict m,
    const pthread_mutexattr_t *restrict a), (m, a), FAIL_ERRNUM)
FORWARD(int, pthread_mutex_destroy, (pthread_mutex_t *m), (m), FAIL_ERRNUM)
FORWARD(int, pthread_mutex_lock, (pthread_mutex_t *m), (m), FAIL_ERRNUM)
FORWARD(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m), FAIL_ERRNUM)
FORWARD(int, pthread_mutex_consistent, (pthread_mutex_t *m), (m),
    FAIL_ERRNUM)
FORWARD(pthread_t, pthread_self, (void), (), return 0)

/* LMDB's per-thread reader slots (unused under MDB_NOTLS). */
FORWARD(int, pthread_key_create, (pthread_key_t *k, void (*d)(void *)),
    (k, d), FAIL_ERRNUM)
FORWARD(int, pthread_key_delete, (pthread_key_t k), (k), FAIL_ERRNUM)
FORWARD(void *, pthread_getspecific, (pthread_key_t k), (k), return NULL)
FORWARD(int, pthread_setspecific, (pthread_key_t k, const void *v), (k, v),
    FAIL_ERRNUM)

/* LMDB's copy thread (mdb_env_copy*, never called). */
FORWARD(int, pthread_create, (pthread_t *restrict t,
    const pthread_attr_t *restrict a, void *(*f)(void *), void *restrict v),
    (t, a, f, v), FAIL_ERRNUM)
FORWARD(int, pthread_join, (pthread_t t, void **r), (t, r), FAIL_ERRNUM)
FORWARD(int, pthread_cond_init, (pthread_cond_t *restrict c,
    const pthread_condattr_t *restrict a), (c, a), FAIL_ERRNUM)
FORWARD(int, pthread_cond_destroy, (pthread_cond_t *c), (c), FAIL_ERRNUM)
FORWARD(int, pthread_cond_signal, (pthread_cond_t *c), (c), FAIL_ERRNUM)
FORWARD(int, pthread_cond_wait, (pthread_cond_t *restrict c,
    pthread_mutex_t *restrict m), (c, m), FAIL_ERRNUM)
FORWARD(int, pthread_sigmask, (int how, const sigset_t *restrict s,
    sigset_t *restrict o), (how, s, o), FAIL_ERRNUM)
FORWARD(int, sigemptyset, (sigset_t *s), (s), FAIL_ERRNO)
FORWARD(int, sigaddset, (sigset_t *s, int n), (s, n), FAIL_ERRNO)
FORWARD(int, sigwait, (const sigset_t *restrict s, int *restrict n), (s, n),
    FAIL_ERRNUM)
FORWARD(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n),
    FAIL_ERRNO)

/* LMDB's kernel check (only for kernels before 4) and its file copy.  A
 * strtol that cannot run reads no digits.  (LMDB's memory functions are
 * lmdb_alloc.c's.) */
FORWARD(long, strtol, (const char *restrict p, char **restrict end,
    int base), (p, end, base),
    do { if (end != NULL) *end = (char *)(uintptr_t)p; errno = ENOSYS;
    return 0; } while (0))
FORWARD(off_t, lseek, (int fd, off_t off, int whence), (fd, off, whence),
    FAIL_ERRNO)

/* LMDB options the module does not set (MDB_NORDAHEAD, a synced
 * MDB_WRITEMAP, MDB_NOSYNC off with a write map) and its vectored write of
 * many dirty pages. */
FORWARD(int, madvise, (void *p, size_t n, int advice), (p, n, advice),
    FAIL_ERRNO)
FORWARD(int, msync, (void *p, size_t n, int flags), (p, n, flags),
    FAIL_ERRNO)
FORWARD(int, fsync, (int fd), (fd), FAIL_ERRNO)
FORWARD(ssize_t, writev, (int fd, const struct iovec *v, int n), (fd, v, n),
    FAIL_ERRNO)

/* The module's own rare paths: a store directory to create, a broken
 * counts file to set aside, an error to describe, a file not owned by
 * root (an owner check that cannot ask refuses the file). */
FORWARD(uid_t, geteuid, (void), (), return (uid_t)-1)
FORWARD(int, mkdir, (const char *path, mode_t mode), (path, mode),
    FAIL_ERRNO)
FORWARD(int, renameat, (int ofd, const char *o, int nfd, const char *n),
    (ofd, o, nfd, n), FAIL_ERRNO)
FORWARD(char *, strerror, (int e), (e), return (char *)"unknown error")

/* LMDB's failed assertion: a message on stderr, then abort().  With
 * LMDB_STATIC=1 its stderr is NULL (see lmdb_link.c). */
COLD void
abort(void)
{
	void (*fn)(void);

	*(void **)&fn = libc_fn("abort");
	if (fn != NULL)
		fn();
	__builtin_trap();
}

COLD int
__fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
	int (*fn)(FILE *, int, const char *, va_list);
	va_list ap;
	int n;

	*(void **)&fn = libc_fn("__vfprintf_chk");
	/* libc declares fp nonnull; the empty asm keeps the test below. */
	__asm__("" : "+r"(fp));
	if (fp == NULL) {	/* LMDB's stderr: see lmdb_link.c */
		FILE **err = libc_fn("stderr");

		fp = err != NULL ? *err : NULL;
	}
	if (fn == NULL || fp == NULL)
		return -1;
	va_start(ap, fmt);
	n = fn(fp, flag, fmt, ap);
	va_end(ap);
	return n;
}

COLD int
__sprintf_chk(char *s, int flag, size_t size, const char *fmt, ...)
{
	int (*fn)(char *, int, size_t, const char *, va_list);
	va_list ap;
	int n;

	*(void **)&fn = libc_fn("__vsprintf_chk");
	if (fn == NULL)
		return -1;
	va_start(ap, fmt);
	n = fn(s, flag, size, fmt, ap);
	va_end(ap);
	return n;
}
