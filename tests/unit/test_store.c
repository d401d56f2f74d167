/* test_store.c - the LMDB store: trust, records, versions, pruning, faults. */
#include "testlib.h"

#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* f->dir/sub/name (sub may be ""); up to four live at once. */
static char *
path_in(struct fixture *f, const char *sub, const char *name)
{
	static char buf[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s%s/%s", f->dir, *sub ? "/" : "",
	    sub, name);
	return buf[i];
}

/* A counts/ban write so the files exist. */
struct setban {
	int64_t start, until;
	uint8_t origin;
};

static int
setban_cb(struct ab_ban *rec, int found, void *arg)
{
	const struct setban *s = arg;

	(void)found;
	rec->start = s->start;
	rec->until = s->until;
	rec->origin = s->origin;
	rec->nbans++;
	return AB_WRITE;
}

static void
put_ban(struct ab_store *st, const char *prefix, int64_t start, int64_t until)
{
	struct setban s = { start, until, AB_ORIGIN_MANUAL };
	struct ab_addr p = A(prefix);

	assert_int_equal(store_ban_update(st, &p, setban_cb, &s), 0);
}

static int
addfail_cb(struct ab_counter *rec, int found, void *arg)
{
	const int64_t *t = arg;

	(void)found;
	if (rec->nfail < AB_MAXRETRY_MAX)
		rec->fail[rec->nfail++] = *t;
	return AB_WRITE;
}

static int
add_fail(struct ab_store *st, const char *unit, int64_t t_ns)
{
	struct ab_addr u = A(unit);

	return store_count_update(st, &u, addfail_cb, &t_ns);
}

static void
creates_private_files(void **state)
{
	struct fixture *f = *state;
	struct stat sb;

	put_ban(fixture_store(f), "203.0.113.7", now_s(), now_s() + 60);
	assert_int_equal(add_fail(f->st, "203.0.113.8", now_s() * NS), 0);
	assert_int_equal(stat(f->cfg.db, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(f->cfg.runtime_dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(path_in(f, "db", AB_BANS_FILE), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(path_in(f, "run", AB_COUNTS_FILE), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

static void
expect_open_fails(struct fixture *f, int want, const char *msg)
{
	struct ab_store *st = NULL;

	logbuf_reset(&f->lb);
	assert_int_equal(store_open(&st, &f->cfg, &f->log), want);
	assert_null(st);
	assert_logged(&f->lb, msg);
}

static void
untrusted_directories(void **state)
{
	struct fixture *f = *state;
	char *real = path_in(f, "", "real"), want[700];

	/* db is a symlink to a good directory */
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, f->cfg.db), 0);
	expect_open_fails(f, AB_EUNTRUSTED, "is a symlink: refusing it");
	assert_int_equal(unlink(f->cfg.db), 0);

	/*
	 * Owned by another uid: trusted only where root handed it over, in
	 * a parent that is root's alone (banhelper's user owns its stores).
	 */
	assert_int_equal(mkdir(f->cfg.db, 0700), 0);
	assert_int_equal(chown(f->cfg.db, 65534, 65534), 0);
	assert_non_null(fixture_store(f));
	assert_int_equal(chmod(f->dir, 0777), 0);
	expect_open_fails(f, AB_EUNTRUSTED, "is owned by uid 65534, and its "
	    "parent is not root's alone: refusing it");
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chown(f->dir, 65534, 0), 0);
	expect_open_fails(f, AB_EUNTRUSTED, "its parent is not root's alone");
	assert_int_equal(chown(f->dir, 0, 0), 0);
	assert_int_equal(chown(f->cfg.db, 0, 0), 0);

	assert_int_equal(chmod(f->cfg.db, 0770), 0);
	expect_open_fails(f, AB_EUNTRUSTED, "is writable by group or other "
	    "(mode 770): refusing it");
	assert_int_equal(chmod(f->cfg.db, 0700), 0);

	/* runtime_dir is a file */
	assert_int_equal(rmdir(f->cfg.runtime_dir), 0);
	assert_int_equal(close(open(f->cfg.runtime_dir, O_CREAT | O_WRONLY,
	    0600)), 0);
	expect_open_fails(f, AB_EUNTRUSTED, "is not a directory: refusing it");
	assert_int_equal(unlink(f->cfg.runtime_dir), 0);

	/* parent missing: only the last component is ever created */
	snprintf(f->cfg.db, sizeof(f->cfg.db), "%s/no/such", f->dir);
	expect_open_fails(f, -ENOENT, "cannot create: No such file or "
	    "directory");

	/* A message names the directory with its odd bytes escaped. */
	snprintf(f->cfg.db, sizeof(f->cfg.db), "%s/odd\x1b" "dir", f->dir);
	assert_int_equal(mkdir(f->cfg.db, 0700), 0);
	assert_int_equal(chmod(f->cfg.db, 0770), 0);
	snprintf(want, sizeof(want), "ban store %s/odd\\x1bdir is writable "
	    "by group or other (mode 770): refusing it", f->dir);
	expect_open_fails(f, AB_EUNTRUSTED, want);
}

static void
untrusted_data_files(void **state)
{
	struct fixture *f = *state;
	struct ab_addr h = A("203.0.113.7");
	struct ab_ban b;
	char *bans = path_in(f, "db", AB_BANS_FILE);
	char *other = path_in(f, "", "other.mdb");

	put_ban(fixture_store(f), "203.0.113.7", now_s(), now_s() + 600);
	/* The file turns into a symlink to a copy: refused, not followed. */
	assert_int_equal(rename(bans, other), 0);
	assert_int_equal(symlink(other, bans), 0);
	logbuf_reset(&f->lb);
	assert_int_equal(policy_find_ban(f->st, &h, now_s(), &b, NULL, NULL,
	    NULL), AB_EUNTRUSTED);
	assert_logged(&f->lb, "bans.mdb: is a symlink: refusing it");
	assert_int_equal(unlink(bans), 0);
	assert_int_equal(rename(other, bans), 0);

	assert_int_equal(chown(bans, 65534, 0), 0);
	logbuf_reset(&f->lb);
	assert_int_equal(policy_find_ban(f->st, &h, now_s(), &b, NULL, NULL,
	    NULL), AB_EUNTRUSTED);
	assert_logged(&f->lb, "ban store bans.mdb is owned by uid 65534");
	assert_int_equal(chown(bans, 0, 0), 0);

	assert_int_equal(chmod(bans, 0620), 0);
	logbuf_reset(&f->lb);
	assert_int_equal(policy_find_ban(f->st, &h, now_s(), &b, NULL, NULL,
	    NULL), AB_EUNTRUSTED);
	assert_logged(&f->lb, "writable by group or other (mode 620)");
	assert_int_equal(chmod(bans, 0600), 0);
	assert_int_equal(policy_find_ban(f->st, &h, now_s(), &b, NULL, NULL,
	    NULL), 1);
}

static void
find_covering_bans(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	struct ab_addr h = A("203.0.113.7"), unit = A("203.0.113.7");
	struct ab_ban b, urec;
	char out[AB_ADDRSTRLEN];
	int found;
	int64_t t = now_s();

	assert_int_equal(policy_find_ban(st, &h, t, &b, &unit, &urec, &found), 0);
	assert_false(found);
	put_ban(st, "203.0.113.7", t - 10, t - 5);	/* expired */
	assert_int_equal(policy_find_ban(st, &h, t, &b, &unit, &urec, &found), 0);
	assert_true(found);
	assert_int_equal(urec.until, t - 5);
	put_ban(st, "203.0.113.0/24", t, t + 100);	/* covering prefix */
	assert_int_equal(policy_find_ban(st, &h, t, &b, &unit, &urec, &found), 1);
	assert_string_equal(addr_format(&b.prefix, out, sizeof(out)),
	    "203.0.113.0/24");
	put_ban(st, "203.0.113.7", t, t + 500);	/* longer: wins */
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	assert_string_equal(addr_format(&b.prefix, out, sizeof(out)),
	    "203.0.113.7");
	h = A("203.0.114.7");
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 0);
	h = A("2001:db8::7");
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 0);
	put_ban(st, "2001:db8::/32", t, t + 100);
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
}

/* The size of this process's mapping of a file named name, or 0. */
static size_t
mapped_size(const char *name)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[1024];
	size_t n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long lo, hi;
		const char *slash = strrchr(line, '/');

		if (slash != NULL && strncmp(slash + 1, name, strlen(name)) == 0 &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			n += hi - lo;
	}
	fclose(fp);
	return n;
}

