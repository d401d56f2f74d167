/*
 * fleet.c - the daemon's side of the fleet (docs/fleet.md); the threads
 * that talk to Redis are fleet_link.c.
 *
 * Only the daemon's own thread touches the store: it applies what the
 * reader thread queued (fleet_apply.c, in write transactions of up to
 * APPLY_BATCH), and queues for the publisher thread what the store's
 * change log says changed here since the last position it knows Redis has
 * (kept in the store), so bans made while Redis was unreachable go out when
 * the link returns.  An owner map (prefix -> the server whose ban it is)
 * names the owner of an unban, and marks the unbans the fleet made here,
 * which are not sent back.
 *
 * MUST: start the threads only after the privilege drop (capabilities are
 * per thread); read the password file as root, on its open descriptor;
 * never re-publish a ban or unban that came from the fleet (no loops);
 * bound every queue; never block the daemon's thread on Redis.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fleet_int.h"

/* ---- the daemon's side -------------------------------------------------- */

/* fleet_password_file: root's, readable by root only; "PASS" or "USER
 * PASS" on its first line. */
static int
read_password(struct fleet *f)
{
	const char *path = f->cfg->fleet_password_file;
	char buf[512], ep[AB_PATH_MAX * 4 + 8], *nl, *sp;
	struct stat sb;
	ssize_t n;
	int fd, rc;

	if (path[0] == '\0')
		return 0;
	ab_escape(path, ep, sizeof(ep));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ab_logf(f->log, LOG_ERR, "fleet_password_file %s: %s", ep,
		    strerror(errno));
		return -errno;
	}
	if ((rc = trust_fd(fd, 0, AB_NOUID, "fleet_password_file", ep, f->log,
	    &sb)) != 0) {
		close(fd);
		return rc;
	}
	if (sb.st_uid != 0 || (sb.st_mode & 077) != 0) {
		ab_logf(f->log, LOG_ERR, "fleet_password_file %s: must be "
		    "root's and readable by root only (chmod 600)", ep);
		close(fd);
		return AB_EUNTRUSTED;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		ab_logf(f->log, LOG_ERR, "fleet_password_file %s: empty", ep);
		return AB_ECONFIG;
	}
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	/* "PASS" or "USER PASS": each must fit, or the file is refused. */
	sp = strchr(buf, ' ');
	if ((sp != NULL && ((size_t)(sp - buf) >= sizeof(f->user) ||
	    strlen(sp + 1) >= sizeof(f->pass))) ||
	    (sp == NULL && strlen(buf) >= sizeof(f->pass)) ||
	    (sp != NULL ? sp[1] : buf[0]) == '\0') {
		explicit_bzero(buf, sizeof(buf));
		ab_logf(f->log, LOG_ERR, "fleet_password_file %s: expected "
		    "PASSWORD or USER PASSWORD on its first line (a user of at "
		    "most 127 bytes, a password of 1 to 255)", ep);
		return AB_ECONFIG;
	}
	if (sp != NULL) {
		memcpy(f->user, buf, (size_t)(sp - buf));
		f->user[sp - buf] = '\0';
		memcpy(f->pass, sp + 1, strlen(sp + 1) + 1);
	} else {
		memcpy(f->pass, buf, strlen(buf) + 1);
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
fleet_start(struct fleet **fp, const struct ab_config *cfg,
    const struct ab_log *log)
{
	struct fleet *f;
	int rc;

	*fp = NULL;
	if (cfg->fleet_host[0] == '\0')
		return 0;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->cfg = cfg;
	f->log = log;
	f->wake[0] = f->wake[1] = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (cfg->fleet_name[0] != '\0')
		snprintf(f->self, sizeof(f->self), "%s", cfg->fleet_name);
	else if (gethostname(f->self, sizeof(f->self)) != 0 ||
	    !config_fleet_name_ok(f->self)) {
		ab_logf(log, LOG_ERR, "fleet: the host name is not a fleet "
		    "name: set fleet_name");
		fleet_stop(f);
		return AB_ECONFIG;
	}
	if ((rc = read_password(f)) != 0 ||
	    pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    omap_init(&f->map) != 0 || (f->rate = fleet_rate_new()) == NULL) {
		fleet_stop(f);
		return rc ? rc : -ENOMEM;
	}
	f->since = fleet_wall_ms() / 1000;
	snprintf(f->error, sizeof(f->error), "not connected yet");
	*fp = f;
	return 0;
}

int
fleet_fd(const struct fleet *f)
{
	return f ? f->wake[0] : -1;
}

/* Threads, after the privilege drop. */
static int
threads_start(struct fleet *f)
{
	if (pthread_create(&f->rd, NULL, fleet_reader_main, f) != 0)
		return -EAGAIN;
	if (pthread_create(&f->pub, NULL, fleet_publisher_main, f) != 0) {
		pthread_mutex_lock(&f->mu);
		f->stop = 1;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->rd, NULL);
		return -EAGAIN;
	}
	f->started = 1;
	ab_logf(f->log, LOG_INFO, "fleet: %s joins redis://%s:%u", f->self,
	    f->cfg->fleet_host, (unsigned)f->cfg->fleet_port);
	return 0;
}

