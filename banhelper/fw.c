/*
 * fw.c - from the store's bans to the kernel, whatever the backend.
 *
 * Plans are built from parsed binary addresses only; backends turn them
 * into their own commands.  Nothing here holds a store transaction while
 * it talks to the kernel: records are copied out first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"

int
fw_open(struct fw **fwp, const struct ab_config *cfg, const struct ab_log *log)
{
	struct fw *fw;
	int rc;

	*fwp = NULL;
	if ((fw = calloc(1, sizeof(*fw))) == NULL)
		return -ENOMEM;
	fw->ops = cfg->backend == AB_BACKEND_IPSET ? &fw_ipset_ops :
	    &fw_nft_ops;
	fw->cfg = cfg;
	fw->log = log;
	if ((rc = fw->ops->init(fw)) != 0) {
		free(fw);
		return rc;
	}
	*fwp = fw;
	return 0;
}

void
fw_close(struct fw *fw)
{
	if (fw == NULL)
		return;
	fw->ops->fini(fw);
	free(fw);
}

/* ---- growable arrays of fw_ban ------------------------------------------ */

struct banvec {
	struct fw_ban *v;
	size_t n, cap;
	int oom;
};

static void
bv_push(struct banvec *bv, const struct ab_addr *p, int64_t timeout,
    int fresh)
{
	if (bv->n == bv->cap) {
		size_t cap = bv->cap ? bv->cap * 2 : 64;
		struct fw_ban *nv = realloc(bv->v, cap * sizeof(*nv));

		if (nv == NULL) {
			bv->oom = 1;
			return;
		}
		bv->v = nv;
		bv->cap = cap;
	}
	bv->v[bv->n].prefix = *p;
	bv->v[bv->n].timeout = timeout;
	bv->v[bv->n].fresh = fresh;
	bv->n++;
}

static int
fi(const struct ab_addr *a)
{
	return a->family == 4 ? 0 : 1;
}

static int
is_unit(const struct ab_config *cfg, const struct ab_addr *p)
{
	return p->plen == config_unit_plen(cfg, p->family);
}

/* ---- full sync ----------------------------------------------------------- */

struct collect {
	const struct ab_config *cfg;
	int64_t now;
	struct banvec units, net[2];
	int only_family;	/* 0: all; 4/6: net bans of that family */
};

static int
collect_cb(const struct ab_ban *rec, void *arg)
{
	struct collect *c = arg;
	int64_t end = policy_kernel_end(c->cfg, rec, c->now);

	if (end == 0)
		return 0;
	if (c->only_family == 0 && is_unit(c->cfg, &rec->prefix))
		bv_push(&c->units, &rec->prefix, end - c->now, 1);
	else if (!is_unit(c->cfg, &rec->prefix))
		bv_push(&c->net[fi(&rec->prefix)], &rec->prefix,
		    end - c->now, 1);
	return 0;
}

static void
collect_free(struct collect *c)
{
	free(c->units.v);
	free(c->net[0].v);
	free(c->net[1].v);
}

int
fw_sync_full(struct fw *fw, struct ab_store *st, int64_t now, size_t *n)
{
	struct collect c;
	struct fw_plan plan;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cfg = fw->cfg;
	c.now = now;
	if ((rc = store_ban_foreach(st, collect_cb, &c)) < 0)
		goto out;
	if (c.units.oom || c.net[0].oom || c.net[1].oom) {
		rc = -ENOMEM;
		goto out;
	}
	memset(&plan, 0, sizeof(plan));
	plan.full = 1;
	plan.units = c.units.v;
	plan.nunits = c.units.n;
	plan.net_changed[0] = plan.net_changed[1] = 1;
	plan.net[0] = c.net[0].v;
	plan.nnet[0] = c.net[0].n;
	plan.net[1] = c.net[1].v;
	plan.nnet[1] = c.net[1].n;
	rc = fw->ops->apply(fw, &plan);
	if (n != NULL)
		*n = c.units.n + c.net[0].n + c.net[1].n;
out:
	collect_free(&c);
	return rc;
}

/* ---- partial sync -------------------------------------------------------- */

static int
cmp_addr(const void *a, const void *b)
{
	const struct fw_ban *x = a, *y = b;

	return memcmp(&x->prefix, &y->prefix, sizeof(x->prefix));
}

/*
 * Above this many elements that may already be in the kernel, a change is
 * made as a full replace instead: nftables (1.0.6) checks each deleted
 * interval against the whole set, so the safe add/delete/add of a change
 * grows with the square of its size (4000 elements: 10 s), while a full
 * replace of the table with plain adds takes milliseconds per 10 000.
 */
