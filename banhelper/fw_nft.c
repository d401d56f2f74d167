/*
 * fw_nft.c - the nftables backend, through libnftables; a small change
 * on top (a ban, an unban) goes as one netlink batch (fw_nl.c) instead.
 *
 * MUST: touch nothing outside "table inet autoban"; build every command from
 * parsed binary addresses (inet_ntop) and numbers, never from outside text;
 * apply each plan as one nftables transaction (one buffer = one batch), so
 * the kernel never sees half a change.
 *
 * The table:
 *   set v4, v6        bans at the counting unit: a hash set of the unit's
 *                     network address, matched as "saddr & unit mask"
 *   set v4net, v6net  other prefix lengths, as a disjoint partition
 *                     (interval sets)
 *   chain input       hook input, priority -10 (before the usual filter
 *                     chains at 0): drop from any of the sets, or only to
 *                     the configured TCP ports
 * The unit sets must not be interval sets: before it adds an element to
 * a table that has interval sets, libnftables (1.0.6) reads every element
 * of them from the kernel to check for overlaps, so one ban on top of
 * 100 000 would take seconds.  A hash set needs no such read; the interval
 * sets hold only the few bans at other prefix lengths.
 * Contexts: a change on top that fw_nl.c does not take runs in one
 * libnftables context kept for the life of the backend, in fw->priv.  Freeing a
 * context closes its netlink socket, which right after a commit waits for
 * the kernel (docs/BENCHMARKS.md has the figures): a wait every ban would
 * pay before the daemon could take the next one.
 * That context never lists a set, and its cache holds no unit set's
 * elements (hash sets), only the few prefix bans, so it stays small.  Full
 * rebuilds and listings, which can hold every element, get a context of
 * their own that is freed at once.
 * A full rebuild replaces the table in one batch (add, delete, add the
 * table, then everything in it).  When the table is not there it only
 * creates it: a batch that deletes a table makes the kernel destroy it
 * after an RCU grace period, and closing the socket waits for that (as
 * long as nft -f takes to load thousands of elements).  "create"
 * fails if the table appeared meanwhile (another banhelper); the rebuild
 * then runs again as a replace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "bh.h"
#include "fw.h"

#define TABLE	"inet autoban"

static const char *const set_names[2][2] = {
	{ "v4", "v4net" },
	{ "v6", "v6net" },
};

/* What the backend keeps for its life (fw->priv): see the top. */
struct nft_priv {
	struct nft_ctx *ctx;	/* changes on top; made on first use */
	struct fw_nl *nl;	/* small changes, the generation */
};

/* ---- running commands ---------------------------------------------------- */

static struct nft_ctx *
ctx_new(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (ctx == NULL)
		return NULL;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	return ctx;
}

/*
 * Run text in ctx as one transaction; on failure keep nft's complaint in
 * fw->error, and log it unless quiet.
 */
static int
run_in(struct fw *fw, struct nft_ctx *ctx, const char *text, int quiet)
{
	int rc = nft_run_cmd_from_buffer(ctx, text);

	if (rc != 0) {
		const char *err = nft_ctx_get_error_buffer(ctx);
		size_t n = err != NULL ? strcspn(err, "\n") : 0;

		snprintf(fw->error, sizeof(fw->error), "nftables refused the "
		    "change: %.*s", (int)(n < 300 ? n : 300), n > 0 ? err :
		    "(no message)");
		if (!quiet)
			ab_logf(fw->log, LOG_ERR, "%s", fw->error);
	}
	return rc == 0 ? 0 : AB_EFIREWALL;
}

/*
 * Run a change on top in the backend's lasting context (see the top),
 * quietly: it may fail for want of the table, and the caller logs.
 */
static int
run_kept(struct fw *fw, const char *text)
{
	struct nft_priv *p = fw->priv;
	int rc;

	if (p->ctx == NULL && (p->ctx = ctx_new()) == NULL)
		return -ENOMEM;
	/* A fresh error buffer: only this run's complaint in it. */
	nft_ctx_unbuffer_error(p->ctx);
	nft_ctx_buffer_error(p->ctx);
	rc = run_in(fw, p->ctx, text, 1);
	/* After a failure the lasting context starts afresh. */
	if (rc != 0) {
		nft_ctx_free(p->ctx);
		p->ctx = NULL;
	}
	return rc;
}

/*
 * Is table inet autoban in the kernel: 1 yes, 0 no, -1 cannot tell.  Reads
 * the list of tables only, not their sets or elements.
 */