struct mapseen {
	const char *file;
	size_t bytes;
};

/* For the callbacks below: how much of m->file is mapped now. */
static void
map_note(void *arg)
{
	struct mapseen *m = arg;

	m->bytes = mapped_size(m->file);
}

static int
map_ban_cb(const struct ab_ban *rec, void *arg)
{
	(void)rec;
	map_note(arg);
	return 0;
}

static int
map_count_cb(const struct ab_counter *rec, void *arg)
{
	(void)rec;
	map_note(arg);
	return 0;
}

static int
map_write_cb(struct ab_ban *rec, int found, void *arg)
{
	(void)rec;
	(void)found;
	map_note(arg);
	return AB_KEEP;
}

/*
 * A reader maps the data a store holds, not the configured map size: the
 * module reads the ban store on every login, and a map of 1 GiB costs it
 * more to set up and tear down.  A writer maps the configured size.
 */
static void
readers_map_the_data(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	struct mapseen m = { AB_BANS_FILE, 0 };
	struct ab_addr p = A("198.51.100.0/24");
	struct stat sb;
	int64_t t = now_s();

	put_ban(st, "198.51.100.7", t, t + 100);
	assert_int_equal(add_fail(st, "198.51.100.7", t * 1000000000), 0);
	assert_int_equal(stat(path_in(f, "db", AB_BANS_FILE), &sb), 0);
	assert_int_equal(store_ban_foreach(st, map_ban_cb, &m), 0);
	assert_true(m.bytes > 0);
	assert_true(m.bytes <= (size_t)sb.st_size);
	assert_true(m.bytes < f->cfg.mapsize);
	assert_int_equal(mapped_size(AB_BANS_FILE), 0);	/* unmapped after */
	m.file = AB_COUNTS_FILE;
	m.bytes = 0;
	assert_int_equal(store_count_foreach(st, map_count_cb, &m), 0);
	assert_true(m.bytes > 0);
	assert_true(m.bytes < f->cfg.mapsize);
	m.file = AB_BANS_FILE;
	m.bytes = 0;
	assert_int_equal(store_ban_update(st, &p, map_write_cb, &m), 0);
	assert_int_equal(m.bytes, f->cfg.mapsize);
}

