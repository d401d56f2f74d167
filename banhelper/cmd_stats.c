/*
 * cmd_stats.c - banhelper stats: a picture of the attacks (failures and
 * automatic bans per hour over 24 hours and per day over 30, the busiest
 * prefixes and services), as text that fits 80 columns or as JSON; and
 * with --prometheus what the store, the kernel, the daemon and the fleet
 * link say, in Prometheus' text format, for node_exporter's textfile
 * collector or any scraper.
 *
 * MUST: no per-address label (a scrape must not grow with an attack);
 * label values only from names the store keeps in their checked form
 * (service names), so none needs escaping; counters only for what never
 * goes down while the store lives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"
#include "fleet.h"
#include "fw.h"

struct active {
	const struct ab_config *cfg;
	int64_t now;
	size_t n[4][2];		/* origin (AB_ORIGIN_*, 3: fleet) x family */
};

static int
active_cb(const struct ab_ban *rec, void *arg)
{
	struct active *a = arg;
	int o;

	if (policy_ban_end(a->cfg, rec, a->now) <= 0)
		return 0;
	o = rec->from[0] != '\0' ? 3 : rec->origin <= AB_ORIGIN_TRUSTED ?
	    rec->origin : 0;
	a->n[o][rec->prefix.family == 6]++;
	return 0;
}

static void
head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample with one label. */
static void
sample(FILE *out, const char *name, const char *key, const char *val,
    uint64_t v)
{
	fprintf(out, "%s{%s=\"%s\"} %llu\n", name, key, val,
	    (unsigned long long)v);
}

enum { SVC_FAILED, SVC_FAILING, SVC_BANNED };

/* One family with a sample per PAM service. */
static void
per_service(FILE *out, const char *name, const char *type, const char *help,
    const struct ab_service_stat *svc, size_t n, int what)
{
	size_t i;

	head(out, name, type, help);
	for (i = 0; i < n; i++)
		sample(out, name, "service", svc[i].name, what == SVC_FAILED ?
		    svc[i].failed_total : what == SVC_FAILING ?
		    (uint64_t)svc[i].failed_now : svc[i].banned_total);
}

