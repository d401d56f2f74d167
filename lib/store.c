/*
 * store.c - all LMDB code: the durable ban store and the volatile counts.
 *
 * MUST:
 *  - open each store directory with O_NOFOLLOW and judge it on the open fd:
 *    a directory owned by root (or the caller), not writable by group or
 *    other; open the data file with openat(O_NOFOLLOW) on that fd and
 *    judge it the same way;
 *  - let LMDB open only /proc/self/fd/N of that verified data file, so it
 *    gets exactly the file we checked and never re-walks a path;
 *  - hold an environment only for one transaction: open, lock, run,
 *    commit or abort, close, unlock.  Nothing survives in statics, so the
 *    code is safe after fork() and in threads (LMDB must not see one file
 *    opened twice by its own locking, hence MDB_NOLOCK and our OFD locks);
 *  - never wait for a lock without bound (AB_ELOCKED after LOCK_WAIT_NS).
 *
 * Two stores:
 *  - db/bans.mdb: prefixes, their bans and ban history, and the change
 *    log banhelper follows.  Written only when a ban changes.  Opened with
 *    MDB_NOMETASYNC: each commit fdatasync()s its data pages and writes the
 *    meta page without waiting, so a power loss can undo the last commit
 *    but never leaves a meta page that points at unwritten pages.
 *  - runtime_dir/counts.mdb: failures in the window, written on every
 *    attempt.  On tmpfs (the default, /run) it is opened with MDB_NOSYNC:
 *    a power loss empties tmpfs, so there is nothing to corrupt, and counts
 *    are allowed to be lost.  Elsewhere it gets MDB_NOMETASYNC like the
 *    ban store.  A counts file LMDB rejects is renamed aside, never
 *    deleted, and a new one is started.
 *
 * Concurrency: every transaction runs under an OFD lock on our own fd of the
 * data file: shared for readers, exclusive for writers.  OFD locks
 * belong to the open file description, so two threads of one process
 * exclude each other like two processes do, and closing another fd on the
 * file releases nothing.  With MDB_NOLOCK LMDB relies on exactly this: no
 * reader is active while a writer runs.  Write transactions are a handful
 * of B-tree operations, so waits are microseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "autoban.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC	0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC	0x858458f6
#endif

#define STORE_FORMAT	1u		/* layout version in meta "format" */
#define LOCK_WAIT_NS	(2LL * 1000000000)
#define KEY_MAX		18		/* family, plen, 16 address bytes */
#define CHANGE_KEEP	86400		/* seconds a change record is kept */
#define READ_MAPSIZE	4096		/* see db_begin: LMDB raises it */

enum { BANS = 0, COUNTS = 1 };

static const struct {
	const char *file, *what;
} store_names[2] = {
	{ AB_BANS_FILE, "ban store" },
	{ AB_COUNTS_FILE, "counts store" },
};

struct ab_store {
	const struct ab_config *cfg;
	const struct ab_log *log;
	int dirfd[2];
	int counts_tmpfs;	/* runtime_dir is tmpfs or ramfs */
	char epath[2][AB_PATH_MAX + 16];	/* see store_epath() */
};

/*
 * A store directory's path, escaped for a message.  Escaped on first use:
 * every login opens both stores, and only an error needs the text.
 */
static const char *
store_epath(struct ab_store *st, int which)
{
	char *e = st->epath[which];

	if (e[0] == '\0')
		ab_escape(which == BANS ? st->cfg->db : st->cfg->runtime_dir, e,
		    sizeof(st->epath[which]));
	return e;
}

/* The meta record "plens": how many ban records each prefix length has. */
struct meta_plens {
	uint32_t n[2][129];	/* records per family (0: v4, 1: v6), plen */
};

/* One open transaction and everything it holds. */
struct db {
	struct ab_store *st;
	int which;
	int fd;			/* our fd of the data file; holds the lock */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi main;		/* "bans" or "counts" */
	MDB_dbi changes;	/* bans only */
	MDB_dbi meta;
	int write;
	/*
	 * Write transactions keep the "seq" and "plens" meta records here:
	 * read at first use, written back once by db_end's commit, not once
	 * per ban (a `ban -` of 100 000 wrote each 100 000 times).
	 */
	int seq_dirty, pl_loaded, pl_dirty;	/* seq_dirty: seq loaded too */
	uint64_t seq;
	struct meta_plens pl;
};

/* ---- on-disk records ----------------------------------------------------
 *
 * Native byte order (an LMDB file is not portable between architectures
 * anyway), read and written with memcpy because LMDB aligns values to two
 * bytes only.  A later version may append fields, never change one: a
 * reader takes the fields it knows from a record at least as long as its
 * own layout, and a writer keeps every byte past them.
 */
struct ban_rec_v1 {
	uint8_t version;	/* 1 */
	uint8_t origin;
	uint16_t reserved0;
	uint32_t nbans;
	uint32_t failures;
	uint32_t reserved1;
	int64_t start;
	int64_t until;
	uint64_t seq;
};

struct cnt_hdr_v1 {
	uint8_t version;	/* 1 */
	uint8_t nfail;
	uint16_t hdr_len;	/* failures start here; later versions grow it */
	uint32_t nsucc;
	int64_t last_success;
	/* int64_t fail[nfail] at offset hdr_len */
};

