/*
 * caps.c - keep CAP_NET_ADMIN and nothing else, and prove it.
 *
 * MUST: change nothing that cannot be read back; read everything back and
 * fail (the caller refuses to run) if anything beyond what was asked is
 * left in the permitted, effective, inheritable, ambient or bounding sets,
 * or if no_new_privs did not stick.  The uid stays 0: the stores are root's
 * and root-only, and the module refuses stores owned by anyone else.
 *
 * The ipset backend is the one exception, and only by necessity: iptables'
 * set match opens a raw socket to find the set (CAP_NET_RAW), and its
 * ipset/iptables children must inherit both capabilities across execve()
 * (uid 0 with an empty bounding set gets exactly the inheritable set).
 */
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "banhelper.h"

int
caps_have_net_admin(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps == NULL)
		return 0;
	cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &v);
	cap_free(caps);
	return v == CAP_SET;
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

int
caps_drop_to_net_admin(const struct ab_log *log, int ipset)
{
	/* The last entry of each is only kept for the ipset backend. */
	static const cap_value_t first[] = { CAP_NET_ADMIN, CAP_SETPCAP,
	    CAP_NET_RAW };
	static const cap_value_t last[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	int nfirst = ipset ? 3 : 2, nlast = ipset ? 2 : 1;
	int ninh = ipset ? 2 : 0;
	cap_value_t c;
	cap_t caps = NULL;
	int rc = -EPERM;

	if (!caps_have_net_admin()) {
		ab_logf(log, LOG_ERR, "cannot drop privileges: CAP_NET_ADMIN is "
		    "not in the effective set (run as root)");
		return -EPERM;
	}
	/*
	 * 1. Down to NET_ADMIN and SETPCAP, and set the inheritable set now:
	 *    it may only gain what the bounding set still holds.
	 * 2. Empty the bounding set (needs SETPCAP) and the ambient set.
	 * 3. Down to NET_ADMIN alone; no_new_privs.
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		ab_logf(log, LOG_ERR, "cannot set no_new_privs: %s",
		    strerror(errno));
		return -errno;
	}

	/* Read it all back. */
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
		if (cap_get_bound(c) > 0 || cap_get_ambient(c) > 0) {
			ab_logf(log, LOG_ERR, "capability %d is still in the "
			    "bounding or ambient set: refusing to run", (int)c);
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
