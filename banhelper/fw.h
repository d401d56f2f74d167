/*
 * fw.h - the firewall: from the store's bans to the kernel.
 *
 * The kernel holds, per family, a "unit" set (bans at ipv4_prefix /
 * ipv6_prefix: never overlapping) and a "net" set (bans of any other
 * length, written as a disjoint partition: each piece's timeout is the
 * latest end of the bans covering it).  Every element's timeout is its
 * ban's time left, so bans end on time whether or not the daemon runs.
 *
 *   fw.c            plans: what changes, from the store (any backend)
 *   fw_partition.c  prefixes as address ranges, nested bans made disjoint
 *   fw_nft.c        the nftables backend (libnftables)
 *   fw_nl.c         its small changes as one netlink batch (libnftnl)
 *   fw_ipset.c      the ipset + iptables backend
 */
#ifndef FW_H
#define FW_H

#include <stddef.h>
#include <stdint.h>

#include "autoban.h"

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
	/*
	 * A number that changes whenever anyone changes the firewall
	 * (nftables' ruleset generation): 0 and *gen, or -1 if the backend
	 * has none (then every check lists the elements).
	 */
	int (*generation)(struct fw *fw, uint32_t *gen);
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

/* ---- fw.c --------------------------------------------------------------- */

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

/*
 * The same without listing the kernel (a listing costs as much as the
 * elements): for a caller that knows the kernel holds what it last put
 * there (the daemon, its generation unmoved).  out->have is out->want.
 */
int fw_check_known(struct fw *fw, struct ab_store *st, int64_t now,
    struct fw_check *out);

/* ---- fw_partition.c: pure, no kernel ------------------------------------ */

/*
 * Merge nested prefix bans of one family into disjoint ranges, each timed
 * by the longest ban covering it; neighbours with equal timeouts merge.
 * Returns 0 and *out (caller frees), or -ENOMEM.  O(n log n).
 */
int fw_partition(const struct fw_ban *in, size_t n, struct fw_range **out,
    size_t *nout);

/* The range a prefix covers: family, lo and hi of r (timeout untouched). */
void fw_prefix_range(const struct ab_addr *p, struct fw_range *r);

/*
 * The fewest prefixes that cover exactly range r, lowest first: at most
 * max of them into out; returns how many.
 */
size_t fw_range_prefixes(const struct fw_range *r, struct ab_addr *out,
    size_t max);

/* Text of a range for nft or ipset: "a", "a/len" or "a-b". */
char *fw_range_text(const struct fw_range *r, char *buf, size_t len);

/* The unit set's element for a unit: its network address, masked. */
struct ab_addr fw_unit_net(const struct ab_addr *a);

/*
 * A change to the unit sets is three steps, as text (fw_nft.c) or as a
 * netlink batch (fw_nl.c).  An element that may be there is first added
 * with a short timeout (a no-op if present), then deleted, then added with
 * its real timeout: deleting an absent element would fail the whole batch,
 * and re-adding does not change a timeout on every kernel.  A full
 * rebuild, into a new table, only adds.
 */
enum fw_step { FW_STEP_PRE, FW_STEP_DEL, FW_STEP_ADD };

/* Does unit b take part in step s of plan? */
int fw_step_takes(const struct fw_plan *plan, const struct fw_ban *b,
    enum fw_step s);

/* b's element timeout in step s, in seconds (0: none, a delete). */
int64_t fw_step_timeout(const struct fw_ban *b, enum fw_step s);

/* ---- fw_nl.c: nftables element batches over netlink (libnftnl) --------- */

struct fw_nl;

/* A netlink socket for nf_tables: 0 and *nl, or -errno. */
int fw_nl_open(struct fw_nl **nl);
void fw_nl_close(struct fw_nl *nl);

/*
 * A change of unit elements only (no full rebuild, no net set, at most
 * FW_NL_MAX_UNITS), as one batch: 0 applied, 1 not such a plan, -1 the
 * kernel refused it (nothing of it was applied).
 */
#define FW_NL_MAX_UNITS	1024
int fw_nl_apply(struct fw_nl *nl, const struct fw_plan *plan);

/* nftables' ruleset generation: 0 and *gen, or -1. */
int fw_nl_generation(struct fw_nl *nl, uint32_t *gen);

#endif