static int
table_listed(struct nft_ctx *ctx)
{
	static const char want[] = "table " TABLE "\n";
	const char *out, *p;

	if (nft_run_cmd_from_buffer(ctx, "list tables inet") != 0 ||
	    (out = nft_ctx_get_output_buffer(ctx)) == NULL)
		return -1;
	for (p = out; (p = strstr(p, want)) != NULL; p++)
		if (p == out || p[-1] == '\n')
			return 1;
	return 0;
}

/* ---- building commands --------------------------------------------------- */

/* A unit set's element: the unit's network address, without a length. */
static void
addr_text(const struct ab_addr *a, char *buf, size_t len)
{
	struct ab_addr net = fw_unit_net(a);

	/* Callers pass 128 bytes; were it short, nft refuses an empty element. */
	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, net.a, buf,
	    (socklen_t)len) == NULL)
		buf[0] = '\0';
}

/* "saddr & MASK == " for a unit shorter than the address, else "saddr ". */
static void
unit_match(const struct ab_config *cfg, int family, char *buf, size_t len)
{
	struct ab_addr m;
	char t[64];
	unsigned plen = config_unit_plen(cfg, family);

	memset(&m, 0, sizeof(m));
	m.family = (uint8_t)family;
	if (plen >= addr_bits(&m)) {
		snprintf(buf, len, "saddr ");
		return;
	}
	memset(m.a, 0xff, sizeof(m.a));
	addr_mask(&m, plen);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, m.a, t, sizeof(t));
	snprintf(buf, len, "saddr & %s == ", t);
}

/*
 * The start of a full rebuild: create the table, or replace it ("add"
 * first so that "delete" always finds it; one batch, no gap).
 */
#define HEAD_CREATE	"create table " TABLE "\n"
#define HEAD_REPLACE	"add table " TABLE "\ndelete table " TABLE "\n" \
			"add table " TABLE "\n"

/* Everything in the table, after its head. */
static void
table_text(struct sbuf *sb, const struct ab_config *cfg)
{
	char ports[AB_PORTS_MAX * 7 + 32] = "";
	size_t i, o = 0;
	int f, k;

	if (cfg->nports > 0) {
		o += (size_t)snprintf(ports, sizeof(ports), "tcp dport { ");
		for (i = 0; i < cfg->nports; i++)
			o += (size_t)snprintf(ports + o, sizeof(ports) - o,
			    "%s%u", i ? ", " : "", cfg->ports[i]);
		snprintf(ports + o, sizeof(ports) - o, " } ");
	}
	for (f = 0; f < 2; f++)
		for (k = 0; k < 2; k++)
			sb_printf(sb, "add set " TABLE " %s { type %s; flags "
			    "%stimeout; }\n", set_names[f][k],
			    f == 0 ? "ipv4_addr" : "ipv6_addr",
			    k == 0 ? "" : "interval, ");
	sb_printf(sb, "add chain " TABLE " input { type filter hook input "
	    "priority -10; policy accept; }\n");
	for (f = 0; f < 2; f++) {
		char unit[80];

		unit_match(cfg, f == 0 ? 4 : 6, unit, sizeof(unit));
		sb_printf(sb, "add rule " TABLE " input %s %s@%s %sdrop\n",
		    f == 0 ? "ip" : "ip6", unit, set_names[f][0], ports);
		sb_printf(sb, "add rule " TABLE " input %s saddr @%s %sdrop\n",
		    f == 0 ? "ip" : "ip6", set_names[f][1], ports);
	}
}

/* Element lists are cut into commands of at most this many elements. */
#define CHUNK	2048

struct elems {
	struct sbuf *sb;
	const char *verb, *set;
	size_t n;
};

static void
elem_add(struct elems *e, const char *text, int64_t timeout)
{
	if (e->n % CHUNK == 0)
		sb_printf(e->sb, "%s%s element " TABLE " %s { ",
		    e->n ? " }\n" : "", e->verb, e->set);
	else
		sb_printf(e->sb, ", ");
	if (timeout > 0)
		sb_printf(e->sb, "%s timeout %llds", text, (long long)timeout);
	else
		sb_printf(e->sb, "%s", text);
	e->n++;
}

static void
elem_end(struct elems *e)
{
	if (e->n > 0)
		sb_printf(e->sb, " }\n");
}

/* The net set of family f: flush, then the partition of its bans. */
static int
net_text(struct sbuf *sb, int f, const struct fw_ban *net, size_t n)
{
	struct fw_range *parts;
	struct elems e = { sb, "add", set_names[f][1], 0 };
	char text[128];
	size_t i, np;
	int rc;

	sb_printf(sb, "flush set " TABLE " %s\n", set_names[f][1]);
	if ((rc = fw_partition(net, n, &parts, &np)) != 0)
		return rc;
	for (i = 0; i < np; i++)
		elem_add(&e, fw_range_text(&parts[i], text, sizeof(text)),
		    parts[i].timeout);
	elem_end(&e);
	free(parts);
	return 0;
}

