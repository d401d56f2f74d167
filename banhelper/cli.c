/*
 * cli.c - the admin's commands: list, ban, unban, status, sync.
 *
 * Changing commands check their privileges first and say what is missing.
 * Every address comes in as text, is parsed into binary here, and only the
 * binary form goes on to the store and the firewall.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "banhelper.h"

#define BULK_LINE_MAX	1024

int
need_privileges(const struct bh *bh, const char *cmd)
{
	int root = geteuid() == 0, netadm = caps_have_net_admin();

	if (root && netadm)
		return 0;
	if (!root && !netadm)
		bh_err("%s needs root (to write the store in %s) and "
		    "CAP_NET_ADMIN (to change the firewall); you are uid %u "
		    "without CAP_NET_ADMIN", cmd, bh->cfg.db, (unsigned)geteuid());
	else if (!root)
		bh_err("%s needs root to write the store in %s; you are uid %u",
		    cmd, bh->cfg.db, (unsigned)geteuid());
	else
		bh_err("%s needs CAP_NET_ADMIN to change the firewall, and this "
		    "process does not have it in its effective set", cmd);
	return BH_PERM;
}

int
load_config(struct bh *bh, int strict)
{
	int rc;

	config_defaults(&bh->cfg);
	rc = config_load(&bh->cfg, bh->conf_path != NULL ? bh->conf_path :
	    AB_CONF_PATH, bh->conf_path != NULL, &bh->log);
	if (rc == AB_ECONFIG && !strict)
		return 0;	/* bad lines were reported; defaults kept */
	if (rc != 0) {
		bh_err("cannot use the configuration: %s", ab_strerror(rc));
		return BH_ERR;
	}
	return 0;
}

static int
open_store(struct bh *bh, struct ab_store **st)
{
	int rc = store_open(st, &bh->cfg, &bh->log);

	if (rc != 0) {
		bh_err("cannot open the store: %s", ab_strerror(rc));
		return BH_ERR;
	}
	return 0;
}

static char *
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

/* ---- list ---------------------------------------------------------------- */

struct listing {
	struct ab_ban *bans;
	size_t nbans, capb;
	struct ab_counter *cnt;
	size_t ncnt, capc;
	int64_t now;
	int all, oom;
};

static int
list_ban_cb(const struct ab_ban *rec, void *arg)
{
	struct listing *l = arg;

	if (rec->until <= l->now && !l->all)
		return 0;
	if (l->nbans == l->capb) {
		size_t cap = l->capb ? l->capb * 2 : 64;
		struct ab_ban *nv = realloc(l->bans, cap * sizeof(*nv));

		if (nv == NULL) {
			l->oom = 1;
			return 1;
		}
		l->bans = nv;
		l->capb = cap;
	}
	l->bans[l->nbans++] = *rec;
	return 0;
}

static int
list_cnt_cb(const struct ab_counter *rec, void *arg)
{
	struct listing *l = arg;

	if (l->ncnt == l->capc) {
		size_t cap = l->capc ? l->capc * 2 : 64;
		struct ab_counter *nv = realloc(l->cnt, cap * sizeof(*nv));

		if (nv == NULL) {
			l->oom = 1;
			return 1;
		}
		l->cnt = nv;
		l->capc = cap;
	}
	l->cnt[l->ncnt++] = *rec;
	return 0;
}

/* Address order: family, address, then shorter prefixes first. */
static int
cmp_ban_prefix(const void *a, const void *b)
{
	const struct ab_ban *x = a, *y = b;
	int c;

	if (x->prefix.family != y->prefix.family)
		return x->prefix.family - y->prefix.family;
	if ((c = memcmp(x->prefix.a, y->prefix.a, 16)) != 0)
		return c;
	return x->prefix.plen - y->prefix.plen;
}

/* The unit's durable record, if any: failures before its ban are paid. */
static int64_t
since_ns(const struct listing *l, const struct ab_addr *unit)
{
	struct ab_ban key, *hit;

	memset(&key, 0, sizeof(key));
	key.prefix = *unit;
	hit = bsearch(&key, l->bans, l->nbans, sizeof(key), cmp_ban_prefix);
	return hit != NULL && hit->start > 0 ? hit->start * 1000000000LL +
	    999999999LL : 0;
}

