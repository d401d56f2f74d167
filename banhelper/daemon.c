/*
 * daemon.c - banhelper run: keep the kernel in step with the store, and
 * repair whatever drifts.
 *
 * MUST: read the configuration strictly (main.c) and refuse to start on a
 * mistake; become the configured user with CAP_NET_ADMIN alone before
 * touching anything the outside can reach (the store, the wake-ups), and
 * refuse to run if the drop cannot be verified (privs.c); never build a
 * command from a datagram (its content is ignored: it only says "look at
 * the store"); hold one instance per runtime_dir (flock on the pid file);
 * survive a store or firewall it cannot open (retry each tick, never use
 * what is not there); schedule by the monotonic clock, so no step of the
 * wall clock stops or floods the ticks.
 *
 * Order of events: a wake-up datagram (the module just banned) or a
 * periodic tick runs an incremental sync from the store's change log, so a
 * lost datagram delays a ban by one tick at most and loses nothing.  Each
 * tick also repairs drift, everything `banhelper status` can see: a store
 * directory removed and made anew, a store replaced or restored to an
 * older state (its identity changed, its change log went back), a store
 * file that fails its checks (rebuilt from the kernel, repair.c), a table
 * flushed or deleted, elements missing or extra (looked for whenever the
 * ruleset's generation moved under someone else's hand).  Once a minute it
 * forgets what no longer matters (policy_prune).  SIGHUP re-reads the
 * configuration (a bad one is refused, the old one kept); SIGTERM and
 * SIGINT stop cleanly, leaving the kernel's bans to run out on their own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"
#include "fleet.h"
#include "fw.h"
#include "metrics.h"
#include "privs.h"
#include "repair.h"
#include "report_srv.h"
#include "resolve.h"
#include "runfiles.h"

#define PRUNE_EVERY_MS	60000

struct daemon {
	struct bh *bh;
	struct ab_store *st;	/* NULL while it cannot be opened */
	struct fw *fw;		/* likewise */
	struct privops *po;	/* takes back a store directory root made */
	struct report_srv *rs;	/* the report socket */
	struct resolver *res;	/* ignoreip host names */
	struct fleet *fl;	/* NULL without fleet */
	struct ab_keep *keep;	/* the writer's environment, kept */
	uid_t uid;
	gid_t gid;
	int pidfd, sockfd, sigfd;
	uint64_t seq;		/* change number applied */
	uint8_t id[16];		/* the store's identity at the last full sync */
	uint32_t gen;		/* ruleset generation known to be ours */
	int gen_known, down_logged;
	int64_t last_sync;	/* wall clock: kernel last brought in step */
	struct bh_syncs syncs;	/* for status and metrics */
	int64_t woke_us;	/* monotonic: poll() last returned */
	int64_t next_tick;	/* monotonic ms */
	int64_t next_metrics;	/* monotonic ms */
	int64_t next_prune;	/* monotonic ms */
	int64_t next_resolve;	/* monotonic ms */
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
mono_ms(void)
{
	return mono_us() / 1000;
}

/* The pid file's line: for banhelper status and stats. */
static void
pid_update(struct daemon *d)
{
	pidfile_write(d->pidfd, &d->bh->log, d->last_sync, &d->syncs);
}

/*
 * runtime_dir made anew under us: the wake-up socket and the pid file are
 * in the one that was removed.  Made again in the new one (ours by now).
 */
static void
runtime_renew(struct daemon *d)
{
	char path[AB_PATH_MAX + 32];
	struct stat sb;
	int oldpid = d->pidfd, oldsock = d->sockfd;

	snprintf(path, sizeof(path), "%s/%s", d->bh->cfg.runtime_dir,
	    AB_WAKE_SOCK);
	if (lstat(path, &sb) == 0)
		return;		/* still there: runtime_dir is the same */
	d->pidfd = pidfile_take(&d->bh->cfg, &d->bh->log, d->uid, d->gid);
	d->sockfd = d->pidfd < 0 ? -1 : wake_socket_open(&d->bh->cfg,
	    &d->bh->log);
	if (d->pidfd < 0 || d->sockfd < 0) {
		ab_logf(&d->bh->log, LOG_ERR, "cannot make the wake-up socket "
		    "or pid file anew in %s: new bans wait for the next tick",
		    d->bh->cfg.runtime_dir);
		if (d->pidfd < 0)
			d->pidfd = oldpid;
		else
			close(oldpid);
		if (d->sockfd < 0)
			d->sockfd = oldsock;
		else
			close(oldsock);
		return;
	}
	close(oldpid);
	close(oldsock);
	ab_logf(&d->bh->log, LOG_NOTICE, "runtime_dir made anew: wake-up "
	    "socket and pid file made again");
}

