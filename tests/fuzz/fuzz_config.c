/*
 * fuzz_config.c - any bytes as /etc/security/autoban.conf: parsed without
 * harm, and what it leaves is always a configuration in its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoban.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ab_config cfg;
	char *buf;

	if (size > 65536 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	config_defaults(&cfg);
	(void)config_parse(&cfg, buf, size, "fuzz", NULL);
	if (cfg.maxretry < 1 || cfg.maxretry > AB_MAXRETRY_MAX ||
	    cfg.findtime < 1 || cfg.bantime < 1 ||
	    cfg.nignore > AB_IGNORE_MAX || cfg.nports > AB_PORTS_MAX ||
	    cfg.ipv4_prefix < 8 || cfg.ipv4_prefix > 32 ||
	    cfg.ipv6_prefix < 16 || cfg.ipv6_prefix > 128 ||
	    cfg.db[0] != '/' || cfg.runtime_dir[0] != '/' ||
	    memchr(cfg.user, '\0', sizeof(cfg.user)) == NULL)
		abort();
	free(buf);
	return 0;
}
