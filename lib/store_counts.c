/*
 * store_counts.c - the volatile counts: per unit, the failures still in
 * the window and the last success.  Written on every attempt, so every
 * function here is one short transaction; the rules that fill a record
 * are policy.c's callbacks.
 */
#include <errno.h>
#include <string.h>

#include "store_int.h"

static int
count_update_txn(struct db *db, const struct ab_addr *unit, store_count_fn fn,
    void *arg)
{
	uint8_t kb[KEY_MAX], buf[CNT_REC_MAX], copy[CNT_REC_MAX];
	struct ab_counter rec;
	MDB_val k, v, keep = { 0, copy };
	int rc, found, act;

	k.mv_size = key_make(unit, kb);
	k.mv_data = kb;
	memset(&rec, 0, sizeof(rec));
	rec.prefix = *unit;
	rc = mdb_get(db->txn, db->main, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(db, "read", rc);
		return mdb_to_ab(rc);
	}
	found = rc == 0 && cnt_decode(&v, &rec) == 0;
	if (found && v.mv_size <= sizeof(copy)) {
		memcpy(copy, v.mv_data, v.mv_size);
		keep.mv_size = v.mv_size;
	}
	rec.prefix = *unit;
	act = fn(&rec, found, arg);
	if (act < 0)
		return act;
	if (act == AB_KEEP || (act == AB_DELETE && rc == MDB_NOTFOUND))
		return 0;
	if (act == AB_DELETE) {
		rc = mdb_del(db->txn, db->main, &k, NULL);
		if (rc != 0)
			log_mdb(db, "delete", rc);
		return mdb_to_ab(rc);
	}
	v.mv_size = cnt_encode(&rec, found ? &keep : NULL, buf, sizeof(buf));
	v.mv_data = buf;
	if (v.mv_size == 0)
		return AB_ECORRUPT;
	if ((rc = mdb_put(db->txn, db->main, &k, &v, 0)) != 0) {
		if (rc != MDB_MAP_FULL)
			log_mdb(db, "write", rc);
		return mdb_to_ab(rc);
	}
	if ((rc = meta_total_add(db, "svc:", rec.svc_delta_of != NULL ?
	    rec.svc_delta_of : rec.service, rec.svc_delta)) != 0)
		return rc;
	return meta_hour_add(db, rec.svc_delta);
}

int
store_count_update_many(struct ab_store *st, const struct ab_addr *units,
    size_t n, store_count_fn fn, void *arg)
{
	struct db db;
	size_t i;
	int rc;

	if ((rc = db_begin(st, COUNTS, 1, &db)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = count_update_txn(&db, &units[i], fn, arg);
	if (rc == 0)
		return db_full(&db, db_end(&db, 1));
	db_end(&db, 0);
	return db_full(&db, rc);
}

int
store_count_update(struct ab_store *st, const struct ab_addr *unit,
    store_count_fn fn, void *arg)
{
	struct db db;
	int rc, attempt;

	/*
	 * A commit that leaves the store above its high-water mark makes
	 * room for the next; one that found no room at all (a store made
	 * full elsewhere) gets room made and one more try.
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((rc = db_begin(st, COUNTS, 1, &db)) != 0)
			return rc;
		rc = count_update_txn(&db, unit, fn, arg);
		if (rc == 0)
			rc = db_end(&db, 1);
		else
			db_end(&db, 0);
		if ((rc = db_full(&db, rc)) == -ENOMEM)
			break;
		if (db.over || rc == AB_EFULL)
			store_make_room(st, COUNTS);
		if (rc != AB_EFULL)
			break;
	}
	return rc;
}

int
store_count_get(struct ab_store *st, const struct ab_addr *unit,
    struct ab_counter *rec)
{
	uint8_t kb[KEY_MAX];
	struct db db;
	MDB_val k, v;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->prefix = *unit;
	rc = db_begin(st, COUNTS, 0, &db);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	k.mv_size = key_make(unit, kb);
	k.mv_data = kb;
	rc = mdb_get(db.txn, db.main, &k, &v);
	if (rc == 0)
		rc = cnt_decode(&v, rec) == 0 ? 1 : AB_ECORRUPT;
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	else
		rc = mdb_to_ab(rc);
	db_end(&db, 0);
	return rc;
}

static int
delete_cb(struct ab_counter *rec, int found, void *arg)
{
	(void)rec;
	(void)found;
	(void)arg;
	return AB_DELETE;
}

int
store_count_delete(struct ab_store *st, const struct ab_addr *unit)
{
	return store_count_update(st, unit, delete_cb, NULL);
}

struct count_walk {
	store_count_iter_fn fn;
	void *arg;
};

static int
count_walk_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct count_walk *w = arg;
	struct ab_counter rec;

	memset(&rec, 0, sizeof(rec));
	if (key_parse(k->mv_data, k->mv_size, &rec.prefix) != 0 ||
	    cnt_decode(v, &rec) != 0)
		return 0;	/* volatile: a bad record is simply not shown */
	return w->fn(&rec, w->arg);
}

int
store_count_foreach(struct ab_store *st, store_count_iter_fn fn, void *arg)
{
	struct count_walk w = { fn, arg };

	return db_walk(st, COUNTS, 0, NULL, 0, count_walk_cb, &w);
}

/* ---- sweeps ------------------------------------------------------------- */

struct csweep_item {
	struct ab_addr unit;
	int act;
	struct ab_counter rec;
};

struct csweep_ctx {
	store_count_fn fn;
	void *arg;
};

static int
csweep_judge(const MDB_val *k, const MDB_val *v, void *item, void *arg)
{
	struct csweep_item *it = item;
	struct csweep_ctx *c = arg;

	memset(it, 0, sizeof(*it));
	if (key_parse(k->mv_data, k->mv_size, &it->unit) != 0)
		return AB_KEEP;
	if (cnt_decode(v, &it->rec) != 0)
		return it->act = AB_DELETE;
	it->rec.prefix = it->unit;
	return it->act = c->fn(&it->rec, 1, c->arg);
}

static int
csweep_apply_cb(struct ab_counter *rec, int found, void *arg)
{
	const struct csweep_item *it = arg;

	(void)found;
	if (it->act == AB_WRITE)
		*rec = it->rec;
	return it->act;
}

static int
csweep_apply(struct db *db, void *item)
{
	struct csweep_item *it = item;

	return count_update_txn(db, &it->unit, csweep_apply_cb, it);
}

int
store_count_sweep(struct ab_store *st, store_count_fn fn, void *arg,
    size_t batch, size_t *n)
{
	static const struct db_sweep_ops ops = {
		sizeof(struct csweep_item), csweep_judge, csweep_apply,
	};
	struct csweep_ctx c = { fn, arg };

	return db_sweep(st, COUNTS, &ops, &c, batch, n);
}
