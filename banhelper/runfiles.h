/*
 * runfiles.h - banhelper run's files in runtime_dir (runfiles.c): the pid
 * file, whose lock says the daemon runs and whose one line says what
 * status and metrics show of it, and the wake-up socket.
 */
#ifndef RUNFILES_H
#define RUNFILES_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "autoban.h"

/*
 * The daemon's syncs since it started: those that changed the kernel or
 * failed, and how long each took from the daemon's wake-up to the kernel
 * holding the change (histogram buckets of up to bh_sync_le[i] seconds).
 */
#define BH_SYNC_BUCKETS	8
struct bh_syncs {
	uint64_t ok, failed;
	uint64_t sum_us;
	uint64_t le[BH_SYNC_BUCKETS];	/* cumulative, as Prometheus' */
};
extern const double bh_sync_le[BH_SYNC_BUCKETS];

/* One sync counted (ok or failed), us microseconds long. */
void bh_sync_note(struct bh_syncs *s, int ok, int64_t us);

/*
 * The daemon's pid file, read: is it running, its pid, its last sync, and
 * (if syncs is not NULL) its syncs.
 */
int bh_daemon_state(const struct ab_config *cfg, long *pid, int64_t *last,
    struct bh_syncs *syncs);

/* The pid file taken (created, locked, given to uid): its fd, or -errno
 * (another daemon holds it: -EEXIST).  Said why. */
int pidfile_take(const struct ab_config *cfg, const struct ab_log *log,
    uid_t uid, gid_t gid);

/* Our pid, the last sync and the syncs written into it. */
void pidfile_write(int fd, const struct ab_log *log, int64_t last,
    const struct bh_syncs *s);

/*
 * The address of socket name in runtime_dir, a stale socket there
 * removed: 0, or -errno (the path is too long, or something that is not
 * a socket is in the way).  Said why.
 */
int runtime_sock_addr(const struct ab_config *cfg, const char *name,
    struct sockaddr_un *sun, const struct ab_log *log);

/* The wake-up socket bound (a stale one of ours replaced): its fd, or
 * -errno.  Said why. */
int wake_socket_open(const struct ab_config *cfg, const struct ab_log *log);

/* Every datagram waiting on fd read and dropped (their content is
 * never looked at). */
void wake_drain(int fd);

#endif
