/*
 * privs.c - the daemon becomes its own user with CAP_NET_ADMIN alone, and
 * proves it.
 *
 * MUST: change nothing that cannot be read back; read everything back and
 * fail (the caller refuses to run) if the uids and gids are not all the
 * user's, if any group beyond its own is left, if anything beyond what was
 * asked is left in the permitted, effective, inheritable, ambient or
 * bounding sets, if no_new_privs did not stick, or if root can be taken
 * back.
 *
 * Why a user of its own: with uid 0, even CAP_NET_ADMIN alone could still
 * write every root-owned file the permission bits let root's uid write (an
 * account appended to /etc/passwd, a setuid copy of a shell).  As its own
 * user it can write only its store directories, which root handed to it.
 *
 * The ipset backend is the one widening, and only by necessity: iptables'
 * set match opens a raw socket to find the set (CAP_NET_RAW), and its
 * ipset/iptables children, which run as the same user, get both
 * capabilities only through the ambient set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "privs.h"

int
privs_user(const struct ab_config *cfg, uid_t *uid, gid_t *gid,
    const struct ab_log *log)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		ab_logf(log, LOG_ERR, "user %s does not exist: create it "
		    "(adduser --system --group --no-create-home %s), or set "
		    "user = root in the configuration to keep uid 0",
		    cfg->user, cfg->user);
		return errno != 0 ? -errno : -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* 0 if flag holds exactly the capabilities in want (n of them). */
static int
only(cap_t caps, cap_flag_t flag, const cap_value_t *want, int n)
{
	cap_value_t c;
	int i;

	for (c = 0; c <= CAP_LAST_CAP; c++) {
		cap_flag_value_t v = CAP_CLEAR;
		int wanted = 0;

		for (i = 0; i < n; i++)
			wanted |= want[i] == c;
		if (cap_get_flag(caps, c, flag, &v) != 0)
			return -1;
		if ((v == CAP_SET) != wanted)
			return -1;
	}
	return 0;
}

/* Permitted and effective: keep; inheritable: inh (ninh may be 0). */
static int
set_sets(const cap_value_t *keep, int nkeep, const cap_value_t *inh, int ninh)
{
	cap_t caps = cap_init();
	int rc = -1;

	if (caps == NULL)
		return -1;
	if (cap_set_flag(caps, CAP_PERMITTED, nkeep, keep, CAP_SET) == 0 &&
	    cap_set_flag(caps, CAP_EFFECTIVE, nkeep, keep, CAP_SET) == 0 &&
	    (ninh == 0 || cap_set_flag(caps, CAP_INHERITABLE, ninh, inh,
	    CAP_SET) == 0))
		rc = cap_set_proc(caps);
	cap_free(caps);
	return rc;
}

/* Become uid:gid with every capability still permitted. */
static int
become(uid_t uid, gid_t gid, const struct ab_log *log)
{
	if (uid == 0)
		return 0;
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0) {
		ab_logf(log, LOG_ERR, "cannot set gid %u: %s", (unsigned)gid,
		    strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 ||
	    setresuid(uid, uid, uid) != 0 ||
	    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
		ab_logf(log, LOG_ERR, "cannot set uid %u: %s", (unsigned)uid,
		    strerror(errno));
		return -errno;
	}
	return 0;
}

/* Read back who we are. */
static int
verify_ids(uid_t uid, gid_t gid, const struct ab_log *log)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
	    getresgid(&rg, &eg, &sg) != 0 || (uid != 0 && (rg != gid ||
	    eg != gid || sg != gid))) {
		ab_logf(log, LOG_ERR, "uids or gids are not all %u:%u: "
		    "refusing to run", (unsigned)uid, (unsigned)gid);
		return -EPERM;
	}
	if (uid == 0)
		return 0;
	n = getgroups(2, groups);
	if (n < 0 || n > 1 || (n == 1 && groups[0] != gid)) {
		ab_logf(log, LOG_ERR, "supplementary groups are left: refusing "
		    "to run");
		return -EPERM;
	}
	/* The proof that counts: root cannot be taken back. */
	if (setresuid(0, 0, 0) == 0 || setuid(0) == 0) {
		ab_logf(log, LOG_ERR, "uid 0 could be taken back: refusing to "
		    "run");
		return -EPERM;
	}
	return 0;
}