struct change_val {
	int64_t time;
	uint8_t klen;
	uint8_t key[KEY_MAX];
};

#define REC_TAIL_MAX	512	/* unknown bytes of later versions we keep */

/* ---- small helpers ------------------------------------------------------ */

static int64_t
clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* time(NULL), through the clock call the module imports anyway (each
 * import costs a symbol lookup per login: see pam_module/cold.c). */
static int64_t
wall_s(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000000;
}

static size_t
key_make(const struct ab_addr *a, uint8_t *k)
{
	size_t n = a->family == 4 ? 4 : 16;

	k[0] = a->family;
	k[1] = a->plen;
	memcpy(k + 2, a->a, n);
	return 2 + n;
}

static int
key_parse(const void *data, size_t len, struct ab_addr *a)
{
	const uint8_t *k = data;

	memset(a, 0, sizeof(*a));
	if (len == 6 && k[0] == 4 && k[1] <= 32) {
		a->family = 4;
	} else if (len == 18 && k[0] == 6 && k[1] <= 128) {
		a->family = 6;
	} else {
		return AB_ECORRUPT;
	}
	a->plen = k[1];
	memcpy(a->a, k + 2, len - 2);
	return 0;
}

static int
ban_decode(const MDB_val *v, struct ab_ban *b)
{
	struct ban_rec_v1 r;

	if (v->mv_size < sizeof(r))
		return AB_ECORRUPT;
	memcpy(&r, v->mv_data, sizeof(r));
	if (r.version < 1)
		return AB_ECORRUPT;
	b->origin = r.origin;
	b->nbans = r.nbans;
	b->failures = r.failures;
	b->start = r.start;
	b->until = r.until;
	b->seq = r.seq;
	return 0;
}

static int
cnt_decode(const MDB_val *v, struct ab_counter *c)
{
	struct cnt_hdr_v1 h;
	unsigned i;

	if (v->mv_size < sizeof(h))
		return AB_ECORRUPT;
	memcpy(&h, v->mv_data, sizeof(h));
	if (h.version < 1 || h.hdr_len < sizeof(h) ||
	    h.nfail > AB_MAXRETRY_MAX ||
	    v->mv_size < (size_t)h.hdr_len + (size_t)h.nfail * 8)
		return AB_ECORRUPT;
	c->nfail = h.nfail;
	c->nsucc = h.nsucc;
	c->last_success = h.last_success;
	for (i = 0; i < h.nfail; i++)
		memcpy(&c->fail[i], (const uint8_t *)v->mv_data + h.hdr_len +
		    (size_t)i * 8, 8);
	return 0;
}

static void
log_mdb(struct db *db, const char *op, int rc)
{
	ab_logf(db->st->log, LOG_ERR, "%s %s: %s: %s",
	    store_names[db->which].what, store_epath(db->st, db->which), op,
	    mdb_strerror(rc));
}

/* Map an LMDB code to ours (details are logged by the caller). */
static int
mdb_to_ab(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_MAP_FULL:
		return AB_EFULL;
	case MDB_NOTFOUND:
		return AB_ENOTFOUND;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_BAD_TXN:
	case MDB_INCOMPATIBLE:
		return AB_ECORRUPT;
	case MDB_VERSION_MISMATCH:
		return AB_EVERSION;
	}
	if (rc > 0 && rc < 4096)
		return -rc;
	return AB_ESTORE;
}

/* What check_fd's messages call the file: see there. */
static const char *
fd_name(struct ab_store *st, int which, const char *file)
{
	return file != NULL ? file : store_epath(st, which);
}

/*
 * Judge an open file: owner root or us, no group/other write, right type.
 * file is the data file's name in store which's directory, or NULL for
 * that directory itself.
 */
static int
check_fd(struct ab_store *st, int fd, int which, const char *file)
{
	const char *what = store_names[which].what;
	int want_dir = file == NULL;
	struct stat sb;

	if (fstatat(fd, "", &sb, AT_EMPTY_PATH) != 0) {	/* fstat */
		int rc = -errno;

		ab_logf(st->log, LOG_ERR, "%s %s: fstat: %s", what,
		    fd_name(st, which, file), strerror(-rc));
		return rc;
	}
	if (want_dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) {
		ab_logf(st->log, LOG_ERR, "%s %s is not a %s: refusing it",
		    what, fd_name(st, which, file),
		    want_dir ? "directory" : "regular file");
		return AB_EUNTRUSTED;
	}
	if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		ab_logf(st->log, LOG_ERR, "%s %s is owned by uid %u, not root: "
		    "refusing it", what, fd_name(st, which, file),
		    (unsigned)sb.st_uid);
		return AB_EUNTRUSTED;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		ab_logf(st->log, LOG_ERR, "%s %s is writable by group or other "
		    "(mode %03o): refusing it", what, fd_name(st, which, file),
		    (unsigned)(sb.st_mode & 0777));
		return AB_EUNTRUSTED;
	}
	return 0;
}

