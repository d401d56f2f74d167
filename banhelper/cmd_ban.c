/*
 * cmd_ban.c - the admin's changing commands: ban, unban, sync.
 *
 * Each checks its privileges first and says what is missing.  Every
 * address comes in as text, is parsed into binary (targets.c), and only
 * the binary form goes on to the store and the firewall.  The store is
 * written first and the kernel follows; a kernel that refuses leaves the
 * store right, for the daemon or the next sync to retry.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"
#include "fw.h"
#include "repair.h"

#define BULK_LINE_MAX	1024

struct targets {
	struct ab_addr *v;
	size_t n, cap;
	unsigned bad;
};

static int
targets_push(struct targets *t, const struct ab_addr *a)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct ab_addr *nv = realloc(t->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = *a;
	return 0;
}

/*
 * One line of stdin into buf (at most cap bytes kept, the newline too);
 * *len is its full length, NUL bytes and all.  0 at the end of input.
 */
static int
read_line(FILE *in, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c;

	while ((c = getc_unlocked(in)) != EOF) {
		if (n < cap)
			buf[n] = (char)c;
		n++;
		if (c == '\n')
			break;
	}
	*len = n;
	return n > 0;
}

/* Addresses from stdin, one a line; '#' starts a comment. */
static int
read_stdin_targets(const struct bh *bh, struct targets *t)
{
	char line[BULK_LINE_MAX + 2], why[256];
	unsigned long lineno = 0;
	size_t len;

	while (read_line(stdin, line, sizeof(line), &len)) {
		struct ab_addr a;
		int rc;

		lineno++;
		/* Past the buffer: target_line sees the length and says so. */
		rc = target_line(&bh->cfg, line, len < sizeof(line) ? len :
		    sizeof(line), &a, why, sizeof(why));
		if (len >= sizeof(line) && rc != -1) {
			snprintf(why, sizeof(why), "longer than %d bytes: "
			    "skipped", BULK_LINE_MAX);
			rc = -1;
		}
		if (rc < 0) {
			bh_err("line %lu: %s", lineno, why);
			t->bad++;
			continue;
		}
		if (rc == 1 && targets_push(t, &a) != 0)
			return -1;
	}
	return ferror(stdin) ? -1 : 0;
}

/* Tell the kernel; a failure leaves the store right for the next sync. */
static int
push_to_firewall(struct bh *bh, struct ab_store *st, const struct fw_ban *b,
    size_t n, int64_t now, const char *what)
{
	struct fw *fw = NULL;
	int rc;

	if ((rc = fw_open(&fw, &bh->cfg, &bh->log)) == 0) {
		rc = fw_apply_bans(fw, st, b, n, now);
		fw_close(fw);
	}
	if (rc != 0) {
		bh_err("%s in the store, but the firewall change failed (%s); "
		    "'banhelper sync' or the daemon will retry", what,
		    ab_strerror(rc));
		return BH_ERR;
	}
	return 0;
}

int
cmd_ban(struct bh *bh, int argc, char **argv)
{
	struct targets t = { NULL, 0, 0, 0 };
	struct ab_store *st = NULL;
	struct fw_ban *fb = NULL;
	uint8_t *was = NULL;
	int *res = NULL, rc, i, from_stdin = 0;
	size_t k, nf = 0, refused = 0;
	int64_t now = (int64_t)time(NULL), secs;
	char why[256], len[32];

	if ((rc = bh_need_privileges(bh, "ban")) != 0)
		return rc;
	for (i = 0; i < argc; i++) {
		struct ab_addr a;

		if (strcmp(argv[i], "-") == 0) {
			from_stdin = 1;
			continue;
		}
		if (target_parse(&bh->cfg, argv[i], &a, why, sizeof(why)) != 0) {
			bh_err("%s", why);
			t.bad++;
			continue;
		}
		if (targets_push(&t, &a) != 0)
			goto oom;
	}
	if (from_stdin && read_stdin_targets(bh, &t) != 0)
		goto oom;
	if (t.n == 0) {
		if (t.bad == 0)
			bh_err("ban: no address given (see banhelper ban --help)");
		rc = t.bad ? BH_ERR : BH_USAGE;
		goto out;
	}
	secs = bh->for_secs > 0 ? bh->for_secs : bh->cfg.bantime;
	res = calloc(t.n, sizeof(*res));
	was = calloc(t.n, sizeof(*was));
	fb = calloc(t.n, sizeof(*fb));
	if (res == NULL || was == NULL || fb == NULL)
		goto oom;
	if ((rc = bh_open_store(bh, &st)) != 0)
		goto out;
	rc = policy_ban_manual_many(st, t.v, t.n, secs, bh->force, now, res,
	    was);
	if (rc != 0) {
		bh_err("cannot write the store: %s (nothing was banned)",
		    ab_strerror(rc));
		rc = BH_ERR;
		goto out;
	}
	ab_fmt_duration(secs, len, sizeof(len));
	for (k = 0; k < t.n; k++) {
		char a[AB_ADDRSTRLEN];

		/* Text only for what is printed: a `ban -` may hold millions. */
		if (res[k] != 0 || t.n <= 20)
			addr_format(&t.v[k], a, sizeof(a));
		if (res[k] != 0) {
			bh_err("%s: %s: not banned (use --force to ban it "
			    "anyway)", a, ab_strerror(res[k]));
			refused++;
			continue;
		}
		fb[nf].prefix = t.v[k];
		fb[nf].timeout = secs;
		fb[nf].fresh = !was[k];
		nf++;
		if (t.n <= 20)
			printf("banned %s for %s\n", a, len);
	}
	if (t.n > 20)
		printf("banned %zu prefixes for %s\n", nf, len);
	if (nf > 0) {
		/* The admin's action, logged once like the module's bans. */
		ab_logf(&bh->log, LOG_NOTICE, "manual ban of %zu prefix%s for "
		    "%s by uid %u", nf, nf == 1 ? "" : "es", len,
		    (unsigned)getuid());
		if ((rc = push_to_firewall(bh, st, fb, nf, now, "banned")) != 0)
			goto out;
		wake_send(&bh->cfg);
	}
	rc = t.bad + refused == 0 ? BH_OK : nf > 0 ? BH_PARTIAL : BH_ERR;
	goto out;
oom:
	bh_err("out of memory");
	rc = BH_ERR;
out:
	store_close(st);
	free(t.v);
	free(res);
	free(was);
	free(fb);
	return rc;
}

