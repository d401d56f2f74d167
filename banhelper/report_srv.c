/*
 * report_srv.c - the daemon's report socket (runtime_dir/report.sock): a
 * busy program that does not use PAM writes one report line per failure
 * (report.c) and reads one reply line, without starting a process.
 *
 * MUST:
 *  - let in only root and members of report_group, judged on the peer's
 *    credentials as the kernel gives them (SO_PEERCRED) at connect time,
 *    never on anything the peer says;
 *  - limit reports per peer uid (report_rate a second): a report over the
 *    limit changes nothing and says so;
 *  - never block the daemon on a peer: every socket is non-blocking, a
 *    peer that does not read its replies, sends a line over
 *    REPORT_LINE_MAX or idles IDLE_MS is dropped, and at most MAX_PEERS are
 *    served at once (the next ones wait in the listen backlog);
 *  - log what was reported with the peer's uid, escaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"
#include "report_srv.h"
#include "runfiles.h"

#define MAX_PEERS	16
#define MAX_UIDS	32
#define IDLE_MS		30000

struct peer {
	int fd;			/* -1: free */
	uid_t uid;
	size_t len;
	int64_t last_ms;
	char buf[REPORT_LINE_MAX + 2];
};

struct rate {
	uid_t uid;
	int used;
	int64_t second;
	unsigned n;
};

