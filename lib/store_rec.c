/*
 * store_rec.c - the store's keys and records, encoded and decoded.
 *
 * Native byte order (an LMDB file is not portable between architectures
 * anyway), read and written with memcpy because LMDB aligns values to two
 * bytes only.  A later version may append fields, never change one: a
 * reader takes the fields it knows from a record at least as long as its
 * own layout, and a writer keeps every byte past them.
 *
 * MUST: decode nothing without checking its length first; never trust a
 * count or length read from a record beyond the bytes present.
 */
#include <stddef.h>
#include <string.h>

#include "store_int.h"

/* Version 1 of a ban record: 40 bytes. */
struct ban_rec_v1 {
	uint8_t version;	/* 1 */
	uint8_t origin;
	uint16_t reserved0;
	uint32_t nbans;
	uint32_t failures;
	uint32_t reserved1;
	int64_t start;
	int64_t until;
	uint64_t seq;
};

/* Version 2: the service whose failures made the last auto ban. */
struct ban_rec_v2 {
	struct ban_rec_v1 v1;	/* version 2 */
	char service[AB_SERVICE_MAX];
};

/* Version 3: the fleet server a ban came from. */
struct ban_rec_v3 {
	struct ban_rec_v2 v2;	/* version 3 */
	char from[AB_FLEET_NAME_MAX];
};

/* Version 1 of a counts record's header: failures start at hdr_len. */
struct cnt_hdr_v1 {
	uint8_t version;	/* 1 */
	uint8_t nfail;
	uint16_t hdr_len;	/* later versions grow the header */
	uint32_t nsucc;
	int64_t last_success;
	/* int64_t fail[nfail] at offset hdr_len */
};

/* Version 2 of the header: the service of the last failure. */
struct cnt_hdr_v2 {
	struct cnt_hdr_v1 v1;	/* version 2, hdr_len >= sizeof(v2) */
	char service[AB_SERVICE_MAX];
};

/* A service name read from a record: its own form, or none. */
static void
svc_decode(const char *in, char *out)
{
	char tmp[AB_SERVICE_MAX], norm[AB_SERVICE_MAX];

	memcpy(tmp, in, AB_SERVICE_MAX);
	tmp[AB_SERVICE_MAX - 1] = '\0';
	if (ab_service_name(tmp, norm) == 0 && strcmp(norm, tmp) == 0)
		memcpy(out, norm, AB_SERVICE_MAX);
	else
		out[0] = '\0';
}

size_t
key_make(const struct ab_addr *a, uint8_t *k)
{
	size_t n = a->family == 4 ? 4 : 16;

	k[0] = a->family;
	k[1] = a->plen;
	memcpy(k + 2, a->a, n);
	return 2 + n;
}

int
key_parse(const void *data, size_t len, struct ab_addr *a)
{
	const uint8_t *k = data;

	memset(a, 0, sizeof(*a));
	if (len == 6 && k[0] == 4 && k[1] <= 32) {
		a->family = 4;
	} else if (len == 18 && k[0] == 6 && k[1] <= 128) {
		a->family = 6;
	} else {
		return AB_ECORRUPT;
	}
	a->plen = k[1];
	memcpy(a->a, k + 2, len - 2);
	/* Host bits past the length would make two keys of one prefix. */
	{
		struct ab_addr m = *a;

		addr_mask(&m, a->plen);
		if (memcmp(m.a, a->a, sizeof(a->a)) != 0)
			return AB_ECORRUPT;
	}
	return 0;
}

int
ban_decode(const MDB_val *v, struct ab_ban *b)
{
	struct ban_rec_v1 r;

	if (v->mv_size < sizeof(r) || v->mv_size > sizeof(r) + REC_TAIL_MAX)
		return AB_ECORRUPT;
	memcpy(&r, v->mv_data, sizeof(r));
	if (r.version < 1 || r.origin > AB_ORIGIN_TRUSTED)
		return AB_ECORRUPT;
	b->origin = r.origin;
	b->nbans = r.nbans;
	b->failures = r.failures;
	b->start = r.start;
	b->until = r.until;
	b->seq = r.seq;
	b->service[0] = '\0';
	if (r.version >= 2 && v->mv_size >= sizeof(struct ban_rec_v2))
		svc_decode((const char *)v->mv_data +
		    offsetof(struct ban_rec_v2, service), b->service);
	b->from[0] = '\0';
	if (r.version >= 3 && v->mv_size >= sizeof(struct ban_rec_v3)) {
		const char *f = (const char *)v->mv_data +
		    offsetof(struct ban_rec_v3, from);

		memcpy(b->from, f, AB_FLEET_NAME_MAX);
		b->from[AB_FLEET_NAME_MAX - 1] = '\0';
		if (!config_fleet_name_ok(b->from))
			b->from[0] = '\0';
	}
	return 0;
}

