/*
 * daemon.c - banhelper run: keep the kernel in step with the store.
 *
 * MUST: drop to CAP_NET_ADMIN before touching anything the outside can
 * reach (the socket, the store), and refuse to run if the drop cannot be
 * verified; never build a command from a datagram (its content is
 * ignored: it only says "look at the store"); hold one instance per
 * runtime_dir (flock on the pid file).
 *
 * Order of events: a wake-up datagram (the module just banned) or a
 * periodic tick runs an incremental sync from the store's change log, so a
 * lost datagram delays a ban by one tick at most and loses nothing.  Each
 * tick also checks that the table is still there (a full restore if someone
 * flushed the ruleset), prunes the store, and records the time of the sync.
 * SIGHUP re-reads the configuration and restores in full; SIGTERM and
 * SIGINT stop cleanly, leaving the kernel's bans to run out on their own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "banhelper.h"

struct daemon {
	struct bh *bh;
	struct ab_store *st;
	struct fw *fw;
	int pidfd, sockfd, sigfd;
	uint64_t seq;
	int64_t last_sync;	/* kernel last brought in step */
	int64_t last_tick;	/* last periodic check; wake-ups do not move it */
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* Take the pid file; 0, or an error if another daemon holds it. */
static int
pidfile_take(struct daemon *d)
{
	char path[AB_PATH_MAX + 32], buf[64];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", d->bh->cfg.runtime_dir,
	    AB_PID_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		ab_logf(&d->bh->log, LOG_ERR, "cannot open %s: %s", path,
		    strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = (int)read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, " \n")] = '\0';
		ab_logf(&d->bh->log, LOG_ERR, "another banhelper runs already "
		    "(pid %s)", buf[0] ? buf : "?");
		close(fd);
		return -EEXIST;
	}
	d->pidfd = fd;
	return 0;
}

/* pid and time of the last sync, for banhelper status. */
static void
pidfile_write(struct daemon *d)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%ld %lld\n", (long)getpid(),
	    (long long)d->last_sync);

	if (pwrite(d->pidfd, buf, (size_t)n, 0) != n ||
	    ftruncate(d->pidfd, n) != 0)
		ab_logf(&d->bh->log, LOG_WARNING, "cannot update the pid file: "
		    "%s", strerror(errno));
}

static int
socket_open(struct daemon *d)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    d->bh->cfg.runtime_dir, AB_WAKE_SOCK);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		ab_logf(&d->bh->log, LOG_ERR, "runtime_dir is too long for a "
		    "socket path");
		return -ENAMETOOLONG;
	}
	/* A stale socket of ours may go; anything else is left alone. */
	if (lstat(sun.sun_path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			ab_logf(&d->bh->log, LOG_ERR, "%s exists and is not a "
			    "socket: refusing to replace it", sun.sun_path);
			return -EEXIST;
		}
		unlink(sun.sun_path);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* umask 077 (set in cmd_run): only root may send wake-ups. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int rc = -errno;

		ab_logf(&d->bh->log, LOG_ERR, "cannot bind %s: %s", sun.sun_path,
		    strerror(-rc));
		close(fd);
		return rc;
	}
	d->sockfd = fd;
	return 0;
}

/* Open store and firewall for the current configuration. */
static int
open_backends(struct daemon *d)
{
	int rc;

	if ((rc = store_open(&d->st, &d->bh->cfg, &d->bh->log)) != 0)
		return rc;
	if ((rc = fw_open(&d->fw, &d->bh->cfg, &d->bh->log)) != 0) {
		store_close(d->st);
		d->st = NULL;
	}
	return rc;
}

static void
close_backends(struct daemon *d)
{
	fw_close(d->fw);
	d->fw = NULL;
	store_close(d->st);
	d->st = NULL;
}

static int
sync_full(struct daemon *d, const char *why)
{
	struct ab_store_stat ss;
	size_t n = 0;
	int rc;

	/* The change number first: nothing committed meanwhile is skipped. */
	if ((rc = store_stat(d->st, &ss)) != 0)
		return rc;
	if ((rc = fw_sync_full(d->fw, d->st, now_s(), &n)) != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "full sync (%s) failed: %s", why,
		    ab_strerror(rc));
		return rc;
	}
	d->seq = ss.last_change;
	d->last_sync = now_s();
	pidfile_write(d);
	ab_logf(&d->bh->log, LOG_INFO, "%s: %zu bans in %s", why, n,
	    d->fw->ops->name);
	return 0;
}

static int
sync_changes(struct daemon *d)
{
	uint64_t before = d->seq;
	int rc = fw_sync_changes(d->fw, d->st, &d->seq, now_s());

	if (rc != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "sync failed: %s; trying in full",
		    ab_strerror(rc));
		return sync_full(d, "restore after a failed sync");
	}
	if (d->seq != before)
		ab_logf(&d->bh->log, LOG_DEBUG, "applied changes %llu..%llu",
		    (unsigned long long)before + 1, (unsigned long long)d->seq);
	d->last_sync = now_s();
	return 0;
}

