/*
 * store_file.c - judge an LMDB data file before LMDB maps it.
 *
 * LMDB trusts its file: it maps it and follows page numbers and node
 * offsets without bounds checks, so a file shorter than its meta pages
 * say, or garbage in a page, ends in SIGBUS, SIGSEGV, SIGFPE or an
 * assertion's abort() inside the process that reads it: sshd's monitor.
 *
 * The seal: <file>.seal beside each data file records the identity of the
 * file (device, inode, size, change times) and its transaction id when it
 * was last judged whole, or committed by a writer that had judged it.  A
 * file that still matches needs only its meta pages read again; any other
 * (replaced, restored, truncated, edited) is walked in full first.

 *
 * MUST:
 *  - read the file with pread() only, never through a mapping, so a
 *    short or changing file is an error here and never a signal;
 *  - accept only what LMDB 0.9 (data version 1, Debian's liblmdb0) would
 *    read safely: both meta pages valid, every page a tree reaches inside
 *    the file, of the right kind, at one depth, reached once, and every
 *    node inside its page;
 *  - allocate at most one bitmap of a bit per page, and bound recursion
 *    by the tree depth LMDB itself allows.
 *
 * The layout read here is LMDB's on-disk format version 1 on a 64-bit
 * little-endian host, as lmdb.h and mdb.c of 0.9.x define it: a page is a
 * 16-byte header (page number, 2 bytes of padding, flags, then lower and
 * upper bounds of the free space, or for an overflow page the number of
 * pages) and an array of 2-byte node offsets; a node is 8 bytes (data size
 * or child page number in three 16-bit pieces, flags, key size) then key
 * and data.  A meta page holds, after its header, the magic, the version,
 * a fixed-map address, the map size, the free-page and main databases'
 * descriptors (48 bytes each), the last page number and the transaction id.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <syslog.h>

#include "store_int.h"

#define PAGEHDR		16
#define NODEHDR		8
#define META_SIZE	136		/* the meta's fields, after PAGEHDR */
#define DBDESC_SIZE	48

#define P_BRANCH	0x01
#define P_LEAF		0x02
#define P_OVERFLOW	0x04
#define P_META		0x08
#define P_LEAF2		0x20
#define P_SUBP		0x40

#define F_BIGDATA	0x01
#define F_SUBDATA	0x02
#define F_DUPDATA	0x04

#define LMDB_MAGIC	0xBEEFC0DEu
#define LMDB_VERSION	1u
#define NO_PAGE		UINT64_MAX	/* an empty tree's root */
#define MAX_KEY		511		/* LMDB's default key size limit */
#define MAX_DEPTH	20		/* LMDB's cursors hold 32 levels */
#define MAX_FILE	((uint64_t)64 << 30)	/* config's largest mapsize */

/* Database flags a tree may carry: none for ours, integer keys for the
 * free-page tree; never duplicates, reversed or fixed-size keys. */
#define DB_INTEGERKEY	0x08
#define DB_FORBIDDEN	(0x02 | 0x04 | 0x10 | 0x20 | 0x40)

static uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A tree descriptor (MDB_db) at p. */
struct dbdesc {
	uint16_t flags, depth;
	uint64_t root;
};

static void
desc_read(const uint8_t *p, struct dbdesc *d)
{
	d->flags = rd16(p + 4);
	d->depth = rd16(p + 6);
	d->root = rd64(p + 40);
}

/* One meta page's fields, from the page's first bytes. */
struct meta {
	uint32_t magic, version, psize;
	struct dbdesc db[2];		/* free pages, main */
	uint64_t last_pg, txnid, address;
	uint16_t env_flags;
};