size_t
ban_encode(const struct ab_ban *rec, const MDB_val *old, uint8_t *buf,
    size_t len)
{
	struct ban_rec_v1 r;
	size_t n = sizeof(struct ban_rec_v3);

	memset(&r, 0, sizeof(r));
	memset(buf, 0, n);
	/* Keep the reserved fields and tail a later version wrote. */
	if (old != NULL && old->mv_size > sizeof(struct ban_rec_v3) &&
	    old->mv_size <= len && old->mv_size <= sizeof(r) + REC_TAIL_MAX) {
		memcpy(buf, old->mv_data, old->mv_size);
		memcpy(&r, old->mv_data, sizeof(r));
		n = old->mv_size;
	}
	if (r.version < 3)
		r.version = 3;
	memset(buf + offsetof(struct ban_rec_v3, from), 0, AB_FLEET_NAME_MAX);
	memcpy(buf + offsetof(struct ban_rec_v3, from), rec->from,
	    strnlen(rec->from, AB_FLEET_NAME_MAX - 1));
	memset(buf + offsetof(struct ban_rec_v2, service), 0, AB_SERVICE_MAX);
	memcpy(buf + offsetof(struct ban_rec_v2, service), rec->service,
	    strnlen(rec->service, AB_SERVICE_MAX - 1));
	r.origin = rec->origin;
	r.nbans = rec->nbans;
	r.failures = rec->failures;
	r.start = rec->start;
	r.until = rec->until;
	r.seq = rec->seq;
	memcpy(buf, &r, sizeof(r));
	return n;
}

int
cnt_decode(const MDB_val *v, struct ab_counter *c)
{
	struct cnt_hdr_v1 h;
	unsigned i;

	if (v->mv_size < sizeof(h))
		return AB_ECORRUPT;
	memcpy(&h, v->mv_data, sizeof(h));
	if (h.version < 1 || h.hdr_len < sizeof(h) ||
	    h.hdr_len > sizeof(h) + REC_TAIL_MAX ||
	    h.nfail > AB_MAXRETRY_MAX ||
	    v->mv_size < (size_t)h.hdr_len + (size_t)h.nfail * 8)
		return AB_ECORRUPT;
	c->nfail = h.nfail;
	c->nsucc = h.nsucc;
	c->last_success = h.last_success;
	c->service[0] = '\0';
	if (h.version >= 2 && h.hdr_len >= sizeof(struct cnt_hdr_v2))
		svc_decode((const char *)v->mv_data +
		    offsetof(struct cnt_hdr_v2, service), c->service);
	for (i = 0; i < h.nfail; i++)
		memcpy(&c->fail[i], (const uint8_t *)v->mv_data + h.hdr_len +
		    (size_t)i * 8, 8);
	/* The policy relies on failures ascending and unique. */
	for (i = 1; i < h.nfail; i++)
		if (c->fail[i] <= c->fail[i - 1])
			return AB_ECORRUPT;
	return 0;
}

size_t
cnt_encode(const struct ab_counter *rec, const MDB_val *old, uint8_t *buf,
    size_t len)
{
	struct cnt_hdr_v1 h;
	unsigned i, nfail = rec->nfail;

	memset(&h, 0, sizeof(h));
	h.version = 2;
	h.hdr_len = sizeof(struct cnt_hdr_v2);
	if (len < sizeof(struct cnt_hdr_v2))
		return 0;
	memset(buf, 0, sizeof(struct cnt_hdr_v2));
	/* Keep header fields a later version added. */
	if (old != NULL && old->mv_size >= sizeof(h)) {
		struct cnt_hdr_v1 oh;

		memcpy(&oh, old->mv_data, sizeof(oh));
		if (oh.hdr_len > sizeof(struct cnt_hdr_v2) &&
		    oh.version > 2 && oh.hdr_len <= old->mv_size &&
		    oh.hdr_len <= sizeof(h) + REC_TAIL_MAX &&
		    oh.hdr_len <= len) {
			memcpy(buf, old->mv_data, oh.hdr_len);
			h.version = oh.version;
			h.hdr_len = oh.hdr_len;
		}
	}
	memset(buf + offsetof(struct cnt_hdr_v2, service), 0, AB_SERVICE_MAX);
	memcpy(buf + offsetof(struct cnt_hdr_v2, service), rec->service,
	    strnlen(rec->service, AB_SERVICE_MAX - 1));
	if (nfail > AB_MAXRETRY_MAX)
		nfail = AB_MAXRETRY_MAX;
	if ((size_t)h.hdr_len + (size_t)nfail * 8 > len)
		return 0;
	h.nfail = (uint8_t)nfail;
	h.nsucc = rec->nsucc;
	h.last_success = rec->last_success;
	memcpy(buf, &h, sizeof(h));
	for (i = 0; i < nfail; i++)
		memcpy(buf + h.hdr_len + (size_t)i * 8, &rec->fail[i], 8);
	return (size_t)h.hdr_len + (size_t)nfail * 8;
}

int
change_decode(const MDB_val *v, struct change_val *cv)
{
	if (v->mv_size < sizeof(*cv))
		return AB_ECORRUPT;
	memcpy(cv, v->mv_data, sizeof(*cv));
	return cv->klen <= KEY_MAX ? 0 : AB_ECORRUPT;
}

/* Change numbers are keys in big-endian order, so LMDB sorts them. */
void
change_key(uint64_t seq, uint8_t *ck)
{
	int i;

	for (i = 0; i < 8; i++)
		ck[i] = (uint8_t)(seq >> (56 - 8 * i));
}
