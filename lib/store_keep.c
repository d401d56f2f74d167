/*
 * store_keep.c - a writer's LMDB environment kept from one transaction to
 * the next, for a caller that makes several attempts in one process (the
 * module, per PAM handle: sshd runs every password of a connection on one
 * handle in its monitor).  Opening an environment costs a mapping, five
 * opens and LMDB's 3 MB of write buffers; kept, it costs them once per
 * connection, and sshd's monitor never sees those buffers come and go
 * (glibc would raise its mmap threshold and keep them on the heap).
 *
 * MUST:
 *  - hand a kept environment only to a writer of the same process (after
 *    fork, the child closes its copies: its descriptor shares the parent's
 *    open file description, so its OFD locks would not exclude the
 *    parent's), of the same directory and map size;
 *  - keep nothing locked: kept_put releases both lock bytes first, and
 *    does not keep what it cannot unlock;
 *  - let db_begin judge the file again under the lock before a kept
 *    environment is used (kept_current, then the file's checks), and close
 *    it when anything differs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

struct ab_keep *
store_keep_new(void)
{
	struct ab_keep *k = calloc(1, sizeof(*k));

	if (k != NULL)
		k->e[BANS].fd = k->e[COUNTS].fd = -1;
	return k;
}

static void
kept_close(struct kept_env *e)
{
	if (e->env != NULL)
		mdb_env_close(e->env);
	if (e->fd >= 0)
		close(e->fd);
	e->env = NULL;
	e->fd = -1;
}

void
store_keep_free(struct ab_keep *k)
{
	if (k == NULL)
		return;
	kept_close(&k->e[BANS]);
	kept_close(&k->e[COUNTS]);
	free(k);
}

void
store_keep(struct ab_store *st, struct ab_keep *k)
{
	st->keep = k;
}

/*
 * A transaction takes the environment kept for its store if it was made by
 * this process for this directory and map size: 1, or 0 to open one.  A
 * reader runs a read-only transaction in it and gives it back (kept_put):
 * under its shared lock no writer adds pages, as in an environment of its
 * own.  One made before a fork is closed here (this process's copies of
 * its fds and map); its locks, shared with the parent's descriptor, are
 * never taken again.
 */
int
kept_take(struct db *db)
{
	struct ab_store *st = db->st;
	struct kept_env *e;

	if (st->keep == NULL)
		return 0;
	e = &st->keep->e[db->which];
	if (e->env == NULL)
		return 0;
	if (e->pid != getpid() || e->dir_dev != st->dirsb[db->which].st_dev ||
	    e->dir_ino != st->dirsb[db->which].st_ino ||
	    e->mapsize != st->cfg->mapsize) {
		kept_close(e);
		return 0;
	}
	db->fd = e->fd;
	db->env = e->env;
	db->fitted = e->fitted;
	db->kept = 1;
	e->fd = -1;
	e->env = NULL;
	return 1;
}

/* Under the lock: the kept file is still the one under the store's name. */
int
kept_current(struct db *db, const struct stat *sb)
{
	struct stat nsb;

	return fstatat(db->st->dirfd[db->which], store_filename(db->which),
	    &nsb, AT_SYMLINK_NOFOLLOW) == 0 && nsb.st_dev == sb->st_dev &&
	    nsb.st_ino == sb->st_ino;
}

/* After a commit, or a read in a kept environment: unlock, and keep the
 * environment for the next transaction. */
void
kept_put(struct db *db)
{
	struct ab_store *st = db->st;
	struct kept_env *e;
	struct flock fl;

	if (st->keep == NULL || db->env == NULL || (!db->write && !db->kept))
		return;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = LOCK_DATA;
	fl.l_len = 2;			/* LOCK_DATA and LOCK_GATE */
	if (fcntl(db->fd, F_OFD_SETLK, &fl) != 0)
		return;			/* closing the fd releases them */
	e = &st->keep->e[db->which];
	kept_close(e);
	e->fd = db->fd;
	e->env = db->env;
	e->pid = getpid();
	e->dir_dev = st->dirsb[db->which].st_dev;
	e->dir_ino = st->dirsb[db->which].st_ino;
	e->mapsize = st->cfg->mapsize;
	e->fitted = db->fitted;
	db->fd = -1;
	db->env = NULL;
	db->kept = 0;
}
