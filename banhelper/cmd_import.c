/*
 * cmd_import.c - banhelper import log FILE|-: sshd's past failed passwords
 * (auth.log, or journalctl -u ssh output), counted through the policy with
 * their own times, as the module would have counted them then: a host
 * with maxretry failures within findtime is banned from that moment, for
 * what its ban has left now.  This replaces grepping auth.log for
 * addresses to ban by hand.
 *
 * MUST: read only sshd's own messages (authlog.c); take past failures in
 * time order, never one older than a record the store already holds for
 * its unit (those were counted live); leave out what is too old to matter
 * (before findtime and forget_after); name each bad line with its number
 * and go on; change nothing for loopback and ignoreip (the policy's rule).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"

#define NS		1000000000LL
#define EVENTS_MAX	(4u << 20)	/* failed passwords read, at most */
#define SAID_MAX	20		/* bad lines named, then counted */

struct ev {
	struct authlog_event e;
	uint32_t line;
};

static int
ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->e.when != y->e.when)
		return x->e.when < y->e.when ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Read every failed password of f into *out: 0, or BH_ERR (said why). */
static int
read_events(FILE *f, const char *name, int64_t now, struct ev **out,
    size_t *nout, size_t *lines, size_t *bad)
{
	struct ev *v = NULL, *nv;
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL, why[160], en[64];
	ssize_t got;
	int rc;

	*lines = *bad = 0;
	while ((got = getline(&line, &len, f)) >= 0) {
		struct authlog_event e;

		(*lines)++;
		if (got > 0 && line[got - 1] == '\n')
			got--;
		rc = authlog_line(line, (size_t)got, now, &e, why, sizeof(why));
		if (rc < 0) {
			if ((*bad)++ < SAID_MAX)
				bh_err("%s line %zu: %s: not counted",
				    ab_escape(name, en, sizeof(en)), *lines,
				    why);
			continue;
		}
		if (rc == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;

			if (ncap > EVENTS_MAX) {
				bh_err("%s: more than %u failed passwords: "
				    "import the most recent part of the log",
				    ab_escape(name, en, sizeof(en)),
				    EVENTS_MAX);
				goto fail;
			}
			if ((nv = realloc(v, ncap * sizeof(*v))) == NULL) {
				bh_err("out of memory");
				goto fail;
			}
			v = nv;
			cap = ncap;
		}
		v[n].e = e;
		v[n].line = (uint32_t)*lines;
		n++;
	}
	if (ferror(f)) {
		bh_err("%s: read: %s", ab_escape(name, en, sizeof(en)),
		    strerror(errno));
		goto fail;
	}
	free(line);
	*out = v;
	*nout = n;
	return 0;
fail:
	free(line);
	free(v);
	return BH_ERR;
}

/* The newest failure the store holds for host's unit, in ns (0: none). */
static int64_t
newest_failure(struct ab_store *st, const struct ab_config *cfg,
    const struct ab_addr *host)
{
	struct ab_counter c;
	struct ab_addr unit;

	config_unit(cfg, host, &unit);
	if (store_count_get(st, &unit, &c) != 1 || c.nfail == 0)
		return 0;
	return c.fail[c.nfail - 1];
}

static int
import_log(struct bh *bh, const char *path)
{
	struct ab_store *st = NULL;
	struct ev *v = NULL;
	FILE *f;
	size_t n = 0, lines, bad, i, k, failures = 0, old = 0, live = 0;
	size_t banned_now = 0, banned_then = 0, allowed = 0;
	int64_t now = (int64_t)time(NULL), horizon, seq = 0;
	char a[AB_ADDRSTRLEN], p[AB_ADDRSTRLEN], en[64];
	int rc;

	if (geteuid() != 0) {
		bh_err("import: must be run as root");
		return BH_PERM;
	}
	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "re")) == NULL) {
		bh_err("import log: %s: %s", ab_escape(path, en, sizeof(en)),
		    strerror(errno));
		return BH_ERR;
	}
	rc = read_events(f, strcmp(path, "-") == 0 ? "stdin" : path, now, &v,
	    &n, &lines, &bad);
	if (f != stdin)
		fclose(f);
	if (rc != 0)
		return rc;
	if ((rc = bh_open_store(bh, &st)) != 0) {
		free(v);
		return rc;
	}
	qsort(v, n, sizeof(*v), ev_cmp);
	/* Older than both findtime and forget_after: it cannot matter. */
	horizon = now - (bh->cfg.findtime > bh->cfg.forget_after ?
	    bh->cfg.findtime : bh->cfg.forget_after);
	for (i = 0; i < n && rc == 0; i++) {
		for (k = 0; k < v[i].e.count && rc == 0; k++) {
			struct ab_decision d;
			/* Unique and ascending, as the store keeps failures. */
			int64_t t = v[i].e.when * NS + (seq++ % NS);

			failures++;
			if (v[i].e.when < horizon || v[i].e.when > now + 60) {
				old++;
				continue;
			}
			if (newest_failure(st, &bh->cfg, &v[i].e.host) >= t) {
				live++;
				continue;
			}
			rc = policy_fail(st, &v[i].e.host, "sshd", t, &d);
			if (rc == 0 && d.verdict == AB_IGNORED)
				allowed++;
			if (rc != 0 || d.verdict != AB_BANNED)
				continue;
			if (d.ban.until > now) {
				banned_now++;
				printf("banned %s as %s: %s left\n",
				    addr_format(&v[i].e.host, a, sizeof(a)),
				    addr_format(&d.ban.prefix, p,
				    sizeof(p)), ab_fmt_duration(d.ban.until -
				    now, en, sizeof(en)));
			} else
				banned_then++;
		}
	}
	store_close(st);
	free(v);
	if (rc != 0) {
		bh_err("import log: the store: %s (what came before was "
		    "counted)", ab_strerror(rc));
		return BH_ERR;
	}
	if (banned_now > 0)
		wake_send(&bh->cfg);
	printf("%zu lines, %zu failed passwords of sshd: %zu counted, %zu "
	    "allowlisted, %zu too old to matter, %zu already counted live; "
	    "%zu bans active now, %zu ended since\n", lines, failures,
	    failures - old - live - allowed, allowed, old, live, banned_now,
	    banned_then);
	if (bad > 0) {
		if (bad > SAID_MAX)
			bh_err("... and %zu more bad lines", bad - SAID_MAX);
		return BH_PARTIAL;
	}
	return BH_OK;
}

int
cmd_import(struct bh *bh, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "log") == 0) {
		if (argc != 2) {
			bh_err("import log: give one file, or - for stdin (see "
			    "banhelper import --help)");
			return BH_USAGE;
		}
		return import_log(bh, argv[1]);
	}
	if (argc >= 1 && strcmp(argv[0], "fail2ban") == 0)
		return import_fail2ban(bh, argc - 1, argv + 1);
	bh_err("import: expected \"log FILE\" or \"fail2ban FILE\" (see "
	    "banhelper import --help)");
	return BH_USAGE;
}
