/*
 * fw_nft.c - the nftables backend, through libnftables; a small change
 * on top (a ban, an unban) as one nfnetlink batch of our own (see "small
 * changes" below).
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
 * Contexts: a change on top (a ban, an unban) runs in one libnftables
 * context kept for the life of the backend, in fw->priv.  Freeing a
 * context closes its netlink socket, and right after a commit that took
 * 5-16 ms here while the cores were busy (measured around nft_ctx_free),
 * a wait every ban would pay before the daemon could take the next one.
 * That context never lists a set, and its cache holds no unit set's
 * elements (hash sets), only the few prefix bans, so it stays small.  Full
 * rebuilds and listings, which can hold every element, get a context of
 * their own that is freed at once.
 * A full rebuild replaces the table in one batch (add, delete, add the
 * table, then everything in it).  When the table is not there it only
 * creates it: a batch that deletes a table makes the kernel destroy it
 * after an RCU grace period, and closing the socket waits for that, 10-25
 * ms here, as long as nft -f takes to load 10 000 elements.  "create"
 * fails if the table appeared meanwhile (another banhelper); the rebuild
 * then runs again as a replace.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>	/* after netinet/in.h, which it defers to */
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <endian.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banhelper.h"

#define TABLE	"inet autoban"

static const char *const set_names[2][2] = {
	{ "v4", "v4net" },
	{ "v6", "v6net" },
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
	struct nft_ctx *ctx = fw->priv;
	int rc;

	if (ctx == NULL && (ctx = ctx_new()) == NULL)
		return -12;
	fw->priv = ctx;
	/* A fresh error buffer: only this run's complaint in it. */
	nft_ctx_unbuffer_error(ctx);
	nft_ctx_buffer_error(ctx);
	rc = run_in(fw, ctx, text, 1);
	/* After a failure the lasting context starts afresh. */
	if (rc != 0) {
		nft_ctx_free(ctx);
		fw->priv = NULL;
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
static struct ab_addr
unit_net(const struct ab_addr *a)
{
	struct ab_addr net = *a;

	addr_mask(&net, a->plen);
	return net;
}

static void
addr_text(const struct ab_addr *a, char *buf, size_t len)
{
	struct ab_addr net = unit_net(a);

	/* Callers pass 128 bytes; were it short, nft refuses an empty element. */
	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, net.a, buf,
	    (socklen_t)len) == NULL)
		buf[0] = '\0';
}

/*
 * A change to the unit sets, as text or as a netlink batch, is three steps.
 * An element that may be there is first added with a short timeout (a
 * no-op if present), then deleted, then added with its real timeout:
 * deleting an absent element would fail the whole batch, and re-adding
 * does not change a timeout on every kernel.  A full rebuild, into a new
 * table, only adds.
 */
enum step { STEP_PRE, STEP_DEL, STEP_ADD };

/* Does unit b take part in step s of plan? */
static int
unit_takes(const struct fw_plan *plan, const struct fw_ban *b, enum step s)
{
	return s == STEP_ADD ? b->timeout > 0 : !plan->full && !b->fresh;
}

