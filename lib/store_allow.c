/*
 * store_allow.c - what the host names in ignoreip resolved to.  banhelper
 * resolves them (never the module: no DNS inside sshd) and writes one meta
 * record per name in the ban store; the module reads them in one read
 * transaction, only when ignoreip has names.
 *
 * Record "allow:NAME": version (1), 7 zero bytes, last_ok (int64, seconds:
 * when the name last resolved), n (uint32), 4 zero bytes, then n entries of
 * family, prefix length (full) and 16 address bytes.  A record that does
 * not have this shape is ignored (never trusted), and written anew by the
 * next resolution.
 *
 * MUST: match only a configured name's addresses, only while they are fresh
 * (until resolve_interval + resolve_keep after the name last resolved), and
 * only whole addresses (no prefixes).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "store_int.h"

#define ALLOW_KEY	"allow:"
#define ALLOW_KEYLEN	(sizeof(ALLOW_KEY) - 1)
#define ALLOW_HEAD	24
#define ALLOW_ENTRY	18

static size_t
allow_key(const char *name, char kb[ALLOW_KEYLEN + AB_NAME_MAX])
{
	size_t n = strnlen(name, AB_NAME_MAX);

	memcpy(kb, ALLOW_KEY, ALLOW_KEYLEN);
	memcpy(kb + ALLOW_KEYLEN, name, n);
	return ALLOW_KEYLEN + n;
}

/* Decode v into a/n/last_ok: 0, or -1 if it is not a record of ours. */
static int
allow_decode(const MDB_val *v, struct ab_addr *a, size_t max, size_t *n,
    int64_t *last_ok)
{
	const uint8_t *p = v->mv_data;
	uint32_t cnt;
	size_t i;

	if (v->mv_size < ALLOW_HEAD || p[0] != 1)
		return -1;
	memcpy(last_ok, p + 8, sizeof(*last_ok));
	memcpy(&cnt, p + 16, sizeof(cnt));
	if (cnt > AB_ALLOW_ADDRS_MAX ||
	    v->mv_size != ALLOW_HEAD + (size_t)cnt * ALLOW_ENTRY)
		return -1;
	*n = 0;
	for (i = 0; i < cnt && i < max; i++) {
		const uint8_t *e = p + ALLOW_HEAD + i * ALLOW_ENTRY;

		if (!((e[0] == 4 && e[1] == 32) || (e[0] == 6 && e[1] == 128)))
			return -1;
		memset(&a[i], 0, sizeof(a[i]));
		a[i].family = e[0];
		a[i].plen = e[1];
		memcpy(a[i].a, e + 2, e[0] == 4 ? 4 : 16);
		(*n)++;
	}
	return 0;
}

int
store_allow_put(struct ab_store *st, const char *name,
    const struct ab_addr *a, size_t n, int64_t now)
{
	uint8_t buf[ALLOW_HEAD + AB_ALLOW_ADDRS_MAX * ALLOW_ENTRY];
	char kb[ALLOW_KEYLEN + AB_NAME_MAX];
	uint32_t cnt = 0;
	MDB_val k, v;
	size_t i;

	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	memcpy(buf + 8, &now, sizeof(now));
	for (i = 0; i < n && cnt < AB_ALLOW_ADDRS_MAX; i++) {
		uint8_t *e = buf + ALLOW_HEAD + cnt * ALLOW_ENTRY;

		if (a[i].family != 4 && a[i].family != 6)
			continue;
		e[0] = a[i].family;
		e[1] = a[i].family == 4 ? 32 : 128;
		memcpy(e + 2, a[i].a, a[i].family == 4 ? 4 : 16);
		cnt++;
	}
	memcpy(buf + 16, &cnt, sizeof(cnt));
	k.mv_size = allow_key(name, kb);
	k.mv_data = kb;
	v.mv_size = ALLOW_HEAD + (size_t)cnt * ALLOW_ENTRY;
	v.mv_data = buf;
	return db_meta_put(st, BANS, &k, &v, "write a resolved name");
}

int
store_allow_get(struct ab_store *st, const char *name, struct ab_addr *a,
    size_t max, size_t *n, int64_t *last_ok)
{
	char kb[ALLOW_KEYLEN + AB_NAME_MAX];
	struct db db;
	MDB_val k, v;
	int rc;

	*n = 0;
	*last_ok = 0;
	if ((rc = db_begin(st, BANS, 0, &db)) != 0)
		return rc == 1 ? 0 : rc;
	k.mv_size = allow_key(name, kb);
	k.mv_data = kb;
	rc = mdb_get(db.txn, db.meta, &k, &v);
	if (rc == 0)
		rc = allow_decode(&v, a, max, n, last_ok) == 0 ? 1 : 0;
	else
		rc = rc == MDB_NOTFOUND ? 0 : mdb_to_ab(rc);
	db_end(&db, 0);
	return rc;
}