static int
own_cb(const struct ab_ban *rec, void *arg)
{
	struct fleet *f = arg;

	if (policy_ban_end(f->cfg, rec, fleet_wall_ms() / 1000) > 0)
		omap_set(&f->map, &rec->prefix, oname(&f->map, rec->from));
	return 0;
}

/* First turn with the store: positions, and who owns each active ban. */
static int
load(struct fleet *f, struct ab_store *st)
{
	char v[FLEET_ID_MAX];
	int rc;

	if ((rc = store_ban_foreach(st, own_cb, f)) != 0)
		return rc;
	if ((rc = store_fleet_get(st, "pub", v, sizeof(v))) < 0)
		return rc;
	f->scan = rc == 1 ? strtoull(v, NULL, 10) : 0;
	if ((rc = store_fleet_get(st, "last", v, sizeof(v))) < 0)
		return rc;
	pthread_mutex_lock(&f->mu);
	snprintf(f->last, sizeof(f->last), "%s", rc == 1 && fleet_id_ok(v) ?
	    v : "");
	f->loaded = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return 0;
}

/* Changes of ours gathered without the lock, then queued at once. */
struct outbuf {
	struct outev *v;
	size_t n, cap;
	int oom;
};

/* One room more in b, or NULL (b->oom set). */
static struct outev *
out_room(struct outbuf *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct outev *v = reallocarray(b->v, cap, sizeof(*v));

		if (v == NULL) {
			b->oom = 1;
			return NULL;
		}
		b->v = v;
		b->cap = cap;
	}
	memset(&b->v[b->n], 0, sizeof(b->v[0]));
	return &b->v[b->n];
}