struct changes {
	char seen[16][AB_ADDRSTRLEN];
	int gone[16];
	int n;
};

static int
change_cb(const struct ab_addr *p, const struct ab_ban *rec, void *arg)
{
	struct changes *c = arg;

	if (c->n < 16) {
		addr_format(p, c->seen[c->n], sizeof(c->seen[0]));
		c->gone[c->n] = rec == NULL;
		c->n++;
	}
	return 0;
}

static int
del_cb(struct ab_ban *rec, int found, void *arg)
{
	(void)rec;
	(void)found;
	(void)arg;
	return AB_DELETE;
}

static int
keep_cb(struct ab_ban *rec, int found, void *arg)
{
	(void)rec;
	(void)found;
	(void)arg;
	return AB_KEEP;
}

static void
change_log(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	struct changes c;
	struct ab_addr p = A("203.0.113.9");
	uint64_t s0, s1, s2;
	int64_t t = now_s();

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes(st, 0, &s0, change_cb, &c), 0);
	assert_int_equal(s0, 0);
	put_ban(st, "203.0.113.7", t, t + 60);
	put_ban(st, "203.0.113.8", t, t + 60);
	assert_int_equal(store_changes(st, s0, &s1, change_cb, &c), 0);
	assert_int_equal(s1, 2);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.seen[0], "203.0.113.7");
	/* A write that leaves the ban as it was is not a change. */
	assert_int_equal(store_ban_update(st, &p, keep_cb, NULL), 0);
	/* A changed ban moves to the end; its old entry goes. */
	put_ban(st, "203.0.113.7", t, t + 90);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes(st, 0, &s2, change_cb, &c), 0);
	assert_int_equal(s2, 3);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.seen[0], "203.0.113.8");
	assert_string_equal(c.seen[1], "203.0.113.7");
	/* Deleting an active ban leaves a tombstone: prefix, no record. */
	p = A("203.0.113.8");
	assert_int_equal(store_ban_update(st, &p, del_cb, NULL), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes(st, s2, &s1, change_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.seen[0], "203.0.113.8");
	assert_true(c.gone[0]);
	/* Asking from the future means the store was replaced. */
	assert_int_equal(store_changes(st, 1000, &s1, change_cb, &c),
	    AB_ENOTFOUND);
}

static int
many_set_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	const int64_t *t = arg;

	(void)found;
	rec->origin = AB_ORIGIN_MANUAL;
	rec->start = *t;
	rec->until = *t + 60 + (int64_t)i;
	return AB_WRITE;
}

struct tally {
	int n, gone;
};

static int
tally_cb(const struct ab_addr *p, const struct ab_ban *rec, void *arg)
{
	struct tally *c = arg;

	(void)p;
	c->n++;
	c->gone += rec == NULL;
	return 0;
}

/*
 * Many bans in one transaction: the change numbers and the per-length
 * record counts it keeps in memory reach the store at commit, and the
 * next transaction goes on from them.
 */
static void
many_bans_one_transaction(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	struct ab_addr v[302], h;
	struct ab_ban b;
	struct tally c;
	uint64_t last, next;
	int64_t t = now_s();
	char txt[64];
	size_t i;

	for (i = 0; i < 300; i++) {
		snprintf(txt, sizeof(txt), "2001:db8:%zx::1", i);
		v[i] = A(txt);
	}
	v[300] = v[7];			/* the same host again */
	v[301] = A("198.51.100.0/24");
	assert_int_equal(store_ban_update_many(st, v, 302, many_set_cb, &t), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes(st, 0, &last, tally_cb, &c), 0);
	assert_int_equal(last, 302);	/* one change number per write */
	assert_int_equal(c.n, 301);	/* the repeat replaced its own */
	assert_int_equal(c.gone, 0);
	h = A("198.51.100.77");		/* /24 counted: looked at */
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	h = A("2001:db8:12b::1");
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	assert_int_equal(b.until, t + 60 + 299);
	h = A("2001:db8:7::1");		/* the later word wins */
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	assert_int_equal(b.until, t + 60 + 300);
	put_ban(st, "203.0.113.9", t, t + 60);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes(st, last, &next, tally_cb, &c), 0);
	assert_int_equal(next, 303);
	assert_int_equal(c.n, 1);
}

