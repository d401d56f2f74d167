/*
 * caps.c - keep CAP_NET_ADMIN and nothing else, and prove it.
 *
 * MUST: change nothing that cannot be read back; read everything back and
 * fail (the caller refuses to run) if anything beyond CAP_NET_ADMIN is
 * left in the permitted, effective, inheritable, ambient or bounding sets,
 * or if no_new_privs did not stick.  The uid stays 0: the stores are root's
 * and root-only, and the module refuses stores owned by anyone else.
 *
 * For the ipset backend the inheritable set keeps CAP_NET_ADMIN too: its
 * ipset/iptables children (uid 0, empty bounding set) then get exactly that
 * one capability, and no more, across execve().
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

/* 0 if the process holds exactly `want' in flag, else -1. */
static int
only(cap_t caps, cap_flag_t flag, int want_net_admin)
{
	cap_value_t c;

	for (c = 0; c <= CAP_LAST_CAP; c++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(caps, c, flag, &v) != 0)
			return -1;
		if ((v == CAP_SET) != (c == CAP_NET_ADMIN && want_net_admin))
			return -1;
	}
	return 0;
}

int
caps_drop_to_net_admin(const struct ab_log *log, int inherit)
{
	cap_value_t keep = CAP_NET_ADMIN;
	cap_value_t c;
	cap_t caps = NULL;
	int rc = -EPERM;

	if (!caps_have_net_admin()) {
		ab_logf(log, LOG_ERR, "cannot drop privileges: CAP_NET_ADMIN is "
		    "not in the effective set (run as root)");
		return -EPERM;
	}
	/* Bounding set first, while CAP_SETPCAP is still ours. */
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
	if ((caps = cap_init()) == NULL)
		return -ENOMEM;
	if (cap_set_flag(caps, CAP_PERMITTED, 1, &keep, CAP_SET) != 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, &keep, CAP_SET) != 0)
		goto caps_free;
	if (inherit &&
	    cap_set_flag(caps, CAP_INHERITABLE, 1, &keep, CAP_SET) != 0)
		goto caps_free;
	if (cap_set_proc(caps) != 0) {
		ab_logf(log, LOG_ERR, "cannot set the capability sets: %s",
		    strerror(errno));
		rc = -errno;
		goto caps_free;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		ab_logf(log, LOG_ERR, "cannot set no_new_privs: %s",
		    strerror(errno));
		rc = -errno;
		goto caps_free;
	}
	cap_free(caps);

	/* Read it all back. */
	if ((caps = cap_get_proc()) == NULL)
		return -ENOMEM;
	if (only(caps, CAP_PERMITTED, 1) != 0 ||
	    only(caps, CAP_EFFECTIVE, 1) != 0 ||
	    only(caps, CAP_INHERITABLE, inherit) != 0) {
		ab_logf(log, LOG_ERR, "capability sets are not what was asked: "
		    "refusing to run");
		goto caps_free;
	}
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		if (cap_get_bound(c) > 0 ||
		    cap_get_ambient(c) > 0) {
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