/* The element's timeout in step s, in seconds (0: none, a delete). */
static int64_t
unit_timeout(const struct fw_ban *b, enum step s)
{
	return s == STEP_PRE ? 1 : s == STEP_DEL ? 0 : b->timeout;
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

/* ---- small changes: one netlink batch of our own ------------------------- */

/*
 * A ban or unban on top (the daemon's wake-ups, `banhelper ban ADDR`) is
 * the same add / delete / add of unit-set elements as nft_apply's text,
 * sent as one nfnetlink batch built here from the kernel's UAPI.  Before
 * every command libnftables fetches its cache (the ruleset generation,
 * tables, sets: 7 netlink sends and 12 receives for one element) and
 * parses the text; under attack that was 1.08 ms of a 1.75 ms reaction at
 * the median, up to 11 ms (bench/targets.md).  Only plans of at most
 * NL_MAX_UNITS unit elements with no prefix-set change take this path;
 * if the kernel refuses the batch (nothing of it is applied), nft_apply
 * runs the same change through libnftables, which says why it fails.
 * The socket is kept for the life of the backend, as the context is.
 */
#define NL_MAX_UNITS	64
#define NL_BUFSZ	(NL_MAX_UNITS * 3 * 64 + 512)

struct nlb {
	uint8_t *p;
	size_t len, cap;
	int full;
};

static int nl_fd = -1;
static uint32_t nl_seq;

/* n zeroed bytes at the end of the buffer, padded to 4. */
static void *
nlb_put(struct nlb *b, size_t n)
{
	size_t a = NLMSG_ALIGN(n);
	void *r;

	if (b->full || a > b->cap - b->len) {
		b->full = 1;
		return NULL;
	}
	r = b->p + b->len;
	memset(r, 0, a);
	b->len += a;
	return r;
}

/* An attribute; returns its offset (for a nest, closed by nlb_nest_end). */
static size_t
nlb_attr(struct nlb *b, uint16_t type, const void *data, size_t n)
{
	size_t at = b->len;
	struct nlattr *na = nlb_put(b, NLA_HDRLEN);
	void *d;

	if (na == NULL)
		return at;
	na->nla_type = type;
	na->nla_len = (uint16_t)(NLA_HDRLEN + n);
	if (n > 0 && (d = nlb_put(b, n)) != NULL)
		memcpy(d, data, n);
	return at;
}

static void
nlb_nest_end(struct nlb *b, size_t at)
{
	if (!b->full)
		((struct nlattr *)(void *)(b->p + at))->nla_len =
		    (uint16_t)(b->len - at);
}

/* A message header with its nfgenmsg; returns its offset. */
static size_t
nlb_msg(struct nlb *b, uint16_t type, uint16_t flags, uint8_t family,
    uint16_t res_id)
{
	size_t at = b->len;
	struct nlmsghdr *h = nlb_put(b, NLMSG_HDRLEN);
	struct nfgenmsg *g = nlb_put(b, sizeof(*g));

	if (h == NULL || g == NULL)
		return at;
	h->nlmsg_type = type;
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	h->nlmsg_seq = ++nl_seq;
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return at;
}

static void
nlb_msg_end(struct nlb *b, size_t at)
{
	if (!b->full)
		((struct nlmsghdr *)(void *)(b->p + at))->nlmsg_len =
		    (uint32_t)(b->len - at);
}

/* One NEWSETELEM / DELSETELEM message of family f's unit set, if any. */
static int
nl_elems(struct nlb *b, const struct fw_plan *plan, int f, enum step step)
{
	int fam = f == 0 ? 4 : 6;
	size_t i, m, list, n = 0;

	for (i = 0; i < plan->nunits; i++)
		n += plan->units[i].prefix.family == fam &&
		    unit_takes(plan, &plan->units[i], step);
	if (n == 0)
		return 0;
	m = nlb_msg(b, (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 |
	    (step == STEP_DEL ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM)),
	    (uint16_t)(NLM_F_ACK | (step == STEP_DEL ? 0 : NLM_F_CREATE)),
	    NFPROTO_INET, 0);
	nlb_attr(b, NFTA_SET_ELEM_LIST_TABLE, "autoban", sizeof("autoban"));
	nlb_attr(b, NFTA_SET_ELEM_LIST_SET, set_names[f][0],
	    strlen(set_names[f][0]) + 1);
	list = nlb_attr(b, NLA_F_NESTED | NFTA_SET_ELEM_LIST_ELEMENTS, NULL, 0);
	for (i = 0; i < plan->nunits; i++) {
		const struct fw_ban *u = &plan->units[i];
		struct ab_addr net;
		size_t e, k;

		if (u->prefix.family != fam || !unit_takes(plan, u, step))
			continue;
		net = unit_net(&u->prefix);
		e = nlb_attr(b, NLA_F_NESTED | NFTA_LIST_ELEM, NULL, 0);
		k = nlb_attr(b, NLA_F_NESTED | NFTA_SET_ELEM_KEY, NULL, 0);
		nlb_attr(b, NFTA_DATA_VALUE, net.a, fam == 4 ? 4 : 16);
		nlb_nest_end(b, k);
		if (step != STEP_DEL) {
			/* Milliseconds, big-endian. */
			uint64_t ms = htobe64((uint64_t)unit_timeout(u, step) *
			    1000);

			nlb_attr(b, NFTA_SET_ELEM_TIMEOUT, &ms, sizeof(ms));
		}
		nlb_nest_end(b, e);
	}
	nlb_nest_end(b, list);
	nlb_msg_end(b, m);
	return 1;
}

static void
nl_close(void)
{
	if (nl_fd >= 0)
		close(nl_fd);
	nl_fd = -1;
}

static int
nl_socket(void)
{
	struct sockaddr_nl sa;
	struct timeval tv = { 2, 0 };	/* never wait for ever */
	int fd, one = 1;

	if (nl_fd >= 0)
		return nl_fd;
	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_NETFILTER)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	/* NETLINK_CAP_ACK: an error names our message, not a copy of it. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
	    sizeof(one)) != 0) {
		close(fd);
		return -1;
	}
	if (nl_seq == 0)
		nl_seq = (uint32_t)time(NULL);
	return nl_fd = fd;
}

/*
 * Wait for the kernel's answer to each of nacks messages numbered first to
 * last: 0 when every one is acknowledged (the batch is committed), -1 on
 * an error or no answer.
 */
static int
nl_wait(int fd, uint32_t first, uint32_t last, unsigned nacks)
{
	static uint8_t rb[8192];

	while (nacks > 0) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, rb, sizeof(rb), 0,
		    (struct sockaddr *)&from, &fl);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (from.nl_pid != 0)
			continue;	/* not the kernel */
		left = (size_t)n;
		for (h = (struct nlmsghdr *)(void *)rb; NLMSG_OK(h, left);
		    h = NLMSG_NEXT(h, left)) {
			const struct nlmsgerr *e;

			if (h->nlmsg_seq < first || h->nlmsg_seq > last)
				continue;	/* an older batch's */
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -1;
			e = NLMSG_DATA(h);
			if (e->error != 0)
				return -1;
			nacks--;
		}
	}
	return 0;
}