static void
close_backends(struct daemon *d)
{
	fw_close(d->fw);
	d->fw = NULL;
	store_close(d->st);
	d->st = NULL;
}

/* The store directories, handed back to the daemon's user. */
static int
take_back(struct daemon *d)
{
	int rc = d->uid == 0 ? store_set_owner(&d->bh->cfg, 0, 0, &d->bh->log) :
	    privops_chown_stores(d->po);

	if (rc == 0)
		ab_logf(&d->bh->log, LOG_NOTICE, "store directories made anew "
		    "by root: handed back to %s", d->bh->cfg.user);
	return rc;
}

/* Open store and firewall for the current configuration: 0 or an error
 * (said once until they open again). */
static int
open_backends(struct daemon *d)
{
	int rc;

	if (d->st != NULL && d->fw != NULL)
		return 0;
	close_backends(d);
	rc = store_open(&d->st, &d->bh->cfg, &d->bh->log);
	/* A directory root made anew is not ours yet: take it back. */
	if (rc == -EACCES && take_back(d) == 0)
		rc = store_open(&d->st, &d->bh->cfg, &d->bh->log);
	/*
	 * Writes keep their LMDB environment for the next write, as the
	 * module does within a connection: opening and closing it each time
	 * maps and unmaps its buffers, and in a process with threads every
	 * unmap stops the other cores to flush their TLBs (docs/DESIGN.md).
	 */
	if (rc == 0 && d->keep != NULL)
		store_keep(d->st, d->keep);
	if (rc == 0 && (rc = fw_open(&d->fw, &d->bh->cfg, &d->bh->log)) == 0) {
		if (d->down_logged)
			ab_logf(&d->bh->log, LOG_NOTICE, "store and firewall "
			    "usable again");
		d->down_logged = 0;
		return 0;
	}
	close_backends(d);
	if (!d->down_logged)
		ab_logf(&d->bh->log, LOG_ERR, "cannot open the store or the "
		    "firewall (%s): retrying every %llds", ab_strerror(rc),
		    (long long)d->bh->cfg.sync_interval);
	d->down_logged = 1;
	return rc;
}

/* After our own change: the generation is ours if nobody moved it first. */
static void
gen_after(struct daemon *d, uint32_t before, int had)
{
	uint32_t g;

	if (had && d->gen_known && before == d->gen &&
	    d->fw->ops->generation(d->fw, &g) == 0)
		d->gen = g;
	else
		d->gen_known = 0;
}

static int
sync_full(struct daemon *d, const char *why)
{
	struct ab_store_stat ss;
	uint32_t g0 = 0;
	size_t n = 0;
	int rc, had;

	/* The change number first: nothing committed meanwhile is skipped. */
	if ((rc = store_stat(d->st, &ss)) != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "full sync (%s): %s", why,
		    ab_strerror(rc));
		return rc;
	}
	had = d->fw->ops->generation(d->fw, &g0) == 0;
	rc = fw_sync_full(d->fw, d->st, now_s(), &n);
	bh_sync_note(&d->syncs, rc == 0, mono_us() - d->woke_us);
	if (rc != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "full sync (%s) failed: %s", why,
		    ab_strerror(rc));
		pid_update(d);
		return rc;
	}
	/* A full sync makes the kernel ours: its generation is known. */
	d->gen_known = had && d->fw->ops->generation(d->fw, &d->gen) == 0;
	d->seq = ss.last_change;
	memcpy(d->id, ss.id, sizeof(d->id));
	d->last_sync = now_s();
	pid_update(d);
	ab_logf(&d->bh->log, LOG_INFO, "%s: %zu bans in %s", why, n,
	    d->fw->ops->name);
	return 0;
}

