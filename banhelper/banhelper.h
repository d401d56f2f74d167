/*
 * banhelper.h - what crosses files inside banhelper.
 */
#ifndef BANHELPER_H
#define BANHELPER_H

#include <stddef.h>
#include <stdint.h>

#include "autoban.h"

/* Exit codes (documented in banhelper(8)). */
enum {
	BH_OK = 0,
	BH_ERR = 1,		/* store, firewall or system error */
	BH_USAGE = 2,		/* bad command line */
	BH_PARTIAL = 3,		/* some items refused, the rest done */
	BH_PERM = 4,		/* missing privilege */
};

/* Everything a command needs: configuration, options, where to log. */
struct bh {
	struct ab_config cfg;
	const char *conf_path;
	struct ab_log log;
	int use_syslog;		/* run --syslog */
	int daemon;		/* the command is run */
	int json, all, force;
	int64_t for_secs;	/* ban --for, 0: bantime */
};

/* Log to stderr ("banhelper: ...") or syslog (LOG_AUTHPRIV). */
void bh_log(void *ctx, int prio, const char *msg);

/* Print "banhelper: ..." to stderr (command-line errors). */
void bh_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- firewall ------------------------------------------------------------
 *
 * The kernel holds, per family, a "unit" set (bans at ipv4_prefix /
 * ipv6_prefix: never overlapping) and a "net" set (bans of any other length,
 * written as a disjoint partition: each piece's timeout is the latest end of
 * the bans covering it).  Every element's timeout is its ban's time left,
 * so bans end on time whether or not the daemon runs.
 */

/* One element change: timeout 0 removes it. */
struct fw_ban {
	struct ab_addr prefix;
	int64_t timeout;	/* seconds left */
	int fresh;		/* known absent from the kernel: a plain add */
};

/* What a backend is asked to do in one transaction. */
struct fw_plan {
	int full;		/* replace everything */
	struct fw_ban *units;	/* unit-set elements to set or remove */
	size_t nunits;
	int net_changed[2];	/* rebuild the net set of v4 [0] / v6 [1] */
	struct fw_ban *net[2];	/* then: every active net ban of the family */
	size_t nnet[2];
};

/* A kernel element as an inclusive address range (for checking). */
struct fw_range {
	uint8_t family;
	uint8_t lo[16], hi[16];
	int64_t timeout;
};

struct fw;

struct fw_ops {
	const char *name;
	/* 1: net sets hold the bans as they are (the backend copes with
	 * nesting); 0: they hold the disjoint partition (fw_partition). */
	int net_raw;
	int (*init)(struct fw *fw);
	void (*fini)(struct fw *fw);
	/* Apply a plan atomically where the backend can. */
	int (*apply)(struct fw *fw, const struct fw_plan *plan);
	/* 1 if the table/sets/rules are all there, 0 if not, or an error. */
	int (*present)(struct fw *fw);
	/* Every element now in the kernel (caller frees *out). */
	int (*list)(struct fw *fw, struct fw_range **out, size_t *n);
};

struct fw {
	const struct fw_ops *ops;
	const struct ab_config *cfg;
	const struct ab_log *log;
	void *priv;
	char error[400];	/* the backend's last complaint, if any */
};

extern const struct fw_ops fw_nft_ops;
extern const struct fw_ops fw_ipset_ops;

/* Open the backend cfg names.  Returns 0 and *fwp, or an error. */
int fw_open(struct fw **fwp, const struct ab_config *cfg,
    const struct ab_log *log);
void fw_close(struct fw *fw);

/* Replace the kernel's state with the store's active bans.  *n: elements. */
int fw_sync_full(struct fw *fw, struct ab_store *st, int64_t now, size_t *n);

/*
 * Bring these prefixes, whose store records just changed, into the kernel
 * as the store now has them (one read per unit prefix).
 */
int fw_sync_prefixes(struct fw *fw, struct ab_store *st,
    const struct ab_addr *prefixes, size_t n, int64_t now);

/*
 * The same when the caller knows each unit prefix's new timeout (0: no
 * ban) and whether it was absent before (fresh); prefixes of other lengths
 * make their family's net set be rebuilt from the store.
 */
int fw_apply_bans(struct fw *fw, struct ab_store *st, const struct fw_ban *bans,
    size_t n, int64_t now);

/* Apply the store's changes after *seq; *seq advances.  O(changes). */
int fw_sync_changes(struct fw *fw, struct ab_store *st, uint64_t *seq,
    int64_t now);

/* How the kernel compares with the store. */
struct fw_check {
	int present;
	size_t want, have, missing, extra;
};
int fw_check(struct fw *fw, struct ab_store *st, int64_t now,
    struct fw_check *out);

/* A growing text buffer for backend commands; oom is sticky. */
struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

/* Append formatted text to sb (sets sb->oom and stops on failure). */
void sb_printf(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Merge nested prefix bans into disjoint ranges (see fw.c); frees none. */
int fw_partition(const struct fw_ban *in, size_t n, struct fw_range **out,
    size_t *nout);

/* The range a prefix covers: family, lo and hi of r (timeout untouched). */
void fw_prefix_range(const struct ab_addr *p, struct fw_range *r);

/* Text of a range for nft or ipset: "a", "a/len" or "a-b". */
char *fw_range_text(const struct fw_range *r, char *buf, size_t len);

/* ---- privileges ---------------------------------------------------------- */

/*
 * Keep only CAP_NET_ADMIN in the permitted and effective sets (with ipset:
 * CAP_NET_RAW too, and both inheritable, for its helper programs), empty
 * the bounding and ambient sets, set no_new_privs, then read everything
 * back.  Returns 0, or an error with the reason logged: the caller must
 * refuse to run.
 */
int caps_drop_to_net_admin(const struct ab_log *log, int ipset);

/* 1 if CAP_NET_ADMIN is in the effective set. */
int caps_have_net_admin(void);

/* ---- commands ------------------------------------------------------------ */

int cmd_list(struct bh *bh);
int cmd_ban(struct bh *bh, int argc, char **argv);
int cmd_unban(struct bh *bh, int argc, char **argv);
int cmd_status(struct bh *bh);
int cmd_sync(struct bh *bh);
int cmd_run(struct bh *bh);

/* Check privileges for a changing command; prints what is missing. */
int need_privileges(const struct bh *bh, const char *cmd);

/* Read cfg from bh->conf_path (errors printed).  0, or an exit code. */
int load_config(struct bh *bh, int strict);

#endif
