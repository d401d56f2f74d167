/*
 * store.c - the store's handle, its directories, its locks, and the LMDB
 * environment of one transaction (or kept for the next: store_keep).
 *
 * MUST:
 *  - open each store directory with O_NOFOLLOW and judge it on the open fd
 *    (trust_fd): owned by root or the caller, or by the one uid root
 *    handed it to (the directory's parent is root's alone), never
 *    writable by group or other; open the data file with openat(O_NOFOLLOW)
 *    on that fd and judge it the same way (its owner may also be the
 *    directory's);
 *  - judge the data file's meta pages, and its every page unless the seal
 *    says this very file was judged whole since it last changed, before
 *    LMDB maps it (store_file.c): LMDB trusts what it maps;
 *  - let LMDB open only /proc/self/fd/N of that verified data file, so it
 *    gets exactly the file we checked and never re-walks a path;
 *  - hold an environment only for one transaction: open, lock, run,
 *    commit or abort, close, unlock; or, for a caller that asked for it
 *    (store_keep), keep a writer's environment unlocked after its commit
 *    and take it back for the next write only from the same process, on
 *    the same directory, and once the file under the store's name, locked,
 *    is still that one and passes the checks again (else it is closed and
 *    the file opened afresh).  Nothing survives in statics, so the code is
 *    safe after fork() and in threads (LMDB must not see one file opened
 *    twice by its own locking, hence MDB_NOLOCK and our OFD locks);
 *  - never write through a shared mapping (no MDB_WRITEMAP): a write into
 *    a full tmpfs or disk must come back as ENOSPC, never as SIGBUS;
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
 *    ban store.  A counts file that fails the checks is renamed aside,
 *    never deleted, and a new one is started.
 *
 * Locks: every transaction runs under OFD locks on our own fd of the data
 * file.  Byte 0 is the data: shared for readers, exclusive for writers.
 * Byte 1 is a turnstile that keeps writers from starving: a writer holds
 * it exclusively from before it waits for the data until it is done, and a
 * reader passes through it (shared, released once it holds the data), so
 * readers arriving while a writer waits queue behind it instead of keeping
 * the data's shared lock taken for ever.  OFD locks belong to the open
 * file description, so two threads of one process exclude each other like
 * two processes do, and a process that dies releases its locks.
 *
 * The seal (store_file.c) spares a full walk of a file judged whole since
 * it last changed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC	0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC	0x858458f6
#endif

#define STORE_FORMAT	1u		/* layout version in meta "format" */
#ifdef __SANITIZE_ADDRESS__
#define LOCK_WAIT_NS	(6LL * 1000000000)	/* ASan: several times slower */
#else
#define LOCK_WAIT_NS	(2LL * 1000000000)
#endif
#define READ_MAPSIZE	4096		/* see db_begin: LMDB raises it */

static const struct {
	const char *file, *seal, *what;
} store_names[2] = {
	{ AB_BANS_FILE, AB_BANS_FILE ".seal", "ban store" },
	{ AB_COUNTS_FILE, AB_COUNTS_FILE ".seal", "counts store" },
};

const char *
store_filename(int which)
{
	return store_names[which].file;
}

const char *
store_sealname(int which)
{
	return store_names[which].seal;
}

const char *
store_what(int which)
{
	return store_names[which].what;
}

/*
 * A store directory's path, escaped for a message.  Escaped on first use:
 * every login opens both stores, and only an error needs the text.
 */
const char *
store_epath(struct ab_store *st, int which)
{
	char *e = st->epath[which];

	if (e[0] == '\0')
		ab_escape(which == BANS ? st->cfg->db : st->cfg->runtime_dir, e,
		    sizeof(st->epath[which]));
	return e;
}

static int64_t
clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
store_now(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000000;
}

void
log_mdb(struct db *db, const char *op, int rc)
{
	ab_logf(db->st->log, LOG_ERR, "%s %s: %s: %s", store_what(db->which),
	    store_epath(db->st, db->which), op, mdb_strerror(rc));
}

int
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

/* ---- directories -------------------------------------------------------- */

/*
 * A directory owned by neither root nor us is trusted only if root handed
 * it over: its parent is root's alone and still holds it under its name.
 */