static int
sync_changes(struct daemon *d)
{
	uint64_t before = d->seq;
	uint32_t g0 = 0;
	int had = d->fw->ops->generation(d->fw, &g0) == 0;
	int rc = fw_sync_changes(d->fw, d->st, &d->seq, now_s());

	if (rc == AB_ECORRUPT)
		return rc;	/* the tick repairs the store */
	if (rc != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "sync failed: %s; trying in full",
		    ab_strerror(rc));
		return sync_full(d, "restore after a failed sync");
	}
	if (d->seq != before) {
		bh_sync_note(&d->syncs, 1, mono_us() - d->woke_us);
		d->last_sync = now_s();
		pid_update(d);
		gen_after(d, g0, had);
		ab_logf(&d->bh->log, LOG_DEBUG, "applied changes %llu..%llu",
		    (unsigned long long)before + 1, (unsigned long long)d->seq);
	}
	d->last_sync = now_s();
	return 0;
}

/*
 * Has the kernel drifted from the store?  The table must be there; its
 * elements are compared only when the ruleset's generation moved since
 * the kernel was last known to be ours (listing every element is the
 * costly part).
 */
static const char *
kernel_drift(struct daemon *d)
{
	struct fw_check chk;
	uint32_t g;
	int have_gen;

	/*
	 * Every committed change of the ruleset moves its generation (a flush
	 * or a deleted table too): unmoved since the kernel was last ours, it
	 * needs no look.  Listing the table costs as much as its elements.
	 */
	have_gen = d->fw->ops->generation(d->fw, &g) == 0;
	if (have_gen && d->gen_known && g == d->gen)
		return NULL;
	if (d->fw->ops->present(d->fw) == 0)
		return "the firewall table is gone or changed (flushed?)";
	if (fw_check(d->fw, d->st, now_s(), &chk) != 0)
		return NULL;
	if (!chk.present)
		return "the firewall table is gone or changed (flushed?)";
	if (chk.missing > 0 || chk.extra > 0) {
		ab_logf(&d->bh->log, LOG_WARNING, "the kernel lacks %zu and has "
		    "%zu extra of the store's bans", chk.missing, chk.extra);
		return "elements missing or extra";
	}
	d->gen = g;
	d->gen_known = have_gen;
	return NULL;
}

/* The periodic pass: repair what drifted, apply changes, forget. */
static void
tick(struct daemon *d)
{
	struct ab_store_stat ss;
	const char *why = NULL;
	size_t restored;
	int rc;

	if (open_backends(d) != 0)
		return;
	if (store_moved(d->st)) {
		ab_logf(&d->bh->log, LOG_WARNING, "a store directory was "
		    "replaced: opening it again");
		close_backends(d);
		if (open_backends(d) != 0)
			return;
		runtime_renew(d);
		why = "store directory replaced";
	}
	/* A file root put there (a restore): take it back first. */
	rc = repair_store(d->st, d->fw, now_s(), &d->bh->log, &restored);
	if (rc == -EACCES && take_back(d) == 0)
		rc = repair_store(d->st, d->fw, now_s(), &d->bh->log,
		    &restored);
	if (rc == 1)
		why = "ban store rebuilt from the kernel";
	else if (rc < 0)
		return;
	if (why == NULL && (rc = store_stat(d->st, &ss)) == 0 &&
	    (memcmp(ss.id, d->id, sizeof(d->id)) != 0 ||
	    ss.last_change < d->seq))
		why = memcmp(ss.id, d->id, sizeof(d->id)) != 0 ?
		    "the store was replaced" : "the store went back in time "
		    "(restored?)";
	if (why == NULL)
		why = kernel_drift(d);
	if (why != NULL) {
		ab_logf(&d->bh->log, LOG_WARNING, "%s: restoring the kernel "
		    "from the store", why);
		sync_full(d, "repair");
	} else {
		sync_changes(d);
	}
	if (mono_ms() >= d->next_prune) {
		size_t nb = 0, nc = 0;

		d->next_prune = mono_ms() + PRUNE_EVERY_MS;
		rc = policy_prune(d->st, now_s(), &nb, &nc);
		if (rc == -EACCES && take_back(d) == 0)
			rc = policy_prune(d->st, now_s(), &nb, &nc);
		if (rc == 0 && nb + nc > 0)
			ab_logf(&d->bh->log, LOG_DEBUG, "pruned %zu records and "
			    "%zu counts", nb, nc);
		/* The hours of banhelper stats: kept past a reboot, bounded. */
		if ((rc = store_hours_keep(d->st, now_s())) != 0)
			ab_logf(&d->bh->log, LOG_WARNING, "cannot keep the "
			    "hourly figures: %s", ab_strerror(rc));
	}
	pid_update(d);
}

