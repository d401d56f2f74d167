/*
 * fleet_link.c - the fleet's two threads, each with a connection of its
 * own to Redis (docs/fleet.md): the reader follows the stream FLEET_STREAM
 * with XREAD BLOCK from the last id this server took, and takes the current
 * set (keys FLEET_BAN_KEY + prefix, expiring with their ban) when that id is
 * gone from the stream or Redis lost its data; the publisher sends what the
 * daemon queued, each batch's keys and stream entries in one MULTI/EXEC.
 * Neither touches the store: they hand events to the daemon's thread and
 * take changes from it (fleet.c).
 *
 * MUST: build every command with hiredis' argument formatting, never from
 * text; bound every wait (connect, I/O and XREAD BLOCK timeouts; backoff up
 * to 5 s); queue nothing past IN_MAX; take nothing out of the outbox until
 * Redis took it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "fleet_int.h"

int64_t
fleet_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fleet_poke(struct fleet *f)
{
	char c = 1;

	if (write(f->wake[1], &c, 1) < 0 && errno != EAGAIN)
		return;
}

static void
set_error(struct fleet *f, const char *what, const char *detail)
{
	pthread_mutex_lock(&f->mu);
	if (strncmp(f->error, what, strlen(what)) != 0 || f->since == 0 ||
	    f->rd_up || f->pub_up) {
		snprintf(f->error, sizeof(f->error), "%s%s%s", what,
		    detail ? ": " : "", detail ? detail : "");
		f->since = fleet_wall_ms() / 1000;
	}
	pthread_mutex_unlock(&f->mu);
}

static redisContext *
link_open(struct fleet *f, const char *who)
{
	struct timeval tv = { IO_TIMEOUT_MS / 1000, 0 };
	redisContext *c;
	redisReply *r;

	c = redisConnectWithTimeout(f->cfg->fleet_host, f->cfg->fleet_port, tv);
	if (c == NULL || c->err) {
		set_error(f, "cannot connect", c ? c->errstr : "out of memory");
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (f->pass[0] != '\0') {
		r = f->user[0] != '\0' ?
		    redisCommand(c, "AUTH %s %s", f->user, f->pass) :
		    redisCommand(c, "AUTH %s", f->pass);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			set_error(f, "Redis refused the password",
			    r ? r->str : c->errstr);
			if (r)
				freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	(void)who;
	return c;
}

/* Wait ms or until stop: 1 if stopping. */
static int
nap(struct fleet *f, int ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->mu);
	if (!f->stop)
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	stop = f->stop;
	pthread_mutex_unlock(&f->mu);
	return stop;
}

static int
stopping(struct fleet *f)
{
	int s;

	pthread_mutex_lock(&f->mu);
	s = f->stop;
	pthread_mutex_unlock(&f->mu);
	return s;
}

/*
 * One thread's link went up or down: its flag, and the link's state for
 * status (connected once both are up).  Down: wait backoff (doubled up to
 * 5 s) or until stopping; 1 if stopping.
 */
static int
link_state(struct fleet *f, int *up_flag, int up, int *backoff)
{
	pthread_mutex_lock(&f->mu);
	*up_flag = up;
	if (up && f->rd_up && f->pub_up) {
		f->error[0] = '\0';
		f->since = fleet_wall_ms() / 1000;
	}
	pthread_mutex_unlock(&f->mu);
	fleet_poke(f);
	if (up) {
		*backoff = 200;
		return 0;
	}
	if (nap(f, *backoff))
		return 1;
	*backoff = *backoff < 5000 ? *backoff * 2 : 5000;
	return 0;
}