/* Raw LMDB access to write what another version would have written. */
static void
raw_put(const char *file, const char *dbname, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { klen, (void *)(uintptr_t)key };
	MDB_val v = { vlen, (void *)(uintptr_t)val };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 3), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 16 << 20), 0);
	assert_int_equal(mdb_env_open(env, file, MDB_NOSUBDIR | MDB_NOLOCK,
	    0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, dbname, MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static int
raw_get(const char *file, const char *dbname, const void *key, size_t klen,
    void *out, size_t outlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { klen, (void *)(uintptr_t)key }, v;
	int n = -1;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 3), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 16 << 20), 0);
	assert_int_equal(mdb_env_open(env, file, MDB_NOSUBDIR | MDB_NOLOCK |
	    MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, dbname, 0, &dbi), 0);
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= outlen) {
		memcpy(out, v.mv_data, v.mv_size);
		n = (int)v.mv_size;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* The v1 ban layout, as store.c documents it. */
struct ban_v1 {
	uint8_t version, origin;
	uint16_t r0;
	uint32_t nbans, failures, r1;
	int64_t start, until;
	uint64_t seq;
};

static int
extend_cb(struct ab_ban *rec, int found, void *arg)
{
	(void)arg;
	assert_true(found);
	rec->until += 100;
	return AB_WRITE;
}

static void
versioned_records(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	uint8_t key[6] = { 4, 32, 203, 0, 113, 50 };
	uint8_t rec[sizeof(struct ban_v1) + AB_SERVICE_MAX + AB_FLEET_NAME_MAX +
	    16], back[256];
	const size_t tail = sizeof(struct ban_v1) + AB_SERVICE_MAX +
	    AB_FLEET_NAME_MAX;
	struct ban_v1 v;
	struct ab_addr h = A("203.0.113.50"), p = A("203.0.113.50");
	struct ab_ban b;
	int64_t t = now_s();
	char *bans = path_in(f, "db", AB_BANS_FILE);
	uint32_t fmt = 2;

	put_ban(st, "203.0.113.1", t, t + 1);	/* creates the store */
	/* A later version's record: v1 fields, v2's service, v3's server
	 * it came from, more bytes. */
	memset(&v, 0, sizeof(v));
	memset(rec, 0, sizeof(rec));
	v.version = 4;
	v.origin = AB_ORIGIN_AUTO;
	v.nbans = 3;
	v.failures = 5;
	v.start = t;
	v.until = t + 600;
	memcpy(rec, &v, sizeof(v));
	memcpy(rec + sizeof(v), "dovecot", 7);
	memcpy(rec + sizeof(v) + AB_SERVICE_MAX, "web-2", 5);
	memset(rec + tail, 0xab, 16);
	raw_put(bans, "bans", key, sizeof(key), rec, sizeof(rec));
	/* plens for /32 already counts the first record */
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	assert_int_equal(b.nbans, 3);
	assert_int_equal(b.failures, 5);
	assert_int_equal(b.until, t + 600);
	assert_string_equal(b.service, "dovecot");
	assert_string_equal(b.from, "web-2");
	/* Today's writer keeps the version byte and the unknown tail. */
	assert_int_equal(store_ban_update(st, &p, extend_cb, NULL), 0);
	assert_int_equal(raw_get(bans, "bans", key, sizeof(key), back,
	    sizeof(back)), (int)sizeof(rec));
	assert_int_equal(back[0], 4);
	assert_memory_equal(back + tail, rec + tail, 16);
	memcpy(&v, back, sizeof(v));
	assert_int_equal(v.until, t + 700);
	/* A version 1 record (no service) is read, and written as 3. */
	memset(&v, 0, sizeof(v));
	v.version = 1;
	v.nbans = 1;
	v.start = t;
	v.until = t + 600;
	raw_put(bans, "bans", key, sizeof(key), &v, sizeof(v));
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	assert_string_equal(b.service, "");
	assert_int_equal(store_ban_update(st, &p, extend_cb, NULL), 0);
	assert_int_equal(raw_get(bans, "bans", key, sizeof(key), back,
	    sizeof(back)), (int)(sizeof(v) + AB_SERVICE_MAX +
	    AB_FLEET_NAME_MAX));
	assert_int_equal(back[0], 3);
	assert_string_equal(b.from, "");
	/* A service name that is not one is read as none. */
	memcpy(back + sizeof(v), "ss h\n", 5);
	raw_put(bans, "bans", key, sizeof(key), back, sizeof(v) +
	    AB_SERVICE_MAX);
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	assert_string_equal(b.service, "");
	/* A record too short for v1 is ignored with a message, not trusted. */
	raw_put(bans, "bans", key, sizeof(key), "\x01\x02", 2);
	logbuf_reset(&f->lb);
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 0);
	assert_logged(&f->lb, "record 203.0.113.50 is malformed (2 bytes): "
	    "ignoring it");
	/* A store of a newer layout is refused, not misread. */
	raw_put(bans, "meta", "format", 6, &fmt, sizeof(fmt));
	logbuf_reset(&f->lb);
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL),
	    AB_EVERSION);
	assert_logged(&f->lb, "has layout 2; this version reads up to 1");
}

/*
 * Change records are appended (their numbers only grow); one table that
 * somehow holds a larger number still takes a new record.
 */
static void
change_log_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	static const uint8_t big[8] = { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff };
	uint8_t val[64];
	struct ab_addr h = A("203.0.113.2");
	struct ab_ban b;
	int64_t t = now_s();
	char *bans = path_in(f, "db", AB_BANS_FILE);

	put_ban(st, "203.0.113.1", t, t + 60);	/* creates the store */
	memset(val, 0, sizeof(val));
	raw_put(bans, "changes", big, sizeof(big), val, sizeof(val));
	put_ban(st, "203.0.113.2", t, t + 60);
	assert_int_equal(policy_find_ban(st, &h, t, &b, NULL, NULL, NULL), 1);
	assert_int_equal(b.until, t + 60);
}