static int
meta_read(int fd, uint64_t off, struct meta *m)
{
	uint8_t b[PAGEHDR + META_SIZE];
	ssize_t n = pread(fd, b, sizeof(b), (off_t)off);

	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(b))
		return 1;	/* short: not (yet) a meta page */
	if (!(rd16(b + 10) & P_META))
		return AB_ECORRUPT;
	m->magic = rd32(b + PAGEHDR);
	m->version = rd32(b + PAGEHDR + 4);
	m->address = rd64(b + PAGEHDR + 8);
	m->psize = rd32(b + PAGEHDR + 24);	/* free db's md_pad */
	m->env_flags = rd16(b + PAGEHDR + 28);	/* free db's md_flags */
	desc_read(b + PAGEHDR + 24, &m->db[0]);
	desc_read(b + PAGEHDR + 24 + DBDESC_SIZE, &m->db[1]);
	m->last_pg = rd64(b + PAGEHDR + 24 + 2 * DBDESC_SIZE);
	m->txnid = rd64(b + PAGEHDR + 24 + 2 * DBDESC_SIZE + 8);
	if (m->magic != LMDB_MAGIC)
		return AB_ECORRUPT;
	if (m->version != LMDB_VERSION)
		return AB_EVERSION;
	return 0;
}

/*
 * A file shorter than two pages whose creation was cut short (a full
 * disk): nothing but zeros, or the start of LMDB's first meta page.
 * Anything else there is not ours to start over.
 */
static int
cut_short(int fd, uint64_t size)
{
	uint8_t b[2 * 4096];
	ssize_t n;
	size_t i;

	if (size >= sizeof(b))
		return 0;
	n = pread(fd, b, (size_t)size, 0);
	if (n != (ssize_t)size)
		return 0;
	for (i = 0; i < (size_t)n && b[i] == 0; i++)
		;
	if (i == (size_t)n)
		return 1;
	return n >= PAGEHDR + 4 && (rd16(b + 10) & P_META) &&
	    rd32(b + PAGEHDR) == LMDB_MAGIC;
}

static int
root_ok(uint64_t root, uint64_t npages)
{
	return root == NO_PAGE || (root >= 2 && root < npages);
}

int
store_file_meta(int fd, uint64_t size, struct store_file *sf)
{
	struct meta m[2];
	uint64_t limit;
	int rc, i, best;

	memset(sf, 0, sizeof(*sf));
	if (size == 0)
		return STORE_FILE_EMPTY;
	rc = meta_read(fd, 0, &m[0]);
	if (rc == 0 && (m[0].psize < 4096 || m[0].psize > 32768 ||
	    (m[0].psize & (m[0].psize - 1)) != 0))
		rc = AB_ECORRUPT;
	if (rc == 0)
		rc = meta_read(fd, m[0].psize, &m[1]);
	if (rc != 0 && rc != AB_EVERSION && cut_short(fd, size))
		return STORE_FILE_EMPTY;
	if (rc == 1)
		return AB_ECORRUPT;
	if (rc != 0)
		return rc;
	best = m[1].txnid > m[0].txnid ? 1 : 0;
	limit = MAX_FILE / m[0].psize;
	for (i = 0; i < 2; i++) {
		if (m[i].psize != m[0].psize || (m[i].env_flags & 0x01) ||
		    m[i].last_pg < 1 || m[i].last_pg >= limit)
			return AB_ECORRUPT;
	}
	/* Only the newer meta's trees are read; the older one's may point
	 * at pages reused since. */
	if (!root_ok(m[best].db[0].root, m[best].last_pg + 1) ||
	    !root_ok(m[best].db[1].root, m[best].last_pg + 1) ||
	    (m[best].db[1].flags & (DB_FORBIDDEN | DB_INTEGERKEY)) ||
	    (m[best].db[0].flags & DB_FORBIDDEN))
		return AB_ECORRUPT;
	sf->psize = m[0].psize;
	sf->npages = m[best].last_pg + 1;
	sf->txnid = m[best].txnid;
	sf->free_root = m[best].db[0].root;
	sf->free_depth = m[best].db[0].depth;
	sf->main_root = m[best].db[1].root;
	sf->main_depth = m[best].db[1].depth;
	return 0;
}