/* Open (and create if missing) one store directory; 0 and *fd or error. */
static int
dir_open(struct ab_store *st, int which, const char *path)
{
	const char *what = store_names[which].what;
	struct statfs sf;
	int fd, rc;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* First use: create the last component only, 0700. */
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			rc = -errno;
			ab_logf(st->log, LOG_ERR, "%s %s: cannot create: %s",
			    what, store_epath(st, which), strerror(-rc));
			return rc;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP) {
			ab_logf(st->log, LOG_ERR, "%s %s is a symlink: "
			    "refusing it", what, store_epath(st, which));
			return AB_EUNTRUSTED;
		}
		if (rc == -ENOTDIR) {
			struct stat sb;

			/* O_DIRECTORY reports a symlink as ENOTDIR: say which. */
			ab_logf(st->log, LOG_ERR, "%s %s is %s: refusing it",
			    what, store_epath(st, which),
			    fstatat(AT_FDCWD, path, &sb, AT_SYMLINK_NOFOLLOW)
			    == 0 && S_ISLNK(sb.st_mode) ? "a symlink" :
			    "not a directory");
			return AB_EUNTRUSTED;
		}
		ab_logf(st->log, LOG_ERR, "%s %s: %s", what,
		    store_epath(st, which), strerror(-rc));
		return rc;
	}
	if ((rc = check_fd(st, fd, which, NULL)) != 0) {
		close(fd);
		return rc;
	}
	/* Only the counts store's sync flags depend on it (db_begin). */
	if (which == COUNTS)
		st->counts_tmpfs = fstatfs(fd, &sf) == 0 &&
		    ((unsigned long)sf.f_type == TMPFS_MAGIC ||
		    (unsigned long)sf.f_type == RAMFS_MAGIC);
	st->dirfd[which] = fd;
	return 0;
}

int
store_open(struct ab_store **stp, const struct ab_config *cfg,
    const struct ab_log *log)
{
	struct ab_store *st;
	int rc;

	*stp = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	st->cfg = cfg;
	st->log = log;
	st->dirfd[BANS] = st->dirfd[COUNTS] = -1;
	if ((rc = dir_open(st, BANS, cfg->db)) != 0)
		goto st_free;
	if ((rc = dir_open(st, COUNTS, cfg->runtime_dir)) != 0)
		goto bans_close;
	*stp = st;
	return 0;

bans_close:
	close(st->dirfd[BANS]);
st_free:
	free(st);
	return rc;
}

const struct ab_config *
store_config(const struct ab_store *st)
{
	return st->cfg;
}

const struct ab_log *
store_log(const struct ab_store *st)
{
	return st->log;
}

void
store_close(struct ab_store *st)
{
	if (st == NULL)
		return;
	if (st->dirfd[BANS] >= 0)
		close(st->dirfd[BANS]);
	if (st->dirfd[COUNTS] >= 0)
		close(st->dirfd[COUNTS]);
	free(st);
}

/* Take an OFD lock on fd, waiting at most LOCK_WAIT_NS. */
static int
lock_wait(int fd, short type)
{
	struct flock fl;
	int64_t deadline = 0;
	long delay_ns = 20000;
	int tries = 0;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	for (;;) {
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -errno;
		if (deadline == 0)
			deadline = clock_ns(CLOCK_MONOTONIC) + LOCK_WAIT_NS;
		else if (clock_ns(CLOCK_MONOTONIC) > deadline)
			return AB_ELOCKED;
		/*
		 * Holders keep the lock for microseconds: yield a few times,
		 * then back off up to 1 ms so a stuck holder costs little CPU.
		 */
		if (++tries < 8) {
			sched_yield();
		} else {
			struct timespec ts = { 0, delay_ns };

			nanosleep(&ts, NULL);
			if (delay_ns < 1000000)
				delay_ns *= 2;
		}
	}
}

/* Close what db_begin opened, in reverse order. */
static void
db_release(struct db *db)
{
	if (db->txn != NULL)
		mdb_txn_abort(db->txn);
	db->txn = NULL;
	if (db->env != NULL)
		mdb_env_close(db->env);
	db->env = NULL;
	if (db->fd >= 0)
		close(db->fd);		/* releases the OFD lock */
	db->fd = -1;
}

/* Move a counts file LMDB rejected out of the way (kept, not deleted). */
static void
counts_set_aside(struct ab_store *st)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.broken-%lld", AB_COUNTS_FILE,
	    (long long)wall_s());
	if (renameat(st->dirfd[COUNTS], AB_COUNTS_FILE, st->dirfd[COUNTS],
	    name) == 0)
		ab_logf(st->log, LOG_ERR, "counts store %s/%s was not a valid "
		    "LMDB file: kept as %s, starting a new one (counts are "
		    "volatile)", store_epath(st, COUNTS), AB_COUNTS_FILE, name);
}

/* Check, or on a new store write, the layout version. */
static int
db_check_format(struct db *db)
{
	MDB_val k = { 6, (void *)"format" }, v;
	uint32_t fmt = STORE_FORMAT;
	int rc;

	rc = mdb_get(db->txn, db->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		if (!db->write)
			return 0;
		v.mv_size = sizeof(fmt);
		v.mv_data = &fmt;
		if ((rc = mdb_put(db->txn, db->meta, &k, &v, 0)) != 0) {
			log_mdb(db, "write format", rc);
			return mdb_to_ab(rc);
		}
		return 0;
	}
	if (rc != 0) {
		log_mdb(db, "read format", rc);
		return mdb_to_ab(rc);
	}
	if (v.mv_size != sizeof(fmt)) {
		ab_logf(db->st->log, LOG_ERR, "%s %s: bad format record",
		    store_names[db->which].what, store_epath(db->st, db->which));
		return AB_ECORRUPT;
	}
	memcpy(&fmt, v.mv_data, sizeof(fmt));
	if (fmt > STORE_FORMAT) {
		ab_logf(db->st->log, LOG_ERR, "%s %s has layout %u; this "
		    "version reads up to %u", store_names[db->which].what,
		    store_epath(db->st, db->which), fmt, STORE_FORMAT);
		return AB_EVERSION;
	}
	return 0;
}

