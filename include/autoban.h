/*
 * autoban.h - what crosses files: the shared core that pam_autoban.so and
 * banhelper both call.
 *
 * Conventions (see ../README.md and the house style):
 *  - functions return 0 on success, a negative AB_E* code or -errno on
 *    failure; ab_strerror() gives the text;
 *  - nothing here exits, aborts or prints: messages go through the
 *    caller's struct ab_log;
 *  - nothing keeps state in statics: every handle is the caller's.
 */
#ifndef AUTOBAN_H
#define AUTOBAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>

/* ---- paths and names (the only place they are spelled) ---------------- */

#define AB_VERSION		"0.9.0"		/* as debian/changelog */

#define AB_CONF_PATH		"/etc/security/autoban.conf"
#define AB_DB_DIR		"/var/lib/autoban"
#define AB_RUN_DIR		"/run/autoban"
#define AB_BANS_FILE		"bans.mdb"	/* in db: durable bans */
#define AB_COUNTS_FILE		"counts.mdb"	/* in runtime_dir: counts */
/* LMDB is given a checked store as this name plus its descriptor number
 * (lib/store.c). */
#define AB_PROC_FD_PREFIX	"/proc/self/fd/"
#define AB_WAKE_SOCK		"wake.sock"	/* in runtime_dir */
#define AB_REPORT_SOCK		"report.sock"	/* in runtime_dir: reports */
#define AB_PID_FILE		"banhelper.pid"	/* in runtime_dir */
#define AB_ATTEMPT_ENV		"AUTOBAN_ATTEMPT" /* PAM env, one-line mode */
#define AB_USER			"_autoban"	/* banhelper run's user */
/* metrics = yes: node_exporter's textfile directory (Debian's), and the
 * file the daemon writes in runtime_dir, linked from there. */
#define AB_METRICS_DIR		"/var/lib/prometheus/node-exporter"
#define AB_METRICS_FILE		"autoban.prom"

/* ---- errors ------------------------------------------------------------ */

enum {
	AB_ECONFIG = -10000,	/* configuration error */
	AB_EUNTRUSTED,		/* file or directory fails the trust checks */
	AB_ECORRUPT,		/* store is not a valid autoban store */
	AB_EVERSION,		/* store written by an incompatible version */
	AB_EFULL,		/* store full even after pruning */
	AB_ELOCKED,		/* store lock not obtained in time */
	AB_EADDR,		/* not an IP address or prefix */
	AB_ESTORE,		/* other LMDB failure (details were logged) */
	AB_ENOTFOUND,		/* no such record */
	AB_EFIREWALL,		/* the firewall refused a change */
	AB_EIGNORED,		/* address is loopback or in ignoreip */
};

/* Text for a code returned by any function here; never NULL. */
const char *ab_strerror(int err);

/* ---- logging ----------------------------------------------------------- */

/*
 * Shared code logs through this callback so it never needs to know whether
 * it runs in sshd (pam_syslog) or in banhelper (stderr or syslog).  prio is
 * a syslog priority.  fn may be NULL: messages are then dropped.
 */
struct ab_log {
	void (*fn)(void *ctx, int prio, const char *msg);
	void *ctx;
};