static int
nft_apply(struct fw *fw, const struct fw_plan *plan)
{
	struct sbuf sb = { NULL, 0, 0, 0 };
	struct nft_ctx *ctx = NULL;
	char text[128];
	size_t i;
	int f, rc = 0, create = 0;

	/* A small change on top: one netlink batch, if the kernel takes it. */
	if (fw_nl_apply(((struct nft_priv *)fw->priv)->nl, plan) == 0)
		return 0;
	if (plan->full) {
		if ((ctx = ctx_new()) == NULL)
			return -ENOMEM;
		create = table_listed(ctx) == 0;
		/* The longer head; a create uses the tail of this space. */
		sb_printf(&sb, "%s", HEAD_REPLACE);
		table_text(&sb, fw->cfg);
	}
	for (f = 0; f < 2; f++) {
		int fam = f == 0 ? 4 : 6;
		enum fw_step s;

		/* The three steps (see fw.h), each one command. */
		for (s = FW_STEP_PRE; s <= FW_STEP_ADD; s++) {
			struct elems e = { &sb, s == FW_STEP_DEL ? "delete" :
			    "add", set_names[f][0], 0 };

			for (i = 0; i < plan->nunits; i++) {
				const struct fw_ban *b = &plan->units[i];

				if (b->prefix.family != fam ||
				    !fw_step_takes(plan, b, s))
					continue;
				addr_text(&b->prefix, text, sizeof(text));
				elem_add(&e, text, fw_step_timeout(b, s));
			}
			elem_end(&e);
		}
		if (plan->net_changed[f] &&
		    (rc = net_text(&sb, f, plan->net[f], plan->nnet[f])) != 0)
			goto out;
	}
	if (sb.oom) {
		rc = -ENOMEM;
		goto out;
	}
	if (plan->full) {
		size_t off = strlen(HEAD_REPLACE) - strlen(HEAD_CREATE);

		if (create) {
			memcpy(sb.p + off, HEAD_CREATE, strlen(HEAD_CREATE));
			if ((rc = run_in(fw, ctx, sb.p + off, 1)) == 0)
				goto out;
			/* The table appeared since it was listed: replace. */
			nft_ctx_free(ctx);
			if ((ctx = ctx_new()) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(sb.p, HEAD_REPLACE, strlen(HEAD_REPLACE));
			ab_logf(fw->log, LOG_INFO, "table inet autoban appeared "
			    "while being created: replacing it");
		}
		rc = run_in(fw, ctx, sb.p, 0);
	} else if (sb.len > 0) {
		rc = run_kept(fw, sb.p);
	}
out:
	if (ctx != NULL)
		nft_ctx_free(ctx);
	free(sb.p);
	return rc;
}

static int
nft_present(struct fw *fw)
{
	struct nft_ctx *ctx = ctx_new();
	const char *out;
	int rc, f, k, ok = 1;

	if (ctx == NULL)
		return -ENOMEM;
	/* Terse: set definitions without their elements. */
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_TERSE);
	rc = nft_run_cmd_from_buffer(ctx, "list table " TABLE);
	out = nft_ctx_get_output_buffer(ctx);
	if (rc != 0 || out == NULL) {
		nft_ctx_free(ctx);
		return 0;
	}
	/*
	 * Every set with its rule, and the unit sets not interval sets (a
	 * table of an older layout is rebuilt, see the top of this file).
	 */
	for (f = 0; f < 2; f++) {
		for (k = 0; k < 2; k++) {
			char want[64];
			const char *def, *end;

			snprintf(want, sizeof(want), "set %s {", set_names[f][k]);
			def = strstr(out, want);
			end = def != NULL ? strchr(def, '}') : NULL;
			if (end == NULL) {
				ok = 0;
				continue;
			}
			if (k == 0)
				ok &= memmem(def, (size_t)(end - def), "interval",
				    8) == NULL;
			snprintf(want, sizeof(want), "@%s ", set_names[f][k]);
			ok &= strstr(out, want) != NULL;
		}
	}
	ok &= strstr(out, "hook input") != NULL;
	nft_ctx_free(ctx);
	(void)fw;
	return ok;
}

/* ---- listing (JSON) ------------------------------------------------------ */

static int
parse_addr(int family, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	return inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) == 1 ? 0 :
	    -1;
}