/* "/proc/self/fd/N" into buf (32 bytes), for fd >= 0: two per login, so
 * written out by hand rather than through snprintf. */
static void
proc_fd_path(char *buf, int fd)
{
	static const char pre[] = AB_PROC_FD_PREFIX;
	char digits[12];
	int n = 0;

	memcpy(buf, pre, sizeof(pre) - 1);
	buf += sizeof(pre) - 1;
	do {
		digits[n++] = (char)('0' + fd % 10);
		fd /= 10;
	} while (fd > 0);
	while (n > 0)
		*buf++ = digits[--n];
	*buf = '\0';
}

/*
 * Open one store for one transaction.  Returns 0 with db ready, 1 if a
 * reader found no store file yet (nothing to read; db holds nothing), or an
 * error (logged).
 */
static int
db_begin(struct ab_store *st, int which, int write, struct db *db)
{
	const char *what = store_names[which].what;
	const char *file = store_names[which].file;
	char path[64];
	unsigned flags;
	int rc, retried = 0;

	memset(db, 0, sizeof(*db));
	db->st = st;
	db->which = which;
	db->write = write;
	db->fd = -1;

again:
	db->fd = openat(st->dirfd[which], file, (write ? O_RDWR | O_CREAT :
	    O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (db->fd < 0) {
		rc = -errno;
		if (!write && rc == -ENOENT)
			return 1;	/* never written: empty */
		ab_logf(st->log, LOG_ERR, "%s %s/%s: %s", what,
		    store_epath(st, which),
		    file, rc == -ELOOP ? "is a symlink: refusing it" :
		    strerror(-rc));
		return rc == -ELOOP ? AB_EUNTRUSTED : rc;
	}
	if ((rc = check_fd(st, db->fd, which, file)) != 0)
		goto release;
	if ((rc = lock_wait(db->fd, write ? F_WRLCK : F_RDLCK)) != 0) {
		ab_logf(st->log, LOG_ERR, "%s %s: lock: %s", what,
		    store_epath(st, which), ab_strerror(rc));
		goto release;
	}
	/*
	 * A reader maps only the committed data: LMDB raises a map size below
	 * it to the data's size (last page + 1), and under our shared lock no
	 * writer can add pages while it reads.  The module reads the ban
	 * store on every login, and mapping, faulting and unmapping the
	 * configured 1 GiB cost it more than the data's size (a lookup in a
	 * process looping over it: 27 us, 22 us with this; the same one page
	 * fault).  Writers get the configured size, to grow into.
	 */
	if ((rc = mdb_env_create(&db->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(db->env, write ? st->cfg->mapsize :
	    READ_MAPSIZE)) != 0 ||
	    (rc = mdb_env_set_maxdbs(db->env, 3)) != 0) {
		log_mdb(db, "create environment", rc);
		rc = mdb_to_ab(rc);
		goto release;
	}
	/*
	 * MDB_NOLOCK: our OFD lock does the job.  Sync flags and WRITEMAP: see
	 * the top of this file (WRITEMAP only where nothing is synced, so its
	 * in-place writes never race a durability promise).
	 */
	flags = MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOTLS;
	if (!write)
		flags |= MDB_RDONLY;
	else if (which == COUNTS && st->counts_tmpfs)
		flags |= MDB_NOSYNC | MDB_WRITEMAP;
	else
		flags |= MDB_NOMETASYNC;
	proc_fd_path(path, db->fd);
	rc = mdb_env_open(db->env, path, flags, 0600);
	if (rc != 0) {
		log_mdb(db, "open", rc);
		rc = mdb_to_ab(rc) == AB_EVERSION || rc == EINVAL ?
		    AB_ECORRUPT : mdb_to_ab(rc);
		goto release;
	}
	if ((rc = mdb_txn_begin(db->env, NULL, write ? 0 : MDB_RDONLY,
	    &db->txn)) != 0) {
		log_mdb(db, "begin transaction", rc);
		rc = mdb_to_ab(rc);
		goto release;
	}
	rc = mdb_dbi_open(db->txn, "meta", write ? MDB_CREATE : 0, &db->meta);
	if (rc == MDB_NOTFOUND && !write) {
		db_release(db);		/* created but never written */
		return 1;
	}
	if (rc == 0)
		rc = mdb_dbi_open(db->txn, which == BANS ? "bans" : "counts",
		    write ? MDB_CREATE : 0, &db->main);
	/* Readers of the change log open it themselves (store_changes). */
	if (rc == 0 && which == BANS && write)
		rc = mdb_dbi_open(db->txn, "changes", MDB_CREATE, &db->changes);
	if (rc != 0) {
		log_mdb(db, "open tables", rc);
		rc = mdb_to_ab(rc);
		goto release;
	}
	if ((rc = db_check_format(db)) != 0)
		goto release;
	return 0;

release:
	db_release(db);
	/* Counts are volatile: a file LMDB rejects is set aside, not fatal. */
	if (which == COUNTS && write && !retried && rc == AB_ECORRUPT) {
		counts_set_aside(st);
		retried = 1;
		goto again;
	}
	return rc;
}

static int meta_flush(struct db *);

/*
 * Commit (if write and commit: the cached meta records first) or abort,
 * then close everything.  A failed commit aborts.
 */
static int
db_end(struct db *db, int commit)
{
	int rc = 0;

	if (db->txn != NULL && db->write && commit &&
	    (rc = meta_flush(db)) == 0) {
		rc = mdb_txn_commit(db->txn);
		db->txn = NULL;
		if (rc != 0) {
			if (rc != MDB_MAP_FULL)
				log_mdb(db, "commit", rc);
			rc = mdb_to_ab(rc);
		}
	}
	db_release(db);
	return rc;
}

/* ---- durable records ---------------------------------------------------- */

static int
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

/* Write back what this transaction changed of "seq" and "plens". */
static int
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

/* Read the durable record at an exact prefix: 1 found, 0 absent, or error. */
static int
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
		    "malformed (%zu bytes): ignoring it", store_epath(db->st, BANS),
		    addr_format(prefix, a, sizeof(a)), v.mv_size);
		memset(rec, 0, sizeof(*rec));
		rec->prefix = *prefix;
		return 0;
	}
	return 1;
}