#define FW_INCREMENTAL_MAX	256

/* Finish a plan: dedupe units, fetch net bans of changed families, apply. */
static int
plan_apply(struct fw *fw, struct ab_store *st, struct banvec *units,
    int net_changed[2], int64_t now)
{
	struct collect c[2];
	struct fw_plan plan;
	size_t i, o, maybe_present = 0;
	int f, rc = 0;

	memset(c, 0, sizeof(c));
	memset(&plan, 0, sizeof(plan));
	/* One entry per prefix: the last word (store order) wins. */
	if (units->n > 1) {
		qsort(units->v, units->n, sizeof(units->v[0]), cmp_addr);
		for (i = 1, o = 0; i < units->n; i++) {
			if (cmp_addr(&units->v[o], &units->v[i]) == 0) {
				units->v[o].fresh &= units->v[i].fresh;
				continue;
			}
			units->v[++o] = units->v[i];
		}
		units->n = o + 1;
	}
	for (i = 0; i < units->n; i++)
		maybe_present += !units->v[i].fresh;
	/*
	 * Unit elements alone, few enough for one netlink batch (nftables):
	 * their sets are plain hashes, where the add/delete/add costs what it
	 * touches (the bans of other servers arrive so, up to a thousand at
	 * a time).  Anything else past the limit is replaced in full.
	 */
	if (maybe_present > FW_INCREMENTAL_MAX &&
	    !(fw->cfg->backend == AB_BACKEND_NFT && !net_changed[0] &&
	    !net_changed[1] && units->n <= FW_NL_MAX_UNITS))
		return fw_sync_full(fw, st, now, NULL);
	for (f = 0; f < 2; f++) {
		if (!net_changed[f])
			continue;
		c[f].cfg = fw->cfg;
		c[f].now = now;
		c[f].only_family = f == 0 ? 4 : 6;
		rc = store_ban_foreach_family(st, c[f].only_family,
		    (int)config_unit_plen(fw->cfg, c[f].only_family), collect_cb,
		    &c[f]);
		if (rc < 0)
			goto out;
		if (c[f].net[f].oom) {
			rc = -ENOMEM;
			goto out;
		}
		plan.net_changed[f] = 1;
		plan.net[f] = c[f].net[f].v;
		plan.nnet[f] = c[f].net[f].n;
	}
	if (units->n == 0 && !net_changed[0] && !net_changed[1])
		goto out;
	plan.units = units->v;
	plan.nunits = units->n;
	fw->error[0] = '\0';
	rc = fw->ops->apply(fw, &plan);
	if (rc != 0 && fw->ops->present(fw) == 0) {
		/* No table yet (first use, or flushed): build it in full. */
		ab_logf(fw->log, LOG_NOTICE, "firewall table missing: "
		    "creating it with every active ban");
		rc = fw_sync_full(fw, st, now, NULL);
	} else if (rc != 0) {
		ab_logf(fw->log, LOG_ERR, "%s", fw->error[0] ? fw->error :
		    "firewall change failed");
	}
out:
	collect_free(&c[0]);
	collect_free(&c[1]);
	return rc;
}

int
fw_apply_bans(struct fw *fw, struct ab_store *st, const struct fw_ban *bans,
    size_t n, int64_t now)
{
	struct banvec units;
	int net_changed[2] = { 0, 0 };
	size_t i;
	int rc;

	memset(&units, 0, sizeof(units));
	for (i = 0; i < n; i++) {
		if (!is_unit(fw->cfg, &bans[i].prefix))
			net_changed[fi(&bans[i].prefix)] = 1;
		else
			bv_push(&units, &bans[i].prefix, bans[i].timeout,
			    bans[i].fresh);
	}
	rc = units.oom ? -ENOMEM : plan_apply(fw, st, &units, net_changed, now);
	free(units.v);
	return rc;
}

