/*
 * cmd_stats.c - banhelper stats: a picture of the attacks (failures and
 * automatic bans per hour over 24 hours and per day over 30, the busiest
 * prefixes and services), as text that fits 80 columns or as JSON; and
 * with --prometheus the metrics of metrics.c.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh.h"
#include "fw.h"
#include "metrics.h"

/* stats --prometheus [--output FILE]: the daemon's figures from its pid
 * file, the kernel's if we may look. */
static int
prometheus(struct bh *bh)
{
	struct metrics_daemon dm;
	struct ab_store *st = NULL;
	struct fw *fw = NULL;
	struct fw_check chk, *have = NULL;
	char ep[AB_PATH_MAX * 4 + 8];
	long pid;
	int rc;

	if (bh->output != NULL && (bh->output[0] != '/' ||
	    strlen(bh->output) >= AB_PATH_MAX)) {
		bh_err("stats: --output takes an absolute path shorter than "
		    "256 bytes, not %s", ab_escape(bh->output, ep,
		    sizeof(ep)));
		return BH_USAGE;
	}
	memset(&dm, 0, sizeof(dm));
	dm.running = bh_daemon_state(&bh->cfg, &pid, &dm.last_sync,
	    &dm.syncs);
	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	if (bh_have_net_admin() && fw_open(&fw, &bh->cfg, &bh->log) == 0 &&
	    fw_check(fw, st, (int64_t)time(NULL), &chk) == 0)
		have = &chk;
	rc = bh->output != NULL ? metrics_write(bh, st, have, &dm,
	    bh->output) : metrics_print(bh, st, have, &dm, stdout);
	if (rc == BH_OK && bh->output == NULL && fflush(stdout) != 0)
		rc = BH_ERR;
	fw_close(fw);
	store_close(st);
	return rc;
}

/* ---- the picture --------------------------------------------------------- */

#define BAR_F		40	/* columns of the failures' bar */
#define BAR_B		10	/* and of the bans' */
#define TOP		5

struct top {
	struct ab_ban b[TOP];
	size_t n;
};

/* The prefixes banned most often (then with most failures) still kept. */
static int
top_cb(const struct ab_ban *rec, void *arg)
{
	struct top *t = arg;
	size_t i, at;

	for (at = 0; at < t->n; at++)
		if (rec->nbans > t->b[at].nbans || (rec->nbans ==
		    t->b[at].nbans && rec->failures > t->b[at].failures))
			break;
	if (at == TOP)
		return 0;
	for (i = t->n < TOP ? t->n : TOP - 1; i > at; i--)
		t->b[i] = t->b[i - 1];
	t->b[at] = *rec;
	if (t->n < TOP)
		t->n++;
	return 0;
}