int
privs_drop(uid_t uid, gid_t gid, int ipset, const struct ab_log *log)
{
	/* The last entry of each is only kept for the ipset backend. */
	static const cap_value_t first[] = { CAP_NET_ADMIN, CAP_SETPCAP,
	    CAP_NET_RAW };
	static const cap_value_t last[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	int nfirst = ipset ? 3 : 2, nlast = ipset ? 2 : 1;
	int ninh = ipset ? 2 : 0;
	cap_value_t c;
	cap_t caps = NULL;
	int rc;

	if ((rc = become(uid, gid, log)) != 0)
		return rc;
	/*
	 * 1. Down to NET_ADMIN and SETPCAP, and set the inheritable set now:
	 *    it may only gain what the bounding set still holds.
	 * 2. Empty the bounding set (needs SETPCAP) and the ambient set.
	 * 3. Down to NET_ADMIN alone (ipset: and NET_RAW, raised into the
	 *    ambient set); no_new_privs.
	 */
	if (set_sets(first, nfirst, last, ninh) != 0) {
		ab_logf(log, LOG_ERR, "cannot set the capability sets: %s",
		    strerror(errno));
		return -errno;
	}
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		if (cap_drop_bound(c) != 0 && errno != EINVAL) {
			ab_logf(log, LOG_ERR, "cannot drop capability %d from "
			    "the bounding set: %s", (int)c, strerror(errno));
			return -errno;
		}
	}
	if (cap_reset_ambient() != 0 && errno != EINVAL) {
		ab_logf(log, LOG_ERR, "cannot clear the ambient set: %s",
		    strerror(errno));
		return -errno;
	}
	if (set_sets(last, nlast, last, ninh) != 0) {
		ab_logf(log, LOG_ERR, "cannot drop to CAP_NET_ADMIN%s: %s",
		    ipset ? " and CAP_NET_RAW" : "", strerror(errno));
		return -errno;
	}
	for (c = 0; c < ninh; c++) {
		if (cap_set_ambient(last[c], CAP_SET) != 0) {
			ab_logf(log, LOG_ERR, "cannot raise capability %d into "
			    "the ambient set: %s", (int)last[c],
			    strerror(errno));
			return -errno;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		ab_logf(log, LOG_ERR, "cannot set no_new_privs: %s",
		    strerror(errno));
		return -errno;
	}

	/* Read it all back. */
	rc = -EPERM;
	if (verify_ids(uid, gid, log) != 0)
		return rc;
	if ((caps = cap_get_proc()) == NULL)
		return -ENOMEM;
	if (only(caps, CAP_PERMITTED, last, nlast) != 0 ||
	    only(caps, CAP_EFFECTIVE, last, nlast) != 0 ||
	    only(caps, CAP_INHERITABLE, last, ninh) != 0) {
		ab_logf(log, LOG_ERR, "capability sets are not what was asked: "
		    "refusing to run");
		goto caps_free;
	}
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		int amb = cap_get_ambient(c) > 0;

		if (cap_get_bound(c) > 0 || amb != (ninh > 0 &&
		    (c == last[0] || c == last[1]))) {
			ab_logf(log, LOG_ERR, "capability %d is in the bounding "
			    "or ambient set where it should not be: refusing "
			    "to run", (int)c);
			goto caps_free;
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		ab_logf(log, LOG_ERR, "no_new_privs did not stick: refusing to "
		    "run");
		goto caps_free;
	}
	rc = 0;
caps_free:
	cap_free(caps);
	return rc;
}