/* ---- the walk ----------------------------------------------------------- */

struct walk {
	int fd;
	uint32_t psize;
	uint64_t npages;	/* pages a tree may reach: in the file and meta */
	uint8_t *seen;		/* a bit per page a tree uses */
	uint8_t *freed;		/* a bit per page the free lists hold */
	uint8_t *page;		/* a page per level: 2 * MAX_DEPTH of them */
};

enum tree { TREE_FREE, TREE_MAIN, TREE_SUB };

static int
page_take(struct walk *w, uint64_t pgno)
{
	uint8_t bit = (uint8_t)(1u << (pgno & 7));

	if (pgno < 2 || pgno >= w->npages || (w->seen[pgno >> 3] & bit))
		return AB_ECORRUPT;	/* a meta, outside, or reached twice */
	w->seen[pgno >> 3] |= bit;
	return 0;
}

static int
page_read(struct walk *w, uint64_t pgno, uint8_t *buf, size_t len)
{
	ssize_t n = pread(w->fd, buf, len, (off_t)(pgno * w->psize));

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : AB_ECORRUPT;	/* past the end */
}

/* An overflow run of pages holding dsize bytes, starting at pgno. */
static int
overflow_check(struct walk *w, uint64_t pgno, uint64_t dsize)
{
	uint8_t h[PAGEHDR];
	uint64_t n, i;
	int rc;

	if (pgno < 2 || pgno >= w->npages)
		return AB_ECORRUPT;
	if ((rc = page_read(w, pgno, h, sizeof(h))) != 0)
		return rc;
	n = rd32(h + 12);
	if (rd64(h) != pgno || rd16(h + 10) != P_OVERFLOW || n == 0 ||
	    n > w->npages - pgno || dsize > n * w->psize - PAGEHDR)
		return AB_ECORRUPT;
	/* Its last page must be in the file too. */
	if ((rc = page_read(w, pgno + n - 1, h, 1)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = page_take(w, pgno + i)) != 0)
			return rc;
	return 0;
}

/*
 * A free-page list: its count first, then that many page numbers, each
 * marked in w->freed.  A page listed twice would be handed out twice.
 */
static int
idl_check(struct walk *w, const uint8_t *d, uint64_t len)
{
	uint64_t n, i, pg;
	uint8_t bit;

	if (len < 8 || len % 8 != 0)
		return AB_ECORRUPT;
	n = rd64(d);
	if (n != len / 8 - 1)
		return AB_ECORRUPT;
	for (i = 1; i <= n; i++) {
		pg = rd64(d + i * 8);
		if (pg < 2 || pg >= w->npages)
			return AB_ECORRUPT;
		bit = (uint8_t)(1u << (pg & 7));
		if (w->freed[pg >> 3] & bit)
			return AB_ECORRUPT;
		w->freed[pg >> 3] |= bit;
	}
	return 0;
}

/* A free list kept on overflow pages. */
static int
idl_overflow(struct walk *w, uint64_t pgno, uint64_t len)
{
	uint8_t *d;
	int rc;

	if (len > (uint64_t)w->psize * 4096)
		return AB_ECORRUPT;
	if ((d = malloc((size_t)len + PAGEHDR)) == NULL)
		return -ENOMEM;
	rc = page_read(w, pgno, d, (size_t)len + PAGEHDR);
	if (rc == 0)
		rc = idl_check(w, d + PAGEHDR, len);
	free(d);
	return rc;
}

static int tree_check(struct walk *w, uint64_t root, unsigned depth,
    enum tree kind, unsigned slot);