struct report_srv {
	const struct ab_config *cfg;
	const struct ab_log *log;
	int fd;
	char path[AB_PATH_MAX + 32];
	int group_set;
	gid_t gid;
	struct peer peer[MAX_PEERS];
	struct rate rate[MAX_UIDS];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
report_srv_open(struct report_srv **out, const struct ab_config *cfg,
    const struct ab_log *log)
{
	struct report_srv *s;
	struct sockaddr_un sun;
	struct stat sb;
	struct group *gr;
	int i, rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->cfg = cfg;
	s->log = log;
	s->fd = -1;
	for (i = 0; i < MAX_PEERS; i++)
		s->peer[i].fd = -1;
	if (cfg->report_group[0] != '\0') {
		if ((gr = getgrnam(cfg->report_group)) == NULL) {
			ab_logf(log, LOG_ERR, "report_group %s does not exist: "
			    "create it or leave report_group empty (root "
			    "only)", cfg->report_group);
			free(s);
			return -ENOENT;
		}
		s->group_set = 1;
		s->gid = gr->gr_gid;
	}
	if ((rc = runtime_sock_addr(cfg, AB_REPORT_SOCK, &sun, log)) != 0) {
		free(s);
		return rc;
	}
	snprintf(s->path, sizeof(s->path), "%s", sun.sun_path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sun,
	    sizeof(sun)) != 0 || listen(s->fd, 64) != 0) {
		ab_logf(log, LOG_ERR, "cannot listen on %s: %s", s->path,
		    strerror(errno));
		report_srv_close(s);
		return -EIO;
	}
	/*
	 * Made under umask 077 (root's alone).  With report_group, its
	 * members may connect (0660, that group), and must be able to reach
	 * it: runtime_dir gets search permission for others (0711: nothing
	 * in it can be listed, and every file in it is 0600).  The
	 * credentials check at accept is what decides; this only lets them
	 * knock.
	 */
	if (s->group_set && (chown(s->path, 0, s->gid) != 0 ||
	    chmod(s->path, 0660) != 0 || stat(cfg->runtime_dir, &sb) != 0 ||
	    chmod(cfg->runtime_dir, (sb.st_mode & 0700) | 0011) != 0)) {
		ab_logf(log, LOG_ERR, "cannot open %s to group %s: %s",
		    s->path, cfg->report_group, strerror(errno));
		report_srv_close(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void
report_srv_close(struct report_srv *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < MAX_PEERS; i++)
		if (s->peer[i].fd >= 0)
			close(s->peer[i].fd);
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	free(s);
}

/* Root, or report_group as the peer's primary or supplementary group. */
static int
peer_allowed(const struct report_srv *s, const struct ucred *cr)
{
	struct passwd pw, *pwp = NULL;
	gid_t groups[64];
	char buf[1024];
	int i, ng = 64;

	if (cr->uid == 0)
		return 1;
	if (!s->group_set)
		return 0;
	if (cr->gid == s->gid)
		return 1;
	if (getpwuid_r(cr->uid, &pw, buf, sizeof(buf), &pwp) != 0 ||
	    pwp == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		return 0;
	for (i = 0; i < ng; i++)
		if (groups[i] == s->gid)
			return 1;
	return 0;
}

static void
peer_drop(struct peer *p)
{
	close(p->fd);
	p->fd = -1;
	p->len = 0;
}

/* Send one reply line; a peer that cannot take it is dropped. */
static void
reply(struct peer *p, const char *text)
{
	char line[320];
	int n = snprintf(line, sizeof(line), "%s\n", text);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1, line[n - 1] = '\n';
	if (send(p->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		peer_drop(p);
}

static void
accept_peers(struct report_srv *s)
{
	struct ucred cr;
	socklen_t len;
	int i, fd;

	for (;;) {
		for (i = 0; i < MAX_PEERS && s->peer[i].fd >= 0; i++)
			;
		if (i == MAX_PEERS)
			return;		/* the rest wait in the backlog */
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
		    len != sizeof(cr)) {
			close(fd);
			continue;
		}
		s->peer[i].fd = fd;
		s->peer[i].uid = cr.uid;
		s->peer[i].len = 0;
		s->peer[i].last_ms = mono_ms();
		if (!peer_allowed(s, &cr)) {
			ab_logf(s->log, LOG_NOTICE, "report socket: uid %u "
			    "(pid %ld) refused: not root%s%s", (unsigned)cr.uid,
			    (long)cr.pid, s->group_set ? " nor in group " : "",
			    s->group_set ? s->cfg->report_group : "");
			reply(&s->peer[i], s->group_set ? "refused not root "
			    "nor a member of report_group" : "refused not root "
			    "(no report_group is set)");
			if (s->peer[i].fd >= 0)
				peer_drop(&s->peer[i]);
		}
	}
}

/* 1 if uid may make one more report this second. */
static int
rate_ok(struct report_srv *s, uid_t uid)
{
	int64_t sec = mono_ms() / 1000;
	struct rate *r = NULL, *oldest = &s->rate[0];
	int i;

	for (i = 0; i < MAX_UIDS; i++) {
		if (s->rate[i].used && s->rate[i].uid == uid) {
			r = &s->rate[i];
			break;
		}
		if (!s->rate[i].used || s->rate[i].second < oldest->second)
			oldest = &s->rate[i];
	}
	if (r == NULL) {
		r = oldest;
		r->used = 1;
		r->uid = uid;
		r->second = sec;
		r->n = 0;
	}
	if (r->second != sec) {
		r->second = sec;
		r->n = 0;
	}
	return ++r->n <= s->cfg->report_rate;
}

/* One line of a peer: parsed, limited, applied, answered, logged. */
static int
one_line(struct report_srv *s, struct peer *p, char *line, size_t len,
    struct ab_store *st)
{
	struct report r;
	struct timespec ts;
	char why[256], out[300], user[80];
	int rc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (report_parse(line, len, &r, why, sizeof(why)) != 0) {
		ab_logf(s->log, LOG_NOTICE, "report from uid %u: bad line: %s",
		    (unsigned)p->uid, why);
		snprintf(out, sizeof(out), "error %s: nothing changed", why);
		reply(p, out);
		return 0;
	}
	if (!rate_ok(s, p->uid)) {
		snprintf(out, sizeof(out), "refused rate limit: at most %u "
		    "reports a second from uid %u: not counted",
		    s->cfg->report_rate, (unsigned)p->uid);
		reply(p, out);
		return 0;
	}
	if (st == NULL) {
		reply(p, "error the store cannot be opened now: nothing "
		    "changed");
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = report_apply(s->cfg, st, &r, (int64_t)ts.tv_sec * 1000000000 +
	    ts.tv_nsec, out, sizeof(out));
	ab_logf(s->log, rc == REPORT_BANNED ? LOG_NOTICE : LOG_INFO,
	    "report from uid %u: %s %s%s%s: %s", (unsigned)p->uid,
	    r.verb == REPORT_SUCCESS ? "success" : r.verb == REPORT_CHECK ?
	    "check" : "failure", r.service,
	    r.user[0] != '\0' ? " user " : "", r.user[0] != '\0' ?
	    ab_escape(r.user, user, sizeof(user)) : "", out);
	reply(p, out);
	return rc == REPORT_BANNED;
}

static int
read_peer(struct report_srv *s, struct peer *p, struct ab_store *st)
{
	int banned = 0;
	ssize_t n;
	char *nl;

	n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len,
	    MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		peer_drop(p);
		return 0;
	}
	if (n < 0)
		return 0;
	p->len += (size_t)n;
	p->last_ms = mono_ms();
	while (p->fd >= 0 && (nl = memchr(p->buf, '\n', p->len)) != NULL) {
		size_t l = (size_t)(nl - p->buf);

		banned |= one_line(s, p, p->buf, l, st);
		memmove(p->buf, nl + 1, p->len - l - 1);
		p->len -= l + 1;
	}
	if (p->fd >= 0 && p->len >= sizeof(p->buf) - 1) {
		reply(p, "error line longer than 512 bytes: nothing changed");
		if (p->fd >= 0)
			peer_drop(p);
	}
	return banned;
}

int
report_srv_pollfds(struct report_srv *s, struct pollfd *pfd, int max)
{
	int i, n = 0;

	if (s == NULL || max <= 0)
		return 0;
	pfd[n].fd = s->fd;
	pfd[n].events = POLLIN;
	pfd[n++].revents = 0;
	for (i = 0; i < MAX_PEERS && n < max; i++) {
		pfd[n].fd = s->peer[i].fd;	/* -1: poll skips it */
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	return n;
}

int
report_srv_handle(struct report_srv *s, const struct pollfd *pfd, int n,
    struct ab_store *st)
{
	int64_t now = mono_ms();
	int i, banned = 0;

	if (s == NULL || n <= 0)
		return 0;
	for (i = 0; i + 1 < n && i < MAX_PEERS; i++) {
		struct peer *p = &s->peer[i];

		if (p->fd < 0 || pfd[i + 1].fd != p->fd)
			continue;
		if (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
			banned |= read_peer(s, p, st);
		else if (now - p->last_ms > IDLE_MS)
			peer_drop(p);
	}
	if (pfd[0].revents & POLLIN)
		accept_peers(s);
	return banned;
}