int
store_ban_find(struct ab_store *st, const struct ab_addr *host, int64_t now,
    struct ab_ban *ban, const struct ab_addr *unit, struct ab_ban *unit_rec,
    int *unit_found)
{
	struct meta_plens pl;
	struct db db;
	unsigned plen, fi = host->family == 4 ? 0 : 1;
	int rc, found = 0;

	if (unit_found != NULL)
		*unit_found = 0;
	if (unit_rec != NULL) {
		memset(unit_rec, 0, sizeof(*unit_rec));
		if (unit != NULL)
			unit_rec->prefix = *unit;
	}
	rc = db_begin(st, BANS, 0, &db);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = meta_get_plens(&db, &pl)) != 0)
		goto done;
	/* Look only at the prefix lengths that have records. */
	for (plen = 0; plen <= host->plen; plen++) {
		struct ab_addr p = *host;
		struct ab_ban rec;
		int is_unit;

		if (pl.n[fi][plen] == 0)
			continue;
		addr_mask(&p, plen);
		if ((rc = ban_get(&db, &p, &rec)) < 0)
			goto done;
		is_unit = unit != NULL && unit->plen == plen &&
		    memcmp(unit->a, p.a, sizeof(p.a)) == 0;
		if (rc == 1 && is_unit && unit_rec != NULL) {
			*unit_rec = rec;
			*unit_found = 1;
		}
		if (rc == 1 && rec.until > now &&
		    (!found || rec.until > ban->until)) {
			*ban = rec;
			found = 1;
		}
	}
	rc = found;
done:
	db_end(&db, 0);
	return rc;
}

