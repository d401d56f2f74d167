/*
 * fuzz_records.c - any bytes as a store record's key or value: decoded
 * without harm, and a record that decodes encodes back to what decodes
 * the same (bytes of a later version kept).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy, buf[CNT_REC_MAX];
	MDB_val v, w;
	struct ab_addr a;
	struct ab_ban b, b2;
	struct ab_counter c, c2;
	struct change_val cv;

	/* malloc'd: the sanitizers see reads past the end. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	v.mv_size = size;
	v.mv_data = copy;
	(void)key_parse(copy, size, &a);
	(void)change_decode(&v, &cv);
	memset(&b, 0, sizeof(b));
	if (ban_decode(&v, &b) == 0) {
		w.mv_size = ban_encode(&b, &v, buf, sizeof(buf));
		w.mv_data = buf;
		memset(&b2, 0, sizeof(b2));
		if (ban_decode(&w, &b2) != 0 || memcmp(&b, &b2, sizeof(b)) != 0)
			abort();
	}
	memset(&c, 0, sizeof(c));
	if (cnt_decode(&v, &c) == 0) {
		w.mv_size = cnt_encode(&c, &v, buf, sizeof(buf));
		w.mv_data = buf;
		memset(&c2, 0, sizeof(c2));
		if (w.mv_size == 0 || cnt_decode(&w, &c2) != 0 ||
		    c2.nfail != c.nfail || memcmp(c2.fail, c.fail,
		    c.nfail * sizeof(c.fail[0])) != 0)
			abort();
	}
	free(copy);
	return 0;
}