static int
prometheus(struct bh *bh, FILE *out)
{
	static const char *origins[4] = { "auto", "manual", "trusted",
	    "fleet" };
	struct active act = { &bh->cfg, (int64_t)time(NULL), { { 0 } } };
	struct ab_service_stat *svc = NULL;
	struct ab_store_stat ss;
	struct ab_store *st = NULL;
	struct fleet_state fs;
	struct fw_check chk;
	struct fw *fw = NULL;
	size_t nsvc = 0;
	int rc, o, f, running, have_fw = 0;
	long pid;
	int64_t last;

	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	if ((rc = store_stat(st, &ss)) != 0 ||
	    (rc = store_ban_foreach(st, active_cb, &act)) != 0 ||
	    (rc = policy_services(st, act.now, &svc, &nsvc)) != 0) {
		bh_err("cannot read the store: %s", ab_strerror(rc));
		store_close(st);
		return BH_ERR;
	}
	memset(&chk, 0, sizeof(chk));
	if (bh_have_net_admin() && fw_open(&fw, &bh->cfg, &bh->log) == 0) {
		have_fw = fw_check(fw, st, act.now, &chk) == 0;
		fw_close(fw);
	}
	store_close(st);
	running = bh_daemon_state(&bh->cfg, &pid, &last);

	head(out, "autoban_build_info", "gauge",
	    "autoban's version (always 1).");
	fprintf(out, "autoban_build_info{version=\"%s\"} 1\n", AB_VERSION);
	per_service(out, "autoban_failures_total", "counter", "Failed logins "
	    "counted, by PAM service, since the counts store was made (less "
	    "refunds).", svc, nsvc, SVC_FAILED);
	per_service(out, "autoban_hosts_failing", "gauge", "Hosts whose last "
	    "failure in findtime came from the service.", svc, nsvc,
	    SVC_FAILING);
	per_service(out, "autoban_bans_total", "counter", "Automatic bans "
	    "made, by the service whose failures made them, since the ban "
	    "store was made.", svc, nsvc, SVC_BANNED);
	head(out, "autoban_bans_active", "gauge", "Bans in force, by origin "
	    "(auto, manual, trusted: refused at PAM only, fleet: from another "
	    "server) and family.");
	for (o = 0; o < 4; o++)
		for (f = 0; f < 2; f++)
			fprintf(out, "autoban_bans_active{origin=\"%s\","
			    "family=\"%s\"} %zu\n", origins[o],
			    f ? "ipv6" : "ipv4", act.n[o][f]);
	head(out, "autoban_store_records", "gauge", "Records in each store.");
	sample(out, "autoban_store_records", "store", "bans", ss.bans.records);
	sample(out, "autoban_store_records", "store", "counts",
	    ss.counts.records);
	head(out, "autoban_store_bytes", "gauge", "Size of each store's file.");
	sample(out, "autoban_store_bytes", "store", "bans", ss.bans.bytes);
	sample(out, "autoban_store_bytes", "store", "counts", ss.counts.bytes);
	if (have_fw) {
		head(out, "autoban_kernel_elements", "gauge", "Elements in the "
		    "firewall's sets.");
		fprintf(out, "autoban_kernel_elements %zu\n", chk.have);
		head(out, "autoban_kernel_in_sync", "gauge", "1 if the kernel "
		    "holds exactly the store's active bans.");
		fprintf(out, "autoban_kernel_in_sync %d\n", chk.present &&
		    chk.missing == 0 && chk.extra == 0);
	}
	head(out, "autoban_daemon_up", "gauge",
	    "1 if banhelper run is running.");
	fprintf(out, "autoban_daemon_up %d\n", running);
	head(out, "autoban_daemon_last_sync_timestamp_seconds", "gauge",
	    "When the daemon last brought the kernel in step with the store.");
	fprintf(out, "autoban_daemon_last_sync_timestamp_seconds %lld\n",
	    (long long)(running ? last : 0));
	if (bh->cfg.fleet_host[0] != '\0' &&
	    fleet_state_read(&bh->cfg, &fs) == 0) {
		head(out, "autoban_fleet_connected", "gauge", "1 if the link "
		    "to the fleet's Redis is up.");
		fprintf(out, "autoban_fleet_connected %d\n", fs.connected);
		head(out, "autoban_fleet_lag_seconds", "gauge", "Age of the "
		    "last fleet event when it was applied here.");
		fprintf(out, "autoban_fleet_lag_seconds %.3f\n",
		    fs.lag_ms / 1000.0);
		head(out, "autoban_fleet_events_total", "counter", "Fleet "
		    "events, by what happened to them, since the daemon "
		    "started.");
		sample(out, "autoban_fleet_events_total", "event", "published",
		    fs.published);
		sample(out, "autoban_fleet_events_total", "event", "received",
		    fs.received);
		sample(out, "autoban_fleet_events_total", "event", "applied",
		    fs.applied);
		sample(out, "autoban_fleet_events_total", "event", "refused",
		    fs.rejected);
	}
	free(svc);
	return fflush(out) == 0 ? BH_OK : BH_ERR;
}

/*
 * --output FILE: written whole or not at all, as node_exporter's textfile
 * collector wants (a reader never sees half a file): a new file beside it,
 * then renamed over it.  Never through a symlink.
 */
static int
prometheus_file(struct bh *bh, const char *path)
{
	char *text = NULL, tmp[AB_PATH_MAX + 32], ep[AB_PATH_MAX * 4 + 8];
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int fd, rc;

	ab_escape(path, ep, sizeof(ep));
	if (path[0] != '/' || strlen(path) >= AB_PATH_MAX) {
		bh_err("stats: --output takes an absolute path shorter than "
		    "256 bytes, not %s", ep);
		free(text);
		if (mem != NULL)
			fclose(mem);
		return BH_USAGE;
	}
	if (mem == NULL)
		return BH_ERR;
	rc = prometheus(bh, mem);
	fclose(mem);
	if (rc != BH_OK) {
		free(text);
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, path) != 0) {
		bh_err("stats: cannot write %s: %s", ep, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		free(text);
		return BH_ERR;
	}
	free(text);
	return BH_OK;
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
		return bh->output != NULL ? prometheus_file(bh, bh->output) :
		    prometheus(bh, stdout);
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