/* One leaf node: its data inline, on overflow pages, or a sub-tree. */
/* slot: the first free page buffer for a sub-tree's walk. */
static int
leaf_node(struct walk *w, const uint8_t *node, size_t room, enum tree kind,
    unsigned slot)
{
	uint16_t flags = rd16(node + 4), ksize = rd16(node + 6);
	uint64_t dsize = rd16(node) | (uint64_t)rd16(node + 2) << 16;
	const uint8_t *data = node + NODEHDR + ksize;
	struct dbdesc d;
	int rc;

	if (ksize == 0 || ksize > MAX_KEY || (flags & ~(F_BIGDATA | F_SUBDATA)))
		return AB_ECORRUPT;
	if (kind == TREE_FREE && ksize != 8)
		return AB_ECORRUPT;	/* compared as aligned integers */
	if (flags & F_BIGDATA) {
		if ((flags & F_SUBDATA) || (size_t)NODEHDR + ksize + 8 > room)
			return AB_ECORRUPT;
		if ((rc = overflow_check(w, rd64(data), dsize)) != 0)
			return rc;
		return kind == TREE_FREE ? idl_overflow(w, rd64(data), dsize) : 0;
	}
	if (NODEHDR + ksize + dsize > room)
		return AB_ECORRUPT;
	if (kind == TREE_FREE)
		return idl_check(w, data, dsize);
	if (!(flags & F_SUBDATA))
		return 0;
	/* A named tree: only the main tree holds them, one level deep. */
	if (kind != TREE_MAIN || dsize != DBDESC_SIZE)
		return AB_ECORRUPT;
	desc_read(data, &d);
	if (d.flags != 0 || !(d.root == NO_PAGE || (d.root >= 2 &&
	    d.root < w->npages)))
		return AB_ECORRUPT;
	if (d.root == NO_PAGE)
		return d.depth == 0 ? 0 : AB_ECORRUPT;
	return tree_check(w, d.root, d.depth, TREE_SUB, slot);
}

/*
 * The tree under root must be depth levels deep, every leaf on the last
 * level.  Recursion is bounded by MAX_DEPTH per tree, and a named tree
 * hangs only from the main tree; each level reads its page into its own
 * slot of w->page, a named tree's walk into the slots after the main's.
 */
struct level {
	struct walk *w;
	unsigned depth;
	enum tree kind;
	unsigned base;		/* slot of the root's page */
};

static int
node_walk(struct level *lv, uint64_t pgno, unsigned lvl)
{
	struct walk *w = lv->w;
	uint8_t *p = w->page + (size_t)(lv->base + lvl) * w->psize;
	unsigned lower, upper, nkeys, i, want_leaf = lvl + 1 == lv->depth;
	uint16_t flags;
	int rc;

	if ((rc = page_take(w, pgno)) != 0 ||
	    (rc = page_read(w, pgno, p, w->psize)) != 0)
		return rc;
	flags = rd16(p + 10);
	lower = rd16(p + 12);
	upper = rd16(p + 14);
	if (rd64(p) != pgno || lower < PAGEHDR || lower > upper ||
	    upper > w->psize || (lower - PAGEHDR) % 2 != 0)
		return AB_ECORRUPT;
	if (flags & (P_OVERFLOW | P_META | P_LEAF2 | P_SUBP))
		return AB_ECORRUPT;
	if ((flags & (P_BRANCH | P_LEAF)) != (want_leaf ? P_LEAF : P_BRANCH))
		return AB_ECORRUPT;
	nkeys = (lower - PAGEHDR) / 2;
	/* LMDB reads a branch's second key to pick its comparator. */
	if (!want_leaf && nkeys < 2)
		return AB_ECORRUPT;
	for (i = 0; i < nkeys; i++) {
		unsigned off = rd16(p + PAGEHDR + 2 * i);
		const uint8_t *node = p + off;
		size_t room = w->psize - off;
		uint16_t ksize;

		if (off < upper || off + NODEHDR > w->psize)
			return AB_ECORRUPT;
		ksize = rd16(node + 6);
		if (want_leaf) {
			rc = leaf_node(w, node, room, lv->kind,
			    lv->base + lv->depth);
			if (rc != 0)
				return rc;
			continue;
		}
		if (ksize > MAX_KEY || NODEHDR + (size_t)ksize > room ||
		    (lv->kind == TREE_FREE && i > 0 && ksize != 8))
			return AB_ECORRUPT;
		if ((rc = node_walk(lv, rd16(node) | (uint64_t)rd16(node + 2) <<
		    16 | (uint64_t)rd16(node + 4) << 32, lvl + 1)) != 0)
			return rc;
		/* The child overwrote deeper slots only: p is still ours. */
	}
	return 0;
}

