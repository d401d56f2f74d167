/*
 * addr.c - IP addresses and prefixes, parsed with inet_pton only.
 *
 * MUST: never resolve a name; never read past AB_RHOST_MAX bytes of input;
 * every address that leaves this file has its bits past plen cleared.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "autoban.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void
addr_mask(struct ab_addr *a, unsigned plen)
{
	unsigned bits = addr_bits(a), i;

	if (plen > bits)
		plen = bits;
	a->plen = (uint8_t)plen;
	for (i = plen / 8; i < 16; i++) {
		if (i == plen / 8 && plen % 8 != 0)
			a->a[i] &= (uint8_t)(0xff << (8 - plen % 8));
		else
			a->a[i] = 0;
	}
}

/* Parse a bare address (no brackets, no zone) into out, full length. */
static int
parse_bare(const char *s, struct ab_addr *out)
{
	uint8_t buf[16];

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, buf) == 1) {
		out->family = 4;
		memcpy(out->a, buf, 4);
		out->plen = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		if (memcmp(buf, v4mapped, sizeof(v4mapped)) == 0) {
			out->family = 4;
			memcpy(out->a, buf + 12, 4);
			out->plen = 32;
		} else {
			out->family = 6;
			memcpy(out->a, buf, 16);
			out->plen = 128;
		}
		return 0;
	}
	return AB_EADDR;
}

/*
 * Copy the first n bytes of s without [brackets] and %zone into buf.
 * Returns 0, or AB_EADDR for empty, over-long or malformed input.
 */
static int
strip_decorations(const char *s, size_t n, char *buf, size_t buflen)
{
	const char *pct;
	size_t len;

	if (n == 0 || n >= buflen)
		return AB_EADDR;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return AB_EADDR;
		s++;
		n -= 2;
	}
	pct = memchr(s, '%', n);
	len = pct != NULL ? (size_t)(pct - s) : n;
	/* A zone belongs to IPv6 only, and is not empty. */
	if (pct != NULL && (memchr(s, ':', len) == NULL || len + 1 == n))
		return AB_EADDR;
	if (len == 0)
		return AB_EADDR;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

int
addr_parse(const char *s, struct ab_addr *out)
{
	char buf[AB_RHOST_MAX + 1];
	size_t n;

	if (s == NULL)
		return AB_EADDR;
	n = strnlen(s, AB_RHOST_MAX + 1);
	if (strip_decorations(s, n, buf, sizeof(buf)) != 0)
		return AB_EADDR;
	return parse_bare(buf, out);
}

int
addr_parse_prefix(const char *s, int loose, struct ab_addr *out)
{
	char buf[AB_RHOST_MAX + 1];
	const char *slash;
	struct ab_addr a, masked;
	unsigned long plen;
	size_t n;
	int ipv6_text;

	if (s == NULL)
		return AB_EADDR;
	n = strnlen(s, AB_RHOST_MAX + 1);
	if (n > AB_RHOST_MAX)
		return AB_EADDR;
	slash = memchr(s, '/', n);
	if (strip_decorations(s, slash != NULL ? (size_t)(slash - s) : n, buf,
	    sizeof(buf)) != 0)
		return AB_EADDR;
	if (parse_bare(buf, &a) != 0)
		return AB_EADDR;
	ipv6_text = strchr(buf, ':') != NULL;
	if (slash != NULL) {
		const char *p = slash + 1;

		if (*p == '\0' || strlen(p) > 3)
			return AB_EADDR;
		plen = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return AB_EADDR;
			plen = plen * 10 + (unsigned long)(*p - '0');
		}
		/* ::ffff:a.b.c.d/LEN counts IPv6 bits; map it to IPv4. */
		if (ipv6_text && a.family == 4) {
			if (plen < 96 || plen > 128)
				return AB_EADDR;
			plen -= 96;
		}
		if (plen > addr_bits(&a))
			return AB_EADDR;
	} else {
		plen = addr_bits(&a);
	}
	masked = a;
	addr_mask(&masked, (unsigned)plen);
	if (!loose && memcmp(masked.a, a.a, sizeof(a.a)) != 0)
		return AB_EADDR;
	*out = masked;
	return 0;
}

int
addr_contains(const struct ab_addr *net, const struct ab_addr *host)
{
	struct ab_addr h;

	if (net->family != host->family || host->plen < net->plen)
		return 0;
	h = *host;
	addr_mask(&h, net->plen);
	return memcmp(h.a, net->a, sizeof(h.a)) == 0;
}

int
addr_is_loopback(const struct ab_addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->family == 4)
		return a->a[0] == 127;
	return a->plen == 128 && memcmp(a->a, v6lo, 16) == 0;
}

char *
addr_format(const struct ab_addr *a, char *out, size_t outlen)
{
	char tmp[AB_ADDRSTRLEN];

	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->a, tmp,
	    sizeof(tmp)) == NULL)
		snprintf(tmp, sizeof(tmp), "?");
	if (a->plen < addr_bits(a))
		snprintf(out, outlen, "%s/%u", tmp, a->plen);
	else
		snprintf(out, outlen, "%s", tmp);
	return out;
}

int
addr_overlaps(const struct ab_addr *a, const struct ab_addr *b)
{
	return addr_contains(a, b) || addr_contains(b, a);
}
