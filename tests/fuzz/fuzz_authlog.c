/*
 * fuzz_authlog.c - any bytes as a line of auth.log for banhelper import
 * log: no harm, and a line taken gives an address that formats and parses
 * back to itself, a count of at least one, and a time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../banhelper/bh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authlog_event ev;
	struct ab_addr b;
	char why[160], out[AB_ADDRSTRLEN];
	int rc;

	why[0] = 'x';
	rc = authlog_line((const char *)data, size, 1796650000, &ev, why,
	    sizeof(why));
	if (rc == 1) {
		addr_format(&ev.host, out, sizeof(out));
		if (addr_parse(out, &b) != 0 || memcmp(&ev.host, &b,
		    sizeof(b)) != 0 || ev.count < 1 || ev.when < 0)
			abort();
	} else if (rc == -1 && (why[0] == '\0' ||
	    memchr(why, '\0', sizeof(why)) == NULL))
		abort();
	else if (rc != 0 && rc != -1)
		abort();
	return 0;
}