static void
versioned_counts(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	uint8_t key[6] = { 4, 32, 203, 0, 113, 60 };
	struct {
		uint8_t version, nfail;
		uint16_t hdr_len;
		uint32_t nsucc;
		int64_t last_success;
		char service[AB_SERVICE_MAX];
		uint8_t extra[8];
		int64_t fail[2];
	} __attribute__((packed)) r;
	uint8_t back[256];
	struct ab_counter c;
	struct ab_addr u = A("203.0.113.60");
	int64_t t = now_s() * NS;
	char *counts = path_in(f, "run", AB_COUNTS_FILE);

	assert_int_equal(add_fail(st, "203.0.113.1", t), 0);
	memset(&r, 0, sizeof(r));
	r.version = 3;
	r.nfail = 2;
	r.hdr_len = 56;		/* 48 of v2, 8 more of a later version */
	memcpy(r.service, "imap", 4);
	r.nsucc = 1;
	memset(r.extra, 0xcd, sizeof(r.extra));
	r.fail[0] = t - 2;
	r.fail[1] = t - 1;
	raw_put(counts, "counts", key, sizeof(key), &r, sizeof(r));
	assert_int_equal(store_count_get(st, &u, &c), 1);
	assert_int_equal(c.nfail, 2);
	assert_int_equal(c.fail[1], t - 1);
	assert_string_equal(c.service, "imap");
	assert_int_equal(add_fail(st, "203.0.113.60", t), 0);
	assert_int_equal(raw_get(counts, "counts", key, sizeof(key), back,
	    sizeof(back)), 56 + 3 * 8);
	assert_int_equal(back[0], 3);
	assert_memory_equal(back + 48, r.extra, sizeof(r.extra));
}

static void
pruning(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_store_stat ss;
	size_t nb = 0, nc = 0;
	int64_t t = now_s();
	char a[64];
	int i;

	f->cfg.findtime = 600;
	f->cfg.forget_after = 3600;
	st = fixture_store(f);
	for (i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", i);
		assert_int_equal(add_fail(st, a, (t - 1000) * NS), 0); /* old */
		snprintf(a, sizeof(a), "192.0.2.%d", i);
		put_ban(st, a, t - 9000, t - 8000);	/* forgotten */
	}
	assert_int_equal(add_fail(st, "203.0.113.1", (t - 10) * NS), 0);
	put_ban(st, "203.0.113.2", t - 10, t + 100);	/* active */
	put_ban(st, "203.0.113.3", t - 100, t - 50);	/* remembered */
	put_ban(st, "203.0.113.0/24", t - 9000, t - 8000);	/* forgotten */
	/* All that no longer matters goes. */
	assert_int_equal(policy_prune(st, t, &nb, &nc), 0);
	assert_int_equal(nc, 10);
	assert_int_equal(nb, 11);
	assert_int_equal(store_stat(st, &ss), 0);
	assert_int_equal(ss.counts.records, 1);
	assert_int_equal(ss.bans.records, 2);
	/* Pruning again finds nothing. */
	assert_int_equal(policy_prune(st, t, &nb, &nc), 0);
	assert_int_equal(nb + nc, 0);
}

/*
 * A full counts store never fails an attempt: past seven eighths of its
 * map it forgets the units idle longest, and the most recent stay.
 */
static void
full_counts_forget_the_oldest(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_counter c;
	struct ab_addr u;
	struct ab_keep *k;
	int64_t t = (now_s() - 10000) * NS;
	char a[64];
	int i;

	f->cfg.mapsize = 1 << 20;	/* the smallest allowed */
	st = fixture_store(f);
	/* One environment kept, as the module's handle does: 10 000 opens
	 * would be most of this suite's time (under ASan above all). */
	store_keep(st, k = store_keep_new());
	/* Twice what the map holds (about 3 800 units at maxretry 5). */
	for (i = 0; i < 10000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::/64", i >> 16, i & 0xffff);
		/* Each unit a second later than the one before. */
		if (add_fail(st, a, t + (int64_t)i * NS) != 0)
			fail_msg("update %d failed:\n%s", i, f->lb.text);
	}
	store_keep(st, NULL);
	store_keep_free(k);
	assert_logged(&f->lb, "removed ");
	assert_logged(&f->lb, "those idle longest first (raise mapsize to "
	    "keep more)");
	u = A("2001:db8:0:270f::/64");		/* the last one */
	assert_int_equal(store_count_get(st, &u, &c), 1);
	u = A("2001:db8::/64");			/* the first one */
	assert_int_equal(store_count_get(st, &u, &c), 0);
}

/*
 * The same for bans: a new attacker is still banned in a full store (one
 * with maxretry 1 got unlimited passwords when writes failed), and the
 * records whose bans ended longest ago go first.
 */
static void
full_bans_forget_the_oldest(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_ban b;
	struct ab_addr p;
	struct ab_keep *k;
	int64_t t = now_s();
	char a[64];
	int i;

	f->cfg.mapsize = 1 << 20;
	st = fixture_store(f);
	store_keep(st, k = store_keep_new());	/* see above */
	/* About 1 600 bans fill it (each with its change record). */
	for (i = 0; i < 6000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::/64", i >> 16, i & 0xffff);
		/* Ended bans, oldest first, then active ones. */
		if (i < 4500)
			put_ban(st, a, t - 100000 + i, t - 50000 + i);
		else
			put_ban(st, a, t, t + 3600);
	}
	store_keep(st, NULL);
	store_keep_free(k);
	assert_logged(&f->lb, "old change records, then the bans that ended "
	    "longest ago or end soonest first");
	p = A("2001:db8::/64");			/* ended longest ago */
	assert_int_equal(store_ban_get(st, &p, &b), 0);
	p = A("2001:db8:0:176f::/64");		/* the last active one */
	assert_int_equal(store_ban_get(st, &p, &b), 1);
	assert_int_equal(b.until, t + 3600);
}

