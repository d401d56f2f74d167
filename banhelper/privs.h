/*
 * privs.h - the daemon's privileges: what it keeps, proven.
 */
#ifndef PRIVS_H
#define PRIVS_H

#include <sys/types.h>

#include "autoban.h"

/*
 * Resolve the configured user (cfg->user) to *uid and *gid: 0, or an error
 * with the reason logged (no such user).  "root" is uid 0.
 */
int privs_user(const struct ab_config *cfg, uid_t *uid, gid_t *gid,
    const struct ab_log *log);

/*
 * Become uid:gid (no other groups) keeping only CAP_NET_ADMIN in the
 * permitted and effective sets (with ipset: CAP_NET_RAW too, both also
 * inheritable and ambient, for its helper programs), with an empty
 * bounding set and no_new_privs, then read it all back and try to regain
 * root.  Returns 0, or an error with the reason logged: the caller must
 * refuse to run.  uid 0 keeps uid 0 (user = root).
 */
int privs_drop(uid_t uid, gid_t gid, int ipset, const struct ab_log *log);

/*
 * The privileged helper (privops.c): forked before privs_drop, it keeps
 * uid 0 with CAP_CHOWN and CAP_DAC_READ_SEARCH only, and on request hands
 * the store directories of cfg (as read now) back to uid:gid.  *po is NULL
 * for uid 0 (the daemon can do it itself).  Returns 0 or an error.
 */
struct privops;
int privops_start(struct privops **po, const struct ab_config *cfg, uid_t uid,
    gid_t gid, const struct ab_log *log);

/* Ask the helper to hand the store directories back: 0 or an error. */
int privops_chown_stores(struct privops *po);

/* End the helper (NULL is fine). */
void privops_stop(struct privops *po);

#endif