/* SIGHUP: a new configuration, then everything again. */
static void
reload(struct daemon *d)
{
	struct bh next = *d->bh;

	if (bh_load_config(&next, 1) != 0) {
		ab_logf(&d->bh->log, LOG_ERR, "new configuration refused (see "
		    "above): keeping the old one");
		return;
	}
	/* What was set up as root stays as it is until a restart. */
	if (strcmp(next.cfg.db, d->bh->cfg.db) != 0 ||
	    strcmp(next.cfg.runtime_dir, d->bh->cfg.runtime_dir) != 0 ||
	    next.cfg.metrics != d->bh->cfg.metrics ||
	    strcmp(next.cfg.metrics_dir, d->bh->cfg.metrics_dir) != 0 ||
	    strcmp(next.cfg.user, d->bh->cfg.user) != 0 ||
	    next.cfg.backend != d->bh->cfg.backend) {
		ab_logf(&d->bh->log, LOG_WARNING, "db, runtime_dir, user, "
		    "backend, metrics and metrics_dir change only on restart: "
		    "keeping %s, %s, %s, %s, %s, %s", d->bh->cfg.db,
		    d->bh->cfg.runtime_dir, d->bh->cfg.user,
		    d->bh->cfg.backend == AB_BACKEND_IPSET ? "ipset" :
		    "nftables", d->bh->cfg.metrics ? "yes" : "no",
		    d->bh->cfg.metrics_dir);
		memcpy(next.cfg.db, d->bh->cfg.db, sizeof(next.cfg.db));
		memcpy(next.cfg.metrics_dir, d->bh->cfg.metrics_dir,
		    sizeof(next.cfg.metrics_dir));
		next.cfg.metrics = d->bh->cfg.metrics;
		memcpy(next.cfg.runtime_dir, d->bh->cfg.runtime_dir,
		    sizeof(next.cfg.runtime_dir));
		memcpy(next.cfg.user, d->bh->cfg.user, sizeof(next.cfg.user));
		next.cfg.backend = d->bh->cfg.backend;
	}
	/* The fleet's threads read these: they change only on restart. */
	if (strcmp(next.cfg.fleet_host, d->bh->cfg.fleet_host) != 0 ||
	    next.cfg.fleet_port != d->bh->cfg.fleet_port ||
	    strcmp(next.cfg.fleet_name, d->bh->cfg.fleet_name) != 0 ||
	    strcmp(next.cfg.fleet_password_file,
	    d->bh->cfg.fleet_password_file) != 0)
		ab_logf(&d->bh->log, LOG_WARNING, "fleet, fleet_name and "
		    "fleet_password_file change only on restart");
	memcpy(next.cfg.fleet_host, d->bh->cfg.fleet_host,
	    sizeof(next.cfg.fleet_host));
	next.cfg.fleet_port = d->bh->cfg.fleet_port;
	memcpy(next.cfg.fleet_name, d->bh->cfg.fleet_name,
	    sizeof(next.cfg.fleet_name));
	memcpy(next.cfg.fleet_password_file, d->bh->cfg.fleet_password_file,
	    sizeof(next.cfg.fleet_password_file));
	close_backends(d);
	d->bh->cfg = next.cfg;
	d->gen_known = 0;
	if (open_backends(d) == 0)
		sync_full(d, "reload");
}