int
store_allow_fresh(const struct ab_config *cfg, int64_t last_ok, int64_t now)
{
	return now <= last_ok + cfg->resolve_interval + cfg->resolve_keep;
}

int
store_allow_covers(struct ab_store *st, const struct ab_addr *prefix,
    int64_t now)
{
	const struct ab_config *cfg = store_config(st);
	struct ab_addr a[AB_ALLOW_ADDRS_MAX];
	size_t i, j, n;
	int64_t last_ok;

	for (i = 0; i < cfg->nignore_names; i++) {
		if (store_allow_get(st, cfg->ignore_names[i], a,
		    AB_ALLOW_ADDRS_MAX, &n, &last_ok) != 1 ||
		    !store_allow_fresh(cfg, last_ok, now))
			continue;
		for (j = 0; j < n; j++)
			if (addr_contains(prefix, &a[j]) ||
			    addr_contains(&a[j], prefix))
				return 1;
	}
	return 0;
}

int
store_allow_match(struct ab_store *st, const struct ab_config *cfg,
    const struct ab_addr *host, int64_t now)
{
	struct ab_addr a[AB_ALLOW_ADDRS_MAX], h = *host;
	char kb[ALLOW_KEYLEN + AB_NAME_MAX];
	struct db db;
	size_t i, j, n;
	int64_t last_ok;
	int rc, hit = 0;

	if (cfg->nignore_names == 0)
		return 0;
	if ((rc = db_begin(st, BANS, 0, &db)) != 0)
		return rc == 1 ? 0 : rc;
	h.plen = h.family == 4 ? 32 : 128;
	for (i = 0; i < cfg->nignore_names && !hit; i++) {
		MDB_val k, v;

		k.mv_size = allow_key(cfg->ignore_names[i], kb);
		k.mv_data = kb;
		if (mdb_get(db.txn, db.meta, &k, &v) != 0 ||
		    allow_decode(&v, a, AB_ALLOW_ADDRS_MAX, &n, &last_ok) != 0 ||
		    !store_allow_fresh(cfg, last_ok, now))
			continue;
		for (j = 0; j < n && !hit; j++)
			hit = a[j].family == h.family && memcmp(a[j].a, h.a,
			    h.family == 4 ? 4 : 16) == 0;
	}
	db_end(&db, 0);
	return hit;
}

/* ---- the fleet's bookkeeping: "fleet:KEY" = a short text ---------------- */

#define FLEET_KEY	"fleet:"
#define FLEET_VAL_MAX	128

static size_t
fleet_key(const char *key, char kb[sizeof(FLEET_KEY) + 32])
{
	size_t n = strnlen(key, 32);

	memcpy(kb, FLEET_KEY, sizeof(FLEET_KEY) - 1);
	memcpy(kb + sizeof(FLEET_KEY) - 1, key, n);
	return sizeof(FLEET_KEY) - 1 + n;
}

int
store_fleet_get(struct ab_store *st, const char *key, char *out,
    size_t outlen)
{
	char kb[sizeof(FLEET_KEY) + 32];
	struct db db;
	MDB_val k, v;
	int rc;

	if (outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	if ((rc = db_begin(st, BANS, 0, &db)) != 0)
		return rc == 1 ? 0 : rc;
	k.mv_size = fleet_key(key, kb);
	k.mv_data = kb;
	rc = mdb_get(db.txn, db.meta, &k, &v);
	if (rc == 0) {
		/* Only a value of the shape we write is taken. */
		if (v.mv_size == 0 || v.mv_size > FLEET_VAL_MAX ||
		    v.mv_size >= outlen ||
		    memchr(v.mv_data, '\0', v.mv_size) != NULL) {
			rc = 0;
		} else {
			memcpy(out, v.mv_data, v.mv_size);
			out[v.mv_size] = '\0';
			rc = 1;
		}
	} else {
		rc = rc == MDB_NOTFOUND ? 0 : mdb_to_ab(rc);
	}
	db_end(&db, 0);
	return rc;
}

int
store_fleet_put(struct ab_store *st, const char *key, const char *val)
{
	char kb[sizeof(FLEET_KEY) + 32];
	MDB_val k, v;

	v.mv_size = strnlen(val, FLEET_VAL_MAX + 1);
	if (v.mv_size == 0 || v.mv_size > FLEET_VAL_MAX)
		return -EINVAL;
	v.mv_data = (void *)(uintptr_t)val;
	k.mv_size = fleet_key(key, kb);
	k.mv_data = kb;
	return db_meta_put(st, BANS, &k, &v, "write the fleet's position");
}
