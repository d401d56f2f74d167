/*
 * store_int.h - what the store's files share (lib/store*.c only).
 *
 *   store.c        the handle, its directories, locks, and the LMDB
 *                  environment of one transaction
 *   store_keep.c   a writer's environment kept for the next (store_keep)
 *   store_file.c   an LMDB file judged before LMDB maps it, its seal
 *   store_rec.c    keys and versioned records, encoded and decoded
 *   store_bans.c   ban records, the prefix-length index, the change log
 *   store_counts.c count records
 *   store_maint.c  walking, sweeping, clearing, room when full, statistics
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <lmdb.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "autoban.h"

enum { BANS = 0, COUNTS = 1 };

#define KEY_MAX		18	/* family, plen, 16 address bytes */
#define REC_TAIL_MAX	512	/* unknown bytes of later versions we keep */
#define STORE_ID_LEN	16

/* A write environment between transactions (store_keep). */
struct kept_env {
	int fd;			/* -1: nothing kept */
	MDB_env *env;
	pid_t pid;
	dev_t dir_dev;
	ino_t dir_ino;
	size_t mapsize;
	int fitted;		/* its map was fitted (db_begin) */
};

struct ab_keep {
	struct kept_env e[2];
};

struct ab_store {
	const struct ab_config *cfg;
	const struct ab_log *log;
	struct ab_keep *keep;	/* NULL: nothing kept */
	int dirfd[2];
	struct stat dirsb[2];	/* as opened: owner for new files, identity */
	int counts_tmpfs;	/* runtime_dir is tmpfs or ramfs */
	char epath[2][AB_PATH_MAX + 16];	/* see store_epath() */
};

/* The meta record "plens": how many ban records each prefix length has. */
struct meta_plens {
	uint32_t n[2][129];	/* records per family (0: v4, 1: v6), plen */
};

/* One open transaction and everything it holds. */
struct db {
	struct ab_store *st;
	int which;
	int fd;			/* our fd of the data file; holds the locks */
	MDB_env *env;
	int kept;		/* fd and env came from st->keep */
	MDB_txn *txn;
	MDB_dbi main;		/* "bans" or "counts" */
	MDB_dbi changes;	/* bans, write transactions only */
	MDB_dbi meta;
	int write;
	/*
	 * Write transactions keep the "seq" and "plens" meta records here:
	 * read at first use, written back once by db_end's commit, not once
	 * per ban.
	 */
	int seq_dirty, pl_loaded, pl_dirty;	/* seq_dirty: seq loaded too */
	uint64_t seq;
	struct meta_plens pl;
	int over;		/* set by db_end: the store needs room */
	int fitted;		/* a writer's map fitted under RLIMIT_AS */
};

/* Lock bytes of a data file (store.c explains them). */
#define LOCK_DATA	0
#define LOCK_GATE	1

/* ---- store.c ---- */

/* In db's transaction: the pair's trust record (store_trust.c), 1 and *t,
 * or 0. */
int trust_get_txn(struct db *db, const struct ab_addr *unit, const char *user,
    int64_t *t);

/* One meta record written in a transaction of its own (what: for logs). */
int db_meta_put(struct ab_store *st, int which, MDB_val *k, MDB_val *v,
    const char *what);

/* AB_EFULL in a map fitted under an address-space limit: -ENOMEM. */
int db_full(struct db *db, int rc);

/* The store's name in messages ("ban store") and its escaped directory. */
const char *store_what(int which);
const char *store_epath(struct ab_store *st, int which);
/* The data file's name in its directory, and its seal's. */
const char *store_filename(int which);
const char *store_sealname(int which);

/*
 * Open one store for one transaction.  Returns 0 with db ready, 1 if a
 * reader found no store yet (nothing to read; db holds nothing), or an
 * error (logged).
 */
int db_begin(struct ab_store *st, int which, int write, struct db *db);

/*
 * Commit (if write and commit: the cached meta records first) or abort,
 * then close everything.  A failed commit aborts.  After a commit
 * db->over says the store holds more than its capacity (store_make_room).
 */
int db_end(struct db *db, int commit);

/* A db_walk callback returns this to end the walk early without an error. */
#define DB_WALK_END	(-1000000)
typedef int (*db_walk_fn)(const MDB_val *k, const MDB_val *v, void *arg);

/*
 * Call fn on each key and value of one store's main table (its meta table
 * if meta), in key order, from the first key >= from (from the start if
 * flen is 0), in one read transaction.  fn returns 0 to go on, DB_WALK_END
 * to stop (db_walk returns 0), or anything else to stop and have db_walk
 * return it.
 */
int db_walk(struct ab_store *st, int which, int meta, const void *from,
    size_t flen, db_walk_fn fn, void *arg);

/*
 * A sweep: every record of one store's main table judged in key order,
 * the changes applied in write transactions of at most batch each.
 * judge fills an item of item_size bytes from a record and returns
 * AB_KEEP, AB_WRITE, AB_DELETE or an error; apply makes the item's change
 * in the open write transaction.  *n (may be NULL): records changed.
 */