static int
dir_delegated(struct ab_store *st, int which, const char *path,
    const struct stat *dsb)
{
	char parent[AB_PATH_MAX], *slash;
	struct stat psb, esb;
	int pfd, ok;

	snprintf(parent, sizeof(parent), "%s", path);
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		return 0;
	slash[slash == parent ? 1 : 0] = '\0';
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return 0;
	ok = fstat(pfd, &psb) == 0 && psb.st_uid == 0 &&
	    !(psb.st_mode & (S_IWGRP | S_IWOTH)) &&
	    fstatat(pfd, path + strlen(parent) + (parent[1] != '\0'), &esb,
	    AT_SYMLINK_NOFOLLOW) == 0 && esb.st_dev == dsb->st_dev &&
	    esb.st_ino == dsb->st_ino;
	close(pfd);
	if (!ok)
		ab_logf(st->log, LOG_ERR, "%s %s is owned by uid %u, and its "
		    "parent is not root's alone: refusing it",
		    store_what(which), store_epath(st, which),
		    (unsigned)dsb->st_uid);
	return ok;
}

/* Open (and create if missing) one store directory; 0 or an error. */
static int
dir_open(struct ab_store *st, int which, const char *path)
{
	const char *what = store_what(which);
	struct statfs sf;
	struct stat sb;
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
		if (rc == -ELOOP || rc == -ENOTDIR) {
			/* O_DIRECTORY reports a symlink as ENOTDIR: say which. */
			ab_logf(st->log, LOG_ERR, "%s %s is %s: refusing it",
			    what, store_epath(st, which), rc == -ELOOP ||
			    (fstatat(AT_FDCWD, path, &sb, AT_SYMLINK_NOFOLLOW) ==
			    0 && S_ISLNK(sb.st_mode)) ? "a symlink" :
			    "not a directory");
			return AB_EUNTRUSTED;
		}
		ab_logf(st->log, LOG_ERR, "%s %s: %s", what,
		    store_epath(st, which), strerror(-rc));
		return rc;
	}
	if (fstat(fd, &sb) == 0 && sb.st_uid != 0 && sb.st_uid != geteuid() &&
	    !dir_delegated(st, which, path, &sb)) {
		close(fd);
		return AB_EUNTRUSTED;
	}
	rc = trust_fd(fd, 1, sb.st_uid, what, store_epath(st, which), st->log,
	    &st->dirsb[which]);
	if (rc != 0) {
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

int
store_moved(struct ab_store *st)
{
	const char *path[2] = { st->cfg->db, st->cfg->runtime_dir };
	struct stat sb;
	int which;

	for (which = 0; which < 2; which++)
		if (stat(path[which], &sb) != 0 ||
		    sb.st_dev != st->dirsb[which].st_dev ||
		    sb.st_ino != st->dirsb[which].st_ino)
			return 1;
	return 0;
}

/* ---- locks -------------------------------------------------------------- */

/* Take an OFD lock on one byte of fd, waiting at most until deadline. */
static int
lock_byte(int fd, short type, off_t byte, int64_t *deadline)
{
	struct flock fl;
	long delay_ns = 20000;
	int tries = 0;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	for (;;) {
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -errno;
		if (*deadline == 0)
			*deadline = clock_ns(CLOCK_MONOTONIC) + LOCK_WAIT_NS;
		else if (clock_ns(CLOCK_MONOTONIC) > *deadline)
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

/* Readers pass the turnstile; writers hold it (see the top). */
static int
lock_store(int fd, int write)
{
	struct flock fl;
	int64_t deadline = 0;
	int rc;

	if ((rc = lock_byte(fd, write ? F_WRLCK : F_RDLCK, LOCK_GATE,
	    &deadline)) != 0)
		return rc;
	if ((rc = lock_byte(fd, write ? F_WRLCK : F_RDLCK, LOCK_DATA,
	    &deadline)) != 0 || write)
		return rc;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = LOCK_GATE;
	fl.l_len = 1;
	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

/* ---- one transaction ---------------------------------------------------- */

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
		close(db->fd);		/* releases the locks */
	db->fd = -1;
}

/* Check, or on a new store write, the layout version and identity. */
static int
db_check_format(struct db *db)
{
	MDB_val k = { 6, (void *)"format" }, v;
	uint32_t fmt = STORE_FORMAT;
	int rc;

	rc = mdb_get(db->txn, db->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		uint8_t id[STORE_ID_LEN];

		if (!db->write)
			return 0;
		v.mv_size = sizeof(fmt);
		v.mv_data = &fmt;
		if ((rc = mdb_put(db->txn, db->meta, &k, &v, 0)) != 0) {
			log_mdb(db, "write format", rc);
			return mdb_to_ab(rc);
		}
		/* A new store: a new identity (banhelper notices a swap). */
		if (getentropy(id, sizeof(id)) != 0)
			return -errno;
		k.mv_size = 2;
		k.mv_data = (void *)"id";
		v.mv_size = sizeof(id);
		v.mv_data = id;
		if ((rc = mdb_put(db->txn, db->meta, &k, &v, 0)) != 0) {
			log_mdb(db, "write id", rc);
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
		    store_what(db->which), store_epath(db->st, db->which));
		return AB_ECORRUPT;
	}
	memcpy(&fmt, v.mv_data, sizeof(fmt));
	if (fmt > STORE_FORMAT) {
		ab_logf(db->st->log, LOG_ERR, "%s %s has layout %u; this "
		    "version reads up to %u", store_what(db->which),
		    store_epath(db->st, db->which), fmt, STORE_FORMAT);
		return AB_EVERSION;
	}
	return 0;
}

/*
 * The map a writer asks for.  Mapping takes address space, not memory, so
 * a writer maps the configured mapsize to grow into; but a host process
 * may run under an address-space limit (Dovecot's auth worker: vsz_limit,
 * 256 MB by default), where a 1 GB map fails with ENOMEM and the module
 * could not count at all.  There, when mapsize is more than an eighth of
 * the limit, the writer maps what the file holds plus MAP_ROOM, and
 * db->fitted says so: filling that map is the limit's doing, not a full
 * store, and must not make room by dropping records (db_full).
 */
#define MAP_ROOM	((size_t)16 << 20)

static size_t
writer_mapsize(struct db *db, const struct stat *sb)
{
	size_t want = db->st->cfg->mapsize, fit;
	struct rlimit rl;

	db->fitted = 0;
	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    want <= rl.rlim_cur / 8)
		return want;
	fit = ((size_t)sb->st_size + MAP_ROOM + (1 << 20) - 1) &
	    ~(((size_t)1 << 20) - 1);
	if (fit >= want)
		return want;
	db->fitted = 1;
	return fit;
}

/*
 * After a write that found its map full: in a fitted map (above), a
 * message naming the limit and -ENOMEM, so that nothing is dropped to make
 * room; otherwise rc as it was.
 */
int
db_full(struct db *db, int rc)
{
	struct rlimit rl;

	if (rc != AB_EFULL || !db->fitted)
		return rc;
	if (getrlimit(RLIMIT_AS, &rl) != 0)
		rl.rlim_cur = 0;
	ab_logf(db->st->log, LOG_ERR, "%s %s: this process may map only "
	    "%llu MiB (its address-space limit, RLIMIT_AS), too little for "
	    "the store to grow: raise the limit (Dovecot: vsz_limit of "
	    "service auth-worker)", store_what(db->which),
	    store_epath(db->st, db->which),
	    (unsigned long long)(rl.rlim_cur >> 20));
	return -ENOMEM;
}

int
db_begin(struct ab_store *st, int which, int write, struct db *db)
{
	const char *what = store_what(which);
	const char *file = store_names[which].file;
	char path[64];
	struct stat sb;
	unsigned flags;
	int rc, retried = 0, fresh = 0, kept;

	memset(db, 0, sizeof(*db));
	db->st = st;
	db->which = which;
	db->write = write;
	db->fd = -1;

again:
	if (fresh || !kept_take(db))
		db->fd = openat(st->dirfd[which], file, (write ? O_RDWR |
		    O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    0600);
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
	if ((rc = trust_fd(db->fd, 0, st->dirsb[which].st_uid, what, file,
	    st->log, &sb)) != 0)
		goto release;
	if ((rc = lock_store(db->fd, write)) != 0) {
		ab_logf(st->log, LOG_ERR, "%s %s: lock: %s", what,
		    store_epath(st, which), ab_strerror(rc));
		goto release;
	}
	/* As it is now that no writer can change it (the size, above all). */
	if (fstat(db->fd, &sb) != 0) {
		rc = -errno;
		goto release;
	}
	if (db->kept && !kept_current(db, &sb)) {
		rc = AB_ESTORE;		/* replaced or set aside meanwhile */
		goto release;
	}
	if ((rc = file_judge(db, &sb)) != 0) {
		if (rc == 1) {
			db_release(db);
			return 1;
		}
		goto release;
	}
	/*
	 * A reader maps only the committed data: LMDB raises a map size below
	 * it to the data's size (last page + 1), and under our shared lock no
	 * writer can add pages while it reads.  Writers get the configured
	 * size to grow into, or less in a process whose address space is
	 * limited (writer_mapsize).
	 */
	if (db->env == NULL && ((rc = mdb_env_create(&db->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(db->env, write ? writer_mapsize(db,
	    &sb) : READ_MAPSIZE)) != 0 ||
	    (rc = mdb_env_set_maxdbs(db->env, 3)) != 0)) {
		log_mdb(db, "create environment", rc);
		rc = mdb_to_ab(rc);
		goto release;
	}
	/* MDB_NOLOCK: our OFD locks do the job.  Sync flags: see the top. */
	flags = MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOTLS;
	if (!write)
		flags |= MDB_RDONLY;
	else if (which == COUNTS && st->counts_tmpfs)
		flags |= MDB_NOSYNC;
	else
		flags |= MDB_NOMETASYNC;
	snprintf(path, sizeof(path), "%s%d", AB_PROC_FD_PREFIX, db->fd);
	if (!db->kept && (rc = mdb_env_open(db->env, path, flags, 0600)) != 0) {
		log_mdb(db, "open", rc);
		rc = mdb_to_ab(rc) == AB_EVERSION || rc == EINVAL ?
		    AB_ECORRUPT : mdb_to_ab(rc);
		goto release;
	}
	/* A kept environment finds the file grown past its map: MAP_RESIZED,
	 * and a fresh one is opened (below). */
	if ((rc = mdb_txn_begin(db->env, NULL, write ? 0 : MDB_RDONLY,
	    &db->txn)) != 0) {
		if (db->kept)
			goto release;
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
	kept = db->kept;
	db_release(db);
	/* A kept environment that cannot serve is closed; then afresh. */
	if (kept && !fresh && rc != AB_ELOCKED) {
		fresh = 1;
		db->kept = 0;
		goto again;
	}
	/* Counts are volatile: a file that fails is set aside, not fatal. */
	if (which == COUNTS && write && !retried && (rc == AB_ECORRUPT ||
	    rc == AB_EVERSION) && file_set_aside(st, COUNTS) == 0) {
		retried = 1;
		goto again;
	}
	return rc;
}

/* Records of the store's tables that grow with its hosts. */
size_t
db_records(struct db *db)
{
	MDB_stat ms;
	size_t n = 0;

	if (mdb_stat(db->txn, db->main, &ms) == 0)
		n += ms.ms_entries;
	if (db->which == BANS && db->write && mdb_stat(db->txn, db->changes,
	    &ms) == 0)
		n += ms.ms_entries;
	return n;
}

int
db_end(struct db *db, int commit)
{
	int rc = 0;

	db->over = 0;
	if (db->txn != NULL && db->write && commit &&
	    (rc = meta_flush(db)) == 0) {
		MDB_envinfo info;

		/* Past its capacity: the store must make room (see there). */
		db->over = db_records(db) > store_capacity(db->st, db->which);
		rc = mdb_txn_commit(db->txn);
		db->txn = NULL;
		if (rc != 0) {
			if (rc != MDB_MAP_FULL)
				log_mdb(db, "commit", rc);
			rc = mdb_to_ab(rc);
			db->over = rc == AB_EFULL;
		} else if (mdb_env_info(db->env, &info) == 0) {
			/* We judged it, then wrote it: sound as it is now. */
			seal_write(db->st, db->which, db->fd, info.me_last_txnid);
			kept_put(db);
		}
	} else if (!db->write && db->kept && db->txn != NULL) {
		/* A read in the kept environment: it goes back. */
		mdb_txn_abort(db->txn);
		db->txn = NULL;
		kept_put(db);
	}
	db_release(db);
	return rc;
}

int
store_check(struct ab_store *st)
{
	struct db db;
	int rc = db_begin(st, BANS, 0, &db);

	if (rc == 0)
		db_end(&db, 0);
	return rc == 1 ? 0 : rc;
}

int
store_set_aside(struct ab_store *st)
{
	return file_set_aside(st, BANS);
}
