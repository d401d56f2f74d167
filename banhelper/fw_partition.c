/*
 * fw_partition.c - the pure pieces of a firewall plan: prefixes as
 * address ranges, nested prefix bans made disjoint for an nftables
 * interval set, the steps of a unit-set change.  No kernel, no store;
 * tests/unit/test_fw_partition.c drives it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "fw.h"

typedef unsigned __int128 u128;

static u128
to_u128(int family, const uint8_t *a)
{
	u128 v = 0;
	int i, n = family == 4 ? 4 : 16;

	for (i = 0; i < n; i++)
		v = (v << 8) | a[i];
	return v;
}

static void
from_u128(int family, u128 v, uint8_t *a)
{
	int i, n = family == 4 ? 4 : 16;

	memset(a, 0, 16);
	for (i = n - 1; i >= 0; i--) {
		a[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static u128
host_mask(int family, unsigned plen)
{
	unsigned bits = family == 4 ? 32 : 128, host = bits - plen;

	if (host == 128)
		return ~(u128)0;
	return ((u128)1 << host) - 1;
}

static void
prefix_range(const struct ab_addr *p, u128 *lo, u128 *hi)
{
	*lo = to_u128(p->family, p->a);
	*hi = *lo | host_mask(p->family, p->plen);
}

char *
fw_range_text(const struct fw_range *r, char *buf, size_t len)
{
	int af = r->family == 4 ? AF_INET : AF_INET6;
	unsigned bits = r->family == 4 ? 32 : 128, plen;
	char a[64], b[64];
	u128 lo = to_u128(r->family, r->lo), hi = to_u128(r->family, r->hi);

	inet_ntop(af, r->lo, a, sizeof(a));
	if (lo == hi) {
		snprintf(buf, len, "%s", a);
		return buf;
	}
	for (plen = 0; plen < bits; plen++) {
		u128 m = host_mask(r->family, plen);

		if ((lo & m) == 0 && (lo | m) == hi) {
			snprintf(buf, len, "%s/%u", a, plen);
			return buf;
		}
	}
	inet_ntop(af, r->hi, b, sizeof(b));
	snprintf(buf, len, "%s-%s", a, b);
	return buf;
}

/* ---- partition of nested prefix bans -------------------------------------
 *
 * CIDR prefixes either nest or are disjoint.  An address is banned while
 * any prefix covering it is, so its piece of the kernel set must live as
 * long as the longest-lived covering ban.  A sweep over the sorted range
 * ends, with a max-heap of the ranges open at each point, gives the pieces;
 * neighbours with equal timeouts are merged.  O(n log n).
 */
struct span {
	u128 lo, hi;
	int64_t timeout;
};

static int
cmp_span_lo(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int
cmp_u128(const void *a, const void *b)
{
	u128 x = *(const u128 *)a, y = *(const u128 *)b;

	return x < y ? -1 : x > y;
}

static void
heap_push(struct span **heap, size_t *n, struct span *s)
{
	size_t i = (*n)++;

	while (i > 0 && heap[(i - 1) / 2]->timeout < s->timeout) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = s;
}

static void
heap_pop(struct span **heap, size_t *n)
{
	struct span *last = heap[--(*n)];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && heap[c + 1]->timeout > heap[c]->timeout)
			c++;
		if (heap[c]->timeout <= last->timeout)
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (*n > 0)
		heap[i] = last;
}

int
fw_partition(const struct fw_ban *in, size_t n, struct fw_range **out,
    size_t *nout)
{
	struct span *sp = NULL, **heap = NULL;
	struct fw_range *res = NULL;
	u128 *pts = NULL;
	size_t i, k, np = 0, nh = 0, nr = 0, next = 0;
	int family = n > 0 ? in[0].prefix.family : 4, rc = -ENOMEM;
	u128 max = family == 4 ? (u128)0xffffffffu : ~(u128)0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	sp = calloc(n, sizeof(*sp));
	heap = calloc(n, sizeof(*heap));
	pts = calloc(2 * n, sizeof(*pts));
	res = calloc(2 * n, sizeof(*res));
	if (sp == NULL || heap == NULL || pts == NULL || res == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		prefix_range(&in[i].prefix, &sp[i].lo, &sp[i].hi);
		sp[i].timeout = in[i].timeout;
		pts[np++] = sp[i].lo;
		if (sp[i].hi != max)
			pts[np++] = sp[i].hi + 1;
	}
	qsort(sp, n, sizeof(*sp), cmp_span_lo);
	qsort(pts, np, sizeof(*pts), cmp_u128);
	for (i = 0, k = 0; i < np; i++)
		if (k == 0 || pts[k - 1] != pts[i])
			pts[k++] = pts[i];
	np = k;
	for (i = 0; i < np; i++) {
		u128 end;

		while (next < n && sp[next].lo == pts[i])
			heap_push(heap, &nh, &sp[next++]);
		while (nh > 0 && heap[0]->hi < pts[i])
			heap_pop(heap, &nh);
		if (nh == 0)
			continue;
		end = i + 1 < np ? pts[i + 1] - 1 : max;
		if (nr > 0 && res[nr - 1].timeout == heap[0]->timeout &&
		    to_u128(family, res[nr - 1].hi) + 1 == pts[i]) {
			from_u128(family, end, res[nr - 1].hi);
			continue;
		}
		res[nr].family = (uint8_t)family;
		from_u128(family, pts[i], res[nr].lo);
		from_u128(family, end, res[nr].hi);
		res[nr].timeout = heap[0]->timeout;
		nr++;
	}
	*out = res;
	*nout = nr;
	res = NULL;
	rc = 0;
out:
	free(res);
	free(pts);
	free(heap);
	free(sp);
	return rc;
}

void
fw_prefix_range(const struct ab_addr *p, struct fw_range *r)
{
	u128 lo, hi;

	prefix_range(p, &lo, &hi);
	r->family = p->family;
	from_u128(r->family, lo, r->lo);
	from_u128(r->family, hi, r->hi);
}

struct ab_addr
fw_unit_net(const struct ab_addr *a)
{
	struct ab_addr net = *a;

	addr_mask(&net, a->plen);
	return net;
}

int
fw_step_takes(const struct fw_plan *plan, const struct fw_ban *b,
    enum fw_step s)
{
	return s == FW_STEP_ADD ? b->timeout > 0 : !plan->full && !b->fresh;
}

int64_t
fw_step_timeout(const struct fw_ban *b, enum fw_step s)
{
	return s == FW_STEP_PRE ? 1 : s == FW_STEP_DEL ? 0 : b->timeout;
}

size_t
fw_range_prefixes(const struct fw_range *r, struct ab_addr *out, size_t max)
{
	unsigned bits = r->family == 4 ? 32 : 128;
	u128 lo = to_u128(r->family, r->lo), hi = to_u128(r->family, r->hi);
	size_t n = 0;

	while (lo <= hi && n < max) {
		unsigned k = 0;	/* host bits of the block at lo */

		while (k < bits && (lo & host_mask(r->family, bits - k - 1)) == 0 &&
		    (lo | host_mask(r->family, bits - k - 1)) <= hi)
			k++;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].family = r->family;
		out[n].plen = (uint8_t)(bits - k);
		from_u128(r->family, lo, out[n].a);
		n++;
		if ((lo | host_mask(r->family, bits - k)) == host_mask(r->family,
		    0))
			break;	/* the last address */
		lo = (lo | host_mask(r->family, bits - k)) + 1;
	}
	return n;
}