struct db_sweep_ops {
	size_t item_size;
	int (*judge)(const MDB_val *k, const MDB_val *v, void *item, void *arg);
	int (*apply)(struct db *db, void *item);
};
int db_sweep(struct ab_store *st, int which, const struct db_sweep_ops *ops,
    void *arg, size_t batch, size_t *n);

/* Records of the store's tables that grow with its hosts (a writer's
 * count includes the ban store's change log). */
size_t db_records(struct db *db);

void log_mdb(struct db *db, const char *op, int rc);
int mdb_to_ab(int rc);

/* Wall-clock seconds. */
int64_t store_now(void);

/* ---- store_file.c ---- */

#define STORE_FILE_EMPTY	1	/* no store in it yet, or one cut short */

struct store_file {
	uint32_t psize;
	uint64_t npages;	/* pages the newer meta says are in use */
	uint64_t txnid;
	uint64_t free_root, main_root;
	uint16_t free_depth, main_depth;
};

/*
 * Read and judge both meta pages of the data file fd of size bytes.
 * Returns 0 and *sf; STORE_FILE_EMPTY for an empty file, or one whose
 * creation was cut short (shorter than two pages, holding only zeros or
 * the start of a meta page); else AB_ECORRUPT, AB_EVERSION or -errno.
 */
int store_file_meta(int fd, uint64_t size, struct store_file *sf);

/*
 * Walk every tree of the file from sf's roots, reading with pread():
 * 0 if LMDB can read and write it safely, AB_ECORRUPT or -errno.
 */
int store_file_walk(int fd, uint64_t size, const struct store_file *sf);

/*
 * The data file fd of a transaction being opened, locked, as sb says it is
 * now: a writer's new file gets the directory's owner; an empty or
 * half-created file is nothing to a reader (1) and starts afresh for a
 * writer; anything else must pass the checks (the seal spares the walk of
 * a file judged whole since it last changed).  0, 1, or an error (logged).
 */
int file_judge(struct db *db, struct stat *sb);

/* Record that the data file fd, at txnid, is sound (best effort). */
void seal_write(struct ab_store *st, int which, int fd, uint64_t txnid);

/* Rename a data file that failed the checks aside (kept); 0 or -errno. */
int file_set_aside(struct ab_store *st, int which);

/* ---- store_maint.c ---- */

/* A total kept under "KIND:NAME" in db's meta table moved by delta, in
 * db's write transaction ("svc:" a service's failures in the counts
 * store, its bans in the ban store; the others: store_maint.c). */
int meta_total_add(struct db *db, const char *kind, const char *name,
    int delta);

/* Add delta to this hour's failures (counts store) or automatic bans (ban
 * store), in db's write transaction (store_hours.c). */
int meta_hour_add(struct db *db, int delta);

/* ---- store_keep.c ---- */

/*
 * A writer takes the environment kept for its store (1), or opens one (0);
 * under the lock, kept_current says the kept file is still the one under
 * the store's name; after a commit, kept_put unlocks and keeps db's
 * environment (db->fd and db->env are then gone from db).
 */
int kept_take(struct db *db);
int kept_current(struct db *db, const struct stat *sb);
void kept_put(struct db *db);

/* ---- store_rec.c ---- */

size_t key_make(const struct ab_addr *a, uint8_t *k);
int key_parse(const void *data, size_t len, struct ab_addr *a);

/* A ban record: decode; encode rec over old (its bytes kept past ours). */
int ban_decode(const MDB_val *v, struct ab_ban *b);
size_t ban_encode(const struct ab_ban *rec, const MDB_val *old, uint8_t *buf,
    size_t len);
#define BAN_REC_MAX	(40 + AB_SERVICE_MAX + AB_FLEET_NAME_MAX + REC_TAIL_MAX)

int cnt_decode(const MDB_val *v, struct ab_counter *c);
size_t cnt_encode(const struct ab_counter *rec, const MDB_val *old,
    uint8_t *buf, size_t len);
#define CNT_REC_MAX	(16 + AB_SERVICE_MAX + REC_TAIL_MAX + \
			    AB_MAXRETRY_MAX * 8)

/* A change record: when, and the key of the prefix that changed. */
struct change_val {
	int64_t time;
	uint8_t klen;
	uint8_t key[KEY_MAX];
};
int change_decode(const MDB_val *v, struct change_val *cv);
void change_key(uint64_t seq, uint8_t *ck);

/* ---- store_bans.c ---- */

uint64_t meta_get_seq(struct db *db);
int meta_set_trimmed(struct db *db, uint64_t seq);
int meta_get_plens(struct db *db, struct meta_plens *p);
int meta_flush(struct db *db);
int plens_adjust(struct db *db, const struct ab_addr *p, int delta);
int change_add(struct db *db, const uint8_t *kb, size_t klen,
    uint64_t old_seq, uint64_t *new_seq);
int change_del(struct db *db, uint64_t seq);
int ban_get(struct db *db, const struct ab_addr *prefix, struct ab_ban *rec);

/* ---- store_maint.c ---- */

/* How many records a store may hold (see there). */
size_t store_capacity(struct ab_store *st, int which);

/* Make room in a store that holds more than its capacity (see there). */
void store_make_room(struct ab_store *st, int which);

#endif