static void
broken_counts_set_aside(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	struct ab_counter c;
	struct ab_addr u = A("203.0.113.5");
	char *counts = path_in(f, "run", AB_COUNTS_FILE);
	char cmd[700];
	FILE *fp;
	int64_t t = now_s() * NS;

	assert_int_equal(add_fail(st, "203.0.113.5", t), 0);
	fp = fopen(counts, "w");
	assert_non_null(fp);
	fputs("this is not an LMDB file, not at all, and long enough to read "
	    "a header from it: ................................................"
	    "..................................................................",
	    fp);
	fclose(fp);
	logbuf_reset(&f->lb);
	assert_int_equal(add_fail(st, "203.0.113.5", t + 1), 0);
	assert_logged(&f->lb, "counts.mdb failed its checks: kept as "
	    "counts.mdb.broken-");
	assert_int_equal(store_count_get(st, &u, &c), 1);
	assert_int_equal(c.nfail, 1);
	snprintf(cmd, sizeof(cmd), "ls %s/run | grep -q '^counts.mdb.broken-'",
	    f->dir);
	assert_int_equal(system(cmd), 0);
}

static void
broken_bans_refused_and_kept(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	struct ab_addr p = A("203.0.113.5");
	struct setban s = { 1, 2, 0 };
	char *bans = path_in(f, "db", AB_BANS_FILE);
	char buf[128];
	FILE *fp;

	fp = fopen(bans, "w");
	assert_non_null(fp);
	memset(buf, 'x', sizeof(buf));
	fwrite(buf, 1, sizeof(buf), fp);
	fclose(fp);
	logbuf_reset(&f->lb);
	assert_int_equal(store_ban_update(st, &p, setban_cb, &s), AB_ECORRUPT);
	assert_logged(&f->lb, "ban store");
	/* Loses no data: the file is exactly as it was. */
	fp = fopen(bans, "r");
	assert_non_null(fp);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), sizeof(buf));
	fclose(fp);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(buf[127], 'x');
}

static void
clear_everything(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	struct ab_store_stat ss;
	struct changes c;
	uint64_t last;
	size_t n;
	int64_t t = now_s();

	put_ban(st, "203.0.113.7", t, t + 60);
	put_ban(st, "203.0.113.8", t - 20, t - 10);
	assert_int_equal(add_fail(st, "203.0.113.9", t * NS), 0);
	assert_int_equal(store_clear(st, t, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_stat(st, &ss), 0);
	assert_int_equal(ss.bans.records, 0);
	assert_int_equal(ss.counts.records, 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes(st, 2, &last, change_cb, &c), 0);
	assert_int_equal(c.n, 1);	/* only the active one needs the kernel */
	assert_string_equal(c.seen[0], "203.0.113.7");
}

/* ---- concurrency: no lost update ---------------------------------------- */

#define WORKERS	8
#define PER	500
#define UNITS	500

struct cworker {
	struct ab_config *cfg;
	int index;
	int errors;
};

static void *
count_worker(void *arg)
{
	struct cworker *w = arg;
	struct ab_store *st = NULL;
	struct ab_decision d;
	int64_t t = now_s() * NS;
	int i;

	if (store_open(&st, w->cfg, NULL) != 0) {
		w->errors++;
		return NULL;
	}
	for (i = 0; i < PER; i++) {
		int u = (w->index * PER + i) % UNITS;
		char a[64];
		struct ab_addr h;

		snprintf(a, sizeof(a), "2001:db8:%x::%x", u, i);
		h = A(a);
		if (policy_fail(st, &h, "sshd", t + i, &d) != 0 || d.verdict != AB_PASS)
			w->errors++;
	}
	store_close(st);
	return NULL;
}

static void
check_counts(struct fixture *f)
{
	struct ab_store *st = fixture_store(f);
	struct ab_counter c;
	char a[64];
	int u;

	for (u = 0; u < UNITS; u++) {
		struct ab_addr unit;

		snprintf(a, sizeof(a), "2001:db8:%x::/64", u);
		unit = A(a);
		assert_int_equal(store_count_get(st, &unit, &c), 1);
		if (c.nfail != WORKERS * PER / UNITS)
			fail_msg("unit %s: %u failures, want %d", a, c.nfail,
			    WORKERS * PER / UNITS);
	}
}

static void
concurrent_processes(void **state)
{
	struct fixture *f = *state;
	pid_t pids[WORKERS];
	int i, status, bad = 0;

	f->cfg.maxretry = AB_MAXRETRY_MAX;
	f->cfg.findtime = 86400;
	for (i = 0; i < WORKERS; i++) {
		if ((pids[i] = fork()) == 0) {
			struct cworker w = { &f->cfg, i, 0 };

			count_worker(&w);
			_exit(w.errors != 0);
		}
		assert_true(pids[i] > 0);
	}
	for (i = 0; i < WORKERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	assert_int_equal(bad, 0);
	check_counts(f);
}

static void
concurrent_threads(void **state)
{
	struct fixture *f = *state;
	pthread_t tid[WORKERS];
	struct cworker w[WORKERS];
	int i;

	f->cfg.maxretry = AB_MAXRETRY_MAX;
	f->cfg.findtime = 86400;
	for (i = 0; i < WORKERS; i++) {
		w[i].cfg = &f->cfg;
		w[i].index = i;
		w[i].errors = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, count_worker,
		    &w[i]), 0);
	}
	/* Every thread joined before any assert: a failed one would leave
	 * the others running on a freed fixture. */
	for (i = 0; i < WORKERS; i++)
		pthread_join(tid[i], NULL);
	for (i = 0; i < WORKERS; i++)
		assert_int_equal(w[i].errors, 0);
	check_counts(f);
}

