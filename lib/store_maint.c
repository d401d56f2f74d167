/*
 * store_maint.c - whole-store work: walking and sweeping a table,
 * clearing, trimming the change log,
 * making room when a store fills up, statistics, handing the directories
 * to banhelper's user.
 *
 * Room: a store may hold as many records as fit its map at worst, half
 * full pages of the largest records (store_capacity).  A commit that
 * leaves more (db_end sets db->over) makes room at once, down to fifteen
 * sixteenths, by deleting the records that matter least: for bans, those
 * whose ban ended longest ago, then those whose ban ends soonest; for
 * counts, those whose last attempt is oldest.  So the map itself never
 * fills (LMDB needs free pages even to delete: copy on write), a full
 * store degrades to forgetting its oldest records, never to refusing
 * writes: a new attacker is still counted and banned.  Making room runs
 * once per sixteenth of the capacity added.  The records are ranked by
 * age in powers of two (one pass to count, one to delete), so a pass may
 * take up to twice what it must.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define NBUCKETS	128
#define CHANGE_KEEP	86400	/* seconds a change record is kept */

/* ---- walking and sweeping ----------------------------------------------- */

int
db_walk(struct ab_store *st, int which, int meta, const void *from,
    size_t flen, db_walk_fn fn, void *arg)
{
	struct db db;
	MDB_cursor *cur;
	MDB_val k = { flen, (void *)(uintptr_t)from }, v;
	int rc, stop = 0;

	rc = db_begin(st, which, 0, &db);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = mdb_cursor_open(db.txn, meta ? db.meta :
	    db.main, &cur)) != 0) {
		log_mdb(&db, "cursor", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, flen ? MDB_SET_RANGE : MDB_FIRST);
	    rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if ((stop = fn(&k, &v, arg)) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && stop == 0) {
		log_mdb(&db, "iterate", rc);
		stop = mdb_to_ab(rc);
	}
	db_end(&db, 0);
	return stop == DB_WALK_END ? 0 : stop;
}

/*
 * One write transaction of a sweep from key resume (rlen 0: the start):
 * judge records until batch of them want a change, then apply those.
 * Returns 1 if there is more (resume set to the next key), 0 when done,
 * or an error.
 */