/*
 * realtime = yes: SCHED_FIFO at the lowest priority.  Under attack every
 * core is busy hashing the attackers' passwords, and a woken daemon of the
 * ordinary class waits for the running task's slice (docs/DESIGN.md).  A
 * real-time daemon runs at once, for about a millisecond per ban.
 * SCHED_RESET_ON_FORK: nothing it starts inherits the class.  Called
 * while CAP_SYS_NICE is still held; where it is refused (a container), the
 * daemon says so and goes on.
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

/* metrics = yes: runtime_dir/autoban.prom (metrics.c), running or not. */
static void
metrics_turn(struct daemon *d, int running)
{
	struct metrics_daemon dm;
	struct fw_check chk, *have = NULL;
	char path[AB_PATH_MAX + 32];
	int64_t t0 = mono_us();
	uint32_t g;
	int rc;

	if (!d->bh->cfg.metrics || d->st == NULL)
		return;
	/*
	 * The kernel unmoved since it was last ours holds what we put: only
	 * the store is read (listing the kernel costs as much as its
	 * elements, and bans wait while the main thread lists).  Moved by
	 * someone else: looked at, as the tick would.
	 */
	if (d->fw != NULL) {
		if (d->gen_known && d->fw->ops->generation(d->fw, &g) == 0 &&
		    g == d->gen)
			rc = fw_check_known(d->fw, d->st, now_s(), &chk);
		else
			rc = fw_check(d->fw, d->st, now_s(), &chk);
		have = rc == 0 ? &chk : NULL;
	}
	d->next_metrics = mono_ms() + d->bh->cfg.metrics_interval * 1000;
	memset(&dm, 0, sizeof(dm));
	dm.running = running;
	dm.last_sync = d->last_sync;
	dm.syncs = d->syncs;
	snprintf(path, sizeof(path), "%s/%s", d->bh->cfg.runtime_dir,
	    AB_METRICS_FILE);
	if (metrics_write(d->bh, d->st, have, &dm, path) == BH_OK)
		ab_logf(&d->bh->log, LOG_DEBUG, "metrics written in %lld ms",
		    (long long)(mono_us() - t0) / 1000);
}