int
cmd_list(struct bh *bh)
{
	struct ab_store *st = NULL;
	struct listing l;
	json_t *jb = NULL, *jc = NULL;
	size_t i, shown = 0;
	int rc;

	memset(&l, 0, sizeof(l));
	l.now = (int64_t)time(NULL);
	l.all = 1;	/* all records; active ones are picked below */
	if ((rc = open_store(bh, &st)) != 0)
		return rc;
	rc = store_ban_foreach(st, list_ban_cb, &l);
	if (rc >= 0 && bh->all)
		rc = store_count_foreach(st, list_cnt_cb, &l);
	store_close(st);
	if (rc < 0 || l.oom) {
		bh_err("cannot read the store: %s", l.oom ?
		    "out of memory" : ab_strerror(rc));
		rc = BH_ERR;
		goto out;
	}
	qsort(l.bans, l.nbans, sizeof(*l.bans), cmp_ban_prefix);
	if (bh->json) {
		json_t *root = json_object();

		jb = json_array();
		for (i = 0; i < l.nbans; i++) {
			const struct ab_ban *b = &l.bans[i];
			char a[AB_ADDRSTRLEN];

			if (b->until <= l.now)
				continue;
			json_array_append_new(jb, json_pack("{s:s, s:s, s:i, "
			    "s:I, s:I, s:I, s:i}", "prefix", addr_format(&b->prefix,
			    a, sizeof(a)), "origin", b->origin == AB_ORIGIN_MANUAL ?
			    "manual" : "auto", "failures", (int)b->failures,
			    "started", (json_int_t)b->start, "until",
			    (json_int_t)b->until, "left", (json_int_t)(b->until -
			    l.now), "times_banned", (int)b->nbans));
		}
		json_object_set_new(root, "bans", jb);
		if (bh->all) {
			jc = json_array();
			for (i = 0; i < l.ncnt; i++) {
				const struct ab_counter *c = &l.cnt[i];
				char a[AB_ADDRSTRLEN];
				unsigned n = policy_window(&bh->cfg, c,
				    l.now * 1000000000LL, since_ns(&l,
				    &c->prefix));

				json_array_append_new(jc, json_pack("{s:s, s:i, "
				    "s:I, s:i, s:I}", "prefix",
				    addr_format(&c->prefix, a, sizeof(a)),
				    "failures", (int)n, "last_failure",
				    (json_int_t)(c->nfail ? c->fail[c->nfail - 1] /
				    1000000000LL : 0), "successes", (int)c->nsucc,
				    "last_success", (json_int_t)c->last_success));
			}
			json_object_set_new(root, "counting", jc);
		}
		print_json(root);
		rc = BH_OK;
		goto out;
	}
	for (i = 0; i < l.nbans; i++) {
		const struct ab_ban *b = &l.bans[i];
		char a[AB_ADDRSTRLEN], t[32], left[32];

		if (b->until <= l.now)
			continue;
		if (shown++ == 0)
			printf("%-30s %-6s %8s  %-19s  %-10s %5s\n", "PREFIX",
			    "ORIGIN", "FAILURES", "STARTED", "LEFT", "BANS");
		printf("%-30s %-6s %8u  %-19s  %-10s %5u\n",
		    addr_format(&b->prefix, a, sizeof(a)),
		    b->origin == AB_ORIGIN_MANUAL ? "manual" : "auto",
		    b->failures, fmt_time(b->start, t, sizeof(t)),
		    ab_fmt_duration(b->until - l.now, left, sizeof(left)),
		    b->nbans);
	}
	if (shown == 0)
		printf("no active bans\n");
	if (bh->all) {
		printf("\n");
		if (l.ncnt == 0)
			printf("no hosts being counted\n");
		for (i = 0; i < l.ncnt; i++) {
			const struct ab_counter *c = &l.cnt[i];
			char a[AB_ADDRSTRLEN], t[32];
			unsigned n = policy_window(&bh->cfg, c, l.now *
			    1000000000LL, since_ns(&l, &c->prefix));

			if (i == 0)
				printf("%-30s %8s  %-19s  %9s\n", "COUNTING",
				    "FAILURES", "LAST FAILURE", "SUCCESSES");
			printf("%-30s %8u  %-19s  %9u\n",
			    addr_format(&c->prefix, a, sizeof(a)), n,
			    fmt_time(c->nfail ? c->fail[c->nfail - 1] /
			    1000000000LL : 0, t, sizeof(t)), c->nsucc);
		}
	}
	rc = BH_OK;
out:
	free(l.bans);
	free(l.cnt);
	return rc;
}

/* ---- ban / unban --------------------------------------------------------- */

/*
 * Parse an admin's address: a bare address means its counting unit (the
 * /32 or /64 the module would ban); ADDR/LEN means exactly that prefix.
 */
