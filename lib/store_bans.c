/*
 * store_bans.c - the durable ban records, the count of records per prefix
 * length (so a lookup tries only the lengths in use), and the change log
 * banhelper follows.
 *
 * Every change to a ban's start or end, and the deletion of an unexpired
 * ban, gets the next change number: a record in "changes" keyed by that
 * number and holding the prefix's key, and the record's own seq names it
 * (the older one is deleted).  banhelper applies changes after the last
 * number it saw, so its work is O(changes), not O(bans).
 */
#include <string.h>

#include "store_int.h"

/* ---- meta records ------------------------------------------------------- */

int
meta_get_plens(struct db *db, struct meta_plens *p)
{
	MDB_val k = { 5, (void *)"plens" }, v;
	int rc;

	if (db->pl_loaded) {
		*p = db->pl;
		return 0;
	}
	memset(p, 0, sizeof(*p));
	rc = mdb_get(db->txn, db->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		log_mdb(db, "read plens", rc);
		return mdb_to_ab(rc);
	}
	if (v.mv_size != sizeof(*p))
		return AB_ECORRUPT;
	memcpy(p, v.mv_data, sizeof(*p));
	return 0;
}

static int
meta_put(struct db *db, const char *name, const void *data, size_t len)
{
	/* LMDB takes void *; it does not write through these. */
	MDB_val k = { strlen(name), (void *)(uintptr_t)name };
	MDB_val v = { len, (void *)(uintptr_t)data };
	int rc = mdb_put(db->txn, db->meta, &k, &v, 0);

	if (rc != 0 && rc != MDB_MAP_FULL)
		log_mdb(db, "write meta", rc);
	return mdb_to_ab(rc);
}

static uint64_t
meta_get_u64(struct db *db, const char *name)
{
	MDB_val k = { strlen(name), (void *)(uintptr_t)name }, v;
	uint64_t x = 0;

	if (mdb_get(db->txn, db->meta, &k, &v) == 0 && v.mv_size == 8)
		memcpy(&x, v.mv_data, 8);
	return x;
}

int
meta_set_trimmed(struct db *db, uint64_t seq)
{
	if (seq <= meta_get_u64(db, "trimmed"))
		return 0;
	return meta_put(db, "trimmed", &seq, sizeof(seq));
}

uint64_t
meta_get_seq(struct db *db)
{
	MDB_val k = { 3, (void *)"seq" }, v;
	uint64_t seq = 0;

	if (db->seq_dirty)
		return db->seq;
	if (mdb_get(db->txn, db->meta, &k, &v) == 0 && v.mv_size == 8)
		memcpy(&seq, v.mv_data, 8);
	return seq;
}

/* This write transaction's "plens", read at first use. */
static int
txn_plens(struct db *db, struct meta_plens **p)
{
	int rc;

	if (!db->pl_loaded) {
		if ((rc = meta_get_plens(db, &db->pl)) != 0)
			return rc;
		db->pl_loaded = 1;
	}
	*p = &db->pl;
	return 0;
}

int
meta_flush(struct db *db)
{
	int rc;

	if (db->seq_dirty &&
	    (rc = meta_put(db, "seq", &db->seq, sizeof(db->seq))) != 0)
		return rc;
	if (db->pl_dirty &&
	    (rc = meta_put(db, "plens", &db->pl, sizeof(db->pl))) != 0)
		return rc;
	return 0;
}

int
plens_adjust(struct db *db, const struct ab_addr *p, int delta)
{
	struct meta_plens *pl;
	uint32_t *n;
	int rc;

	if ((rc = txn_plens(db, &pl)) != 0)
		return rc;
	n = &pl->n[p->family == 4 ? 0 : 1][p->plen];
	if (delta < 0 && *n == 0)
		return 0;
	*n = (uint32_t)((int64_t)*n + delta);
	db->pl_dirty = 1;
	return 0;
}

/* ---- the change log ----------------------------------------------------- */

