/*
 * fuzz_store.c - any bytes as a whole store file, opened as the module and
 * banhelper open it: the ban store's file, then the counts store's.  No
 * crash, no hang; what the checks let through, LMDB must read and write.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoban.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];
static struct ab_config cfg;

static void
put(const char *sub, const char *name, const uint8_t *data, size_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

static void
use(void)
{
	struct ab_store *st;
	struct ab_addr h, u;
	struct ab_decision d;
	struct ab_ban b;
	struct ab_store_stat ss;
	int64_t now = 1800000000;

	if (store_open(&st, &cfg, NULL) != 0)
		return;
	addr_parse("2001:db8::7", &h);
	config_unit(&cfg, &h, &u);
	(void)policy_find_ban(st, &h, now, &b, &u, &b, NULL);
	(void)policy_attempt(st, &h, "sshd", now * 1000000000LL, &d);
	(void)store_stat(st, &ss);
	(void)policy_prune(st, now, NULL, NULL);
	store_close(st);
}

/* A counts file that failed its checks is set aside: not a million. */
static void
sweep(void)
{
	char path[512];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/run", dir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, AB_COUNTS_FILE ".broken-", 18) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/run/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300];

	if (dir[0] == '\0') {
		const char *base = getenv("AB_TMP");

		snprintf(dir, sizeof(dir), "%s/fuzz-store.XXXXXX",
		    base != NULL ? base : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
		config_defaults(&cfg);
		snprintf(cfg.db, sizeof(cfg.db), "%s/db", dir);
		snprintf(cfg.runtime_dir, sizeof(cfg.runtime_dir), "%s/run",
		    dir);
		cfg.mapsize = 16 << 20;
		mkdir(cfg.db, 0700);
		mkdir(cfg.runtime_dir, 0700);
	}
	/* As the ban store (the seal gone: judged whole), then as counts. */
	snprintf(path, sizeof(path), "%s/db/%s.seal", dir, AB_BANS_FILE);
	unlink(path);
	put("db", AB_BANS_FILE, data, size);
	put("run", AB_COUNTS_FILE, (const uint8_t *)"", 0);
	use();
	snprintf(path, sizeof(path), "%s/run/%s.seal", dir, AB_COUNTS_FILE);
	unlink(path);
	put("db", AB_BANS_FILE, (const uint8_t *)"", 0);
	put("run", AB_COUNTS_FILE, data, size);
	use();
	sweep();
	return 0;
}
