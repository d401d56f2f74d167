/*
 * lmdb_open.c - the open() that liblmdb.a calls inside the module.
 *
 * Why: lib/store.c opens, checks and locks a store file itself, then hands
 * LMDB the name /proc/self/fd/N of that descriptor (LMDB 0.9 opens
 * environments by name only), so that LMDB reads exactly the file that was
 * checked.  LMDB's open of that name walks procfs, and the first such walk
 * in a process is slow: 30-36 us in a fresh process on the machine of
 * bench/targets.md, 4 us the next time, against under 2 us for a dup.
 * sshd loads the module in a fresh process for every connection, and the
 * module opens two stores on every attempt.
 *
 * How: the build renames liblmdb.a's open to ab_lmdb_open (objcopy, as
 * for lmdb_alloc.c).  For the name /proc/self/fd/N, if descriptor N is
 * open with the access mode LMDB asks for and LMDB asks for nothing beyond
 * O_CREAT (the file exists: N is open), LMDB gets a duplicate of N, which
 * shares N's open file description: the same checked file, and the OFD
 * lock on it stays until the last of the two is closed.  Anything else,
 * such as the O_WRONLY | O_DSYNC descriptor LMDB opens for the meta pages
 * of a synced write environment, is opened by name as before.
 * tests/unit/test_lmdb_alloc.c tests it; tests/pam/module.sh checks that
 * a counted attempt opens no /proc/self/fd name.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

#include "autoban.h"
#include "lmdb_alloc.h"

/* N from "/proc/self/fd/N" (decimal, no sign, no leading zero), or -1. */
static int
proc_fd_number(const char *path)
{
	static const char pre[] = AB_PROC_FD_PREFIX;
	const char *p;
	long n = 0;

	if (strncmp(path, pre, sizeof(pre) - 1) != 0)
		return -1;
	p = path + sizeof(pre) - 1;
	if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '\0'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > INT_MAX)
			return -1;
	}
	return *p == '\0' ? (int)n : -1;
}

int
ab_lmdb_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd, have;

	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if ((fd = proc_fd_number(path)) >= 0 &&
	    (flags & ~(O_ACCMODE | O_CREAT | O_CLOEXEC)) == 0 &&
	    (have = fcntl(fd, F_GETFL)) != -1 &&
	    (have & O_ACCMODE) == (flags & O_ACCMODE))
		return fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return open(path, flags, mode);
}