static int
parse_val(int family, json_t *val, struct fw_range *r)
{
	json_t *x;

	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)family;
	if (json_is_string(val)) {
		if (parse_addr(family, json_string_value(val), r->lo) != 0)
			return -1;
		memcpy(r->hi, r->lo, 16);
		return 0;
	}
	if ((x = json_object_get(val, "prefix")) != NULL) {
		struct ab_addr a;
		json_t *len = json_object_get(x, "len");
		json_t *ad = json_object_get(x, "addr");

		if (!json_is_string(ad) || !json_is_integer(len))
			return -1;
		memset(&a, 0, sizeof(a));
		a.family = (uint8_t)family;
		if (parse_addr(family, json_string_value(ad), a.a) != 0)
			return -1;
		addr_mask(&a, (unsigned)json_integer_value(len));
		fw_prefix_range(&a, r);
		return 0;
	}
	if ((x = json_object_get(val, "range")) != NULL &&
	    json_array_size(x) == 2 &&
	    json_is_string(json_array_get(x, 0)) &&
	    json_is_string(json_array_get(x, 1)))
		return parse_addr(family, json_string_value(json_array_get(x, 0)),
		    r->lo) | parse_addr(family,
		    json_string_value(json_array_get(x, 1)), r->hi);
	return -1;
}

/*
 * The elements of one set as ranges.  A unit set holds network addresses:
 * each stands for its whole unit (unit_plen bits), as the rule matches.
 */
static int
list_set(struct fw *fw, int f, int net, struct fw_range **v, size_t *n,
    size_t *cap)
{
	const char *name = set_names[f][net];
	unsigned unit = config_unit_plen(fw->cfg, f == 0 ? 4 : 6);
	struct nft_ctx *ctx = ctx_new();
	char cmd[64];
	json_t *root = NULL, *arr;
	json_error_t jerr;
	size_t i;
	int rc = AB_EFIREWALL;

	if (ctx == NULL)
		return -ENOMEM;
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	snprintf(cmd, sizeof(cmd), "list set " TABLE " %s", name);
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0)
		goto out;
	root = json_loads(nft_ctx_get_output_buffer(ctx), 0, &jerr);
	arr = json_object_get(root, "nftables");
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *set = json_object_get(json_array_get(arr, i), "set");
		json_t *elems = json_object_get(set, "elem");
		size_t k;

		for (k = 0; k < json_array_size(elems); k++) {
			json_t *e = json_array_get(elems, k), *inner;
			json_t *val = e;

			if ((inner = json_object_get(e, "elem")) != NULL)
				val = json_object_get(inner, "val");
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 256;
				struct fw_range *nv = realloc(*v,
				    nc * sizeof(*nv));

				if (nv == NULL) {
					rc = -ENOMEM;
					goto out;
				}
				*v = nv;
				*cap = nc;
			}
			if (parse_val(f == 0 ? 4 : 6, val, &(*v)[*n]) != 0)
				continue;
			if (!net) {
				struct ab_addr u;

				memset(&u, 0, sizeof(u));
				u.family = (*v)[*n].family;
				memcpy(u.a, (*v)[*n].lo, 16);
				u.plen = (uint8_t)unit;	/* lo as read: not masked */
				fw_prefix_range(&u, &(*v)[*n]);
			}
			if (inner != NULL)
				(*v)[*n].timeout = json_integer_value(
				    json_object_get(inner, "expires"));
			(*n)++;
		}
	}
	rc = 0;
out:
	json_decref(root);
	nft_ctx_free(ctx);
	return rc;
}

static int
nft_list(struct fw *fw, struct fw_range **out, size_t *n)
{
	size_t cap = 0;
	int f, k, rc;

	*out = NULL;
	*n = 0;
	for (f = 0; f < 2; f++)
		for (k = 0; k < 2; k++)
			if ((rc = list_set(fw, f, k, out, n, &cap)) != 0) {
				free(*out);
				*out = NULL;
				*n = 0;
				return rc;
			}
	return 0;
}

static int
nft_generation(struct fw *fw, uint32_t *gen)
{
	return fw_nl_generation(((struct nft_priv *)fw->priv)->nl, gen);
}

static int
nft_init(struct fw *fw)
{
	struct nft_priv *p = calloc(1, sizeof(*p));
	int rc;

	if (p == NULL)
		return -ENOMEM;
	if ((rc = fw_nl_open(&p->nl)) != 0) {
		ab_logf(fw->log, LOG_ERR, "netlink socket for nftables: %s",
		    ab_strerror(rc));
		free(p);
		return rc;
	}
	fw->priv = p;
	return 0;
}

static void
nft_fini(struct fw *fw)
{
	struct nft_priv *p = fw->priv;

	if (p == NULL)
		return;
	fw_nl_close(p->nl);
	if (p->ctx != NULL)
		nft_ctx_free(p->ctx);
	free(p);
	fw->priv = NULL;
}

const struct fw_ops fw_nft_ops = {
	"nftables", 0, nft_init, nft_fini, nft_apply, nft_present, nft_list,
	nft_generation,
};
