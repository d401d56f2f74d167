/*
 * store_trust.c - the records of earned trust (policy: earned.c), kept in
 * the stores' meta tables:
 *
 *  - ban store, "trust:" UNITKEY USER -> int64 time of the pair's last
 *    good login (seconds).  Durable: trust_window is days long.
 *  - counts store, "tfail:" UNITKEY USER -> the pair's failures (int64 ns,
 *    ascending), at most AB_TRUST_FAILS_MAX.  Volatile like all counts.
 *
 * UNITKEY is the unit's 18-byte key (family, length, 16 address bytes);
 * USER is the PAM user as given, 1 to AB_TRUST_USER_MAX printable bytes
 * with no space (store_trust_user judges it): a user name that is not one
 * earns no trust.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define TRUST_KEY	"trust:"
#define TFAIL_KEY	"tfail:"
#define TAG_LEN		6
#define UNIT_LEN	18
#define KEY_MAX_LEN	(TAG_LEN + UNIT_LEN + AB_TRUST_USER_MAX)

int
store_trust_user(const char *user)
{
	size_t i, n;

	if (user == NULL || (n = strlen(user)) == 0 || n > AB_TRUST_USER_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)user[i] <= 0x20 ||
		    (unsigned char)user[i] >= 0x7f)
			return 0;
	return 1;
}

/* tag, the unit's fixed-size key, then user (may be NULL: the prefix). */
static size_t
tkey(const char *tag, const struct ab_addr *unit, const char *user,
    uint8_t k[KEY_MAX_LEN])
{
	size_t n = strlen(user != NULL ? user : "");

	memcpy(k, tag, TAG_LEN);
	memset(k + TAG_LEN, 0, UNIT_LEN);
	k[TAG_LEN] = unit->family;
	k[TAG_LEN + 1] = unit->plen;
	memcpy(k + TAG_LEN + 2, unit->a, 16);
	if (n > 0)
		memcpy(k + TAG_LEN + UNIT_LEN, user, n);
	return TAG_LEN + UNIT_LEN + n;
}

static int
unkey(const MDB_val *k, struct ab_addr *unit, char *user)
{
	const uint8_t *p = k->mv_data;
	size_t n;

	if (k->mv_size <= TAG_LEN + UNIT_LEN ||
	    k->mv_size > KEY_MAX_LEN || (p[TAG_LEN] != 4 && p[TAG_LEN] != 6))
		return -1;
	memset(unit, 0, sizeof(*unit));
	unit->family = p[TAG_LEN];
	unit->plen = p[TAG_LEN + 1];
	memcpy(unit->a, p + TAG_LEN + 2, 16);
	n = k->mv_size - TAG_LEN - UNIT_LEN;
	memcpy(user, p + TAG_LEN + UNIT_LEN, n);
	user[n] = '\0';
	return store_trust_user(user) ? 0 : -1;
}

int
store_trust_put(struct ab_store *st, const struct ab_addr *unit,
    const char *user, int64_t now)
{
	uint8_t kb[KEY_MAX_LEN];
	MDB_val k, v;

	if (!store_trust_user(user))
		return 0;
	k.mv_size = tkey(TRUST_KEY, unit, user, kb);
	k.mv_data = kb;
	v.mv_size = sizeof(now);
	v.mv_data = &now;
	return db_meta_put(st, BANS, &k, &v, "write a trust record");
}

int
trust_get_txn(struct db *db, const struct ab_addr *unit, const char *user,
    int64_t *t)
{
	uint8_t kb[KEY_MAX_LEN];
	MDB_val k, v;

	if (!store_trust_user(user))
		return 0;
	k.mv_size = tkey(TRUST_KEY, unit, user, kb);
	k.mv_data = kb;
	if (mdb_get(db->txn, db->meta, &k, &v) != 0 || v.mv_size != sizeof(*t))
		return 0;
	memcpy(t, v.mv_data, sizeof(*t));
	return 1;
}

struct since_ctx {
	const uint8_t *prefix;
	size_t plen;
	const char *user;	/* NULL: any user */
	int64_t since;
	int64_t last;
	int found;
};

static int
since_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct since_ctx *c = arg;
	struct ab_addr unit;
	char user[AB_TRUST_USER_MAX + 1];
	int64_t t;

	if (k->mv_size < c->plen || memcmp(k->mv_data, c->prefix,
	    c->plen) != 0)
		return DB_WALK_END;
	if (v->mv_size != sizeof(t) || unkey(k, &unit, user) != 0)
		return 0;
	memcpy(&t, v->mv_data, sizeof(t));
	if (c->user != NULL && strcmp(user, c->user) != 0)
		return 0;
	if (t >= c->since) {
		c->found = 1;
		if (t > c->last)
			c->last = t;
	}
	return 0;
}

int
store_trust_since(struct ab_store *st, const struct ab_addr *unit,
    const char *user, int64_t since, int64_t *last)
{
	uint8_t kb[KEY_MAX_LEN];
	struct since_ctx c;
	int rc;

	if (user != NULL && !store_trust_user(user))
		return 0;
	memset(&c, 0, sizeof(c));
	c.plen = tkey(TRUST_KEY, unit, user, kb);
	c.prefix = kb;
	c.user = user;
	c.since = since;
	if ((rc = db_walk(st, BANS, 1, kb, c.plen, since_cb, &c)) != 0)
		return rc;
	if (last != NULL)
		*last = c.last;
	return c.found;
}

