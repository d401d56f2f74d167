/*
 * store_hours.c - failures and automatic bans per hour, for banhelper
 * stats' picture of an attack (issue 27).
 *
 * Meta records, key "hf:" or "hb:" and the hour since the epoch as four
 * bytes big-endian (so they walk in time order), value a uint64 count:
 *  - counts store "hf:H": failures counted in hour H, bumped in the same
 *    write transaction as the failure (with the service's total), so a
 *    failure costs no extra transaction;
 *  - ban store "hb:H": automatic bans made in hour H, likewise;
 *  - ban store "hf:H": failures of a closed hour, copied there by the
 *    daemon (store_hours_keep), since the counts store lives on tmpfs and
 *    is gone after a reboot.  A reader takes the counts store's record of
 *    an hour over the copy, so a copy made twice counts once.
 * Both are cut to HOURS_KEPT by the daemon: bounded.
 *
 * MUST: never trust a record's length; never let a count go below zero.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define HOUR_KEYLEN	7
#define HOURS_KEPT	(31 * 24)

static size_t
hour_key(uint8_t *k, char kind, int64_t hour)
{
	uint32_t h = (uint32_t)hour;

	k[0] = 'h';
	k[1] = (uint8_t)kind;
	k[2] = ':';
	k[3] = (uint8_t)(h >> 24);
	k[4] = (uint8_t)(h >> 16);
	k[5] = (uint8_t)(h >> 8);
	k[6] = (uint8_t)h;
	return HOUR_KEYLEN;
}

/* The hour of a key of kind, or -1 if k is not one. */
static int64_t
key_hour(const MDB_val *k, char kind)
{
	const uint8_t *p = k->mv_data;

	if (k->mv_size != HOUR_KEYLEN || p[0] != 'h' || p[1] != (uint8_t)kind ||
	    p[2] != ':')
		return -1;
	return (int64_t)((uint32_t)p[3] << 24 | (uint32_t)p[4] << 16 |
	    (uint32_t)p[5] << 8 | p[6]);
}

int
meta_hour_add(struct db *db, int delta)
{
	uint8_t kb[HOUR_KEYLEN];
	uint64_t n = 0;
	MDB_val k, v;
	int rc;

	if (delta == 0)
		return 0;
	k.mv_size = hour_key(kb, db->which == BANS ? 'b' : 'f',
	    (int64_t)time(NULL) / 3600);
	k.mv_data = kb;
	rc = mdb_get(db->txn, db->meta, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(n))
		memcpy(&n, v.mv_data, sizeof(n));
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_to_ab(rc);
	n = delta < 0 && n < (uint64_t)-delta ? 0 : n + (uint64_t)(int64_t)delta;
	v.mv_size = sizeof(n);
	v.mv_data = &n;
	rc = mdb_put(db->txn, db->meta, &k, &v, 0);
	return rc == 0 ? 0 : mdb_to_ab(rc);
}

struct hours {
	char kind;
	int64_t from;
	size_t n;
	uint64_t *out;
	uint8_t *seen;		/* may be NULL; set for each hour found */
	int only_unseen;	/* skip hours already seen */
};

static int
hours_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct hours *h = arg;
	int64_t hour = key_hour(k, h->kind);
	uint64_t n;

	if (hour < 0 || hour >= h->from + (int64_t)h->n)
		return DB_WALK_END;
	if (hour < h->from || v->mv_size != sizeof(n))
		return 0;
	if (h->only_unseen && h->seen[hour - h->from])
		return 0;
	memcpy(&n, v->mv_data, sizeof(n));
	h->out[hour - h->from] = n;
	if (h->seen != NULL)
		h->seen[hour - h->from] = 1;
	return 0;
}