/* Add a change record for key; drop the record's previous one. */
static int
change_add(struct db *db, const uint8_t *kb, size_t klen, uint64_t old_seq,
    uint64_t *new_seq)
{
	struct change_val cv;
	uint64_t seq = meta_get_seq(db) + 1;
	uint8_t ck[8];
	unsigned flags = MDB_APPEND;
	MDB_val k = { 8, ck }, v;
	int rc, i;

	if (old_seq != 0) {
		for (i = 0; i < 8; i++)
			ck[i] = (uint8_t)(old_seq >> (56 - 8 * i));
		rc = mdb_del(db->txn, db->changes, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			log_mdb(db, "delete change", rc);
			return mdb_to_ab(rc);
		}
	}
	for (i = 0; i < 8; i++)
		ck[i] = (uint8_t)(seq >> (56 - 8 * i));
	memset(&cv, 0, sizeof(cv));
	cv.time = wall_s();
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

static int
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

/* One read-modify-write of a durable record inside an open write txn. */
static int
ban_update_txn(struct db *db, const struct ab_addr *prefix, store_ban_fn fn,
    void *arg)
{
	uint8_t kb[KEY_MAX], buf[sizeof(struct ban_rec_v1) + REC_TAIL_MAX];
	struct ban_rec_v1 r;
	struct ab_ban old, rec;
	MDB_val k, v;
	size_t tail = 0;
	int rc, exists, found, act, changed;

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
	if (found && v.mv_size > sizeof(r)) {
		/* Keep what a later version appended. */
		tail = v.mv_size - sizeof(r);
		if (tail > REC_TAIL_MAX)
			return AB_ECORRUPT;
		memcpy(buf, v.mv_data, v.mv_size);
	}
	rec = old;
	act = fn(&rec, found, arg);
	if (act < 0)
		return act;
	if (act == AB_KEEP || (act == AB_DELETE && !exists))
		return 0;
	rec.prefix = *prefix;
	if (act == AB_DELETE) {
		if ((rc = mdb_del(db->txn, db->main, &k, NULL)) != 0) {
			log_mdb(db, "delete", rc);
			return mdb_to_ab(rc);
		}
		if ((rc = plens_adjust(db, prefix, -1)) != 0)
			return rc;
		/* An unexpired ban leaving must leave the kernel too. */
		if (old.until > wall_s()) {
			uint64_t seq;

			return change_add(db, kb, k.mv_size, old.seq, &seq);
		}
		return 0;
	}
	changed = !found || old.start != rec.start || old.until != rec.until;
	if (changed && (old.until != 0 || rec.until != 0)) {
		if ((rc = change_add(db, kb, k.mv_size, found ? old.seq : 0,
		    &rec.seq)) != 0)
			return rc;
	}
	memset(&r, 0, sizeof(r));
	if (tail > 0)
		memcpy(&r, buf, sizeof(r));	/* keep version, reserved */
	else
		r.version = 1;
	r.origin = rec.origin;
	r.nbans = rec.nbans;
	r.failures = rec.failures;
	r.start = rec.start;
	r.until = rec.until;
	r.seq = rec.seq;
	memcpy(buf, &r, sizeof(r));
	v.mv_size = sizeof(r) + tail;
	v.mv_data = buf;
	if ((rc = mdb_put(db->txn, db->main, &k, &v, 0)) != 0) {
		if (rc != MDB_MAP_FULL)
			log_mdb(db, "write", rc);
		return mdb_to_ab(rc);
	}
	if (!exists)
		return plens_adjust(db, prefix, +1);
	return 0;
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
	int rc = 0, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((rc = db_begin(st, BANS, 1, &db)) != 0)
			return rc;
		for (m.i = 0; m.i < n && rc == 0; m.i++)
			rc = ban_update_txn(&db, &prefixes[m.i], many_cb, &m);
		if (rc == 0)
			rc = db_end(&db, 1);
		else
			db_end(&db, 0);
		if (rc != AB_EFULL || attempt > 0)
			break;
		/* Full map: prune what no longer matters and try once more. */
		ab_logf(st->log, LOG_WARNING, "ban store %s is full: pruning",
		    store_epath(st, BANS));
		store_prune(st, wall_s(), 10000, NULL, NULL);
	}
	if (rc == AB_EFULL)
		ab_logf(st->log, LOG_ERR, "ban store %s is full even after "
		    "pruning: raise mapsize", store_epath(st, BANS));
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

/* A walk callback returns this to end the walk early without an error. */
#define WALK_END	(-1000000)

typedef int (*walk_fn)(const MDB_val *k, const MDB_val *v, void *arg);

/*
 * Call fn on each key and value of one store's main table, in key order,
 * from the first key >= from (from the start if flen is 0), in one read
 * transaction.  fn returns 0 to go on, WALK_END to stop (walk returns 0),
 * or anything else to stop and have walk return it.
 */
static int
walk(struct ab_store *st, int which, const void *from, size_t flen,
    walk_fn fn, void *arg)
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
	if ((rc = mdb_cursor_open(db.txn, db.main, &cur)) != 0) {
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
	return stop == WALK_END ? 0 : stop;
}

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
		return WALK_END;
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

	return walk(st, BANS, NULL, 0, ban_walk_cb, &w);
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
	if ((rc = walk(st, BANS, from, sizeof(from), ban_walk_cb, &w)) != 0 ||
	    (unsigned)skip_plen >= bits)
		return rc;
	from[1] = (uint8_t)(skip_plen + 1);
	w.below = (int)bits + 1;
	return walk(st, BANS, from, sizeof(from), ban_walk_cb, &w);
}