/* Format and send one message through log (may be NULL). */
void ab_logf(const struct ab_log *log, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copy at most outlen-1 bytes of in to out with every byte outside printable
 * ASCII, and the backslash, written as \xHH (\\ for the backslash); an
 * over-long value ends in "...".  in may be NULL ("(null)").  Returns out.
 */
char *ab_escape(const char *in, char *out, size_t outlen);

/* Write a duration as "1w2d3h4m5s" (largest units, zeros left out). */
char *ab_fmt_duration(int64_t secs, char *out, size_t outlen);

#define AB_SERVICE_MAX		32	/* a PAM service name, NUL included */

/*
 * A PAM service name as the store keeps it: letters, digits and ".-_+"
 * kept, any other byte turned into '_', cut to AB_SERVICE_MAX - 1 bytes.
 * Returns 0, or -1 if in was NULL or empty (out is then "").
 */
int ab_service_name(const char *in, char out[AB_SERVICE_MAX]);

/* ---- trust ------------------------------------------------------------- */

#define AB_NOUID	((uid_t)-1)

/*
 * Judge an open fd: a directory (want_dir) or a regular file, owned by
 * root, by the caller or by also (AB_NOUID: no one else), not writable by
 * group or other.  what and name go into the message ("config" and the
 * escaped path).  Returns 0 and *out (may be NULL), or AB_EUNTRUSTED or
 * -errno, logged through log (may be NULL).
 */
int trust_fd(int fd, int want_dir, uid_t also, const char *what,
    const char *name, const struct ab_log *log, struct stat *out);

/* ---- addresses --------------------------------------------------------- */

/*
 * An IPv4 or IPv6 address or prefix.  IPv4 uses a[0..3]; bytes past the
 * prefix are always zero once addr_mask() has run.
 */
struct ab_addr {
	uint8_t family;		/* 4 or 6 */
	uint8_t plen;		/* 0..32 or 0..128 */
	uint8_t a[16];
};

#define AB_ADDRSTRLEN	(46 + 4)	/* INET6_ADDRSTRLEN + "/128" */
#define AB_RHOST_MAX	255		/* longer PAM_RHOST values are refused */

/*
 * Parse a host address as PAM_RHOST carries it: IPv4, IPv6, IPv4-mapped
 * IPv6 (returned as IPv4), optional [brackets] and %zone.  Never resolves
 * names.  plen is set to the full length.  Returns 0 or AB_EADDR.
 */
int addr_parse(const char *s, struct ab_addr *out);

/*
 * Parse "ADDR" or "ADDR/LEN" (admin input, ignoreip).  A bare ADDR gets the
 * full length.  Host bits past LEN must be zero unless loose is set, in which
 * case they are cleared.  Returns 0 or AB_EADDR.
 */
int addr_parse_prefix(const char *s, int loose, struct ab_addr *out);

/* Clear every bit past plen and set a->plen (clamped to the family). */
void addr_mask(struct ab_addr *a, unsigned plen);

/* 1 if host lies inside net (same family, first net->plen bits equal). */
int addr_contains(const struct ab_addr *net, const struct ab_addr *host);

/* 1 if a and b share any address (CIDR prefixes nest or are disjoint). */
int addr_overlaps(const struct ab_addr *a, const struct ab_addr *b);

/* 1 for 127.0.0.0/8 and ::1. */
int addr_is_loopback(const struct ab_addr *a);

/* "203.0.113.7", "2001:db8::/64": the address, "/LEN" when not full. */
char *addr_format(const struct ab_addr *a, char *out, size_t outlen);

/* Number of address bits of the family (32 or 128). */
static inline unsigned addr_bits(const struct ab_addr *a)
{
	return a->family == 4 ? 32 : 128;
}

/* ---- configuration ----------------------------------------------------- */

#define AB_PATH_MAX		256
#define AB_IGNORE_MAX		256
#define AB_IGNORE_NAMES_MAX	8	/* host names in ignoreip */
#define AB_NAME_MAX		253	/* a DNS name, without the final dot */
#define AB_ALLOW_ADDRS_MAX	16	/* addresses kept per name */
#define AB_TRUST_USER_MAX	64	/* a user name that can earn trust */
#define AB_TRUST_FAILS_MAX	1000	/* a trusted pair's failures kept */
#define AB_PORTS_MAX		32
#define AB_MAXRETRY_MAX		100
#define AB_DURATION_MAX		(366LL * 86400)	/* longest ban: a year */
#define AB_FLEET_NAME_MAX	64	/* a server's fleet_name, NUL included */

enum ab_on_error { AB_ON_ERROR_OPEN = 0, AB_ON_ERROR_CLOSED = 1 };
enum ab_backend { AB_BACKEND_NFT = 0, AB_BACKEND_IPSET = 1 };

struct ab_config {
	unsigned maxretry;		/* failures allowed in findtime */
	int64_t findtime;		/* seconds */
	int64_t bantime;		/* seconds, first ban */
	unsigned bantime_increment;	/* factor per repeat ban, 1 = off */
	int64_t bantime_max;		/* seconds */
	int64_t forget_after;		/* seconds an offence is remembered */
	unsigned ipv4_prefix;		/* unit counted and banned */
	unsigned ipv6_prefix;
	int on_error;			/* enum ab_on_error */
	char db[AB_PATH_MAX];		/* directory of the durable store */
	char runtime_dir[AB_PATH_MAX];	/* directory of counts, socket */
	size_t mapsize;			/* LMDB map size of each store */
	size_t nignore;
	struct ab_addr ignore[AB_IGNORE_MAX];
	/* ignoreip host names: banhelper resolves them (store_allow_*) */
	size_t nignore_names;
	char ignore_names[AB_IGNORE_NAMES_MAX][AB_NAME_MAX + 1];
	int64_t resolve_interval;	/* seconds between resolutions */
	int64_t resolve_keep;		/* last addresses kept this long */
	unsigned trust_factor;		/* earned trust: maxretry times; 1 off */
	int64_t trust_window;		/* a good login earns it this long */
	/* banhelper only */
	int backend;			/* enum ab_backend */
	size_t nports;
	uint16_t ports[AB_PORTS_MAX];	/* empty: drop all traffic */
	int64_t sync_interval;		/* seconds between reconcile ticks */
	int realtime;			/* daemon at SCHED_FIFO 1 if it can */
	char user[33];			/* the daemon's own user */
	char report_group[33];		/* may report besides root; "" none */
	unsigned report_rate;		/* reports a second per peer uid */
	/* fleet = redis://HOST:PORT: bans shared through Redis (fleet.c) */
	char fleet_host[AB_NAME_MAX + 1];	/* "" no fleet */
	uint16_t fleet_port;
	char fleet_password_file[AB_PATH_MAX];	/* "" no AUTH */
	char fleet_name[AB_FLEET_NAME_MAX];	/* "" the host name */
	unsigned fleet_accept;		/* AB_FLEET_AUTO | AB_FLEET_MANUAL */
	unsigned fleet_rate;		/* events a minute per origin */
	/* metrics = yes: the daemon writes Prometheus' text (metrics.c) */
	int metrics;
	int64_t metrics_interval;	/* seconds between writes */
	char metrics_dir[AB_PATH_MAX];	/* node_exporter's textfile dir */
};

enum { AB_FLEET_AUTO = 1, AB_FLEET_MANUAL = 2 };

/* 1 if s can be a fleet_name: 1 to 63 of [A-Za-z0-9._-]. */
int config_fleet_name_ok(const char *s);

/* Fill cfg with the documented defaults. */
void config_defaults(struct ab_config *cfg);

/*
 * Set one key from text.  where/line name the source for messages ("file
 * /etc/security/autoban.conf line 7", "module argument 3").  An unknown key
 * or bad value is logged and the previous value kept.  Returns 0 or
 * AB_ECONFIG.
 */
int config_set(struct ab_config *cfg, const char *key, const char *value,
    const char *where, unsigned line, const struct ab_log *log);

/*
 * Read a key = value file into cfg.  The file is opened with O_NOFOLLOW and
 * checked on the open fd (regular, owned by root or the caller, not writable
 * by group or other).  A missing file is not an error when !required.
 * Returns 0; AB_EUNTRUSTED or -errno (file unusable, cfg untouched); or
 * AB_ECONFIG (file read, some lines rejected and logged).
 */
int config_load(struct ab_config *cfg, const char *path, int required,
    const struct ab_log *log);

/*
 * Parse len bytes of a configuration file's text (any bytes; buf must have
 * room for len + 1, and is modified) into cfg, as config_load does after
 * its checks; where names it in messages.  Returns 0 or AB_ECONFIG.
 */
int config_parse(struct ab_config *cfg, char *buf, size_t len,
    const char *where, const struct ab_log *log);

/*
 * Parse "30", "10m", "1h", "2d", "1w" into seconds (max AB_DURATION_MAX).
 * Returns 0 or AB_ECONFIG.
 */
int config_parse_duration(const char *s, int64_t *out);

/* The counting unit of host: masked to ipv4_prefix or ipv6_prefix. */
void config_unit(const struct ab_config *cfg, const struct ab_addr *host,
    struct ab_addr *unit);

/* Unit prefix length for a family (4 or 6). */
unsigned config_unit_plen(const struct ab_config *cfg, int family);

/* 1 if host is loopback or inside an ignoreip entry. */
int config_is_ignored(const struct ab_config *cfg, const struct ab_addr *host);

/* ---- the store --------------------------------------------------------- */

/*
 * TRUSTED: an automatic ban of a prefix some user earned trust from
 * (earned.c): refused at PAM, never put into the kernel.
 */
enum ab_origin { AB_ORIGIN_AUTO = 0, AB_ORIGIN_MANUAL = 1,
	AB_ORIGIN_TRUSTED = 2 };

/* "auto", "manual" or "trusted". */
const char *ab_origin_name(int origin);

/* One record of the durable store: a prefix and its ban history. */
struct ab_ban {
	struct ab_addr prefix;
	uint8_t origin;		/* of the current or last ban */
	uint32_t nbans;		/* bans of this prefix still remembered */
	uint32_t failures;	/* failures that led to the last ban */
	int64_t start;		/* start of the last ban (s since epoch) */
	int64_t until;		/* its end; active while until > now */
	uint64_t seq;		/* change number of its last kernel change */
	char service[AB_SERVICE_MAX];	/* whose failures made the last auto
					 * ban; "" for manual bans */
	char from[AB_FLEET_NAME_MAX];	/* the fleet server the ban came
					 * from; "" for a ban made here */
	int svc_delta;		/* set by a store_ban_fn: added to the
				 * service's total bans (not stored) */
};

/* One record of the counts store: failures of a unit in the window. */
struct ab_counter {
	struct ab_addr prefix;
	unsigned nfail;
	int64_t fail[AB_MAXRETRY_MAX];	/* ns since epoch, ascending, unique */
	int64_t last_success;		/* s since epoch, 0 = never */
	uint32_t nsucc;
	char service[AB_SERVICE_MAX];	/* of the last failure recorded */
	/* Set by a store_count_fn, not stored: svc_delta is added to the
	 * total failures of svc_delta_of (NULL: of service). */
	int svc_delta;
	const char *svc_delta_of;
};

struct ab_store;

/*
 * Open (creating if needed) the store directories named by cfg and check
 * them on their open fds.  No LMDB environment stays open: every call below
 * opens one, runs one short transaction and closes it (but see
 * store_keep).  cfg and log must
 * outlive the handle.  Returns 0 and *stp (free with store_close), or
 * AB_EUNTRUSTED / -errno, logged with the path and the reason.
 */
int store_open(struct ab_store **stp, const struct ab_config *cfg,
    const struct ab_log *log);

/* Close a handle from store_open (NULL is fine). */
void store_close(struct ab_store *st);

/*
 * Write environments kept from one store handle to the next, for a caller
 * that makes several attempts in one process (the module: one per PAM
 * handle, so that the attempts of one sshd connection open LMDB once).
 * store_keep attaches k to st: a write transaction that commits leaves its
 * environment in k, unlocked, and the next write transaction on the same
 * file takes it back after the usual checks (the file judged again under
 * its lock, still the one under its name, same directory, map size and
 * process).  A keep found in another process (after fork) is closed, never
 * used.  keep_new returns NULL when out of memory (nothing is then kept).
 */
struct ab_keep;
struct ab_keep *store_keep_new(void);
void store_keep_free(struct ab_keep *k);
void store_keep(struct ab_store *st, struct ab_keep *k);

/* The configuration and log a handle was opened with. */
const struct ab_config *store_config(const struct ab_store *st);
const struct ab_log *store_log(const struct ab_store *st);

/* 1 if a store directory's path no longer names the directory st holds
 * (removed and made anew, restored): the caller should open it again. */
int store_moved(struct ab_store *st);

/*
 * Give both store directories and the store files in them to uid:gid
 * (banhelper's user), creating the directories if missing.  For root,
 * before it drops to that user.  Returns 0 or an error (logged).
 */
int store_set_owner(const struct ab_config *cfg, uid_t uid, gid_t gid,
    const struct ab_log *log);

/* Iterators get each record; they return 0 to go on, non-zero to stop (and
 * that value is returned). */
typedef int (*store_ban_iter_fn)(const struct ab_ban *rec, void *arg);
typedef int (*store_count_iter_fn)(const struct ab_counter *rec, void *arg);

/*
 * Call fn for each durable record of a prefix covering host, at every
 * prefix length in use, shortest first, in one read transaction.
 */
int store_ban_covering(struct ab_store *st, const struct ab_addr *host,
    store_ban_iter_fn fn, void *arg);

/*
 * The same, also answering in that transaction whether the pair (unit,
 * user) logged in at or after since (earned trust): q->trusted 1 or 0.
 * One read of the ban store per attempt, not two.
 */
struct ab_trust_probe {
	struct ab_addr unit;
	const char *user;
	int64_t since;
	int trusted;			/* out */
};
int store_ban_covering_probe(struct ab_store *st, const struct ab_addr *host,
    store_ban_iter_fn fn, void *arg, struct ab_trust_probe *q);

/* What a store_*_update or sweep callback asks for. */
enum { AB_KEEP = 0, AB_WRITE = 1, AB_DELETE = 2 };

/*
 * Read-modify-write the durable record of prefix in one write transaction:
 * fn gets the record (zeroed, with found == 0, if absent) and returns
 * AB_KEEP, AB_WRITE or AB_DELETE (or a negative error to abort).  A change of
 * the ban's start or end, or the deletion of an unexpired ban, gets a new
 * change number (see store_changes).  A store above its high-water mark
 * then makes room (lib/store_maint.c).
 */
typedef int (*store_ban_fn)(struct ab_ban *rec, int found, void *arg);
int store_ban_update(struct ab_store *st, const struct ab_addr *prefix,
    store_ban_fn fn, void *arg);

/*
 * store_ban_update for n prefixes in one write transaction (bulk bans):
 * fn also gets the index into prefixes.  AB_EFULL if they do not fit:
 * nothing was written.
 */
typedef int (*store_ban_many_fn)(size_t i, struct ab_ban *rec, int found,
    void *arg);
int store_ban_update_many(struct ab_store *st, const struct ab_addr *prefixes,
    size_t n, store_ban_many_fn fn, void *arg);

/* Read the durable record at exactly prefix: 1 and *rec, 0 if absent. */
int store_ban_get(struct ab_store *st, const struct ab_addr *prefix,
    struct ab_ban *rec);

/*
 * ignoreip host names (store_allow.c): banhelper writes what NAME resolved
 * to at now (n addresses, at most AB_ALLOW_ADDRS_MAX kept); get reads them
 * back (1 and *n and *last_ok, 0 if none); match says whether host is one of
 * the fresh addresses of a name in cfg (1, 0, or an error): fresh until
 * resolve_interval + resolve_keep after the name last resolved.
 */
int store_allow_put(struct ab_store *st, const char *name,
    const struct ab_addr *a, size_t n, int64_t now);
int store_allow_get(struct ab_store *st, const char *name, struct ab_addr *a,
    size_t max, size_t *n, int64_t *last_ok);
int store_allow_match(struct ab_store *st, const struct ab_config *cfg,
    const struct ab_addr *host, int64_t now);
/* A name's addresses resolved at last_ok are still allowed at now. */
int store_allow_fresh(const struct ab_config *cfg, int64_t last_ok,
    int64_t now);
/* prefix overlaps an allowed address of a name in ignoreip: 1 or 0. */
int store_allow_covers(struct ab_store *st, const struct ab_addr *prefix,
    int64_t now);

/*
 * The fleet's bookkeeping in the ban store's meta table (store_allow.c):
 * a short value (at most 128 bytes) under "fleet:KEY".  get: 1 and the
 * value NUL-terminated in out, 0 if absent.
 */
int store_fleet_get(struct ab_store *st, const char *key, char *out,
    size_t outlen);
int store_fleet_put(struct ab_store *st, const char *key, const char *val);

/*
 * Failures (bans 0) or automatic bans (bans 1) in each of n hours from
 * hour from (hours since the epoch) into out (store_hours.c).  keep: the
 * daemon, once a minute, copies the closed hours' failures from the
 * volatile counts store into the ban store and forgets hours past 31 days.
 */
int store_hours(struct ab_store *st, int bans, int64_t from, size_t n,
    uint64_t *out);
int store_hours_keep(struct ab_store *st, int64_t now);

/*
 * Earned trust (store_trust.c).  store_trust_user: 1 if user can earn
 * trust (1 to AB_TRUST_USER_MAX printable bytes, no space).  put: the pair
 * logged in at now (s).  since: 1 if the pair (user NULL: any user of the
 * unit) logged in at or after since, with the latest in *last (may be
 * NULL).  foreach: every trust record.  tfail_update: read-modify-write a
 * pair's failures (ns, ascending) in the counts store; fn returns
 * AB_WRITE, AB_KEEP or AB_DELETE.  forget_fails: drop them.  prune:
 * records older than before (s; tfail: ns of the newest failure); the
 * number dropped, or an error.
 */
typedef int (*store_trust_fn)(const struct ab_addr *unit, const char *user,
    int64_t last, void *arg);
typedef int (*store_tfail_fn)(int64_t *t, size_t *n, size_t max, void *arg);
int store_trust_user(const char *user);
int store_trust_put(struct ab_store *st, const struct ab_addr *unit,
    const char *user, int64_t now);
int store_trust_since(struct ab_store *st, const struct ab_addr *unit,
    const char *user, int64_t since, int64_t *last);
int store_trust_foreach(struct ab_store *st, store_trust_fn fn, void *arg);
int store_tfail_update(struct ab_store *st, const struct ab_addr *unit,
    const char *user, store_tfail_fn fn, void *arg);
int store_trust_forget_fails(struct ab_store *st, const struct ab_addr *unit,
    const char *user);
int store_trust_prune(struct ab_store *st, int64_t before);
int store_tfail_prune(struct ab_store *st, int64_t before_ns);

/* Same as store_ban_update for the counts record of a unit. */
typedef int (*store_count_fn)(struct ab_counter *rec, int found, void *arg);
int store_count_update(struct ab_store *st, const struct ab_addr *unit,
    store_count_fn fn, void *arg);

/*
 * store_count_update for n units in one write transaction (bulk imports and
 * benchmarks).  AB_EFULL if they do not fit: nothing written.
 */
int store_count_update_many(struct ab_store *st, const struct ab_addr *units,
    size_t n, store_count_fn fn, void *arg);

/* Read one counts record: 1 and *rec, 0 if absent, or an error. */
int store_count_get(struct ab_store *st, const struct ab_addr *unit,
    struct ab_counter *rec);

/* Delete the counts record of unit (absent is fine). */
int store_count_delete(struct ab_store *st, const struct ab_addr *unit);

/*
 * Call fn for every durable record (in key order: family, prefix length,
 * address) in one read transaction.
 */
int store_ban_foreach(struct ab_store *st, store_ban_iter_fn fn, void *arg);

/*
 * Call fn for every durable record of family (4 or 6) except those of
 * prefix length skip_plen, in one read transaction (stops on non-zero).
 */
int store_ban_foreach_family(struct ab_store *st, int family, int skip_plen,
    store_ban_iter_fn fn, void *arg);

/* Same for every counts record. */
int store_count_foreach(struct ab_store *st, store_count_iter_fn fn,
    void *arg);

/*
 * Apply fn to every durable record (found is 1), at most batch changes
 * per write transaction: AB_KEEP, AB_WRITE (rec changed) or AB_DELETE, as
 * store_ban_update.  A malformed record is deleted.  *n (may be NULL):
 * records written or deleted.
 */
int store_ban_sweep(struct ab_store *st, store_ban_fn fn, void *arg,
    size_t batch, size_t *n);

/* The same for every counts record. */
int store_count_sweep(struct ab_store *st, store_count_fn fn, void *arg,
    size_t batch, size_t *n);

/*
 * The kernel-facing changes after change number since: fn gets each prefix
 * whose ban changed and its record now (NULL if the record is gone), in
 * change order.  *last is set to the newest change number.  Cost is
 * O(changes).  AB_ENOTFOUND: the store is older than since (replaced), so
 * the caller must reconcile in full.
 */
typedef int (*store_change_fn)(const struct ab_addr *prefix,
    const struct ab_ban *rec, void *arg);
int store_changes(struct ab_store *st, uint64_t since, uint64_t *last,
    store_change_fn fn, void *arg);

/*
 * Drop the oldest change records whose prefix has no record (tombstones
 * of deleted bans) made before older, at most max of them.  A reader of
 * the change log from before them gets AB_ENOTFOUND from store_changes and
 * must reconcile in full.  *n (may be NULL): how many went.
 */
int store_changes_trim(struct ab_store *st, int64_t older, size_t max,
    size_t *n);

/*
 * Delete every durable record (and counts record): banhelper unban --all.
 * Each unexpired ban gets a change record.  *n is the number removed.
 */
int store_clear(struct ab_store *st, int64_t now, size_t *n);

/*
 * Judge the ban store's file as a reader would: 0 if it is sound or
 * absent, AB_ECORRUPT (it fails its checks), AB_EVERSION, or another error.
 */
int store_check(struct ab_store *st);

/*
 * Move the ban store's file aside (kept as bans.mdb.broken-TIME, logged),
 * so the next write starts a new store.  Returns 0 or -errno.
 */
int store_set_aside(struct ab_store *st);

/* Sizes of one store: its file, its records, how many it may hold. */
struct ab_store_part {
	uint64_t bytes, records, capacity;
};

struct ab_store_stat {
	struct ab_store_part bans, counts;
	uint64_t last_change;		/* newest change number */
	uint64_t changes;		/* change records kept */
	uint8_t id[16];			/* the ban store's identity */
};

/* Sizes, record counts and identity of both stores. */
int store_stat(struct ab_store *st, struct ab_store_stat *out);

/*
 * Totals the stores keep, each since its store was made: per service,
 * AB_TOTAL_FAILED failures counted (less attempts refunded by a good
 * login), AB_TOTAL_BANNED auto bans made, AB_TOTAL_REFUSED attempts the
 * module refused; per origin (ab_origin_name, or "fleet"), AB_TOTAL_BANS
 * bans made and AB_TOTAL_UNBANS bans lifted before their end.
 * store_totals calls fn(name, kind, total) for each; fn returns 0 to go
 * on, anything else stops the walk and is returned.
 */
enum { AB_TOTAL_FAILED, AB_TOTAL_BANNED, AB_TOTAL_REFUSED, AB_TOTAL_BANS,
	AB_TOTAL_UNBANS };
typedef int (*store_total_fn)(const char *name, int kind, uint64_t total,
    void *arg);
int store_totals(struct ab_store *st, int kind, store_total_fn fn,
    void *arg);

/* One refusal of the service counted (one short write of the counts
 * store); 0 or an error. */
int store_refusal(struct ab_store *st, const char *service);

/* ---- policy: what the front ends call ---------------------------------- */

enum ab_verdict {
	AB_PASS = 0,		/* go on to the password check */
	AB_REFUSE = 1,		/* host is banned: refuse now */
	AB_BANNED = 2,		/* this call banned the host: refuse now */
	AB_IGNORED = 3,		/* allowlisted: never counted or banned */
};

struct ab_decision {
	int verdict;			/* enum ab_verdict */
	struct ab_ban ban;		/* the ban that applies (REFUSE/BANNED) */
	unsigned failures;		/* failures in the window after the call */
	int64_t attempt;		/* id of the recorded attempt, 0 = none */
};

/*
 * One-line mode, before the password modules: refuse if banned; ban and
 * refuse if the unit already has maxretry failures in findtime; otherwise
 * record this attempt as a failure (refunded by policy_refund on success)
 * and pass.  now_ns: CLOCK_REALTIME in ns.  service: the PAM service the
 * attempt came through (ab_service_name), recorded with the failure and
 * any ban it makes, and counted in its totals; NULL or "" for none.
 */
int policy_attempt(struct ab_store *st, const struct ab_addr *host,
    const char *service, int64_t now_ns, struct ab_decision *d);

/*
 * The same with the PAM user (may be NULL): a pair that earned trust
 * (earned.c) is counted apart, up to trust_factor * maxretry.
 */
int policy_attempt_user(struct ab_store *st, const struct ab_addr *host,
    const char *service, const char *user, int64_t now_ns,
    struct ab_decision *d);
int policy_fail_user(struct ab_store *st, const struct ab_addr *host,
    const char *service, const char *user, int64_t now_ns,
    struct ab_decision *d);
int policy_refund_user(struct ab_store *st, const struct ab_addr *host,
    const char *service, const char *user, int64_t attempt, int64_t now_ns);

/*
 * A good login of user from host at now (s), by any method (the account
 * line, a good password): the pair earns trust, and a PAM-only ban of the
 * unit ends.  1 if a ban ended, 0, or an error.  Nothing when trust is off.
 */
int policy_trust_success(struct ab_store *st, const struct ab_addr *host,
    const char *user, int64_t now);

/* A ban's end as the kernel should have it: 0 for AB_ORIGIN_TRUSTED. */
int64_t policy_kernel_end(const struct ab_config *cfg,
    const struct ab_ban *rec, int64_t now);

/* preauth: refuse if banned, otherwise pass; records nothing. */
int policy_check(struct ab_store *st, const struct ab_addr *host,
    int64_t now_ns, struct ab_decision *d);

/* authfail: record a failure; ban when it is the maxretry-th. */
int policy_fail(struct ab_store *st, const struct ab_addr *host,
    const char *service, int64_t now_ns, struct ab_decision *d);

/* authsucc: record a success (failures are kept). */
int policy_success(struct ab_store *st, const struct ab_addr *host,
    int64_t now_ns);

/*
 * One-line mode after a good login: remove attempt id of host's unit (a
 * no-op when already gone, so a second call changes nothing) and record the
 * success.  Returns 1 if refunded, 0 if there was nothing to refund.
 */
int policy_refund(struct ab_store *st, const struct ab_addr *host,
    const char *service, int64_t attempt, int64_t now_ns);

/*
 * Why prefix may not be banned from outside the module (by hand without
 * force, by another server of a fleet): "loopback", "in ignoreip", "an
 * ignoreip name's address", or NULL (policy_manual.c).
 */
const char *policy_protected(struct ab_store *st, const struct ab_addr *prefix,
    int64_t now);

/*
 * Manual ban of prefix for secs seconds (0: bantime).  Refuses a prefix that
 * overlaps loopback or ignoreip unless force (AB_EIGNORED).  *ban gets the
 * record.
 */
int policy_ban_manual(struct ab_store *st, const struct ab_addr *prefix,
    int64_t secs, int force, int64_t now, struct ab_ban *ban);

/*
 * Manual bans of n prefixes in one transaction (banhelper ban -).  res[i]
 * gets 0 (banned) or AB_EIGNORED (refused, see policy_ban_manual);
 * was_active[i] (may be NULL) whether an unexpired ban was there before.
 * Returns 0 or a store error (then nothing was written).
 */
int policy_ban_manual_many(struct ab_store *st, const struct ab_addr *prefixes,
    size_t n, int64_t secs, int force, int64_t now, int *res,
    uint8_t *was_active);

/*
 * Unban: delete the durable record of prefix and the counts of every unit
 * inside it, so the host starts fresh.  1 if a record existed, 0 if not.
 */
int policy_unban(struct ab_store *st, const struct ab_addr *prefix,
    int64_t now);

/* Length of the next automatic ban of a unit banned n times before. */
int64_t policy_ban_length(const struct ab_config *cfg, uint32_t n);

/*
 * When rec's ban ends as the rules see it at now, 0 if it is not active:
 * never later than its own length from now (a record made before the
 * clock stepped back), and an automatic ban never longer than bantime_max.
 */
int64_t policy_ban_end(const struct ab_config *cfg, const struct ab_ban *rec,
    int64_t now);

/*
 * The active ban covering host at now (any prefix length in use), with
 * until set to policy_ban_end: 1 and *ban, 0 if none, or an error.  If
 * unit is not NULL, *unit_rec gets the record of that prefix (active or
 * not) and *unit_found whether it exists.  Records dated ahead of the
 * clock are set right on the way (a write).
 */
int policy_find_ban(struct ab_store *st, const struct ab_addr *host,
    int64_t now, struct ab_ban *ban, const struct ab_addr *unit,
    struct ab_ban *unit_rec, int *unit_found);

/*
 * Forget what no longer matters at now: counts with no failure inside
 * findtime and no success either; durable records whose ban ended more
 * than forget_after ago; change records a day old whose prefix has no
 * record.  Records dated ahead of the clock are set right.  *nb, *nc (may
 * be NULL): durable and counts records changed or removed.
 */
int policy_prune(struct ab_store *st, int64_t now, size_t *nb, size_t *nc);

/* Failures of rec inside the window at now_ns, ignoring those <= since_ns. */
/*
 * What banhelper status shows per PAM service, as fail2ban shows per jail:
 * hosts (units) whose last failure in findtime came from the service, its
 * failures counted since the counts store was made (less refunds), its
 * auto bans active now, and made since the ban store was made.
 */
struct ab_service_stat {
	char name[AB_SERVICE_MAX];
	size_t failed_now, banned_now;
	uint64_t failed_total, banned_total, refused_total;
};

/* Every service the stores know, sorted by name: *out (free()), *n. */
int policy_services(struct ab_store *st, int64_t now,
    struct ab_service_stat **out, size_t *n);

unsigned policy_window(const struct ab_config *cfg, const struct ab_counter *rec,
    int64_t now_ns, int64_t since_ns);

/* ---- waking banhelper -------------------------------------------------- */

/*
 * Send one datagram to banhelper's socket in runtime_dir.  Best effort: never
 * blocks, and a missing daemon is not an error.  Returns 0 or -errno.
 */
int wake_send(const struct ab_config *cfg);

#endif /* AUTOBAN_H */