int
cmd_unban(struct bh *bh, int argc, char **argv)
{
	struct targets t = { NULL, 0, 0, 0 };
	struct ab_store *st = NULL;
	struct fw_ban *fb = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t k, nf = 0;
	char why[256];
	int rc, i;

	if ((rc = bh_need_privileges(bh, "unban")) != 0)
		return rc;
	if (bh->all) {
		struct fw *fw = NULL;
		size_t n = 0;

		if (argc > 0) {
			bh_err("unban: --all takes no addresses");
			return BH_USAGE;
		}
		if ((rc = bh_open_store(bh, &st)) != 0)
			return rc;
		if ((rc = store_clear(st, now, &n)) != 0) {
			bh_err("cannot clear the store: %s", ab_strerror(rc));
			store_close(st);
			return BH_ERR;
		}
		printf("unbanned everything (%zu records removed)\n", n);
		ab_logf(&bh->log, LOG_NOTICE, "unban of everything (%zu "
		    "records) by uid %u", n, (unsigned)getuid());
		if ((rc = fw_open(&fw, &bh->cfg, &bh->log)) == 0) {
			rc = fw_sync_full(fw, st, now, NULL);
			fw_close(fw);
		}
		store_close(st);
		if (rc != 0) {
			bh_err("the store is empty, but the firewall change "
			    "failed (%s)", ab_strerror(rc));
			return BH_ERR;
		}
		wake_send(&bh->cfg);
		return BH_OK;
	}
	for (i = 0; i < argc; i++) {
		struct ab_addr a;

		if (target_parse(&bh->cfg, argv[i], &a, why, sizeof(why)) != 0) {
			bh_err("%s", why);
			t.bad++;
			continue;
		}
		if (targets_push(&t, &a) != 0) {
			bh_err("out of memory");
			rc = BH_ERR;
			goto out;
		}
	}
	if (t.n == 0) {
		if (t.bad == 0)
			bh_err("unban: no address given (see banhelper unban "
			    "--help)");
		rc = t.bad ? BH_ERR : BH_USAGE;
		goto out;
	}
	if ((fb = calloc(t.n, sizeof(*fb))) == NULL) {
		rc = BH_ERR;
		goto out;
	}
	if ((rc = bh_open_store(bh, &st)) != 0)
		goto out;
	for (k = 0; k < t.n; k++) {
		char a[AB_ADDRSTRLEN], p[AB_ADDRSTRLEN];
		struct ab_ban still;

		addr_format(&t.v[k], a, sizeof(a));
		if ((rc = policy_unban(st, &t.v[k], now)) < 0) {
			bh_err("%s: cannot unban: %s", a, ab_strerror(rc));
			t.bad++;
			continue;
		}
		printf(rc == 1 ? "unbanned %s\n" :
		    "%s: no ban or history (its counts, if any, are cleared)\n",
		    a);
		if (rc == 1)
			ab_logf(&bh->log, LOG_NOTICE, "unban of %s by uid %u", a,
			    (unsigned)getuid());
		fb[nf].prefix = t.v[k];
		fb[nf].timeout = 0;
		nf++;
		if (policy_find_ban(st, &t.v[k], now, &still, NULL, NULL,
		    NULL) == 1)
			bh_err("%s is still banned by %s (unban that too)", a,
			    addr_format(&still.prefix, p, sizeof(p)));
	}
	rc = nf > 0 ? push_to_firewall(bh, st, fb, nf, now, "unbanned") : 0;
	if (rc == 0)
		rc = t.bad == 0 ? BH_OK : nf > 0 ? BH_PARTIAL : BH_ERR;
	if (nf > 0)
		wake_send(&bh->cfg);
out:
	store_close(st);
	free(t.v);
	free(fb);
	return rc;
}

int
cmd_sync(struct bh *bh, int argc, char **argv)
{
	struct ab_store *st = NULL;
	struct fw *fw = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, nb = 0, nc = 0;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = bh_need_privileges(bh, "sync")) != 0)
		return rc;
	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	if ((rc = fw_open(&fw, &bh->cfg, &bh->log)) != 0) {
		store_close(st);
		bh_err("sync failed: %s", ab_strerror(rc));
		return BH_ERR;
	}
	/* A ban store that fails its checks is rebuilt from the kernel. */
	repair_store(st, fw, now, &bh->log, NULL);
	/* Expired bans and forgotten history leave the store first. */
	if ((rc = policy_prune(st, now, &nb, &nc)) != 0)
		bh_err("pruning failed: %s (going on)", ab_strerror(rc));
	rc = fw_sync_full(fw, st, now, &n);
	fw_close(fw);
	store_close(st);
	if (rc != 0) {
		bh_err("sync failed: %s", ab_strerror(rc));
		return BH_ERR;
	}
	printf("synced %zu bans into %s (pruned %zu records and %zu counts)\n",
	    n, bh->cfg.backend == AB_BACKEND_IPSET ? "ipset" : "nftables", nb,
	    nc);
	return BH_OK;
}