static int
tree_check(struct walk *w, uint64_t root, unsigned depth, enum tree kind,
    unsigned slot)
{
	struct level lv = { w, depth, kind, slot };

	if (depth == 0 || depth > MAX_DEPTH)
		return AB_ECORRUPT;
	return node_walk(&lv, root, 0);
}

int
store_file_walk(int fd, uint64_t size, const struct store_file *sf)
{
	struct walk w;
	uint64_t file_pages = size / sf->psize, i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.fd = fd;
	w.psize = sf->psize;
	w.npages = sf->npages < file_pages ? sf->npages : file_pages;
	w.seen = calloc((size_t)(w.npages / 8 + 1), 1);
	w.freed = calloc((size_t)(w.npages / 8 + 1), 1);
	w.page = malloc((size_t)w.psize * 2 * MAX_DEPTH);
	if (w.seen == NULL || w.freed == NULL || w.page == NULL) {
		rc = -ENOMEM;
		goto free_all;
	}
	rc = 0;
	if (sf->main_root != NO_PAGE)
		rc = tree_check(&w, sf->main_root, sf->main_depth, TREE_MAIN,
		    0);
	else if (sf->main_depth != 0)
		rc = AB_ECORRUPT;
	if (rc == 0 && sf->free_root != NO_PAGE)
		rc = tree_check(&w, sf->free_root, sf->free_depth, TREE_FREE,
		    0);
	else if (rc == 0 && sf->free_depth != 0)
		rc = AB_ECORRUPT;
	/* No page may be both in a tree and free. */
	for (i = 0; rc == 0 && i < w.npages / 8 + 1; i++)
		if (w.seen[i] & w.freed[i])
			rc = AB_ECORRUPT;
free_all:
	free(w.page);
	free(w.freed);
	free(w.seen);
	return rc;
}

/* ---- the seal ----------------------------------------------------------- */

struct seal {
	char magic[8];		/* "abseal1" */
	uint64_t dev, ino, size, txnid;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

static void
seal_make(const struct stat *sb, uint64_t txnid, struct seal *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->magic, "abseal1", 8);
	s->dev = sb->st_dev;
	s->ino = sb->st_ino;
	s->size = (uint64_t)sb->st_size;
	s->txnid = txnid;
	s->mtime_s = sb->st_mtim.tv_sec;
	s->mtime_ns = sb->st_mtim.tv_nsec;
	s->ctime_s = sb->st_ctim.tv_sec;
	s->ctime_ns = sb->st_ctim.tv_nsec;
}

