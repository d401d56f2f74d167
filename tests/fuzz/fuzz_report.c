/*
 * fuzz_report.c - any bytes as a report line (the daemon's socket and
 * banhelper report): no harm, and a line taken gives a service name that
 * is one, an address that formats and parses back to itself, and a user
 * name of printable bytes within its bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../banhelper/bh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report r;
	struct ab_addr b;
	char why[256], out[AB_ADDRSTRLEN], svc[AB_SERVICE_MAX];
	size_t i;

	why[0] = '\0';
	if (report_parse((const char *)data, size, &r, why, sizeof(why)) == 0) {
		if (ab_service_name(r.service, svc) != 0 ||
		    strcmp(svc, r.service) != 0)
			abort();
		addr_format(&r.host, out, sizeof(out));
		if (addr_parse(out, &b) != 0 || memcmp(&r.host, &b,
		    sizeof(b)) != 0)
			abort();
		if (strlen(r.user) > REPORT_USER_MAX)
			abort();
		for (i = 0; r.user[i] != '\0'; i++)
			if ((unsigned char)r.user[i] < 0x20 ||
			    r.user[i] == 0x7f)
				abort();
	} else if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	return 0;
}