int
fw_sync_prefixes(struct fw *fw, struct ab_store *st,
    const struct ab_addr *prefixes, size_t n, int64_t now)
{
	struct fw_ban *b;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((b = calloc(n, sizeof(*b))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n && rc >= 0; i++) {
		struct ab_ban rec;

		b[i].prefix = prefixes[i];
		if (!is_unit(fw->cfg, &prefixes[i]))
			continue;	/* rebuilt from the store */
		if ((rc = store_ban_get(st, &prefixes[i], &rec)) == 1 &&
		    policy_kernel_end(fw->cfg, &rec, now) > 0)
			b[i].timeout = policy_kernel_end(fw->cfg, &rec, now) - now;
	}
	if (rc >= 0)
		rc = fw_apply_bans(fw, st, b, n, now);
	free(b);
	return rc;
}

struct chg {
	const struct ab_config *cfg;
	int64_t now;
	struct banvec units;
	int net_changed[2];
};

static int
change_cb(const struct ab_addr *p, const struct ab_ban *rec, void *arg)
{
	struct chg *c = arg;

	int64_t end = rec != NULL ? policy_kernel_end(c->cfg, rec, c->now) : 0;

	if (!is_unit(c->cfg, p))
		c->net_changed[fi(p)] = 1;
	else
		bv_push(&c->units, p, end > 0 ? end - c->now : 0, 0);
	return 0;
}

int
fw_sync_changes(struct fw *fw, struct ab_store *st, uint64_t *seq,
    int64_t now)
{
	struct chg c;
	uint64_t last;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cfg = fw->cfg;
	c.now = now;
	rc = store_changes(st, *seq, &last, change_cb, &c);
	if (rc == AB_ENOTFOUND) {
		struct ab_store_stat ss;

		/*
		 * The store is older than what we saw (replaced): start again
		 * in full.  The number is read first, so a change made during
		 * the full sync is applied again next time, never skipped.
		 */
		free(c.units.v);
		if ((rc = store_stat(st, &ss)) != 0)
			return rc;
		if ((rc = fw_sync_full(fw, st, now, NULL)) == 0)
			*seq = ss.last_change;
		return rc;
	}
	if (rc < 0 || c.units.oom) {
		free(c.units.v);
		return rc < 0 ? rc : -ENOMEM;
	}
	rc = plan_apply(fw, st, &c.units, c.net_changed, now);
	free(c.units.v);
	if (rc == 0)
		*seq = last;
	return rc;
}

/* ---- checking ------------------------------------------------------------ */

static int
cmp_range(const void *a, const void *b)
{
	const struct fw_range *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	if ((c = memcmp(x->lo, y->lo, 16)) != 0)
		return c;
	return memcmp(x->hi, y->hi, 16);
}

static void
unit_range(const struct fw_ban *b, struct fw_range *r)
{
	fw_prefix_range(&b->prefix, r);
	r->timeout = b->timeout;
}

static int
check(struct fw *fw, struct ab_store *st, int64_t now, int list,
    struct fw_check *out)
{
	struct collect c;
	struct fw_range *want = NULL, *have = NULL, *part = NULL;
	size_t nw = 0, nh = 0, np, i, j, f;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.cfg = fw->cfg;
	c.now = now;
	if ((rc = store_ban_foreach(st, collect_cb, &c)) < 0)
		goto out;
	rc = -ENOMEM;
	want = calloc(c.units.n + 2 * (c.net[0].n + c.net[1].n) + 1,
	    sizeof(*want));
	if (want == NULL || c.units.oom || c.net[0].oom || c.net[1].oom)
		goto out;
	for (i = 0; i < c.units.n; i++)
		unit_range(&c.units.v[i], &want[nw++]);
	for (f = 0; f < 2; f++) {
		if (fw->ops->net_raw) {
			for (i = 0; i < c.net[f].n; i++)
				unit_range(&c.net[f].v[i], &want[nw++]);
			continue;
		}
		if ((rc = fw_partition(c.net[f].v, c.net[f].n, &part, &np)) != 0)
			goto out;
		if (np > 0)
			memcpy(want + nw, part, np * sizeof(*part));
		nw += np;
		free(part);
		part = NULL;
	}
	if (!list) {
		out->present = 1;
		out->want = out->have = nw;
		rc = 0;
		goto out;
	}
	if ((rc = fw->ops->present(fw)) < 0)
		goto out;
	out->present = rc;
	if (rc == 1 && (rc = fw->ops->list(fw, &have, &nh)) != 0)
		goto out;
	qsort(want, nw, sizeof(*want), cmp_range);
	qsort(have, nh, sizeof(*have), cmp_range);
	out->want = nw;
	out->have = nh;
	for (i = 0, j = 0; i < nw || j < nh;) {
		int cmp = i == nw ? 1 : j == nh ? -1 :
		    cmp_range(&want[i], &have[j]);

		if (cmp == 0) {
			i++;
			j++;
		} else if (cmp < 0) {
			out->missing++;
			i++;
		} else {
			out->extra++;
			j++;
		}
	}
	rc = 0;
out:
	free(part);
	free(want);
	free(have);
	collect_free(&c);
	return rc;
}

int
fw_check(struct fw *fw, struct ab_store *st, int64_t now, struct fw_check *out)
{
	return check(fw, st, now, 1, out);
}

int
fw_check_known(struct fw *fw, struct ab_store *st, int64_t now,
    struct fw_check *out)
{
	return check(fw, st, now, 0, out);
}