/* 1 if the seal beside the store's file describes this file now. */
static int
seal_matches(struct ab_store *st, int which, const struct stat *sb,
    uint64_t txnid)
{
	struct seal want, have;
	int fd, ok = 0;

	fd = openat(st->dirfd[which], store_sealname(which), O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	seal_make(sb, txnid, &want);
	if (trust_fd(fd, 0, st->dirsb[which].st_uid, store_what(which),
	    store_sealname(which), NULL, NULL) == 0 &&
	    pread(fd, &have, sizeof(have), 0) == (ssize_t)sizeof(have))
		ok = memcmp(&want, &have, sizeof(want)) == 0;
	close(fd);
	return ok;
}

/*
 * Record that the file fd, at txnid, is sound.  Best effort: a process that
 * may not write there (a reader that is not root) just checks again next
 * time.
 */
void
seal_write(struct ab_store *st, int which, int fd, uint64_t txnid)
{
	struct seal s;
	struct stat sb;
	int sfd;

	if (fstat(fd, &sb) != 0)
		return;
	sfd = openat(st->dirfd[which], store_sealname(which), O_WRONLY |
	    O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (sfd < 0)
		return;
	seal_make(&sb, txnid, &s);
	/* The directory's owner (banhelper's user) rewrites it too. */
	if ((geteuid() == 0 && fchown(sfd, st->dirsb[which].st_uid,
	    st->dirsb[which].st_gid) != 0) ||
	    trust_fd(sfd, 0, st->dirsb[which].st_uid, store_what(which),
	    store_sealname(which), NULL, NULL) != 0) {
		close(sfd);
		return;
	}
	if (pwrite(sfd, &s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
		/* Never half a seal: an empty one matches nothing. */
		int cleared = ftruncate(sfd, 0) == 0;

		ab_logf(st->log, LOG_WARNING, "%s %s: cannot write its seal%s: "
		    "the file is checked in full next time", store_what(which),
		    store_epath(st, which), cleared ? "" : " (nor clear it)");
	}
	close(sfd);
}

/* ---- judging a transaction's file ------------------------------------- */

/* Move a data file that failed the checks out of the way (kept). */
int
file_set_aside(struct ab_store *st, int which)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.broken-%lld", store_filename(which),
	    (long long)store_now());
	if (renameat(st->dirfd[which], store_filename(which),
	    st->dirfd[which], name) != 0)
		return -errno;
	ab_logf(st->log, LOG_ERR, "%s %s/%s failed its checks: kept as %s, "
	    "starting a new one", store_what(which), store_epath(st, which),
	    store_filename(which), name);
	return 0;
}

/*
 * The data file fd before LMDB sees it: a writer's new file gets the
 * directory's owner; an empty or half-created file is nothing to a reader
 * (1) and starts afresh for a writer; anything else must pass the checks.
 */
int
file_judge(struct db *db, struct stat *sb)
{
	struct ab_store *st = db->st;
	const struct stat *dsb = &st->dirsb[db->which];
	struct store_file sf;
	int rc;

	if (db->write && geteuid() == 0 && (sb->st_uid != dsb->st_uid ||
	    sb->st_gid != dsb->st_gid) && fchown(db->fd, dsb->st_uid,
	    dsb->st_gid) == 0)
		fstat(db->fd, sb);
	rc = store_file_meta(db->fd, (uint64_t)sb->st_size, &sf);
	if (rc == STORE_FILE_EMPTY) {
		if (!db->write)
			return 1;
		if (db->kept)
			return AB_ESTORE;	/* mapped before: open afresh */
		if (sb->st_size > 0) {
			ab_logf(st->log, LOG_WARNING, "%s %s/%s was cut short "
			    "while being created (%lld bytes, no valid meta "
			    "pages): creating it again", store_what(db->which),
			    store_epath(st, db->which),
			    store_filename(db->which),
			    (long long)sb->st_size);
			if (ftruncate(db->fd, 0) != 0)
				return -errno;
		}
		return 0;
	}
	if (rc == 0 && !seal_matches(st, db->which, sb, sf.txnid)) {
		rc = store_file_walk(db->fd, (uint64_t)sb->st_size, &sf);
		if (rc == 0)
			seal_write(st, db->which, db->fd, sf.txnid);
	}
	if (rc == AB_ECORRUPT || rc == AB_EVERSION)
		ab_logf(st->log, LOG_ERR, "%s %s/%s: %s: refusing it (not "
		    "mapped)", store_what(db->which), store_epath(st, db->which),
		    store_filename(db->which), rc == AB_EVERSION ?
		    "LMDB data version other than 1" :
		    "not a sound LMDB file (short, or a page out of place)");
	return rc;
}
