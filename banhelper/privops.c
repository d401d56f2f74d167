/*
 * privops.c - the one thing banhelper's user cannot do for itself, done by
 * a helper that keeps uid 0 with nothing but CAP_CHOWN and
 * CAP_DAC_READ_SEARCH: take back a store directory that root made anew
 * (a reset, a restore, a reinstall, the module after a reboot), so the
 * daemon can open it again.  As chrony's privops, the helper is forked
 * before the daemon drops its privileges and answers one request on a
 * socketpair.
 *
 * MUST: take nothing from the daemon but one request byte (the paths and
 * the user are the helper's own, read as root at start); keep only the two
 * capabilities, with an empty bounding set and no_new_privs, read back;
 * hold no descriptor but its end of the socketpair; die with the daemon.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"

#define REQ_CHOWN	'c'

struct privops {
	pid_t pid;
	int fd;
};

/* The helper's privileges: uid 0, these two capabilities, nothing else. */
static int
helper_drop(void)
{
	static const cap_value_t keep[] = { CAP_CHOWN, CAP_DAC_READ_SEARCH };
	cap_flag_value_t v;
	cap_value_t c;
	cap_t caps;
	int ok = 1;

	for (c = 0; c <= CAP_LAST_CAP; c++)
		if (cap_drop_bound(c) != 0 && errno != EINVAL)
			return -1;
	if (cap_reset_ambient() != 0 && errno != EINVAL)
		return -1;
	if ((caps = cap_init()) == NULL)
		return -1;
	if (cap_set_flag(caps, CAP_PERMITTED, 2, keep, CAP_SET) != 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 2, keep, CAP_SET) != 0 ||
	    cap_set_proc(caps) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		cap_free(caps);
		return -1;
	}
	cap_free(caps);
	/* Read it back. */
	if ((caps = cap_get_proc()) == NULL)
		return -1;
	for (c = 0; c <= CAP_LAST_CAP && ok; c++) {
		int want = c == CAP_CHOWN || c == CAP_DAC_READ_SEARCH;

		ok = cap_get_flag(caps, c, CAP_PERMITTED, &v) == 0 &&
		    (v == CAP_SET) == want &&
		    cap_get_flag(caps, c, CAP_EFFECTIVE, &v) == 0 &&
		    (v == CAP_SET) == want &&
		    cap_get_flag(caps, c, CAP_INHERITABLE, &v) == 0 &&
		    v == CAP_CLEAR && cap_get_bound(c) <= 0 &&
		    cap_get_ambient(c) <= 0;
	}
	cap_free(caps);
	return ok && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : -1;
}

/* The helper's life: one request byte in, one result out, until EOF. */
static void
helper_main(int fd, const struct ab_config *cfg, uid_t uid, gid_t gid,
    const struct ab_log *log)
{
	int maxfd = (int)sysconf(_SC_OPEN_MAX), i;
	char req;

	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	/* Nothing of the daemon's: no socket, no pid file, no store. */
	for (i = 3; i < maxfd && i < 65536; i++)
		if (i != fd)
			close(i);
	if (helper_drop() != 0) {
		ab_logf(log, LOG_ERR, "privileged helper: cannot drop to "
		    "CAP_CHOWN and CAP_DAC_READ_SEARCH: it stops");
		_exit(1);
	}
	while (read(fd, &req, 1) == 1) {
		int rc = req == REQ_CHOWN ? store_set_owner(cfg, uid, gid,
		    log) : -EINVAL;

		if (write(fd, &rc, sizeof(rc)) != sizeof(rc))
			break;
	}
	_exit(0);
}

int
privops_start(struct privops **pop, const struct ab_config *cfg, uid_t uid,
    gid_t gid, const struct ab_log *log)
{
	struct privops *po;
	int sv[2];

	*pop = NULL;
	if (uid == 0)
		return 0;	/* user = root: the daemon can do it itself */
	if ((po = calloc(1, sizeof(*po))) == NULL)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(po);
		return -errno;
	}
	if ((po->pid = fork()) < 0) {
		int rc = -errno;

		close(sv[0]);
		close(sv[1]);
		free(po);
		return rc;
	}
	if (po->pid == 0) {
		close(sv[0]);
		helper_main(sv[1], cfg, uid, gid, log);
	}
	close(sv[1]);
	po->fd = sv[0];
	*pop = po;
	return 0;
}

int
privops_chown_stores(struct privops *po)
{
	char req = REQ_CHOWN;
	int rc;

	if (po == NULL)
		return -EPERM;
	if (write(po->fd, &req, 1) != 1 ||
	    read(po->fd, &rc, sizeof(rc)) != sizeof(rc))
		return -EPIPE;
	return rc;
}

void
privops_stop(struct privops *po)
{
	if (po == NULL)
		return;
	close(po->fd);
	waitpid(po->pid, NULL, 0);
	free(po);
}
