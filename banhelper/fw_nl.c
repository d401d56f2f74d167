/*
 * fw_nl.c - a small change to nftables' unit sets (a ban, a re-ban, an
 * unban) as one nfnetlink batch, built with libnftnl and sent with libmnl,
 * the libraries nftables itself is built on; and the ruleset's generation.
 *
 * Why not libnftables for these: before every command it fetches its
 * cache (the generation, tables, sets: several netlink round trips) and
 * parses text, which is most of the time a ban takes to reach the kernel
 * under attack (docs/BENCHMARKS.md).  A batch of element changes needs
 * neither.  If the kernel refuses it, nothing of it was applied, and the
 * caller runs the same change through libnftables, which says why.
 *
 * MUST: build every message from parsed binary addresses and numbers;
 * touch only the sets v4 and v6 of table inet autoban; never wait for the
 * kernel without bound (a receive timeout).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "fw.h"

#define TABLE_NAME	"autoban"
/* FW_NL_MAX_UNITS elements in each of the three steps (about 40 bytes
 * each), below the socket's send buffer (212 992 by default); a plan past
 * it goes through libnftables. */
#define BATCH_LIMIT	(192 * 1024)

struct fw_nl {
	struct mnl_socket *sock;
	uint32_t portid, seq;
	char *buf;		/* 2 * BATCH_LIMIT: made once, not per batch
				 * (past glibc's mmap threshold, each batch
				 * would map and unmap it) */
};

int
fw_nl_open(struct fw_nl **nlp)
{
	struct timeval tv = { 2, 0 };	/* never wait for ever */
	struct fw_nl *nl;
	int one = 1, rc;

	*nlp = NULL;
	if ((nl = calloc(1, sizeof(*nl))) == NULL ||
	    (nl->buf = malloc(2 * BATCH_LIMIT)) == NULL) {
		free(nl);
		return -ENOMEM;
	}
	if ((nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) ==
	    NULL)
		goto fail;
	/* NETLINK_CAP_ACK: an error names our message, not a copy of it. */
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) != 0 ||
	    setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof(tv)) != 0 ||
	    mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one,
	    sizeof(one)) != 0)
		goto fail;
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*nlp = nl;
	return 0;
fail:
	rc = -errno;
	fw_nl_close(nl);
	return rc != 0 ? rc : -EIO;
}

void
fw_nl_close(struct fw_nl *nl)
{
	if (nl == NULL)
		return;
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	free(nl);
}

/* One element message of family fam's unit set for step s, if any. */
static int
elems_msg(struct fw_nl *nl, struct mnl_nlmsg_batch *b,
    const struct fw_plan *plan, int fam, enum fw_step s)
{
	struct nftnl_set *set;
	struct nlmsghdr *nlh;
	size_t i, n = 0;

	if ((set = nftnl_set_alloc()) == NULL)
		return -ENOMEM;
	nftnl_set_set_str(set, NFTNL_SET_TABLE, TABLE_NAME);
	nftnl_set_set_str(set, NFTNL_SET_NAME, fam == 4 ? "v4" : "v6");
	for (i = 0; i < plan->nunits; i++) {
		const struct fw_ban *u = &plan->units[i];
		struct nftnl_set_elem *e;
		struct ab_addr net;

		if (u->prefix.family != fam || !fw_step_takes(plan, u, s))
			continue;
		if ((e = nftnl_set_elem_alloc()) == NULL) {
			nftnl_set_free(set);
			return -ENOMEM;
		}
		net = fw_unit_net(&u->prefix);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, net.a,
		    fam == 4 ? 4 : 16);
		if (s != FW_STEP_DEL)	/* milliseconds */
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT,
			    (uint64_t)fw_step_timeout(u, s) * 1000);
		nftnl_set_elem_add(set, e);
		n++;
	}
	if (n > 0) {
		nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
		    s == FW_STEP_DEL ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM,
		    NFPROTO_INET, NLM_F_ACK | (s == FW_STEP_DEL ? 0 :
		    NLM_F_CREATE),
		    nl->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, set);
		/* Past the limit: the batch would go without this message. */
		if (!mnl_nlmsg_batch_next(b)) {
			nftnl_set_free(set);
			return -E2BIG;
		}
	}
	nftnl_set_free(set);
	return n > 0;
}

/*
 * Wait for the kernel's answer to each of nacks messages numbered from
 * first on: 0 when every one is acknowledged, -1 on an error or silence.
 */
static int
acks_wait(struct fw_nl *nl, uint32_t first, unsigned nacks)
{
	char buf[8192];

	while (nacks > 0) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e;

			if (h->nlmsg_seq < first || h->nlmsg_type != NLMSG_ERROR)
				continue;	/* an older batch's, or no ack */
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -1;
			e = mnl_nlmsg_get_payload(h);
			if (e->error != 0)
				return -1;
			nacks--;
		}
	}
	return 0;
}

int
fw_nl_apply(struct fw_nl *nl, const struct fw_plan *plan)
{
	static const int fams[2] = { 4, 6 };
	struct mnl_nlmsg_batch *b;
	uint32_t first;
	unsigned nacks = 0;
	enum fw_step s;
	int f, n, rc = -1;

	if (plan->full || plan->net_changed[0] || plan->net_changed[1] ||
	    plan->nunits == 0 || plan->nunits > FW_NL_MAX_UNITS)
		return 1;
	/* Twice the limit: a message may run past it before it is seen. */
	b = mnl_nlmsg_batch_start(nl->buf, BATCH_LIMIT);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), nl->seq++);
	mnl_nlmsg_batch_next(b);
	first = nl->seq;
	for (f = 0; f < 2; f++)
		for (s = FW_STEP_PRE; s <= FW_STEP_ADD; s++) {
			if ((n = elems_msg(nl, b, plan, fams[f], s)) < 0) {
				if (n == -E2BIG)
					rc = 1;	/* too large: not this path */
				goto out;
			}
			nacks += (unsigned)n;
		}
	nftnl_batch_end(mnl_nlmsg_batch_current(b), nl->seq++);
	if (!mnl_nlmsg_batch_next(b)) {
		rc = 1;		/* too large for one batch: not this path */
		goto out;
	}
	if (mnl_socket_sendto(nl->sock, mnl_nlmsg_batch_head(b),
	    mnl_nlmsg_batch_size(b)) != (ssize_t)mnl_nlmsg_batch_size(b))
		goto out;
	rc = acks_wait(nl, first, nacks);
out:
	mnl_nlmsg_batch_stop(b);
	return rc;
}

int
fw_nl_generation(struct fw_nl *nl, uint32_t *gen)
{
	char buf[8192];
	struct nlmsghdr *nlh;
	struct nftnl_gen *g;
	uint32_t seq = nl->seq++;
	int rc = -1, left;
	ssize_t n;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, seq);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -1;
	if ((g = nftnl_gen_alloc()) == NULL)
		return -1;
	while ((n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf))) > 0) {
		left = (int)n;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		    nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR)
				goto out;
			if (nftnl_gen_nlmsg_parse(nlh, g) == 0 &&
			    nftnl_gen_is_set(g, NFTNL_GEN_ID)) {
				*gen = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
				rc = 0;
				goto out;
			}
		}
	}
out:
	nftnl_gen_free(g);
	return rc;
}