static int
parse_target(const struct bh *bh, const char *s, struct ab_addr *out,
    char *why, size_t whylen)
{
	struct ab_addr a;
	char e[96];

	if (strchr(s, '/') == NULL) {
		if (addr_parse(s, &a) != 0) {
			snprintf(why, whylen, "\"%s\": not an IP address or "
			    "prefix", ab_escape(s, e, sizeof(e)));
			return -1;
		}
		config_unit(&bh->cfg, &a, out);
		return 0;
	}
	if (addr_parse_prefix(s, 0, out) == 0)
		return 0;
	if (addr_parse_prefix(s, 1, &a) == 0) {
		char fixed[AB_ADDRSTRLEN];

		snprintf(why, whylen, "\"%s\" has host bits set (did you mean "
		    "%s?)", ab_escape(s, e, sizeof(e)),
		    addr_format(&a, fixed, sizeof(fixed)));
		return -1;
	}
	snprintf(why, whylen, "\"%s\": not an IP address or prefix",
	    ab_escape(s, e, sizeof(e)));
	return -1;
}

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

/* Addresses from stdin, one a line; '#' starts a comment. */
static int
read_stdin_targets(const struct bh *bh, struct targets *t)
{
	char line[BULK_LINE_MAX + 2], why[256];
	unsigned long lineno = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t n = strlen(line);
		char *s = line, *e;
		struct ab_addr a;

		lineno++;
		if (n > 0 && line[n - 1] != '\n' && !feof(stdin)) {
			int c;

			bh_err("line %lu: longer than %d bytes: skipped", lineno,
			    BULK_LINE_MAX);
			t->bad++;
			while ((c = getchar()) != EOF && c != '\n')
				;
			continue;
		}
		if ((e = strchr(s, '#')) != NULL)
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0')
			continue;
		if (parse_target(bh, s, &a, why, sizeof(why)) != 0) {
			bh_err("line %lu: %s", lineno, why);
			t->bad++;
			continue;
		}
		if (targets_push(t, &a) != 0)
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

	if ((rc = need_privileges(bh, "ban")) != 0)
		return rc;
	for (i = 0; i < argc; i++) {
		struct ab_addr a;

		if (strcmp(argv[i], "-") == 0) {
			from_stdin = 1;
			continue;
		}
		if (parse_target(bh, argv[i], &a, why, sizeof(why)) != 0) {
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
	if ((rc = open_store(bh, &st)) != 0)
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

	if ((rc = need_privileges(bh, "unban")) != 0)
		return rc;
	if (bh->all) {
		struct fw *fw = NULL;
		size_t n = 0;

		if (argc > 0) {
			bh_err("unban: --all takes no addresses");
			return BH_USAGE;
		}
		if ((rc = open_store(bh, &st)) != 0)
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

		if (parse_target(bh, argv[i], &a, why, sizeof(why)) != 0) {
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
	if ((rc = open_store(bh, &st)) != 0)
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
		if (store_ban_find(st, &t.v[k], now, &still, NULL, NULL,
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

/* ---- status and sync ----------------------------------------------------- */

struct actives {
	int64_t now;
	size_t n, manual;
};

static int
active_cb(const struct ab_ban *rec, void *arg)
{
	struct actives *a = arg;

	if (rec->until > a->now) {
		a->n++;
		a->manual += rec->origin == AB_ORIGIN_MANUAL;
	}
	return 0;
}

/* Is the daemon running?  Its pid file is locked while it runs. */
static int
daemon_state(const struct ab_config *cfg, long *pid, int64_t *last)
{
	char path[AB_PATH_MAX + 32], buf[64];
	ssize_t n;
	int fd, running;

	*pid = 0;
	*last = 0;
	snprintf(path, sizeof(path), "%s/%s", cfg->runtime_dir, AB_PID_FILE);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	running = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		long long l = 0;

		buf[n] = '\0';
		if (sscanf(buf, "%ld %lld", pid, &l) == 2)
			*last = l;
	}
	close(fd);
	return running;
}

int
cmd_status(struct bh *bh)
{
	struct ab_store *st = NULL;
	struct ab_store_stat ss;
	struct actives act = { (int64_t)time(NULL), 0, 0 };
	struct fw_check chk;
	struct fw *fw = NULL;
	int rc, have_fw = 0, running;
	long pid;
	int64_t last;

	if ((rc = open_store(bh, &st)) != 0)
		return rc;
	if ((rc = store_stat(st, &ss)) != 0 ||
	    (rc = store_ban_foreach(st, active_cb, &act)) < 0) {
		bh_err("cannot read the store: %s", ab_strerror(rc));
		store_close(st);
		return BH_ERR;
	}
	memset(&chk, 0, sizeof(chk));
	if (caps_have_net_admin() && fw_open(&fw, &bh->cfg, &bh->log) == 0) {
		have_fw = fw_check(fw, st, act.now, &chk) == 0;
		fw_close(fw);
	}
	store_close(st);
	running = daemon_state(&bh->cfg, &pid, &last);
	if (bh->json) {
		json_t *root = json_pack("{s:{s:s, s:I, s:I}, s:{s:s, s:I, s:I},"
		    " s:I, s:I}",
		    "store", "path", bh->cfg.db, "bytes", (json_int_t)ss.bans_bytes,
		    "records", (json_int_t)ss.bans_records,
		    "counts", "path", bh->cfg.runtime_dir, "bytes",
		    (json_int_t)ss.counts_bytes, "hosts_counted",
		    (json_int_t)ss.counts_records,
		    "bans_active", (json_int_t)act.n,
		    "bans_manual", (json_int_t)act.manual);
		json_t *jf = json_pack("{s:s}", "backend",
		    bh->cfg.backend == AB_BACKEND_IPSET ? "ipset" : "nftables");

		if (have_fw) {
			json_object_set_new(jf, "present", json_boolean(chk.present));
			json_object_set_new(jf, "in_sync", json_boolean(
			    chk.present && chk.missing == 0 && chk.extra == 0));
			json_object_set_new(jf, "elements", json_integer(
			    (json_int_t)chk.have));
			json_object_set_new(jf, "missing", json_integer(
			    (json_int_t)chk.missing));
			json_object_set_new(jf, "extra", json_integer(
			    (json_int_t)chk.extra));
		} else {
			json_object_set_new(jf, "in_sync", json_null());
		}
		json_object_set_new(root, "firewall", jf);
		json_object_set_new(root, "daemon", json_pack("{s:b, s:I, s:I}",
		    "running", running, "pid", (json_int_t)(running ? pid : 0),
		    "last_sync", (json_int_t)last));
		print_json(root);
		return BH_OK;
	}
	printf("store:     %s (%s, %llu KiB, %llu records)\n", bh->cfg.db,
	    AB_BANS_FILE, (unsigned long long)ss.bans_bytes / 1024,
	    (unsigned long long)ss.bans_records);
	printf("counts:    %s (%s, %llu KiB, %llu hosts counted)\n",
	    bh->cfg.runtime_dir, AB_COUNTS_FILE,
	    (unsigned long long)ss.counts_bytes / 1024,
	    (unsigned long long)ss.counts_records);
	printf("bans:      %zu active (%zu auto, %zu manual)\n", act.n,
	    act.n - act.manual, act.manual);
	printf("firewall:  %s, ", bh->cfg.backend == AB_BACKEND_IPSET ?
	    "ipset + iptables" : "nftables table inet autoban");
	if (!have_fw)
		printf("not checked (needs CAP_NET_ADMIN)\n");
	else if (!chk.present)
		printf("MISSING or altered (run banhelper sync)\n");
	else if (chk.missing == 0 && chk.extra == 0)
		printf("in sync with the store (%zu elements)\n", chk.have);
	else
		printf("OUT OF SYNC: %zu missing, %zu extra (run banhelper "
		    "sync)\n", chk.missing, chk.extra);
	if (running) {
		char ago[32];

		printf("daemon:    running (pid %ld), last sync %s ago\n", pid,
		    ab_fmt_duration(act.now - last, ago, sizeof(ago)));
	} else {
		printf("daemon:    not running\n");
	}
	return BH_OK;
}

int
cmd_sync(struct bh *bh)
{
	struct ab_store *st = NULL;
	struct fw *fw = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, nb = 0, nc = 0;
	int rc;

	if ((rc = need_privileges(bh, "sync")) != 0)
		return rc;
	if ((rc = open_store(bh, &st)) != 0)
		return rc;
	/* Expired bans and forgotten history leave the store first. */
	if ((rc = store_prune(st, now, 1000, &nb, &nc)) != 0)
		bh_err("pruning failed: %s (going on)", ab_strerror(rc));
	if ((rc = fw_open(&fw, &bh->cfg, &bh->log)) == 0) {
		rc = fw_sync_full(fw, st, now, &n);
		fw_close(fw);
	}
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
