/*
 * driver.c - the fuzz targets without libFuzzer: each file named, or each
 * file in each directory named, is one input.  The normal test run feeds
 * every target its corpus (tests/fuzz/TARGET/), crashes found kept there
 * included, so what once crashed is checked on every run.  Prints TAP.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static void
one(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len) {
		printf("not ok %d - %s: cannot read it\n", ++n, path);
		if (f != NULL)
			fclose(f);
		free(buf);
		return;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	printf("ok %d - %s\n", ++n, path);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		struct stat sb;
		struct dirent **ents;
		int k, m;

		if (stat(argv[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			one(argv[i]);
			continue;
		}
		if ((m = scandir(argv[i], &ents, NULL, alphasort)) < 0)
			continue;
		for (k = 0; k < m; k++) {
			char path[4096];

			if (ents[k]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i],
				    ents[k]->d_name);
				one(path);
			}
			free(ents[k]);
		}
		free(ents);
	}
	printf("1..%d\n", n);
	return 0;
}