int
store_changes(struct ab_store *st, uint64_t since, uint64_t *last,
    store_change_fn fn, void *arg)
{
	struct db db;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t ck[8];
	uint64_t from = since + 1;
	int rc, i, stop = 0;

	*last = since;
	rc = db_begin(st, BANS, 0, &db);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	*last = meta_get_seq(&db);
	if (*last < since) {
		/* The store was replaced: the caller must reconcile fully. */
		db_end(&db, 0);
		return AB_ENOTFOUND;
	}
	if ((rc = mdb_dbi_open(db.txn, "changes", 0, &db.changes)) != 0) {
		log_mdb(&db, "open tables", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	if ((rc = mdb_cursor_open(db.txn, db.changes, &cur)) != 0) {
		log_mdb(&db, "cursor", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	for (i = 0; i < 8; i++)
		ck[i] = (uint8_t)(from >> (56 - 8 * i));
	k.mv_size = 8;
	k.mv_data = ck;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct change_val cv;
		struct ab_addr p;
		struct ab_ban rec;
		int found;

		if (v.mv_size < sizeof(cv))
			continue;
		memcpy(&cv, v.mv_data, sizeof(cv));
		if (key_parse(cv.key, cv.klen, &p) != 0)
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

/* ---- counts ------------------------------------------------------------- */

static int
count_update_txn(struct db *db, const struct ab_addr *unit, store_count_fn fn,
    void *arg)
{
	uint8_t kb[KEY_MAX];
	uint8_t buf[sizeof(struct cnt_hdr_v1) + REC_TAIL_MAX +
	    AB_MAXRETRY_MAX * 8];
	struct cnt_hdr_v1 h;
	struct ab_counter rec;
	MDB_val k, v;
	size_t extra = 0;
	unsigned i;
	int rc, found, act;

	k.mv_size = key_make(unit, kb);
	k.mv_data = kb;
	memset(&rec, 0, sizeof(rec));
	rec.prefix = *unit;
	memset(&h, 0, sizeof(h));
	rc = mdb_get(db->txn, db->main, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_mdb(db, "read", rc);
		return mdb_to_ab(rc);
	}
	found = rc == 0 && cnt_decode(&v, &rec) == 0;
	if (found) {
		memcpy(&h, v.mv_data, sizeof(h));
		extra = h.hdr_len - sizeof(h);
		if (extra > REC_TAIL_MAX)
			return AB_ECORRUPT;
		/* Keep header fields a later version added. */
		memcpy(buf, v.mv_data, h.hdr_len);
	}
	rec.prefix = *unit;
	act = fn(&rec, found, arg);
	if (act < 0)
		return act;
	if (act == AB_KEEP || (act == AB_DELETE && !found))
		return 0;
	if (act == AB_DELETE) {
		rc = mdb_del(db->txn, db->main, &k, NULL);
		if (rc != 0)
			log_mdb(db, "delete", rc);
		return mdb_to_ab(rc);
	}
	if (rec.nfail > AB_MAXRETRY_MAX)
		rec.nfail = AB_MAXRETRY_MAX;
	if (!found) {
		h.version = 1;
		h.hdr_len = sizeof(h);
	}
	h.nfail = (uint8_t)rec.nfail;
	h.nsucc = rec.nsucc;
	h.last_success = rec.last_success;
	memcpy(buf, &h, sizeof(h));
	for (i = 0; i < rec.nfail; i++)
		memcpy(buf + h.hdr_len + (size_t)i * 8, &rec.fail[i], 8);
	v.mv_size = (size_t)h.hdr_len + (size_t)rec.nfail * 8;
	v.mv_data = buf;
	if ((rc = mdb_put(db->txn, db->main, &k, &v, 0)) != 0) {
		if (rc != MDB_MAP_FULL)
			log_mdb(db, "write", rc);
		return mdb_to_ab(rc);
	}
	return 0;
}

/* Empty the counts store: the last resort when it is full. */
static void
counts_drop_all(struct ab_store *st)
{
	struct db db;
	int rc;

	if (db_begin(st, COUNTS, 1, &db) != 0)
		return;
	rc = mdb_drop(db.txn, db.main, 0);
	if (rc != 0)
		log_mdb(&db, "empty", rc);
	db_end(&db, rc == 0);
	ab_logf(st->log, LOG_ERR, "counts store %s was full after pruning: "
	    "emptied it (raise mapsize)", store_epath(st, COUNTS));
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
		return db_end(&db, 1);
	db_end(&db, 0);
	return rc;
}

int
store_count_update(struct ab_store *st, const struct ab_addr *unit,
    store_count_fn fn, void *arg)
{
	struct db db;
	int rc, attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		if ((rc = db_begin(st, COUNTS, 1, &db)) != 0)
			return rc;
		rc = count_update_txn(&db, unit, fn, arg);
		if (rc == 0)
			rc = db_end(&db, 1);
		else
			db_end(&db, 0);
		if (rc != AB_EFULL)
			break;
		/*
		 * A full map must never fail a login: prune, and if that is
		 * not enough, start the volatile counts afresh.
		 */
		if (attempt == 0) {
			ab_logf(st->log, LOG_WARNING, "counts store %s is "
			    "full: pruning", store_epath(st, COUNTS));
			store_prune(st, wall_s(), 100000, NULL, NULL);
		} else {
			counts_drop_all(st);
		}
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

	return walk(st, COUNTS, NULL, 0, count_walk_cb, &w);
}

/* ---- whole-store operations --------------------------------------------- */

/* Inside a write txn: a change record for every unexpired ban, then empty. */
static int
bans_clear_txn(struct db *db, int64_t now, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, r = 0;

	if ((rc = mdb_cursor_open(db->txn, db->main, &cur)) != 0) {
		log_mdb(db, "cursor", rc);
		return mdb_to_ab(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ab_ban rec;
		uint8_t kb[KEY_MAX];
		uint64_t seq;

		(*n)++;
		if (k.mv_size > KEY_MAX || ban_decode(&v, &rec) != 0 ||
		    rec.until <= now)
			continue;
		memcpy(kb, k.mv_data, k.mv_size);
		if ((r = change_add(db, kb, k.mv_size, rec.seq, &seq)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (r != 0)
		return r;
	if (rc != MDB_NOTFOUND || (rc = mdb_drop(db->txn, db->main, 0)) != 0) {
		log_mdb(db, "clear", rc);
		return mdb_to_ab(rc);
	}
	memset(&db->pl, 0, sizeof(db->pl));
	db->pl_loaded = db->pl_dirty = 1;
	return 0;
}

int
store_clear(struct ab_store *st, int64_t now, size_t *n)
{
	struct db db;
	int rc;

	*n = 0;
	if ((rc = db_begin(st, BANS, 1, &db)) != 0)
		return rc;
	if ((rc = bans_clear_txn(&db, now, n)) != 0) {
		db_end(&db, 0);
		return rc;
	}
	if ((rc = db_end(&db, 1)) != 0)
		return rc;
	/* The counts go too, so every host starts fresh. */
	if ((rc = db_begin(st, COUNTS, 1, &db)) != 0)
		return rc;
	if ((rc = mdb_drop(db.txn, db.main, 0)) != 0) {
		log_mdb(&db, "clear", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	return db_end(&db, 1);
}

/* Does a counts record still matter at now? */
static int
count_alive(const struct ab_config *cfg, const struct ab_counter *c,
    int64_t now)
{
	int64_t cut = now - cfg->findtime;

	return (c->nfail > 0 && c->fail[c->nfail - 1] / 1000000000 >= cut) ||
	    c->last_success >= cut;
}

/* Does a durable record still matter at now? */
static int
ban_alive(const struct ab_config *cfg, const struct ab_ban *b, int64_t now)
{
	return b->until > now || b->until + cfg->forget_after >= now;
}

/*
 * Delete up to batch dead records of one table in one write transaction,
 * starting at key resume (empty: the start).  Returns 1 if it stopped at the
 * batch limit (resume updated), 0 when the table is done, or an error.
 */
static int
prune_pass(struct ab_store *st, int which, int table, int64_t now,
    size_t batch, uint8_t *resume, size_t *rlen, size_t *count)
{
	struct db db;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t done = 0;
	int rc, more = 0;
	MDB_dbi dbi;

	if ((rc = db_begin(st, which, 1, &db)) != 0)
		return rc;
	dbi = table == 2 ? db.changes : db.main;
	if ((rc = mdb_cursor_open(db.txn, dbi, &cur)) != 0) {
		log_mdb(&db, "cursor", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	k.mv_size = *rlen;
	k.mv_data = resume;
	rc = mdb_cursor_get(cur, &k, &v, *rlen ? MDB_SET_RANGE : MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		int dead = 0;

		if (table == 2) {
			struct change_val cv;

			dead = v.mv_size < sizeof(cv);
			if (!dead) {
				memcpy(&cv, v.mv_data, sizeof(cv));
				dead = cv.time < now - CHANGE_KEEP;
			}
		} else if (which == COUNTS) {
			struct ab_counter c;

			dead = cnt_decode(&v, &c) != 0 ||
			    !count_alive(st->cfg, &c, now);
		} else {
			struct ab_ban b;
			struct ab_addr p;

			dead = key_parse(k.mv_data, k.mv_size, &p) != 0 ||
			    ban_decode(&v, &b) != 0 ||
			    !ban_alive(st->cfg, &b, now);
		}
		if (!dead)
			continue;
		if (done == batch) {
			memcpy(resume, k.mv_data, k.mv_size);
			*rlen = k.mv_size;
			more = 1;
			break;
		}
		if (which == BANS && table == 0) {
			struct ab_addr p;

			if (key_parse(k.mv_data, k.mv_size, &p) == 0 &&
			    (rc = plens_adjust(&db, &p, -1)) != 0)
				break;
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		done++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && !more) {
		log_mdb(&db, "prune", rc);
		db_end(&db, 0);
		return mdb_to_ab(rc);
	}
	if ((rc = db_end(&db, 1)) != 0)
		return rc;
	*count += done;
	return more;
}

int
store_prune(struct ab_store *st, int64_t now, size_t batch, size_t *nb,
    size_t *nc)
{
	static const struct {
		int which, table;
	} passes[] = { { COUNTS, 0 }, { BANS, 0 }, { BANS, 2 } };
	size_t counts = 0, bans = 0, changes = 0, i;
	int rc = 0;

	if (batch == 0)
		batch = 1;
	for (i = 0; i < sizeof(passes) / sizeof(passes[0]); i++) {
		uint8_t resume[KEY_MAX];
		size_t rlen = 0, *cnt = i == 0 ? &counts : i == 1 ? &bans :
		    &changes;

		do {
			rc = prune_pass(st, passes[i].which, passes[i].table,
			    now, batch, resume, &rlen, cnt);
		} while (rc == 1);
		if (rc < 0)
			break;
	}
	if (nb != NULL)
		*nb = bans;
	if (nc != NULL)
		*nc = counts;
	return rc < 0 ? rc : 0;
}

int
store_stat(struct ab_store *st, struct ab_store_stat *out)
{
	struct stat sb;
	struct db db;
	MDB_stat ms;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fstatat(st->dirfd[BANS], AB_BANS_FILE, &sb, AT_SYMLINK_NOFOLLOW)
	    == 0)
		out->bans_bytes = (uint64_t)sb.st_blocks * 512;
	if (fstatat(st->dirfd[COUNTS], AB_COUNTS_FILE, &sb,
	    AT_SYMLINK_NOFOLLOW) == 0)
		out->counts_bytes = (uint64_t)sb.st_blocks * 512;
	rc = db_begin(st, BANS, 0, &db);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (mdb_stat(db.txn, db.main, &ms) == 0)
			out->bans_records = ms.ms_entries;
		out->last_change = meta_get_seq(&db);
		db_end(&db, 0);
	}
	rc = db_begin(st, COUNTS, 0, &db);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (mdb_stat(db.txn, db.main, &ms) == 0)
			out->counts_records = ms.ms_entries;
		db_end(&db, 0);
	}
	return 0;
}