int
change_del(struct db *db, uint64_t seq)
{
	uint8_t ck[8];
	MDB_val k = { 8, ck };
	int rc;

	change_key(seq, ck);
	rc = mdb_del(db->txn, db->changes, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(db, "delete change", rc);
		return mdb_to_ab(rc);
	}
	return 0;
}

int
change_add(struct db *db, const uint8_t *kb, size_t klen, uint64_t old_seq,
    uint64_t *new_seq)
{
	struct change_val cv;
	uint64_t seq = meta_get_seq(db) + 1;
	uint8_t ck[8];
	unsigned flags = MDB_APPEND;
	MDB_val k = { 8, ck }, v;
	int rc;

	if (old_seq != 0 && (rc = change_del(db, old_seq)) != 0)
		return rc;
	change_key(seq, ck);
	memset(&cv, 0, sizeof(cv));
	cv.time = store_now();
	cv.klen = (uint8_t)klen;
	memcpy(cv.key, kb, klen);
	v.mv_size = sizeof(cv);
	v.mv_data = &cv;
	/*
	 * seq only grows, so the record goes at the end: LMDB's append path
	 * skips the search and fills pages.  A table that somehow holds a
	 * larger key gets a plain put.
	 */
	while ((rc = mdb_put(db->txn, db->changes, &k, &v, flags)) != 0) {
		if (rc == MDB_KEYEXIST && flags != 0) {
			flags = 0;
			continue;
		}
		if (rc != MDB_MAP_FULL)
			log_mdb(db, "write change", rc);
		return mdb_to_ab(rc);
	}
	db->seq = seq;
	db->seq_dirty = 1;
	*new_seq = seq;
	return 0;
}