struct each_ctx {
	store_trust_fn fn;
	void *arg;
};

static int
each_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct each_ctx *c = arg;
	struct ab_addr unit;
	char user[AB_TRUST_USER_MAX + 1];
	int64_t t;

	if (k->mv_size < TAG_LEN || memcmp(k->mv_data, TRUST_KEY,
	    TAG_LEN) != 0)
		return DB_WALK_END;
	if (v->mv_size != sizeof(t) || unkey(k, &unit, user) != 0)
		return 0;
	memcpy(&t, v->mv_data, sizeof(t));
	return c->fn(&unit, user, t, c->arg);
}

int
store_trust_foreach(struct ab_store *st, store_trust_fn fn, void *arg)
{
	struct each_ctx c = { fn, arg };

	return db_walk(st, BANS, 1, TRUST_KEY, TAG_LEN, each_cb, &c);
}

int
store_trust_forget_fails(struct ab_store *st, const struct ab_addr *unit,
    const char *user)
{
	const int which = COUNTS;
	uint8_t kb[KEY_MAX_LEN];
	struct db db;
	MDB_val k;
	int rc;

	k.mv_size = tkey(TFAIL_KEY, unit, user, kb);
	k.mv_data = kb;
	if ((rc = db_begin(st, which, 1, &db)) != 0)
		return rc;
	rc = mdb_del(db.txn, db.meta, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(&db, "forget a trust record", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	return db_end(&db, rc == 0);
}

int
store_tfail_update(struct ab_store *st, const struct ab_addr *unit,
    const char *user, store_tfail_fn fn, void *arg)
{
	int64_t t[AB_TRUST_FAILS_MAX];
	uint8_t kb[KEY_MAX_LEN];
	struct db db;
	MDB_val k, v;
	size_t n = 0;
	int rc, act;

	if (!store_trust_user(user))
		return AB_EADDR;
	k.mv_size = tkey(TFAIL_KEY, unit, user, kb);
	k.mv_data = kb;
	if ((rc = db_begin(st, COUNTS, 1, &db)) != 0)
		return rc;
	rc = mdb_get(db.txn, db.meta, &k, &v);
	if (rc == 0 && v.mv_size % sizeof(t[0]) == 0 &&
	    v.mv_size <= sizeof(t)) {
		n = v.mv_size / sizeof(t[0]);
		memcpy(t, v.mv_data, v.mv_size);
	} else if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(&db, "read a pair's failures", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	act = fn(t, &n, AB_TRUST_FAILS_MAX, arg);
	if (act == AB_KEEP) {
		db_end(&db, 0);
		return 0;
	}
	if (n == 0 || act == AB_DELETE)
		rc = mdb_del(db.txn, db.meta, &k, NULL);
	else {
		v.mv_size = n * sizeof(t[0]);
		v.mv_data = t;
		rc = mdb_put(db.txn, db.meta, &k, &v, 0);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(&db, "write a pair's failures", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	return db_full(&db, db_end(&db, 1));
}

/* ---- pruning: trust older than its window, pair failures out of theirs */

struct prune_ctx {
	const char *tag;
	int64_t before;		/* trust: s; tfail: ns of the newest */
	uint8_t keys[64][KEY_MAX_LEN];
	size_t klen[64], n;
};

static int
prune_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct prune_ctx *c = arg;
	int64_t t;

	if (k->mv_size < TAG_LEN || memcmp(k->mv_data, c->tag, TAG_LEN) != 0)
		return DB_WALK_END;
	if (v->mv_size < sizeof(t) || k->mv_size > KEY_MAX_LEN)
		t = 0;		/* not ours: goes */
	else
		memcpy(&t, (const uint8_t *)v->mv_data + v->mv_size -
		    sizeof(t), sizeof(t));
	if (t >= c->before)
		return 0;
	memcpy(c->keys[c->n], k->mv_data, k->mv_size);
	c->klen[c->n++] = k->mv_size;
	return c->n == 64 ? DB_WALK_END : 0;
}

static int
prune(struct ab_store *st, int which, int64_t before)
{
	struct prune_ctx *c = calloc(1, sizeof(*c));
	struct db db;
	size_t i, total = 0;
	int rc = 0;

	if (c == NULL)
		return -ENOMEM;
	c->tag = which == BANS ? TRUST_KEY : TFAIL_KEY;
	c->before = before;
	do {
		c->n = 0;
		if ((rc = db_walk(st, which, 1, c->tag, TAG_LEN, prune_cb,
		    c)) != 0 || c->n == 0)
			break;
		if ((rc = db_begin(st, which, 1, &db)) != 0)
			break;
		for (i = 0; i < c->n; i++) {
			MDB_val k = { c->klen[i], c->keys[i] };

			mdb_del(db.txn, db.meta, &k, NULL);
		}
		rc = db_end(&db, 1);
		total += c->n;
	} while (rc == 0 && c->n == 64);
	free(c);
	return rc != 0 ? rc : (int)(total > 0x7fffffff ? 0x7fffffff : total);
}

int
store_trust_prune(struct ab_store *st, int64_t before)
{
	return prune(st, BANS, before);
}

int
store_tfail_prune(struct ab_store *st, int64_t before_ns)
{
	return prune(st, COUNTS, before_ns);
}