/* Milliseconds until the next tick, as poll() takes them. */
static int
poll_timeout(const struct daemon *d)
{
	int64_t ms = d->next_tick - mono_ms();

	if (d->bh->cfg.metrics && d->next_metrics - mono_ms() < ms)
		ms = d->next_metrics - mono_ms();
	if (d->bh->cfg.nignore_names > 0 && d->next_resolve - mono_ms() < ms)
		ms = d->next_resolve - mono_ms();
	if (d->fl != NULL && ms > 1000)
		ms = 1000;	/* the fleet's state file stays fresh */
	if (ms < 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int
cmd_run(struct bh *bh, int argc, char **argv)
{
	struct daemon d;
	sigset_t mask;
	uid_t uid;
	gid_t gid;
	int rc, stop = 0;

	(void)argc;
	(void)argv;
	memset(&d, 0, sizeof(d));
	d.bh = bh;
	d.pidfd = d.sockfd = d.sigfd = -1;
	if ((rc = bh_need_privileges(bh, "run")) != 0)
		return rc;
	umask(077);
	set_realtime(bh);	/* needs CAP_SYS_NICE: before the drop */
	/* As root: the user's directories, the pid file, the socket. */
	if (privs_user(&bh->cfg, &uid, &gid, &bh->log) != 0 ||
	    store_set_owner(&bh->cfg, uid, gid, &bh->log) != 0 ||
	    (d.pidfd = pidfile_take(&bh->cfg, &bh->log, uid, gid)) < 0 ||
	    (d.sockfd = wake_socket_open(&bh->cfg, &bh->log)) < 0 ||
	    report_srv_open(&d.rs, &bh->cfg, &bh->log) != 0 ||
	    resolver_new(&d.res, &bh->log) != 0 ||
	    fleet_start(&d.fl, &bh->cfg, &bh->log) != 0 ||
	    privops_start(&d.po, &bh->cfg, uid, gid, &bh->log) != 0) {
		rc = BH_ERR;
		goto out;
	}
	metrics_link(&bh->cfg, &bh->log);	/* root's to make */
	d.uid = uid;
	d.gid = gid;
	/* Then only CAP_NET_ADMIN stays, as that user, or we do not run. */
	if (privs_drop(uid, gid, bh->cfg.backend == AB_BACKEND_IPSET,
	    &bh->log) != 0) {
		rc = BH_PERM;
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (d.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		ab_logf(&bh->log, LOG_ERR, "signalfd: %s", strerror(errno));
		rc = BH_ERR;
		goto out;
	}
	d.keep = store_keep_new();	/* NULL: every write opens afresh */
	if (open_backends(&d) != 0) {
		rc = BH_ERR;
		goto out;
	}
	ab_logf(&bh->log, LOG_INFO, "started (pid %ld, user %s, %s, sync every "
	    "%llds)", (long)getpid(), bh->cfg.user, d.fw->ops->name,
	    (long long)bh->cfg.sync_interval);
	repair_store(d.st, d.fw, now_s(), &bh->log, NULL);
	d.woke_us = mono_us();
	if (sync_full(&d, "start") != 0) {
		rc = BH_ERR;
		goto out;
	}
	d.next_tick = mono_ms() + bh->cfg.sync_interval * 1000;
	d.next_prune = mono_ms();
	d.next_resolve = mono_ms();
	metrics_turn(&d, 1);
	while (!stop) {
		struct pollfd pfd[4 + REPORT_POLLFDS] = { { d.sockfd, POLLIN,
		    0 }, { d.sigfd, POLLIN, 0 }, { resolver_fd(d.res), POLLIN,
		    0 }, { fleet_fd(d.fl), POLLIN, 0 } };
		int nr = report_srv_pollfds(d.rs, pfd + 4, REPORT_POLLFDS);
		int n = poll(pfd, 4 + (nfds_t)nr, poll_timeout(&d));

		d.woke_us = mono_us();
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
		/* A wake-up, or a resolved name that lifted a ban. */
		if (n > 0 && (pfd[0].revents & POLLIN || pfd[2].revents &
		    POLLIN)) {
			wake_drain(d.sockfd);
			resolver_drain(d.res);
			if (open_backends(&d) == 0)
				sync_changes(&d);
		}
		/* Reports: a ban one made goes to the kernel at once. */
		if (nr > 0 && report_srv_handle(d.rs, pfd + 4, nr, n > 0 &&
		    open_backends(&d) == 0 ? d.st : NULL) && d.fw != NULL)
			sync_changes(&d);
		if (bh->cfg.nignore_names > 0 && mono_ms() >= d.next_resolve) {
			d.next_resolve = mono_ms() + bh->cfg.resolve_interval *
			    1000;
			resolver_start(d.res, &bh->cfg);
		}
		if (mono_ms() >= d.next_tick) {
			d.next_tick = mono_ms() + bh->cfg.sync_interval * 1000;
			tick(&d);
		}
		/* Bans of the fleet in, bans made here out (fleet.c). */
		if (d.fl != NULL && fleet_turn(d.fl, open_backends(&d) == 0 ?
		    d.st : NULL) == 1 && d.fw != NULL)
			sync_changes(&d);
		if (bh->cfg.metrics && mono_ms() >= d.next_metrics)
			metrics_turn(&d, 1);
	}
	fleet_flush(d.fl, d.st);
	metrics_turn(&d, 0);	/* a scrape now says the daemon is down */
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
	report_srv_close(d.rs);
	resolver_free(d.res);
	fleet_stop(d.fl);
	if (d.pidfd >= 0)
		close(d.pidfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	close_backends(&d);
	store_keep_free(d.keep);
	privops_stop(d.po);
	return rc;
}
