/*
 * trust.c - whether a file or directory may steer autoban: the one check
 * the configuration and both stores are judged by.
 *
 * MUST: judge only an open descriptor (fstat), never a path; accept only
 * the kind asked for, owned by root, by the caller, or by the one other uid
 * the caller names (a store directory's owner, to whom root handed it),
 * and never anything that group or other may write.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoban.h"

int
trust_fd(int fd, int want_dir, uid_t also, const char *what,
    const char *name, const struct ab_log *log, struct stat *out)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		int rc = -errno;

		ab_logf(log, LOG_ERR, "%s %s: fstat: %s", what, name,
		    strerror(-rc));
		return rc;
	}
	if (want_dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) {
		ab_logf(log, LOG_ERR, "%s %s is not a %s: refusing it", what,
		    name, want_dir ? "directory" : "regular file");
		return AB_EUNTRUSTED;
	}
	if (sb.st_uid != 0 && sb.st_uid != geteuid() && sb.st_uid != also) {
		ab_logf(log, LOG_ERR, "%s %s is owned by uid %u, not root: "
		    "refusing it", what, name, (unsigned)sb.st_uid);
		return AB_EUNTRUSTED;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		ab_logf(log, LOG_ERR, "%s %s is writable by group or other "
		    "(mode %03o): refusing it", what, name,
		    (unsigned)(sb.st_mode & 0777));
		return AB_EUNTRUSTED;
	}
	if (out != NULL)
		*out = sb;
	return 0;
}
