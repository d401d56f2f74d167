/*
 * runfiles.c - banhelper run's files in runtime_dir: the pid file (its
 * lock says the daemon runs; its one line, written by the daemon and read
 * by status and stats, is pid, last sync and the syncs) and the wake-up
 * socket.  The only place that line's format is spelled.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runfiles.h"

const double bh_sync_le[BH_SYNC_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.1, 1, 10 };

void
bh_sync_note(struct bh_syncs *s, int ok, int64_t us)
{
	int i;

	if (us < 0)
		us = 0;
	if (ok)
		s->ok++;
	else
		s->failed++;
	s->sum_us += (uint64_t)us;
	for (i = 0; i < BH_SYNC_BUCKETS; i++)
		if ((double)us <= bh_sync_le[i] * 1e6)
			s->le[i]++;
}

/* "pid last ok failed sum_us le..." as the pid file holds them. */
static int
pid_line(char *buf, size_t len, int64_t last, const struct bh_syncs *s)
{
	int n = snprintf(buf, len, "%ld %lld %llu %llu %llu", (long)getpid(),
	    (long long)last, (unsigned long long)s->ok,
	    (unsigned long long)s->failed, (unsigned long long)s->sum_us);
	int i;

	for (i = 0; i < BH_SYNC_BUCKETS && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, " %llu",
		    (unsigned long long)s->le[i]);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "\n");
	return n > 0 && (size_t)n < len ? n : -1;
}

/* Is the daemon running?  Its pid file is locked while it runs. */
int
bh_daemon_state(const struct ab_config *cfg, long *pid, int64_t *last,
    struct bh_syncs *syncs)
{
	char path[AB_PATH_MAX + 32], buf[512], *p, *end;
	unsigned long long v[3 + BH_SYNC_BUCKETS];
	ssize_t n;
	int fd, running, i;

	*pid = 0;
	*last = 0;
	if (syncs != NULL)
		memset(syncs, 0, sizeof(*syncs));
	snprintf(path, sizeof(path), "%s/%s", cfg->runtime_dir, AB_PID_FILE);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	running = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return running;
	buf[n] = '\0';
	{
		long long l = 0;

		if (sscanf(buf, "%ld %lld", pid, &l) == 2)
			*last = l;
	}
	/* The syncs after them: all or none (an older daemon wrote none). */
	p = buf + strcspn(buf, " ");
	p += *p == ' ';
	p += strcspn(p, " \n");
	for (i = 0; i < 3 + BH_SYNC_BUCKETS; i++) {
		if (*p != ' ')
			break;
		errno = 0;
		v[i] = strtoull(p + 1, &end, 10);
		if (errno != 0 || end == p + 1)
			break;
		p = end;
	}
	if (syncs != NULL && i == 3 + BH_SYNC_BUCKETS) {
		syncs->ok = v[0];
		syncs->failed = v[1];
		syncs->sum_us = v[2];
		for (i = 0; i < BH_SYNC_BUCKETS; i++)
			syncs->le[i] = v[3 + i];
	}
	return running;
}

int
pidfile_take(const struct ab_config *cfg, const struct ab_log *log,
    uid_t uid, gid_t gid)
{
	char path[AB_PATH_MAX + 32], buf[64];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", cfg->runtime_dir,
	    AB_PID_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		ab_logf(log, LOG_ERR, "cannot open %s: %s", path,
		    strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = (int)read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, " \n")] = '\0';
		ab_logf(log, LOG_ERR, "another banhelper runs already "
		    "(pid %s): refusing to start", buf[0] ? buf : "?");
		close(fd);
		return -EEXIST;
	}
	if (fchown(fd, uid, gid) != 0) {
		ab_logf(log, LOG_ERR, "cannot give %s to uid %u: %s",
		    path, (unsigned)uid, strerror(errno));
		close(fd);
		return -errno;
	}
	return fd;
}

void
pidfile_write(int fd, const struct ab_log *log, int64_t last,
    const struct bh_syncs *s)
{
	char buf[512];
	int n = pid_line(buf, sizeof(buf), last, s);

	if (n < 0 || pwrite(fd, buf, (size_t)n, 0) != n ||
	    ftruncate(fd, n) != 0)
		ab_logf(log, LOG_WARNING, "cannot update the pid file: %s",
		    strerror(errno));
}

int
runtime_sock_addr(const struct ab_config *cfg, const char *name,
    struct sockaddr_un *sun, const struct ab_log *log)
{
	struct stat sb;
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s",
	    cfg->runtime_dir, name);
	if (n < 0 || (size_t)n >= sizeof(sun->sun_path)) {
		ab_logf(log, LOG_ERR, "runtime_dir is too long for a "
		    "socket path");
		return -ENAMETOOLONG;
	}
	/* A stale socket of ours may go; anything else is left alone. */
	if (lstat(sun->sun_path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			ab_logf(log, LOG_ERR, "%s exists and is not a "
			    "socket: refusing to replace it", sun->sun_path);
			return -EEXIST;
		}
		unlink(sun->sun_path);
	}
	return 0;
}

int
wake_socket_open(const struct ab_config *cfg, const struct ab_log *log)
{
	struct sockaddr_un sun;
	int fd, rc;

	if ((rc = runtime_sock_addr(cfg, AB_WAKE_SOCK, &sun, log)) != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* umask 077 (set in cmd_run): only root may send wake-ups. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		rc = -errno;
		ab_logf(log, LOG_ERR, "cannot bind %s: %s", sun.sun_path,
		    strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

void
wake_drain(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}