/* Queue one event for the daemon's thread (waits while the queue is full). */
static int
in_push(struct fleet *f, const char *line, size_t len, const char *id,
    int snapshot)
{
	struct inev *e;

	pthread_mutex_lock(&f->mu);
	while (f->nin >= IN_MAX && !f->stop)
		pthread_cond_wait(&f->cv, &f->mu);
	if (f->stop) {
		pthread_mutex_unlock(&f->mu);
		return -1;
	}
	if (f->nin == f->capin) {
		size_t cap = f->capin ? f->capin * 2 : 16;

		e = reallocarray(f->in, cap, sizeof(*e));
		if (e == NULL) {
			pthread_mutex_unlock(&f->mu);
			return -1;
		}
		f->in = e;
		f->capin = cap;
	}
	e = &f->in[f->nin++];
	e->len = len < sizeof(e->line) ? len : sizeof(e->line) - 1;
	memcpy(e->line, line, e->len);
	e->line[e->len] = '\0';
	if (len >= sizeof(e->line))
		e->len = sizeof(e->line);	/* too long: refused later */
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->snapshot = snapshot;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

/* The id of the stream's first (rev 0) or last (rev 1) entry, "" if none;
 * 0 or -1 on a link error. */
static int
stream_end(redisContext *c, int rev, char *id)
{
	redisReply *r = rev ?
	    redisCommand(c, "XREVRANGE %s + - COUNT 1", FLEET_STREAM) :
	    redisCommand(c, "XRANGE %s - + COUNT 1", FLEET_STREAM);

	id[0] = '\0';
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2 &&
	    r->element[0]->element[0]->type == REDIS_REPLY_STRING &&
	    fleet_id_ok(r->element[0]->element[0]->str))
		snprintf(id, FLEET_ID_MAX, "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	return 0;
}

/* Every ban of the current set, queued as a snapshot: 0 or -1. */
static int
snapshot(struct fleet *f, redisContext *c)
{
	char cursor[32] = "0";
	size_t i, n = 0;

	do {
		redisReply *r = redisCommand(c, "SCAN %s MATCH %s* COUNT 1000",
		    cursor, FLEET_BAN_KEY), *keys, *v;

		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2 || r->element[0]->type !=
		    REDIS_REPLY_STRING || r->element[1]->type !=
		    REDIS_REPLY_ARRAY) {
			if (r)
				freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		keys = r->element[1];
		for (i = 0; i < keys->elements; i++)
			if (keys->element[i]->type == REDIS_REPLY_STRING)
				redisAppendCommand(c, "GET %b",
				    keys->element[i]->str,
				    (size_t)keys->element[i]->len);
		for (i = 0; i < keys->elements; i++) {
			if (keys->element[i]->type != REDIS_REPLY_STRING)
				continue;
			if (redisGetReply(c, (void **)&v) != REDIS_OK) {
				freeReplyObject(r);
				return -1;
			}
			if (v->type == REDIS_REPLY_STRING &&
			    in_push(f, v->str, v->len, "", 1) == 0)
				n++;
			freeReplyObject(v);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && !stopping(f));
	ab_logf(f->log, LOG_INFO, "fleet: %zu bans in the current set", n);
	return 0;
}

/*
 * After a (re)connection: follow on from last if the stream still holds
 * what came after it; otherwise take the current set and follow from the
 * stream's end.  0, or -1 on a link error.
 */
static int
catch_up(struct fleet *f, redisContext *c, char *last)
{
	char first[FLEET_ID_MAX], head[FLEET_ID_MAX];
	const char *why = NULL;

	if (stream_end(c, 0, first) != 0 || stream_end(c, 1, head) != 0)
		return -1;
	if (last[0] == '\0')
		why = "first time in the fleet";
	else if (head[0] == '\0' || fleet_id_cmp(last, head) > 0)
		why = "Redis lost what this server had seen";
	else if (fleet_id_cmp(last, first) < 0)
		why = "the stream no longer holds where this server stopped";
	if (why == NULL)
		return 0;
	ab_logf(f->log, LOG_NOTICE, "fleet: %s: taking the current set", why);
	/*
	 * And sending this server's own active bans again: when Redis lost
	 * its data they are gone from the set too, and another server may
	 * have written since, so that the ids alone no longer tell (sending
	 * a ban twice changes nothing anywhere).
	 */
	if (last[0] != '\0') {
		pthread_mutex_lock(&f->mu);
		f->republish = 1;
		pthread_mutex_unlock(&f->mu);
	}
	if (snapshot(f, c) != 0)
		return -1;
	snprintf(last, FLEET_ID_MAX, "%s", head[0] ? head : "0-0");
	return in_push(f, "", 0, last, 1) == 0 ? 0 : -1;
}

void *
fleet_reader_main(void *arg)
{
	struct fleet *f = arg;
	redisContext *c = NULL;
	char last[FLEET_ID_MAX];
	int backoff = 200;
	size_t i, j;

	pthread_mutex_lock(&f->mu);
	while (!f->loaded && !f->stop)
		pthread_cond_wait(&f->cv, &f->mu);
	snprintf(last, sizeof(last), "%s", f->last);
	pthread_mutex_unlock(&f->mu);
	while (!stopping(f)) {
		redisReply *r, *entries;

		if (c == NULL) {
			if ((c = link_open(f, "reader")) == NULL ||
			    catch_up(f, c, last) != 0) {
				if (c != NULL) {
					set_error(f, "lost the link", c->errstr);
					redisFree(c);
					c = NULL;
				}
				if (link_state(f, &f->rd_up, 0, &backoff))
					break;
				continue;
			}
			link_state(f, &f->rd_up, 1, &backoff);
		}
		r = redisCommand(c, "XREAD COUNT %d BLOCK %d STREAMS %s %s",
		    BATCH, BLOCK_MS, FLEET_STREAM, last);
		if (r == NULL) {
			set_error(f, "lost the link", c->errstr);
			redisFree(c);
			c = NULL;
			continue;
		}
		/* [[stream, [[id, [field, value, ...]], ...]]] or nil */
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
		    r->element[0]->type == REDIS_REPLY_ARRAY &&
		    r->element[0]->elements == 2 &&
		    (entries = r->element[0]->element[1])->type ==
		    REDIS_REPLY_ARRAY) {
			for (i = 0; i < entries->elements; i++) {
				redisReply *e = entries->element[i], *kv;
				const char *line = "";
				size_t len = 0;

				if (e->type != REDIS_REPLY_ARRAY ||
				    e->elements != 2 || e->element[0]->type !=
				    REDIS_REPLY_STRING ||
				    !fleet_id_ok(e->element[0]->str))
					continue;
				kv = e->element[1];
				for (j = 0; kv->type == REDIS_REPLY_ARRAY &&
				    j + 1 < kv->elements; j += 2)
					if (kv->element[j]->type ==
					    REDIS_REPLY_STRING &&
					    strcmp(kv->element[j]->str, "e") == 0 &&
					    kv->element[j + 1]->type ==
					    REDIS_REPLY_STRING) {
						line = kv->element[j + 1]->str;
						len = kv->element[j + 1]->len;
					}
				snprintf(last, sizeof(last), "%s",
				    e->element[0]->str);
				/* An entry without "e" still moves us on. */
				if (in_push(f, len ? line : "-", len ? len : 1,
				    last, 0) != 0)
					break;
			}
			fleet_poke(f);
		} else if (r->type == REDIS_REPLY_ERROR) {
			set_error(f, "Redis said", r->str);
			freeReplyObject(r);
			redisFree(c);
			c = NULL;
			if (nap(f, 1000))
				break;
			continue;
		}
		freeReplyObject(r);
	}
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/* Send items [0, n) of the outbox: 0, or -1 (nothing taken out). */
static int
publish(struct fleet *f, redisContext *c, const struct outev *o, size_t n)
{
	size_t i, k, want = 0;
	redisReply *r;
	int bad = 0;

	/* One MULTI/EXEC per batch: every key and its stream entry go in
	 * together, in one round trip. */
	redisAppendCommand(c, "MULTI");
	want = 2;
	for (i = 0; i < n; i++) {
		if (o[i].op == 0)
			continue;
		if (o[i].op == FLEET_BAN)
			redisAppendCommand(c, "SET %s %s EXAT %lld", o[i].key,
			    o[i].line, (long long)o[i].until);
		else
			redisAppendCommand(c, "DEL %s", o[i].key);
		redisAppendCommand(c, "XADD %s MAXLEN ~ %d * e %s",
		    FLEET_STREAM, FLEET_STREAM_KEEP, o[i].line);
		want += 2;
	}
	redisAppendCommand(c, "EXEC");
	for (k = 0; k < want; k++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			return -1;
		if (r->type == REDIS_REPLY_ERROR && !bad) {
			set_error(f, "Redis refused a ban", r->str);
			bad = 1;
		}
		freeReplyObject(r);
	}
	return bad ? -1 : 0;
}

void *
fleet_publisher_main(void *arg)
{
	struct fleet *f = arg;
	redisContext *c = NULL;
	struct outev *batch = calloc(BATCH, sizeof(*batch));
	int backoff = 200;
	size_t i, n;

	if (batch == NULL) {
		ab_logf(f->log, LOG_ERR, "fleet: out of memory: publishing "
		    "nothing");
		return NULL;
	}
	for (;;) {
		uint64_t tag = 0;
		size_t sent = 0;

		/* Connected before there is anything to send: the link's state
		 * is known, and the first ban goes out at once. */
		if (c == NULL) {
			if ((c = link_open(f, "publisher")) == NULL) {
				if (link_state(f, &f->pub_up, 0, &backoff))
					break;
				continue;
			}
			link_state(f, &f->pub_up, 1, &backoff);
		}
		pthread_mutex_lock(&f->mu);
		while (f->nout == 0 && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->stop) {
			pthread_mutex_unlock(&f->mu);
			break;
		}
		n = f->nout < BATCH ? f->nout : BATCH;
		memcpy(batch, f->out, n * sizeof(*batch));
		pthread_mutex_unlock(&f->mu);
		if (publish(f, c, batch, n) != 0) {
			set_error(f, "lost the link", c->err ? c->errstr :
			    "an error reply");
			redisFree(c);
			c = NULL;
			if (link_state(f, &f->pub_up, 0, &backoff))
				break;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (batch[i].tag > tag)
				tag = batch[i].tag;
			sent += batch[i].op != 0;
		}
		pthread_mutex_lock(&f->mu);
		memmove(f->out, f->out + n, (f->nout - n) * sizeof(*f->out));
		f->nout -= n;
		f->published += sent;
		if (tag > f->tag_sent) {
			f->tag_sent = tag;
			f->tag_new = 1;
		}
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		fleet_poke(f);
	}
	if (c != NULL)
		redisFree(c);
	free(batch);
	return NULL;
}