static int
sweep_pass(struct ab_store *st, int which, const struct db_sweep_ops *ops,
    void *arg, size_t batch, uint8_t *items, uint8_t *resume, size_t *rlen,
    size_t *n)
{
	struct db db;
	MDB_cursor *cur;
	MDB_val k = { *rlen, resume }, v;
	size_t ni = 0, i;
	int rc, more = 0, act = 0;

	if ((rc = db_begin(st, which, 1, &db)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(db.txn, db.main, &cur)) != 0) {
		log_mdb(&db, "cursor", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	rc = mdb_cursor_get(cur, &k, &v, *rlen ? MDB_SET_RANGE : MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (ni == batch) {
			memcpy(resume, k.mv_data, k.mv_size);
			*rlen = k.mv_size;
			more = 1;
			break;
		}
		if (k.mv_size > KEY_MAX)
			continue;	/* not ours to judge: left alone */
		act = ops->judge(&k, &v, items + ni * ops->item_size, arg);
		if (act < 0)
			break;
		if (act != AB_KEEP)
			ni++;
	}
	mdb_cursor_close(cur);
	if (act < 0 || (rc != 0 && rc != MDB_NOTFOUND && !more)) {
		if (act >= 0)
			log_mdb(&db, "sweep", rc);
		db_end(&db, 0);
		return act < 0 ? act : mdb_to_ab(rc);
	}
	/* The cursor is closed: the writes may now reshape the tree. */
	for (i = 0, rc = 0; i < ni && rc == 0; i++)
		rc = ops->apply(&db, items + i * ops->item_size);
	if (rc != 0) {
		db_end(&db, 0);
		return rc;
	}
	if ((rc = db_end(&db, 1)) != 0)
		return rc;
	*n += ni;
	return more;
}

int
db_sweep(struct ab_store *st, int which, const struct db_sweep_ops *ops,
    void *arg, size_t batch, size_t *n)
{
	uint8_t *items, resume[KEY_MAX];
	size_t rlen = 0, done = 0;
	int rc;

	if (batch == 0)
		batch = 1;
	if ((items = calloc(batch, ops->item_size)) == NULL)
		return -ENOMEM;
	do {
		rc = sweep_pass(st, which, ops, arg, batch, items, resume, &rlen,
		    &done);
	} while (rc == 1);
	free(items);
	if (n != NULL)
		*n = done;
	return rc;
}

/* ---- clearing ----------------------------------------------------------- */

static int
clear_cb(struct ab_ban *rec, int found, void *arg)
{
	size_t *n = arg;

	(void)rec;
	(void)found;
	(*n)++;
	return AB_DELETE;
}

static int
clear_count_cb(struct ab_counter *rec, int found, void *arg)
{
	(void)rec;
	(void)found;
	(void)arg;
	return AB_DELETE;
}

int
store_clear(struct ab_store *st, int64_t now, size_t *n)
{
	int rc;

	(void)now;
	*n = 0;
	/* Each unexpired ban leaves a change record: the kernel follows. */
	if ((rc = store_ban_sweep(st, clear_cb, n, 10000, NULL)) != 0)
		return rc;
	/* The counts go too, so every host starts fresh. */
	return store_count_sweep(st, clear_count_cb, NULL, 10000, NULL);
}

/* ---- the change log ----------------------------------------------------- */

int
store_changes_trim(struct ab_store *st, int64_t older, size_t max, size_t *n)
{
	struct db db;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t last = 0;
	size_t done = 0;
	int rc;

	if (n != NULL)
		*n = 0;
	if ((rc = db_begin(st, BANS, 1, &db)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(db.txn, db.changes, &cur)) != 0) {
		log_mdb(&db, "cursor", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	/*
	 * Oldest first, tombstones only: a change whose prefix has a record
	 * stays (the record's seq names it).
	 */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 &&
	    done < max; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct change_val cv;
		struct ab_addr p;
		struct ab_ban rec;
		int dead;

		dead = change_decode(&v, &cv) != 0 ||
		    key_parse(cv.key, cv.klen, &p) != 0;
		if (!dead && cv.time >= older)
			break;
		if (!dead && ban_get(&db, &p, &rec) == 1)
			continue;
		if (k.mv_size == 8) {
			const uint8_t *ck = k.mv_data;
			int i;

			for (last = 0, i = 0; i < 8; i++)
				last = last << 8 | ck[i];
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		done++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(&db, "trim changes", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	/* A reader from before this point must start again in full. */
	if (last > 0 && (rc = meta_set_trimmed(&db, last)) != 0) {
		db_end(&db, 0);
		return rc;
	}
	if ((rc = db_end(&db, 1)) != 0)
		return rc;
	if (n != NULL)
		*n = done;
	return 0;
}

/* ---- room --------------------------------------------------------------- */

/* The rank of an instant t at now: older first, in powers of two. */
static unsigned
age_bucket(int64_t t, int64_t now)
{
	int64_t d = t - now;
	uint64_t m = d < 0 ? (uint64_t)(-(d + 1)) + 1 : (uint64_t)d;
	unsigned bits = 0;

	while (m != 0 && bits < 63) {
		bits++;
		m >>= 1;
	}
	return d < 0 ? 64 - bits : 64 + bits;
}

/* The instant a record is ranked by (see the top). */
static int64_t
ban_age(const struct ab_ban *b)
{
	return b->until;
}

static int64_t
count_age(const struct ab_counter *c)
{
	int64_t t = c->nfail > 0 ? c->fail[c->nfail - 1] / 1000000000 : 0;

	return t > c->last_success ? t : c->last_success;
}

struct room {
	int64_t now;
	size_t hist[NBUCKETS], records;
	unsigned below;		/* pass 2: delete buckets below this */
	unsigned at;		/* ... and up to quota from this one */
	size_t quota, deleted;
};

static int
hist_bans(const struct ab_ban *rec, void *arg)
{
	struct room *r = arg;

	r->hist[age_bucket(ban_age(rec), r->now)]++;
	r->records++;
	return 0;
}

static int
hist_counts(const struct ab_counter *rec, void *arg)
{
	struct room *r = arg;

	r->hist[age_bucket(count_age(rec), r->now)]++;
	r->records++;
	return 0;
}

static int
evict(struct room *r, int64_t t)
{
	unsigned b = age_bucket(t, r->now);

	if (b < r->below || (b == r->at && r->quota > 0)) {
		if (b == r->at)
			r->quota--;
		r->deleted++;
		return AB_DELETE;
	}
	return AB_KEEP;
}

static int
evict_ban(struct ab_ban *rec, int found, void *arg)
{
	(void)found;
	return evict(arg, ban_age(rec));
}

static int
evict_count(struct ab_counter *rec, int found, void *arg)
{
	(void)found;
	return evict(arg, count_age(rec));
}

/*
 * A ban takes at most 100 bytes in its tree and 50 in the change log, a
 * counts record 66 plus 8 per failure kept (maxretry); pages may be half
 * full, and branch pages add a little: 320 bytes a ban, twice the largest
 * counts record plus 64.
 */
size_t
store_capacity(struct ab_store *st, int which)
{
	size_t per = which == BANS ? 320 :
	    2 * (66 + 8 * (size_t)st->cfg->maxretry) + 64;

	return st->cfg->mapsize / per;
}

/* Records now, from a read transaction. */
static size_t
records_now(struct ab_store *st, int which)
{
	struct db db;
	MDB_stat ms;
	size_t n = 0;

	if (db_begin(st, which, 0, &db) != 0)
		return 0;
	if (mdb_stat(db.txn, db.main, &ms) == 0)
		n = ms.ms_entries;
	if (which == BANS) {
		MDB_dbi ch;

		if (mdb_dbi_open(db.txn, "changes", 0, &ch) == 0 &&
		    mdb_stat(db.txn, ch, &ms) == 0)
			n += ms.ms_entries;
	}
	db_end(&db, 0);
	return n;
}

void
store_make_room(struct ab_store *st, int which)
{
	struct room r;
	size_t cap = store_capacity(st, which), target = cap / 16 * 15;
	size_t have, want, sum = 0, trimmed = 0;
	unsigned b;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.now = store_now();
	if ((have = records_now(st, which)) <= cap)
		return;
	/*
	 * Bans: tombstones go first (a reader of the change log from before
	 * them starts again in full), then bans; an active ban evicted
	 * leaves a tombstone, which goes too.
	 */
	if (which == BANS && store_changes_trim(st, INT64_MAX, have - target,
	    &trimmed) == 0 && (have = records_now(st, which)) <= target)
		goto said;
	rc = which == BANS ? store_ban_foreach(st, hist_bans, &r) :
	    store_count_foreach(st, hist_counts, &r);
	if (rc != 0 || r.records == 0)
		goto said;
	/* An ended ban takes its change record with it: two records. */
	want = which == BANS ? (have - target) / 2 + 1 : have - target;
	for (b = 0; b < NBUCKETS && sum + r.hist[b] < want; b++)
		sum += r.hist[b];
	r.below = b;
	r.at = b;
	r.quota = want - sum;
	rc = which == BANS ? store_ban_sweep(st, evict_ban, &r, 4096, NULL) :
	    store_count_sweep(st, evict_count, &r, 4096, NULL);
	if (which == BANS && rc == 0)
		rc = store_changes_trim(st, INT64_MAX, r.deleted, NULL);
said:
	ab_logf(st->log, LOG_WARNING, "%s %s is full (%zu records; it holds "
	    "%zu): removed %zu, %s first (raise mapsize to keep more)%s%s",
	    store_what(which), store_epath(st, which), have, cap,
	    r.deleted + trimmed, which == BANS ? "old change records, then "
	    "the bans that ended longest ago or end soonest" :
	    "those idle longest", rc != 0 ? ": " : "",
	    rc != 0 ? ab_strerror(rc) : "");
}

/* ---- statistics --------------------------------------------------------- */

int
store_stat(struct ab_store *st, struct ab_store_stat *out)
{
	static const char *const names[2] = { AB_BANS_FILE, AB_COUNTS_FILE };
	struct stat sb;
	struct db db;
	MDB_stat ms;
	int which, rc;

	memset(out, 0, sizeof(*out));
	for (which = 0; which < 2; which++) {
		struct ab_store_part *p = which == BANS ? &out->bans :
		    &out->counts;

		p->capacity = store_capacity(st, which);
		if (fstatat(st->dirfd[which], names[which], &sb,
		    AT_SYMLINK_NOFOLLOW) == 0)
			p->bytes = (uint64_t)sb.st_blocks * 512;
		rc = db_begin(st, which, 0, &db);
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		if (mdb_stat(db.txn, db.main, &ms) == 0)
			p->records = ms.ms_entries;
		if (which == BANS) {
			MDB_val k = { 2, (void *)"id" }, v;

			MDB_dbi ch;

			out->last_change = meta_get_seq(&db);
			if (mdb_dbi_open(db.txn, "changes", 0, &ch) == 0 &&
			    mdb_stat(db.txn, ch, &ms) == 0)
				out->changes = ms.ms_entries;
			if (mdb_get(db.txn, db.meta, &k, &v) == 0 &&
			    v.mv_size == sizeof(out->id))
				memcpy(out->id, v.mv_data, sizeof(out->id));
		}
		db_end(&db, 0);
	}
	return 0;
}

/* ---- totals kept in the meta tables -------------------------------------- */

/*
 * Each total is a uint64 under a key "KIND:NAME": "svc:" failures (counts
 * store) and auto bans (ban store) per service, "rf:" refusals per service
 * (counts store), "bo:" bans made and "ub:" bans lifted per origin (ban
 * store).  NAME is a checked service name or an origin's name.
 */
#define TOTAL_KEYMAX	(4 + AB_SERVICE_MAX)

static const char *const total_keys[] = { "svc:", "svc:", "rf:", "bo:",
    "ub:" };

int
meta_total_add(struct db *db, const char *kind, const char *name, int delta)
{
	char kb[TOTAL_KEYMAX];
	MDB_val k, v;
	uint64_t total = 0;
	size_t kl = strlen(kind), n;
	int rc;

	if (delta == 0 || name == NULL || name[0] == '\0')
		return 0;
	n = strnlen(name, AB_SERVICE_MAX - 1);
	memcpy(kb, kind, kl);
	memcpy(kb + kl, name, n);
	k.mv_size = kl + n;
	k.mv_data = kb;
	rc = mdb_get(db->txn, db->meta, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(total))
		memcpy(&total, v.mv_data, sizeof(total));
	else if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(db, "read a total", rc);
		return mdb_to_ab(rc);
	}
	if (delta < 0 && total < (uint64_t)-delta)
		total = 0;
	else
		total += (uint64_t)(int64_t)delta;
	v.mv_size = sizeof(total);
	v.mv_data = &total;
	if ((rc = mdb_put(db->txn, db->meta, &k, &v, 0)) != 0) {
		if (rc != MDB_MAP_FULL)
			log_mdb(db, "write a total", rc);
		return mdb_to_ab(rc);
	}
	return 0;
}

int
store_refusal(struct ab_store *st, const char *service)
{
	struct db db;
	int rc;

	if (service == NULL || service[0] == '\0')
		return 0;
	if ((rc = db_begin(st, COUNTS, 1, &db)) != 0)
		return rc;
	if ((rc = meta_total_add(&db, "rf:", service, 1)) != 0) {
		db_end(&db, 0);
		return db_full(&db, rc);
	}
	return db_full(&db, db_end(&db, 1));
}

struct total_walk {
	store_total_fn fn;
	void *arg;
	int kind;
	size_t kl;
};

static int
total_walk_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct total_walk *w = arg;
	char name[AB_SERVICE_MAX], norm[AB_SERVICE_MAX];
	uint64_t total;
	size_t n;

	if (k->mv_size < w->kl ||
	    memcmp(k->mv_data, total_keys[w->kind], w->kl) != 0)
		return DB_WALK_END;	/* past this kind's keys */
	n = k->mv_size - w->kl;
	if (n == 0 || n >= AB_SERVICE_MAX || v->mv_size != sizeof(total))
		return 0;		/* not ours to read */
	memcpy(name, (const char *)k->mv_data + w->kl, n);
	name[n] = '\0';
	if (ab_service_name(name, norm) != 0 || strcmp(name, norm) != 0)
		return 0;
	memcpy(&total, v->mv_data, sizeof(total));
	return w->fn(name, w->kind, total, w->arg);
}

int
store_totals(struct ab_store *st, int kind, store_total_fn fn, void *arg)
{
	struct total_walk w = { fn, arg, kind, 0 };
	int which = kind == AB_TOTAL_FAILED || kind == AB_TOTAL_REFUSED ?
	    COUNTS : BANS;

	if (kind < 0 || kind > AB_TOTAL_UNBANS)
		return -EINVAL;
	w.kl = strlen(total_keys[kind]);
	return db_walk(st, which, 1, total_keys[kind], w.kl, total_walk_cb,
	    &w);
}

/* ---- ownership ---------------------------------------------------------- */

int
store_set_owner(const struct ab_config *cfg, uid_t uid, gid_t gid,
    const struct ab_log *log)
{
	static const char *const files[] = {
		AB_BANS_FILE, AB_BANS_FILE ".seal", AB_COUNTS_FILE,
		AB_COUNTS_FILE ".seal",
	};
	struct ab_store *st;
	size_t i;
	int rc, which;

	/* Opening creates missing directories and judges them as usual. */
	if ((rc = store_open(&st, cfg, log)) != 0)
		return rc;
	for (which = 0; which < 2 && rc == 0; which++) {
		if (fchown(st->dirfd[which], uid, gid) != 0) {
			rc = -errno;
			ab_logf(log, LOG_ERR, "%s %s: chown to uid %u: %s",
			    store_what(which), store_epath(st, which),
			    (unsigned)uid, strerror(-rc));
			break;
		}
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			int fd = openat(st->dirfd[which], files[i], O_RDONLY |
			    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			struct stat sb;

			if (fd < 0)
				continue;
			/* Only our regular files, never what a link names. */
			if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
			    fchown(fd, uid, gid) != 0) {
				rc = -errno;
				ab_logf(log, LOG_ERR, "%s %s/%s: chown to uid %u: "
				    "%s", store_what(which), store_epath(st, which),
				    files[i], (unsigned)uid, strerror(-rc));
			}
			close(fd);
		}
	}
	store_close(st);
	return rc;
}

int
db_meta_put(struct ab_store *st, int which, MDB_val *k, MDB_val *v,
    const char *what)
{
	struct db db;
	int rc;

	if ((rc = db_begin(st, which, 1, &db)) != 0)
		return rc;
	if ((rc = mdb_put(db.txn, db.meta, k, v, 0)) != 0) {
		log_mdb(&db, what, rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	return db_full(&db, db_end(&db, 1));
}
