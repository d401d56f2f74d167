/*
 * nft_race.c - an LD_PRELOAD shim for banhelper in tests/helper/nft.sh.
 *
 * It plays another banhelper that wins a race: right after banhelper has
 * listed the tables (and found none of its own), it creates table inet
 * autoban.  A full rebuild that then only "creates" the table fails, and
 * must be run again as a replace.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <nftables/libnftables.h>

typedef int (*run_fn)(struct nft_ctx *, const char *);

/* Exported: the build hides everything by default. */
__attribute__((visibility("default"))) int
nft_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf)
{
	static run_fn real;
	struct nft_ctx *other;
	int rc;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "nft_run_cmd_from_buffer");
	if (real == NULL)
		return -1;
	rc = real(nft, buf);
	if (strcmp(buf, "list tables inet") == 0 &&
	    (other = nft_ctx_new(NFT_CTX_DEFAULT)) != NULL) {
		real(other, "add table inet autoban\n");
		nft_ctx_free(other);
	}
	return rc;
}