int
store_hours(struct ab_store *st, int bans, int64_t from, size_t n,
    uint64_t *out)
{
	uint8_t kb[HOUR_KEYLEN], seen[HOURS_KEPT + 48];
	struct hours h = { bans ? 'b' : 'f', from, n, out, seen, 0 };
	int rc;

	if (n > HOURS_KEPT + 48)
		return -EINVAL;
	memset(out, 0, n * sizeof(*out));
	memset(seen, 0, sizeof(seen));
	hour_key(kb, h.kind, from);
	if (bans)
		return db_walk(st, BANS, 1, kb, sizeof(kb), hours_cb, &h);
	/* The counts store's own records first; the copies fill the rest. */
	if ((rc = db_walk(st, COUNTS, 1, kb, sizeof(kb), hours_cb, &h)) != 0)
		return rc;
	h.only_unseen = 1;
	return db_walk(st, BANS, 1, kb, sizeof(kb), hours_cb, &h);
}

/* The counts store's failure hours before now's, to copy. */
struct closed {
	int64_t now_h;
	int64_t hour[HOURS_KEPT + 48];
	uint64_t n[HOURS_KEPT + 48];
	size_t cnt;
};

static int
closed_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct closed *c = arg;
	int64_t hour = key_hour(k, 'f');

	if (hour < 0 || hour >= c->now_h)
		return DB_WALK_END;
	if (v->mv_size != sizeof(uint64_t) || c->cnt == HOURS_KEPT + 48)
		return 0;
	c->hour[c->cnt] = hour;
	memcpy(&c->n[c->cnt], v->mv_data, sizeof(uint64_t));
	c->cnt++;
	return 0;
}

/* Delete keys of kind below hour in one store's meta (one transaction). */
static int
cut_before(struct ab_store *st, int which, char kind, int64_t hour)
{
	uint8_t kb[HOUR_KEYLEN];
	MDB_cursor *cur;
	MDB_val k, v;
	struct db db;
	size_t n = 0;
	int rc;

	if ((rc = db_begin(st, which, 1, &db)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(db.txn, db.meta, &cur)) != 0) {
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	k.mv_size = hour_key(kb, kind, 0);
	k.mv_data = kb;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		int64_t h = key_hour(&k, kind);

		if (h < 0 || h >= hour)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
		if (rc == MDB_NOTFOUND || rc == EINVAL)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	/* Nothing cut (most minutes): no commit, no write to the file. */
	return db_end(&db, n > 0);
}

static int
keep_hours(struct ab_store *st, struct closed *c, int64_t now)
{
	uint8_t kb[HOUR_KEYLEN];
	MDB_val k, v;
	struct db db;
	size_t i;
	int rc;

	c->now_h = now / 3600;
	hour_key(kb, 'f', 0);
	if ((rc = db_walk(st, COUNTS, 1, kb, sizeof(kb), closed_cb, c)) != 0)
		return rc;
	if (c->cnt > 0) {
		if ((rc = db_begin(st, BANS, 1, &db)) != 0)
			return rc;
		for (i = 0; i < c->cnt && rc == 0; i++) {
			k.mv_size = hour_key(kb, 'f', c->hour[i]);
			k.mv_data = kb;
			v.mv_size = sizeof(c->n[i]);
			v.mv_data = &c->n[i];
			rc = mdb_put(db.txn, db.meta, &k, &v, 0);
		}
		if (rc != 0) {
			db_end(&db, 0);
			return mdb_to_ab(rc);
		}
		if ((rc = db_end(&db, 1)) != 0)
			return rc;
		/* Copied: the counts store's closed hours go. */
		if ((rc = cut_before(st, COUNTS, 'f', c->now_h)) != 0)
			return rc;
	}
	if ((rc = cut_before(st, BANS, 'f', c->now_h - HOURS_KEPT)) != 0)
		return rc;
	return cut_before(st, BANS, 'b', c->now_h - HOURS_KEPT);
}

int
store_hours_keep(struct ab_store *st, int64_t now)
{
	struct closed *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return -ENOMEM;
	rc = keep_hours(st, c, now);
	free(c);
	return rc;
}