static void
tick(struct daemon *d)
{
	size_t nb = 0, nc = 0;
	int present;

	d->last_tick = now_s();
	present = d->fw->ops->present(d->fw);
	if (present == 0) {
		ab_logf(&d->bh->log, LOG_WARNING, "the firewall table is gone "
		    "or changed (flushed?): restoring it");
		sync_full(d, "restore");
	} else {
		sync_changes(d);
	}
	if (store_prune(d->st, now_s(), 1000, &nb, &nc) == 0 && nb + nc > 0)
		ab_logf(&d->bh->log, LOG_DEBUG, "pruned %zu records and %zu "
		    "counts", nb, nc);
	pidfile_write(d);
}

static void
drain(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/* SIGHUP: a new configuration, then everything again. */
static void
reload(struct daemon *d)
{
	struct ab_config old = d->bh->cfg;

	if (load_config(d->bh, 0) != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "new configuration unusable: "
		    "keeping the old one");
		d->bh->cfg = old;
		return;
	}
	if (strcmp(old.runtime_dir, d->bh->cfg.runtime_dir) != 0) {
		ab_logf(&d->bh->log, LOG_WARNING, "runtime_dir changes only on "
		    "restart: keeping %s", old.runtime_dir);
		snprintf(d->bh->cfg.runtime_dir, sizeof(d->bh->cfg.runtime_dir),
		    "%s", old.runtime_dir);
	}
	close_backends(d);
	if (open_backends(d) != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "cannot open the store or the "
		    "firewall with the new configuration: keeping the old one");
		d->bh->cfg = old;
		if (open_backends(d) != 0)
			return;
	}
	sync_full(d, "reload");
}

/*
 * realtime = yes: SCHED_FIFO at the lowest priority.  Under attack every
 * core is busy hashing the attackers' passwords, and a woken daemon of the
 * ordinary class waits for the running task's slice: measured here (Linux
 * 6.18, bench/reaction.sh), at Nice=-10 a ban waited 3-5 ms for a CPU in
 * about one case of ten.  A real-time daemon runs at once; it uses about a
 * millisecond of CPU per ban.  SCHED_RESET_ON_FORK: nothing it starts
 * inherits the class.  Called while CAP_SYS_NICE is still held; where it is
 * refused (a container), the daemon says so and goes on.
 */
static void
set_realtime(struct bh *bh)
{
	struct sched_param sp;

	if (!bh->cfg.realtime)
		return;
	memset(&sp, 0, sizeof(sp));
	sp.sched_priority = 1;
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) != 0)
		ab_logf(&bh->log, LOG_WARNING, "cannot run at real-time "
		    "priority (SCHED_FIFO 1): %s; running at the ordinary "
		    "priority, where bans may wait for a busy CPU "
		    "(realtime = no silences this)", strerror(errno));
}

int
cmd_run(struct bh *bh)
{
	struct daemon d;
	sigset_t mask;
	int rc, stop = 0;

	memset(&d, 0, sizeof(d));
	d.bh = bh;
	d.pidfd = d.sockfd = d.sigfd = -1;
	if ((rc = need_privileges(bh, "run")) != 0)
		return rc;
	umask(077);
	set_realtime(bh);	/* needs CAP_SYS_NICE: before the drop */
	/* First thing: only CAP_NET_ADMIN stays, or we do not run. */
	if (caps_drop_to_net_admin(&bh->log, bh->cfg.backend ==
	    AB_BACKEND_IPSET) != 0)
		return BH_PERM;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (d.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		ab_logf(&bh->log, LOG_ERR, "signalfd: %s", strerror(errno));
		return BH_ERR;
	}
	if (open_backends(&d) != 0 || pidfile_take(&d) != 0 ||
	    socket_open(&d) != 0) {
		rc = BH_ERR;
		goto out;
	}
	ab_logf(&bh->log, LOG_INFO, "started (pid %ld, %s, sync every %llds)",
	    (long)getpid(), d.fw->ops->name, (long long)bh->cfg.sync_interval);
	if (sync_full(&d, "start") != 0) {
		rc = BH_ERR;
		goto out;
	}
	d.last_tick = now_s();
	while (!stop) {
		struct pollfd pfd[2] = { { d.sockfd, POLLIN, 0 },
		    { d.sigfd, POLLIN, 0 } };
		int64_t due = d.last_tick + bh->cfg.sync_interval - now_s();
		int n = poll(pfd, 2, due > 0 ? (int)due * 1000 : 0);

		if (n < 0 && errno != EINTR) {
			ab_logf(&bh->log, LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;

			while (read(d.sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP)
					reload(&d);
				else if (si.ssi_signo != SIGPIPE)
					stop = 1;
			}
		}
		if (stop)
			break;
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			drain(d.sockfd);
			sync_changes(&d);
		}
		if (d.last_tick + bh->cfg.sync_interval <= now_s())
			tick(&d);
	}
	ab_logf(&bh->log, LOG_INFO, "stopping; bans stay in the kernel until "
	    "their timeouts");
	rc = BH_OK;
out:
	if (d.sockfd >= 0) {
		char path[AB_PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/%s", bh->cfg.runtime_dir,
		    AB_WAKE_SOCK);
		unlink(path);
		close(d.sockfd);
	}
	if (d.pidfd >= 0)
		close(d.pidfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	close_backends(&d);
	return rc;
}