/* One change of ours for the publisher, into b. */
static void
out_push(struct fleet *f, struct outbuf *b, int op, const struct ab_ban *rec,
    const struct ab_addr *p, const char *owner, uint64_t tag)
{
	struct fleet_event ev;
	struct outev *o;
	char ps[AB_ADDRSTRLEN];

	if ((o = out_room(b)) == NULL)
		return;
	o->op = op;
	o->tag = tag;
	if (op == 0) {
		b->n++;
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.op = op;
	ev.prefix = *p;
	snprintf(ev.origin, sizeof(ev.origin), "%s", f->self);
	snprintf(ev.owner, sizeof(ev.owner), "%s", owner);
	if (op == FLEET_BAN) {
		ev.until = policy_kernel_end(f->cfg, rec, fleet_wall_ms() / 1000);
		ev.kind = rec->origin;
		memcpy(ev.service, rec->service, AB_SERVICE_MAX);
		if (rec->origin == AB_ORIGIN_AUTO)
			snprintf(ev.reason, sizeof(ev.reason), "%u failures",
			    rec->failures);
	}
	if (fleet_event_format(&ev, o->line, sizeof(o->line)) < 0)
		return;
	snprintf(o->key, sizeof(o->key), "%s%s", FLEET_BAN_KEY,
	    addr_format(p, ps, sizeof(ps)));
	o->until = ev.until;
	b->n++;
}

struct scan {
	struct fleet *f;
	int64_t now;
	size_t n;
	struct outbuf b;
};

static int
scan_cb(const struct ab_addr *p, const struct ab_ban *rec, void *arg)
{
	struct scan *s = arg;
	struct fleet *f = s->f;
	int who;

	if (rec != NULL && policy_kernel_end(f->cfg, rec, s->now) > 0) {
		uint16_t w = oname(&f->map, rec->from);

		omap_set(&f->map, p, w);
		if (w == SELF) {
			out_push(f, &s->b, FLEET_BAN, rec, p, f->self, 0);
			s->n++;
		}
		return 0;
	}
	/* Gone or ended early: an unban, unless the fleet lifted it here.
	 * A ban that ran out is no unban: every server ends it alone. */
	who = omap_take(&f->map, p);
	if (who < 0 || who == LIFTED ||
	    (rec != NULL && rec->until > 0 && rec->until < s->now))
		return 0;
	out_push(f, &s->b, FLEET_UNBAN, NULL, p, who == SELF ? f->self :
	    f->map.name[who], 0);
	s->n++;
	return 0;
}

static int
full_cb(const struct ab_ban *rec, void *arg)
{
	struct scan *s = arg;

	if (rec->from[0] == '\0' && rec->origin != AB_ORIGIN_TRUSTED &&
	    policy_kernel_end(s->f->cfg, rec, s->now) > 0) {
		out_push(s->f, &s->b, FLEET_BAN, rec, &rec->prefix, s->f->self,
		    0);
		s->n++;
	}
	return 0;
}

/*
 * Queue what changed here since f->scan: read from the store without the
 * lock (the publisher and the reader wait on it), queued under it at once.
 * Nothing read is queued when anything failed: the next turn reads again
 * from the same position.
 */
static void
queue_changes(struct fleet *f, struct ab_store *st)
{
	struct scan s = { f, fleet_wall_ms() / 1000, 0, { NULL, 0, 0, 0 } };
	struct ab_store_stat ss;
	uint64_t last = f->scan;
	struct outev *v;
	int rc = 0, full;

	pthread_mutex_lock(&f->mu);
	if (f->nout >= OUT_MAX) {
		pthread_mutex_unlock(&f->mu);
		return;		/* the publisher is behind: later */
	}
	full = f->republish;
	f->republish = 0;
	pthread_mutex_unlock(&f->mu);
	if (!full && (rc = store_changes(st, f->scan, &last, scan_cb, &s)) ==
	    AB_ENOTFOUND) {
		full = 1;
		rc = 0;
	}
	if (full && rc == 0 && (rc = store_stat(st, &ss)) == 0) {
		last = ss.last_change;
		rc = store_ban_foreach(st, full_cb, &s);
	}
	if (rc == 0 && last != f->scan)
		out_push(f, &s.b, 0, NULL, NULL, NULL, last);
	pthread_mutex_lock(&f->mu);
	if (rc != 0 || s.b.oom) {
		f->republish |= full;
	} else if (s.b.n > 0 && (v = reallocarray(f->out, f->nout + s.b.n,
	    sizeof(*v))) != NULL) {
		f->out = v;
		memcpy(f->out + f->nout, s.b.v, s.b.n * sizeof(*v));
		f->nout += s.b.n;
		f->scan = last;
		pthread_cond_broadcast(&f->cv);
	} else if (s.b.n > 0) {
		f->republish |= full;
	}
	pthread_mutex_unlock(&f->mu);
	free(s.b.v);
}

/* At most 20 refusals said per 10 s, so a flood of them floods no log. */
static int
log_ok(struct fleet *f)
{
	int64_t now = fleet_wall_ms() / 1000;

	if (now - f->log_at >= 10) {
		if (f->log_n > 20)
			ab_logf(f->log, LOG_WARNING, "fleet: %u more events "
			    "refused without a message", f->log_n - 20);
		f->log_at = now;
		f->log_n = 0;
	}
	return f->log_n++ < 20;
}

/* Apply queued events: 1 if bans changed, 0, or an error. */
static int
take_events(struct fleet *f, struct ab_store *st)
{
	struct fleet_event *ev;
	struct inev *in;
	uint8_t *lifted;
	char last[FLEET_ID_MAX] = "", esc[96];
	size_t nin, i, k, k2, n;
	int64_t now = fleet_wall_ms() / 1000;
	int rc = 0, changed = 0;
	uint64_t before = f->cnt.applied;

	pthread_mutex_lock(&f->mu);
	in = f->in;
	nin = f->nin;
	f->in = NULL;
	f->nin = f->capin = 0;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (nin == 0) {
		free(in);
		return 0;
	}
	/* Sized to what came: a buffer past glibc's mmap threshold would be
	 * mapped and unmapped on every turn. */
	ev = calloc(nin < APPLY_BATCH ? nin : APPLY_BATCH, sizeof(*ev));
	lifted = calloc(APPLY_BATCH, 1);
	if (ev == NULL || lifted == NULL) {
		free(ev);
		free(lifted);
		free(in);
		return -ENOMEM;
	}
	for (i = 0; i < nin && rc == 0; i = k) {
		int snap = in[i].snapshot;

		n = 0;
		for (k = i; k < nin && n < APPLY_BATCH &&
		    in[k].snapshot == snap; k++) {
			const char *why;

			if (in[k].id[0] != '\0')
				snprintf(last, sizeof(last), "%s", in[k].id);
			if (in[k].len == 0)
				continue;	/* end of a snapshot */
			f->received++;
			if (in[k].id[0] != '\0') {
				f->last_event = now;
				f->lag_ms = fleet_wall_ms() - strtoll(in[k].id, NULL,
				    10);
			}
			if (fleet_event_parse(in[k].line, in[k].len, &ev[n],
			    &why) != 0) {
				f->cnt.rejected++;
				if (log_ok(f))
					ab_logf(f->log, LOG_WARNING, "fleet: "
					    "refused event %s: bad %s: \"%s\"",
					    in[k].id[0] ? in[k].id :
					    "of the current set", why,
					    ab_escape(in[k].line, esc,
					    sizeof(esc)));
				continue;
			}
			snprintf(ev[n].id, sizeof(ev[n].id), "%s", in[k].id);
			n++;
		}
		if (n == 0)
			continue;
		rc = fleet_apply(st, f->self, ev, n, snap, now, f->rate, f->log,
		    &f->cnt, lifted);
		if (rc != 0) {
			ab_logf(f->log, LOG_ERR, "fleet: cannot write %zu events "
			    "to the store: %s (taken again from the stream)",
			    n, ab_strerror(rc));
			last[0] = '\0';
			break;
		}
		/* Unbans the fleet made here must not echo back to it. */
		for (k2 = 0; k2 < n; k2++)
			if (lifted[k2])
				omap_set(&f->map, &ev[k2].prefix, LIFTED);
		memset(lifted, 0, APPLY_BATCH);
	}
	changed = f->cnt.applied != before;
	if (last[0] != '\0' && rc == 0) {
		/* Kept in the store by fleet_turn, at most once a second:
		 * after a crash the events since are taken again (no harm). */
		snprintf(f->applied_id, sizeof(f->applied_id), "%s", last);
		f->last_dirty = 1;
	} else if (rc != 0) {
		/* Start again from what the store has: nothing is lost. */
		pthread_mutex_lock(&f->mu);
		snprintf(f->last, sizeof(f->last), "%s", f->applied_id);
		pthread_mutex_unlock(&f->mu);
	}
	free(ev);
	free(lifted);
	free(in);
	return rc != 0 ? rc : changed;
}

static void
state_write(struct fleet *f)
{
	char path[AB_PATH_MAX + 32], tmp[AB_PATH_MAX + 40], buf[1024];
	int fd, n;

	pthread_mutex_lock(&f->mu);
	n = snprintf(buf, sizeof(buf), "connected %d\nsince %lld\n"
	    "last_event %lld\nlag_ms %lld\npublished %llu\nreceived %llu\n"
	    "applied %llu\nrejected %llu\nlast_id %s\nerror %s\n",
	    f->rd_up && f->pub_up, (long long)f->since,
	    (long long)f->last_event, (long long)f->lag_ms,
	    (unsigned long long)f->published, (unsigned long long)f->received,
	    (unsigned long long)f->cnt.applied,
	    (unsigned long long)(f->cnt.rejected + f->cnt.limited),
	    f->applied_id[0] ? f->applied_id : "-",
	    f->rd_up && f->pub_up ? "-" : f->error);
	pthread_mutex_unlock(&f->mu);
	snprintf(path, sizeof(path), "%s/%s", f->cfg->runtime_dir,
	    FLEET_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd < 0)
		return;
	if (write(fd, buf, (size_t)n) != n || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		unlink(tmp);
}

/* Write the positions that moved since they were last written. */
static void
save_positions(struct fleet *f, struct ab_store *st, uint64_t tag)
{
	char v[32];

	if (tag == f->tag_saved && !f->last_dirty)
		return;
	f->saved_at = fleet_wall_ms();
	snprintf(v, sizeof(v), "%llu", (unsigned long long)tag);
	if (tag != f->tag_saved && store_fleet_put(st, "pub", v) == 0)
		f->tag_saved = tag;
	if (f->last_dirty && store_fleet_put(st, "last", f->applied_id) == 0)
		f->last_dirty = 0;
}

void
fleet_flush(struct fleet *f, struct ab_store *st)
{
	uint64_t tag;

	if (f == NULL || st == NULL || !f->loaded)
		return;
	pthread_mutex_lock(&f->mu);
	tag = f->tag_sent;
	pthread_mutex_unlock(&f->mu);
	save_positions(f, st, tag);
}

int
fleet_turn(struct fleet *f, struct ab_store *st)
{
	char buf[256];
	uint64_t tag = 0;
	int rc = 0, news;

	if (f == NULL)
		return 0;
	while (read(f->wake[0], buf, sizeof(buf)) > 0)
		;
	if (!f->started && threads_start(f) != 0) {
		ab_logf(f->log, LOG_ERR, "fleet: cannot start its threads");
		return -EAGAIN;
	}
	if (st == NULL)
		return 0;
	if (!f->loaded && (rc = load(f, st)) != 0) {
		ab_logf(f->log, LOG_ERR, "fleet: cannot read its position from "
		    "the store: %s", ab_strerror(rc));
		return rc;
	}
	rc = take_events(f, st);
	queue_changes(f, st);
	pthread_mutex_lock(&f->mu);
	news = f->tag_new;
	f->tag_new = 0;
	tag = f->tag_sent;
	pthread_mutex_unlock(&f->mu);
	/* Both positions, at most once a second (each is a write). */
	if (fleet_wall_ms() - f->saved_at >= 1000)
		save_positions(f, st, tag);
	if (rc != 0 || news || fleet_wall_ms() - f->state_at >= 1000) {
		f->state_at = fleet_wall_ms();
		state_write(f);
	}
	return rc;
}

void
fleet_stop(struct fleet *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (f->started) {
		pthread_join(f->rd, NULL);
		pthread_join(f->pub, NULL);
	}
	if (f->wake[0] >= 0)
		close(f->wake[0]);
	if (f->wake[1] >= 0)
		close(f->wake[1]);
	explicit_bzero(f->pass, sizeof(f->pass));
	omap_free(&f->map);
	fleet_rate_free(f->rate);
	free(f->in);
	free(f->out);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

int
fleet_state_read(const struct ab_config *cfg, struct fleet_state *s)
{
	char path[AB_PATH_MAX + 32], buf[1024], *line, *save = NULL;
	struct passwd *pw = getpwnam(cfg->user);
	ssize_t n;
	int fd;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%s", cfg->runtime_dir,
	    FLEET_STATE_FILE);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (trust_fd(fd, 0, pw ? pw->pw_uid : AB_NOUID, "fleet state", path,
	    NULL, NULL) != 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, ' ');

		if (v == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "connected") == 0)
			s->connected = atoi(v) == 1;
		else if (strcmp(line, "since") == 0)
			s->since = strtoll(v, NULL, 10);
		else if (strcmp(line, "last_event") == 0)
			s->last_event = strtoll(v, NULL, 10);
		else if (strcmp(line, "lag_ms") == 0)
			s->lag_ms = strtoll(v, NULL, 10);
		else if (strcmp(line, "published") == 0)
			s->published = strtoull(v, NULL, 10);
		else if (strcmp(line, "received") == 0)
			s->received = strtoull(v, NULL, 10);
		else if (strcmp(line, "applied") == 0)
			s->applied = strtoull(v, NULL, 10);
		else if (strcmp(line, "rejected") == 0)
			s->rejected = strtoull(v, NULL, 10);
		else if (strcmp(line, "last_id") == 0 && fleet_id_ok(v))
			snprintf(s->last_id, sizeof(s->last_id), "%s", v);
		else if (strcmp(line, "error") == 0 && strcmp(v, "-") != 0)
			ab_escape(v, s->error, sizeof(s->error));
	}
	return 0;
}
