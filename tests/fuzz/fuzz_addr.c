/*
 * fuzz_addr.c - addresses as PAM_RHOST or an admin carries them: any bytes
 * into addr_parse and addr_parse_prefix, and what they accept must format
 * and parse back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoban.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[300], out[AB_ADDRSTRLEN];
	struct ab_addr a, b;
	int loose;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (addr_parse(s, &a) == 0) {
		addr_format(&a, out, sizeof(out));
		if (addr_parse(out, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}
	for (loose = 0; loose <= 1; loose++) {
		if (addr_parse_prefix(s, loose, &a) != 0)
			continue;
		addr_format(&a, out, sizeof(out));
		if (addr_parse_prefix(out, 0, &b) != 0 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		(void)addr_is_loopback(&a);
		(void)addr_contains(&a, &b);
	}
	return 0;
}
