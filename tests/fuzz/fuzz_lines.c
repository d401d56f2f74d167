/*
 * fuzz_lines.c - any bytes as a line of `banhelper ban -`: no harm, and a
 * line taken gives a prefix that formats and parses back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../banhelper/bh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ab_config cfg;
	struct ab_addr a, b;
	char why[256], out[AB_ADDRSTRLEN];
	char *copy;

	if (cfg.maxretry == 0)
		config_defaults(&cfg);
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (target_line(&cfg, copy, size, &a, why, sizeof(why)) == 1) {
		addr_format(&a, out, sizeof(out));
		if (addr_parse_prefix(out, 0, &b) != 0 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}
	if (memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	free(copy);
	return 0;
}