/*
 * Writers do not starve: six processes read the ban store as fast as they
 * can (each holding its shared lock most of the time), and every one of
 * 30 writes still gets the store (with readers alone polling the data
 * lock, a writer never found it free and timed out).
 */
static void
writers_do_not_starve(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st = fixture_store(f);
	pid_t readers[6];
	int64_t t = now_s();
	int i, bad = 0;

	put_ban(st, "203.0.113.1", t, t + 3600);
	for (i = 0; i < 6; i++) {
		if ((readers[i] = fork()) == 0) {
			struct ab_store *rs;
			struct ab_addr h = A("203.0.113.1");
			struct ab_ban b;
			time_t end = time(NULL) + 4;

			if (store_open(&rs, &f->cfg, NULL) != 0)
				_exit(1);
			while (time(NULL) < end)
				policy_find_ban(rs, &h, t, &b, NULL, NULL, NULL);
			_exit(0);
		}
		assert_true(readers[i] > 0);
	}
	usleep(200000);
	for (i = 0; i < 30; i++) {
		struct setban s = { t, t + 60 + i, AB_ORIGIN_MANUAL };
		struct ab_addr p = A("198.51.100.1");

		bad += store_ban_update(st, &p, setban_cb, &s) != 0;
	}
	for (i = 0; i < 6; i++)
		waitpid(readers[i], NULL, 0);
	assert_int_equal(bad, 0);
}

#ifndef __SANITIZE_ADDRESS__
/*
 * Under an address-space limit (Dovecot's auth worker runs with
 * vsz_limit = 256 MB), a writer still counts: its map is fitted to the
 * file, not the configured 1 GB.  When the fitted map fills, the write
 * fails with a message naming the limit, and nothing already counted is
 * dropped to make room.  (Not in the ASan build: its shadow memory needs
 * terabytes of address space, so no such limit can be set there.)
 */
static int
limited_child(struct fixture *f)
{
	struct rlimit rl;
	struct ab_counter c;
	unsigned long pages = 0;
	FILE *fp;
	struct ab_addr *many, first = A("203.0.113.9");
	int64_t t = now_s() * NS;
	size_t i, n = 400000;

	if ((many = calloc(n, sizeof(*many))) == NULL)
		return 10;
	for (i = 0; i < n; i++) {
		many[i].family = 6;
		many[i].plen = 64;
		memcpy(many[i].a, "\x20\x01\x0d\xb8", 4);
		many[i].a[4] = (uint8_t)(i >> 16);
		many[i].a[5] = (uint8_t)(i >> 8);
		many[i].a[6] = (uint8_t)i;
	}
	/* What this process has mapped, and 192 MB more (as Dovecot's
	 * worker: some tens of MB used of its 256). */
	if ((fp = fopen("/proc/self/statm", "r")) == NULL ||
	    fscanf(fp, "%lu", &pages) != 1)
		return 11;
	fclose(fp);
	rl.rlim_cur = rl.rlim_max = (rlim_t)pages * 4096 + ((rlim_t)192 << 20);
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 11;
	if (add_fail(f->st, "203.0.113.9", t) != 0)
		return 12;		/* a 1 GB map would fail: ENOMEM */
	if (store_count_get(f->st, &first, &c) != 1 || c.nfail != 1)
		return 13;
	logbuf_reset(&f->lb);
	if (store_count_update_many(f->st, many, n, addfail_cb, &t) != -ENOMEM)
		return 14;		/* 400 000 hosts outgrow the fitted map */
	if (strstr(f->lb.text, "address-space limit, RLIMIT_AS") == NULL)
		return 15;
	if (store_count_get(f->st, &first, &c) != 1 || c.nfail != 1)
		return 16;		/* nothing was dropped */
	if (add_fail(f->st, "203.0.113.9", t + NS) != 0 ||
	    store_count_get(f->st, &first, &c) != 1 || c.nfail != 2)
		return 17;		/* and the next attempt counts */
	free(many);
	return 0;
}

static void
address_space_limit(void **state)
{
	struct fixture *f = *state;
	pid_t pid;
	int status;

	f->cfg.mapsize = (size_t)1 << 30;	/* the default */
	fixture_store(f);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(limited_child(f));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}
#endif

/* Failures and automatic bans per hour: counted with them, the closed
 * hours' failures copied to the ban store (they outlive a reboot), both
 * forgotten past 31 days. */