/* 0: applied; 1: not a plan for this path; -1: refused or failed. */
static int
nl_apply(const struct fw_plan *plan)
{
	static uint8_t buf[NL_BUFSZ];
	struct nlb b = { buf, 0, sizeof(buf), 0 };
	struct sockaddr_nl k;
	uint32_t first;
	unsigned nacks = 0;
	size_t m;
	int f, fd;
	enum step s;

	if (plan->full || plan->net_changed[0] || plan->net_changed[1] ||
	    plan->nunits == 0 || plan->nunits > NL_MAX_UNITS)
		return 1;
	if ((fd = nl_socket()) < 0)
		return -1;
	m = nlb_msg(&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC,
	    NFNL_SUBSYS_NFTABLES);
	nlb_msg_end(&b, m);
	first = nl_seq + 1;
	for (f = 0; f < 2; f++)
		for (s = STEP_PRE; s <= STEP_ADD; s++)
			nacks += (unsigned)nl_elems(&b, plan, f, s);
	m = nlb_msg(&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC,
	    NFNL_SUBSYS_NFTABLES);
	nlb_msg_end(&b, m);
	if (b.full)
		return 1;
	memset(&k, 0, sizeof(k));
	k.nl_family = AF_NETLINK;
	if (sendto(fd, b.p, b.len, 0, (struct sockaddr *)&k, sizeof(k)) !=
	    (ssize_t)b.len || nl_wait(fd, first, nl_seq, nacks) != 0) {
		nl_close();	/* the next batch starts on a clean socket */
		return -1;
	}
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

	if (nl_apply(plan) == 0)
		return 0;
	if (plan->full) {
		if ((ctx = ctx_new()) == NULL)
			return -12;
		create = table_listed(ctx) == 0;
		/* The longer head; a create uses the tail of this space. */
		sb_printf(&sb, "%s", HEAD_REPLACE);
		table_text(&sb, fw->cfg);
	}
	for (f = 0; f < 2; f++) {
		int fam = f == 0 ? 4 : 6;
		enum step s;

		/* The three steps (see unit_takes), each one command. */
		for (s = STEP_PRE; s <= STEP_ADD; s++) {
			struct elems e = { &sb, s == STEP_DEL ? "delete" :
			    "add", set_names[f][0], 0 };

			for (i = 0; i < plan->nunits; i++) {
				const struct fw_ban *b = &plan->units[i];

				if (b->prefix.family != fam ||
				    !unit_takes(plan, b, s))
					continue;
				addr_text(&b->prefix, text, sizeof(text));
				elem_add(&e, text, unit_timeout(b, s));
			}
			elem_end(&e);
		}
		if (plan->net_changed[f] &&
		    (rc = net_text(&sb, f, plan->net[f], plan->nnet[f])) != 0)
			goto out;
	}
	if (sb.oom) {
		rc = -12;
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
				rc = -12;
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
		return -12;
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
		return -12;
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
					rc = -12;
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
nft_init(struct fw *fw)
{
	fw->priv = NULL;	/* the lasting context: made on first use */
	return 0;
}

static void
nft_fini(struct fw *fw)
{
	nl_close();
	if (fw->priv != NULL)
		nft_ctx_free(fw->priv);
	fw->priv = NULL;
}

const struct fw_ops fw_nft_ops = {
	"nftables", 0, nft_init, nft_fini, nft_apply, nft_present, nft_list,
};