int
store_changes(struct ab_store *st, uint64_t since, uint64_t *last,
    store_change_fn fn, void *arg)
{
	struct db db;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t ck[8];
	int rc, stop = 0;

	*last = since;
	rc = db_begin(st, BANS, 0, &db);
	if (rc == 1)
		return since == 0 ? 0 : AB_ENOTFOUND;
	if (rc != 0)
		return rc;
	*last = meta_get_seq(&db);
	/*
	 * The store was replaced, or changes after since were trimmed
	 * before the caller saw them: it must reconcile in full.
	 */
	if (*last < since || (since > 0 && since < meta_get_u64(&db,
	    "trimmed"))) {
		db_end(&db, 0);
		return AB_ENOTFOUND;
	}
	rc = mdb_dbi_open(db.txn, "changes", 0, &db.changes);
	if (rc == MDB_NOTFOUND) {
		db_end(&db, 0);
		return 0;
	}
	if (rc != 0 || (rc = mdb_cursor_open(db.txn, db.changes, &cur)) != 0) {
		log_mdb(&db, "read changes", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	change_key(since + 1, ck);
	k.mv_size = 8;
	k.mv_data = ck;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct change_val cv;
		struct ab_addr p;
		struct ab_ban rec;
		int found;

		if (change_decode(&v, &cv) != 0 ||
		    key_parse(cv.key, cv.klen, &p) != 0)
			continue;
		if ((found = ban_get(&db, &p, &rec)) < 0) {
			stop = found;
			break;
		}
		if ((stop = fn(&p, found ? &rec : NULL, arg)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && stop == 0) {
		log_mdb(&db, "iterate changes", rc);
		stop = mdb_to_ab(rc);
	}
	db_end(&db, 0);
	return stop;
}

/* ---- records ------------------------------------------------------------ */

int
ban_get(struct db *db, const struct ab_addr *prefix, struct ab_ban *rec)
{
	uint8_t kb[KEY_MAX];
	MDB_val k, v;
	int rc;

	k.mv_size = key_make(prefix, kb);
	k.mv_data = kb;
	memset(rec, 0, sizeof(*rec));
	rec->prefix = *prefix;
	rc = mdb_get(db->txn, db->main, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		log_mdb(db, "read", rc);
		return mdb_to_ab(rc);
	}
	if (ban_decode(&v, rec) != 0) {
		char a[AB_ADDRSTRLEN];

		/* One bad record must not stop logins: treat it as absent. */
		ab_logf(db->st->log, LOG_ERR, "ban store %s: record %s is "
		    "malformed (%zu bytes): ignoring it", store_epath(db->st,
		    BANS), addr_format(prefix, a, sizeof(a)), v.mv_size);
		memset(rec, 0, sizeof(*rec));
		rec->prefix = *prefix;
		return 0;
	}
	return 1;
}

int
store_ban_covering(struct ab_store *st, const struct ab_addr *host,
    store_ban_iter_fn fn, void *arg)
{
	return store_ban_covering_probe(st, host, fn, arg, NULL);
}

int
store_ban_covering_probe(struct ab_store *st, const struct ab_addr *host,
    store_ban_iter_fn fn, void *arg, struct ab_trust_probe *q)
{
	struct meta_plens pl;
	struct db db;
	unsigned plen, fi = host->family == 4 ? 0 : 1;
	int64_t t;
	int rc;

	if (q != NULL)
		q->trusted = 0;
	rc = db_begin(st, BANS, 0, &db);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	if (q != NULL && trust_get_txn(&db, &q->unit, q->user, &t) == 1)
		q->trusted = t >= q->since;
	if ((rc = meta_get_plens(&db, &pl)) != 0)
		goto done;
	/* Look only at the prefix lengths that have records. */
	for (plen = 0; plen <= host->plen; plen++) {
		struct ab_addr p = *host;
		struct ab_ban rec;

		if (pl.n[fi][plen] == 0)
			continue;
		addr_mask(&p, plen);
		if ((rc = ban_get(&db, &p, &rec)) < 0)
			goto done;
		if (rc == 1 && (rc = fn(&rec, arg)) != 0)
			goto done;
		rc = 0;
	}
done:
	db_end(&db, 0);
	return rc;
}

int
store_ban_get(struct ab_store *st, const struct ab_addr *prefix,
    struct ab_ban *rec)
{
	struct db db;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->prefix = *prefix;
	rc = db_begin(st, BANS, 0, &db);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	rc = ban_get(&db, prefix, rec);
	db_end(&db, 0);
	return rc;
}

/* The name a ban's origin has in the totals (and in metrics). */
static const char *
origin_of(const struct ab_ban *b)
{
	return b->from[0] != '\0' ? "fleet" : ab_origin_name(b->origin);
}

/*
 * The totals per origin: a ban is made when its prefix was not banned
 * (or banned by another origin), lifted when an active ban ends before
 * its time (an unban; a ban that runs out is not written).  A ban only
 * lengthened or set right after a clock step is neither.  A NULL rec is
 * a deletion.
 */
static int
origin_totals(struct db *db, const struct ab_ban *prev,
    const struct ab_ban *rec)
{
	int64_t now = store_now();
	int was = prev != NULL && prev->until > now;
	int is = rec != NULL && rec->until > now;
	int rc;

	if (is && (!was || strcmp(origin_of(prev), origin_of(rec)) != 0) &&
	    (rc = meta_total_add(db, "bo:", origin_of(rec), 1)) != 0)
		return rc;
	if (was && !is)
		return meta_total_add(db, "ub:", origin_of(prev), 1);
	return 0;
}

/*
 * Write rec (act AB_WRITE) or delete the record (AB_DELETE) at prefix,
 * whose stored value was old (NULL: absent) decoding to prev (found).
 */
static int
ban_put(struct db *db, const struct ab_addr *prefix, const MDB_val *old,
    const struct ab_ban *prev, int found, struct ab_ban *rec, int act)
{
	uint8_t kb[KEY_MAX], buf[BAN_REC_MAX];
	MDB_val k, v;
	int rc, changed;

	k.mv_size = key_make(prefix, kb);
	k.mv_data = kb;
	if (act == AB_DELETE) {
		if ((rc = mdb_del(db->txn, db->main, &k, NULL)) != 0) {
			log_mdb(db, "delete", rc);
			return mdb_to_ab(rc);
		}
		if ((rc = plens_adjust(db, prefix, -1)) != 0 ||
		    (rc = origin_totals(db, found ? prev : NULL, NULL)) != 0)
			return rc;
		/* An unexpired ban leaving must leave the kernel too. */
		if (found && prev->until > store_now()) {
			uint64_t seq;

			return change_add(db, kb, k.mv_size, prev->seq, &seq);
		}
		/* An ended one left the kernel on its own: its change goes. */
		return found && prev->seq != 0 ? change_del(db, prev->seq) : 0;
	}
	rec->prefix = *prefix;
	changed = !found || prev->start != rec->start ||
	    prev->until != rec->until;
	if (changed && (prev->until != 0 || rec->until != 0)) {
		if ((rc = change_add(db, kb, k.mv_size, found ? prev->seq : 0,
		    &rec->seq)) != 0)
			return rc;
	}
	v.mv_size = ban_encode(rec, found ? old : NULL, buf, sizeof(buf));
	v.mv_data = buf;
	if ((rc = mdb_put(db->txn, db->main, &k, &v, 0)) != 0) {
		if (rc != MDB_MAP_FULL)
			log_mdb(db, "write", rc);
		return mdb_to_ab(rc);
	}
	if ((rc = meta_total_add(db, "svc:", rec->service,
	    rec->svc_delta)) != 0 ||
	    (rc = meta_hour_add(db, rec->svc_delta)) != 0 ||
	    (rc = origin_totals(db, found ? prev : NULL, rec)) != 0)
		return rc;
	return old == NULL ? plens_adjust(db, prefix, +1) : 0;
}

/* One read-modify-write of a durable record inside an open write txn. */
static int
ban_update_txn(struct db *db, const struct ab_addr *prefix, store_ban_fn fn,
    void *arg)
{
	uint8_t kb[KEY_MAX], copy[BAN_REC_MAX];
	struct ab_ban old, rec;
	MDB_val k, v, keep;
	int rc, exists, found, act;

	k.mv_size = key_make(prefix, kb);
	k.mv_data = kb;
	memset(&old, 0, sizeof(old));
	old.prefix = *prefix;
	rc = mdb_get(db->txn, db->main, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(db, "read", rc);
		return mdb_to_ab(rc);
	}
	exists = rc == 0;
	found = exists && ban_decode(&v, &old) == 0;
	if (found) {
		/* The map's bytes may move once we write: keep a copy. */
		memcpy(copy, v.mv_data, v.mv_size);
		keep.mv_size = v.mv_size;
		keep.mv_data = copy;
	}
	rec = old;
	act = fn(&rec, found, arg);
	if (act < 0)
		return act;
	if (act == AB_KEEP || (act == AB_DELETE && !exists))
		return 0;
	return ban_put(db, prefix, exists ? (found ? &keep : &v) : NULL, &old,
	    found, &rec, act);
}

struct many_ctx {
	store_ban_many_fn fn;
	void *arg;
	size_t i;
};

static int
many_cb(struct ab_ban *rec, int found, void *arg)
{
	struct many_ctx *m = arg;

	return m->fn(m->i, rec, found, m->arg);
}

int
store_ban_update_many(struct ab_store *st, const struct ab_addr *prefixes,
    size_t n, store_ban_many_fn fn, void *arg)
{
	struct many_ctx m = { fn, arg, 0 };
	struct db db;
	int rc;

	if ((rc = db_begin(st, BANS, 1, &db)) != 0)
		return rc;
	for (m.i = 0; m.i < n && rc == 0; m.i++)
		rc = ban_update_txn(&db, &prefixes[m.i], many_cb, &m);
	if (rc == 0)
		rc = db_end(&db, 1);
	else
		db_end(&db, 0);
	rc = db_full(&db, rc);
	if (db.over)
		store_make_room(st, BANS);
	if (rc == AB_EFULL)
		ab_logf(st->log, LOG_ERR, "ban store %s is full: nothing of "
		    "this change was written (raise mapsize)",
		    store_epath(st, BANS));
	return rc;
}

struct one_ctx {
	store_ban_fn fn;
	void *arg;
};

static int
one_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	struct one_ctx *o = arg;

	(void)i;
	return o->fn(rec, found, o->arg);
}

int
store_ban_update(struct ab_store *st, const struct ab_addr *prefix,
    store_ban_fn fn, void *arg)
{
	struct one_ctx o = { fn, arg };

	return store_ban_update_many(st, prefix, 1, one_cb, &o);
}

/* ---- walks -------------------------------------------------------------- */

/* Decode durable records for a store_ban_iter_fn, optionally one family
 * up to (not including) prefix length below. */
struct ban_walk {
	struct ab_store *st;
	store_ban_iter_fn fn;
	void *arg;
	int family;		/* 0: every record */
	int below;		/* with family: stop at this prefix length */
};

static int
ban_walk_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct ban_walk *w = arg;
	const uint8_t *key = k->mv_data;
	struct ab_ban rec;

	if (w->family != 0 && (k->mv_size < 2 || key[0] != w->family ||
	    key[1] >= w->below))
		return DB_WALK_END;
	memset(&rec, 0, sizeof(rec));
	if (key_parse(k->mv_data, k->mv_size, &rec.prefix) != 0 ||
	    ban_decode(v, &rec) != 0) {
		ab_logf(w->st->log, LOG_ERR, "ban store %s: skipping a "
		    "malformed record", store_epath(w->st, BANS));
		return 0;
	}
	return w->fn(&rec, w->arg);
}

int
store_ban_foreach(struct ab_store *st, store_ban_iter_fn fn, void *arg)
{
	struct ban_walk w = { st, fn, arg, 0, 0 };

	return db_walk(st, BANS, 0, NULL, 0, ban_walk_cb, &w);
}

int
store_ban_foreach_family(struct ab_store *st, int family, int skip_plen,
    store_ban_iter_fn fn, void *arg)
{
	unsigned bits = family == 4 ? 32 : 128;
	uint8_t from[2] = { (uint8_t)family, 0 };
	struct ban_walk w = { st, fn, arg, family, skip_plen };
	int rc;

	/* Keys sort by family, then prefix length: two ranges around skip. */
	if ((rc = db_walk(st, BANS, 0, from, sizeof(from), ban_walk_cb, &w)) != 0 ||
	    (unsigned)skip_plen >= bits)
		return rc;
	from[1] = (uint8_t)(skip_plen + 1);
	w.below = (int)bits + 1;
	return db_walk(st, BANS, 0, from, sizeof(from), ban_walk_cb, &w);
}

/* ---- sweeps ------------------------------------------------------------- */

/* A decision of a sweep, applied once the cursor is closed. */
struct sweep_item {
	struct ab_addr prefix;
	int act;
	struct ab_ban rec;
};

struct sweep_ctx {
	store_ban_fn fn;
	void *arg;
};

static int
sweep_judge(const MDB_val *k, const MDB_val *v, void *item, void *arg)
{
	struct sweep_item *it = item;
	struct sweep_ctx *c = arg;

	memset(it, 0, sizeof(*it));
	if (key_parse(k->mv_data, k->mv_size, &it->prefix) != 0)
		return AB_KEEP;		/* not ours to judge */
	if (ban_decode(v, &it->rec) != 0)
		return it->act = AB_DELETE;	/* malformed: it goes */
	it->rec.prefix = it->prefix;
	return it->act = c->fn(&it->rec, 1, c->arg);
}

static int
sweep_apply_cb(struct ab_ban *rec, int found, void *arg)
{
	const struct sweep_item *it = arg;

	(void)found;
	if (it->act == AB_WRITE)
		*rec = it->rec;
	return it->act;
}

static int
sweep_apply(struct db *db, void *item)
{
	struct sweep_item *it = item;

	return ban_update_txn(db, &it->prefix, sweep_apply_cb, it);
}

int
store_ban_sweep(struct ab_store *st, store_ban_fn fn, void *arg,
    size_t batch, size_t *n)
{
	static const struct db_sweep_ops ops = {
		sizeof(struct sweep_item), sweep_judge, sweep_apply,
	};
	struct sweep_ctx c = { fn, arg };

	return db_sweep(st, BANS, &ops, &c, batch, n);
}