static int
svc_cmp(const void *a, const void *b)
{
	const struct ab_service_stat *x = a, *y = b;

	if (x->failed_total != y->failed_total)
		return x->failed_total < y->failed_total ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void
bar(uint64_t v, uint64_t max, int width, char c)
{
	int n = max == 0 ? 0 : (int)((v * (uint64_t)width + max - 1) / max);
	int i;

	for (i = 0; i < width; i++)
		putchar(i < n ? c : ' ');
}

/* One row: label, failures' bar and count, bans' bar and count. */
static void
row(const char *label, uint64_t f, uint64_t fmax, uint64_t b, uint64_t bmax)
{
	printf("%-6s ", label);
	bar(f, fmax, BAR_F, '#');
	printf(" %8llu  ", (unsigned long long)f);
	bar(b, bmax, BAR_B, '=');
	printf(" %6llu\n", (unsigned long long)b);
}

int
cmd_stats(struct bh *bh, int argc, char **argv)
{
	enum { HOURS = 24, DAYS = 30 };
	uint64_t hf[DAYS * 24 + 24], hb[DAYS * 24 + 24];
	uint64_t df[DAYS] = { 0 }, db[DAYS] = { 0 };
	uint64_t fmax = 0, bmax = 0;
	int64_t now = (int64_t)time(NULL), now_h = now / 3600, first_h;
	struct ab_service_stat *svc = NULL;
	struct ab_store *st = NULL;
	struct top top = { .n = 0 };
	struct tm tm;
	time_t t;
	size_t nsvc = 0, i, nh;
	char label[16], a[AB_ADDRSTRLEN];
	int rc, d, off;

	(void)argv;
	if (argc > 0) {
		bh_err("stats takes no arguments (see banhelper stats --help)");
		return BH_USAGE;
	}
	if (bh->prometheus && bh->json) {
		bh_err("stats: --prometheus or --json, not both");
		return BH_USAGE;
	}
	if (bh->output != NULL && !bh->prometheus) {
		bh_err("stats: --output goes with --prometheus");
		return BH_USAGE;
	}
	if (bh->prometheus)
		return prometheus(bh);
	/* Days start at local midnight: the first hour of the 30th day back. */
	t = (time_t)now;
	localtime_r(&t, &tm);
	off = tm.tm_hour;		/* hours of today so far, before now's */
	first_h = now_h - off - (DAYS - 1) * 24;
	nh = (size_t)(now_h - first_h + 1);
	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	if ((rc = store_hours(st, 0, first_h, nh, hf)) != 0 ||
	    (rc = store_hours(st, 1, first_h, nh, hb)) != 0 ||
	    (rc = store_ban_foreach(st, top_cb, &top)) != 0 ||
	    (rc = policy_services(st, now, &svc, &nsvc)) != 0) {
		bh_err("cannot read the store: %s", ab_strerror(rc));
		store_close(st);
		return BH_ERR;
	}
	store_close(st);
	for (i = 0; i < nh; i++) {
		df[i / 24] += hf[i];
		db[i / 24] += hb[i];
	}
	qsort(svc, nsvc, sizeof(*svc), svc_cmp);
	if (bh->json) {
		json_t *root = json_object(), *jh = json_array(),
		    *jd = json_array(), *jp = json_array(), *js = json_array();

		for (i = nh - HOURS; i < nh; i++)
			json_array_append_new(jh, json_pack("{s:I, s:I, s:I}",
			    "start", (json_int_t)((first_h + (int64_t)i) * 3600),
			    "failures", (json_int_t)hf[i], "bans",
			    (json_int_t)hb[i]));
		for (d = 0; d < DAYS; d++)
			json_array_append_new(jd, json_pack("{s:I, s:I, s:I}",
			    "start", (json_int_t)((first_h + d * 24) * 3600),
			    "failures", (json_int_t)df[d], "bans",
			    (json_int_t)db[d]));
		for (i = 0; i < top.n; i++)
			json_array_append_new(jp, json_pack("{s:s, s:i, s:i, "
			    "s:s}", "prefix", addr_format(&top.b[i].prefix, a,
			    sizeof(a)), "bans", (int)top.b[i].nbans, "failures",
			    (int)top.b[i].failures, "service",
			    top.b[i].service));
		for (i = 0; i < nsvc && i < TOP; i++)
			json_array_append_new(js, json_pack("{s:s, s:I, s:I}",
			    "service", svc[i].name, "failures",
			    (json_int_t)svc[i].failed_total, "bans",
			    (json_int_t)svc[i].banned_total));
		json_object_set_new(root, "hours", jh);
		json_object_set_new(root, "days", jd);
		json_object_set_new(root, "prefixes", jp);
		json_object_set_new(root, "services", js);
		free(svc);
		bh_print_json(root);
		return BH_OK;
	}
	for (i = nh - HOURS; i < nh; i++) {
		fmax = hf[i] > fmax ? hf[i] : fmax;
		bmax = hb[i] > bmax ? hb[i] : bmax;
	}
	printf("Failures (#) and automatic bans (=) per hour, the last %d "
	    "hours:\n", HOURS);
	for (i = nh - HOURS; i < nh; i++) {
		t = (time_t)((first_h + (int64_t)i) * 3600);
		localtime_r(&t, &tm);
		strftime(label, sizeof(label), "%H:00", &tm);
		row(label, hf[i], fmax, hb[i], bmax);
	}
	fmax = bmax = 0;
	for (d = 0; d < DAYS; d++) {
		fmax = df[d] > fmax ? df[d] : fmax;
		bmax = db[d] > bmax ? db[d] : bmax;
	}
	printf("\nPer day, the last %d days:\n", DAYS);
	for (d = 0; d < DAYS; d++) {
		t = (time_t)((first_h + d * 24) * 3600);
		localtime_r(&t, &tm);
		strftime(label, sizeof(label), "%m-%d", &tm);
		row(label, df[d], fmax, db[d], bmax);
	}
	printf("\nBusiest prefixes (bans remembered, failures before the last "
	    "one):\n");
	if (top.n == 0)
		printf("  none\n");
	for (i = 0; i < top.n; i++)
		printf("  %-40s %5u bans %5u failures  %s\n",
		    addr_format(&top.b[i].prefix, a, sizeof(a)), top.b[i].nbans,
		    top.b[i].failures, top.b[i].service[0] ? top.b[i].service :
		    "-");
	printf("\nBusiest services (since the stores were made):\n");
	if (nsvc == 0)
		printf("  none\n");
	for (i = 0; i < nsvc && i < TOP; i++)
		printf("  %-31s %8llu failures %6llu automatic bans\n",
		    svc[i].name, (unsigned long long)svc[i].failed_total,
		    (unsigned long long)svc[i].banned_total);
	free(svc);
	return fflush(stdout) == 0 ? BH_OK : BH_ERR;
}