static void
hourly_figures(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_decision d;
	struct ab_addr h;
	uint64_t n[2];
	int64_t now = now_s(), hour = now / 3600;
	int i;

	f->cfg.maxretry = 3;
	st = fixture_store(f);
	assert_int_equal(addr_parse("203.0.113.60", &h), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(policy_fail(st, &h, "sshd", (now_s() * NS) + i,
		    &d), 0);
	hour = now_s() / 3600;		/* the hour the failures went into */
	assert_int_equal(store_hours(st, 0, hour - 1, 2, n), 0);
	assert_int_equal(n[0], 0);
	assert_int_equal(n[1], 3);	/* the 4th was refused, not counted */
	assert_int_equal(store_hours(st, 1, hour, 1, n), 0);
	assert_int_equal(n[0], 1);
	/* An hour later: copied into the ban store, gone from the counts
	 * store, counted once however often it runs. */
	assert_int_equal(store_hours_keep(st, (hour + 1) * 3600 + 5), 0);
	assert_int_equal(store_hours_keep(st, (hour + 1) * 3600 + 65), 0);
	assert_int_equal(store_hours(st, 0, hour, 1, n), 0);
	assert_int_equal(n[0], 3);
	/* A reboot empties the counts store: the copy remains. */
	rm_rf(f->cfg.runtime_dir);
	st = fixture_store(f);
	assert_int_equal(store_hours(st, 0, hour, 1, n), 0);
	assert_int_equal(n[0], 3);
	/* 32 days later both are forgotten. */
	assert_int_equal(store_hours_keep(st, now + 32 * 86400), 0);
	assert_int_equal(store_hours(st, 0, hour, 1, n), 0);
	assert_int_equal(n[0], 0);
	assert_int_equal(store_hours(st, 1, hour, 1, n), 0);
	assert_int_equal(n[0], 0);
}

struct totals {
	uint64_t v[5][4];	/* kind x (sshd, auto, manual, other) */
};

static int
totals_cb(const char *name, int kind, uint64_t total, void *arg)
{
	struct totals *t = arg;
	int i = strcmp(name, "sshd") == 0 ? 0 : strcmp(name, "auto") == 0 ?
	    1 : strcmp(name, "manual") == 0 ? 2 : 3;

	t->v[kind][i] += total;
	return 0;
}

static struct totals
totals(struct ab_store *st)
{
	struct totals t;
	int k;

	memset(&t, 0, sizeof(t));
	for (k = AB_TOTAL_FAILED; k <= AB_TOTAL_UNBANS; k++)
		assert_int_equal(store_totals(st, k, totals_cb, &t), 0);
	return t;
}

/* The totals of metrics and status: refusals per service, bans made and
 * lifted per origin (a ban lengthened or made again is not a new one). */
static void
origin_and_refusal_totals(void **state)
{
	struct fixture *f = *state;
	struct ab_store *st;
	struct ab_decision d;
	struct ab_addr h, net;
	struct ab_ban b;
	struct totals t;
	int i;

	f->cfg.maxretry = 3;
	st = fixture_store(f);
	assert_int_equal(addr_parse("203.0.113.61", &h), 0);
	assert_int_equal(addr_parse_prefix("198.51.100.0/24", 0, &net), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(policy_fail(st, &h, "sshd", now_s() * NS + i,
		    &d), 0);
	assert_int_equal(d.verdict, AB_REFUSE);	/* banned at the 3rd */
	assert_int_equal(store_refusal(st, "sshd"), 0);
	assert_int_equal(store_refusal(st, "sshd"), 0);
	assert_int_equal(policy_ban_manual(st, &net, 600, 0, now_s(), &b), 0);
	assert_int_equal(policy_ban_manual(st, &net, 900, 0, now_s(), &b), 0);
	t = totals(st);
	assert_int_equal(t.v[AB_TOTAL_FAILED][0], 3);
	assert_int_equal(t.v[AB_TOTAL_BANNED][0], 1);
	assert_int_equal(t.v[AB_TOTAL_REFUSED][0], 2);
	assert_int_equal(t.v[AB_TOTAL_BANS][1], 1);
	assert_int_equal(t.v[AB_TOTAL_BANS][2], 1);	/* made once */
	assert_int_equal(t.v[AB_TOTAL_UNBANS][1] + t.v[AB_TOTAL_UNBANS][2], 0);
	/* The admin bans the auto-banned host by hand: a manual ban made;
	 * then lifts it and the /24. */
	assert_int_equal(policy_ban_manual(st, &h, 600, 0, now_s(), &b), 0);
	assert_int_equal(policy_unban(st, &h, now_s()), 1);
	assert_int_equal(policy_unban(st, &net, now_s()), 1);
	assert_int_equal(policy_unban(st, &net, now_s()), 0);
	t = totals(st);
	assert_int_equal(t.v[AB_TOTAL_BANS][1], 1);
	assert_int_equal(t.v[AB_TOTAL_BANS][2], 2);
	assert_int_equal(t.v[AB_TOTAL_UNBANS][1], 0);
	assert_int_equal(t.v[AB_TOTAL_UNBANS][2], 2);
	assert_int_equal(t.v[AB_TOTAL_BANS][3] + t.v[AB_TOTAL_UNBANS][3], 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, \
    fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(creates_private_files),
		T(untrusted_directories),
		T(untrusted_data_files),
		T(find_covering_bans),
		T(readers_map_the_data),
		T(change_log),
		T(many_bans_one_transaction),
		T(change_log_out_of_order),
		T(versioned_records),
		T(versioned_counts),
		T(pruning),
		T(full_counts_forget_the_oldest),
		T(full_bans_forget_the_oldest),
		T(broken_counts_set_aside),
		T(broken_bans_refused_and_kept),
		T(clear_everything),
		T(concurrent_processes),
		T(concurrent_threads),
		T(writers_do_not_starve),
		T(hourly_figures),
		T(origin_and_refusal_totals),
#ifndef __SANITIZE_ADDRESS__
		T(address_space_limit),
#endif
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
