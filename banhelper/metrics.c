/*
 * metrics.c - what the store, the kernel, the daemon and the fleet link
 * say, in Prometheus' text format: printed by banhelper stats --prometheus,
 * and written by the daemon every metrics_interval when metrics = yes.
 *
 * The daemon runs as _autoban and node_exporter's textfile directory is
 * root's: it writes runtime_dir/autoban.prom (whole, then renamed over the
 * old one, so a scrape never sees half a file), and at start, while still
 * root, links METRICS_DIR/autoban.prom to it.  node_exporter follows the
 * link.  No write access anywhere else is given to the daemon.
 *
 * MUST: no per-address label (a scrape must not grow with an attack);
 * label values only from names the store keeps in their checked form
 * (service and origin names), so none needs escaping; counters only for
 * what never goes down while the store (or, for syncs, the daemon) lives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"
#include "fleet.h"
#include "fw.h"
#include "metrics.h"

#define NORIGINS	4
static const char *const origins[NORIGINS] = { "auto", "manual", "trusted",
    "fleet" };

struct active {
	const struct ab_config *cfg;
	int64_t now;
	size_t n[NORIGINS][2];		/* origin x family */
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

/* Bans made and lifted, per origin: [0] made, [1] lifted. */
static int
origin_cb(const char *name, int kind, uint64_t total, void *arg)
{
	uint64_t (*t)[NORIGINS] = arg;
	int o;

	for (o = 0; o < NORIGINS; o++)
		if (strcmp(name, origins[o]) == 0)
			t[kind == AB_TOTAL_UNBANS][o] = total;
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

enum { SVC_FAILED, SVC_FAILING, SVC_BANNED, SVC_REFUSED };

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
		    (uint64_t)svc[i].failed_now : what == SVC_BANNED ?
		    svc[i].banned_total : svc[i].refused_total);
}

/* One counter with a sample per origin. */
static void
per_origin(FILE *out, const char *name, const char *help,
    const uint64_t v[NORIGINS])
{
	int o;

	head(out, name, "counter", help);
	for (o = 0; o < NORIGINS; o++)
		sample(out, name, "origin", origins[o], v[o]);
}

static void
syncs(FILE *out, const struct bh_syncs *s)
{
	char le[32];
	int i;

	head(out, "autoban_syncs_total", "counter", "Times the daemon "
	    "changed the kernel's sets (ok) or failed to, since it started.");
	sample(out, "autoban_syncs_total", "result", "ok", s->ok);
	sample(out, "autoban_syncs_total", "result", "failed", s->failed);
	head(out, "autoban_sync_duration_seconds", "histogram", "Time from "
	    "the daemon's wake-up to the kernel holding the change.");
	for (i = 0; i < BH_SYNC_BUCKETS; i++) {
		snprintf(le, sizeof(le), "%g", bh_sync_le[i]);
		sample(out, "autoban_sync_duration_seconds_bucket", "le", le,
		    s->le[i]);
	}
	sample(out, "autoban_sync_duration_seconds_bucket", "le", "+Inf",
	    s->ok + s->failed);
	fprintf(out, "autoban_sync_duration_seconds_sum %.6f\n",
	    (double)s->sum_us / 1e6);
	fprintf(out, "autoban_sync_duration_seconds_count %llu\n",
	    (unsigned long long)(s->ok + s->failed));
}

int
metrics_print(struct bh *bh, struct ab_store *st, const struct fw_check *chk,
    const struct metrics_daemon *dm, FILE *out)
{
	struct active act = { &bh->cfg, (int64_t)time(NULL), { { 0 } } };
	uint64_t tot[2][NORIGINS] = { { 0 } };
	struct ab_service_stat *svc = NULL;
	struct ab_store_stat ss;
	struct fleet_state fs;
	size_t nsvc = 0;
	int rc, o, f;

	if ((rc = store_stat(st, &ss)) != 0 ||
	    (rc = store_ban_foreach(st, active_cb, &act)) != 0 ||
	    (rc = store_totals(st, AB_TOTAL_BANS, origin_cb, tot)) != 0 ||
	    (rc = store_totals(st, AB_TOTAL_UNBANS, origin_cb, tot)) != 0 ||
	    (rc = policy_services(st, act.now, &svc, &nsvc)) != 0) {
		ab_logf(&bh->log, LOG_ERR, "metrics: cannot read the store: %s",
		    ab_strerror(rc));
		return BH_ERR;
	}

	head(out, "autoban_build_info", "gauge",
	    "autoban's version (always 1).");
	fprintf(out, "autoban_build_info{version=\"%s\"} 1\n", AB_VERSION);
	per_service(out, "autoban_failures_total", "counter", "Failed logins "
	    "counted, by PAM service, since the counts store was made (less "
	    "refunds).", svc, nsvc, SVC_FAILED);
	per_service(out, "autoban_refusals_total", "counter", "Attempts "
	    "pam_autoban refused (the host banned), by PAM service, since the "
	    "counts store was made.", svc, nsvc, SVC_REFUSED);
	per_service(out, "autoban_hosts_failing", "gauge", "Hosts whose last "
	    "failure in findtime came from the service.", svc, nsvc,
	    SVC_FAILING);
	per_service(out, "autoban_service_bans_total", "counter", "Automatic "
	    "bans made, by the service whose failures made them, since the "
	    "ban store was made.", svc, nsvc, SVC_BANNED);
	per_origin(out, "autoban_bans_total", "Bans made, by origin (auto, "
	    "manual, trusted: refused at PAM only, fleet: from another "
	    "server), since the ban store was made.", tot[0]);
	per_origin(out, "autoban_unbans_total", "Bans lifted before their "
	    "end (banhelper unban, the fleet, a trusted login), by the ban's "
	    "origin, since the ban store was made.", tot[1]);
	head(out, "autoban_bans_active", "gauge", "Bans in force, by origin "
	    "and family.");
	for (o = 0; o < NORIGINS; o++)
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
	if (chk != NULL) {
		head(out, "autoban_kernel_elements", "gauge", "Elements in the "
		    "firewall's sets.");
		fprintf(out, "autoban_kernel_elements %zu\n", chk->have);
		head(out, "autoban_kernel_in_sync", "gauge", "1 if the kernel "
		    "holds exactly the store's active bans.");
		fprintf(out, "autoban_kernel_in_sync %d\n", chk->present &&
		    chk->missing == 0 && chk->extra == 0);
	}
	head(out, "autoban_daemon_up", "gauge",
	    "1 if banhelper run is running.");
	fprintf(out, "autoban_daemon_up %d\n", dm->running);
	head(out, "autoban_daemon_last_sync_timestamp_seconds", "gauge",
	    "When the daemon last brought the kernel in step with the store.");
	fprintf(out, "autoban_daemon_last_sync_timestamp_seconds %lld\n",
	    (long long)(dm->running ? dm->last_sync : 0));
	syncs(out, &dm->syncs);
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
	return ferror(out) ? BH_ERR : BH_OK;
}

/*
 * Text written whole or not at all: a new file beside path (never through
 * a symlink), then renamed over it.  0 or -errno.
 */
static int
write_whole(const char *path, const char *text, size_t len)
{
	char tmp[AB_PATH_MAX + 48];
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd < 0)
		return -errno;
	/* 0644 whatever the umask: node_exporter reads it. */
	if (fchmod(fd, 0644) != 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) != 0) {
		e = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		return e;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = -errno;
		unlink(tmp);
		return e;
	}
	return 0;
}

int
metrics_write(struct bh *bh, struct ab_store *st, const struct fw_check *chk,
    const struct metrics_daemon *dm, const char *path)
{
	char *text = NULL, ep[AB_PATH_MAX * 4 + 8];
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (mem == NULL)
		return BH_ERR;
	rc = metrics_print(bh, st, chk, dm, mem);
	if (fclose(mem) != 0)
		rc = BH_ERR;
	if (rc == BH_OK && (rc = write_whole(path, text, len)) != 0) {
		ab_logf(&bh->log, LOG_ERR, "metrics: cannot write %s: %s",
		    ab_escape(path, ep, sizeof(ep)), strerror(-rc));
		rc = BH_ERR;
	}
	free(text);
	return rc;
}

/*
 * As root, before the privilege drop: METRICS_DIR/autoban.prom becomes a
 * link to runtime_dir/autoban.prom (a file there of another kind is
 * replaced: an older writer's), and runtime_dir gets search permission
 * for others so node_exporter's user can reach the file (0711: nothing in
 * it can be listed; the stores in it are 0600).  A missing METRICS_DIR
 * (no node_exporter) is said once; the file is written all the same.
 */
void
metrics_link(const struct ab_config *cfg, const struct ab_log *log)
{
	char target[AB_PATH_MAX + 32], tmp[64], cur[AB_PATH_MAX + 32];
	char ed[AB_PATH_MAX * 4 + 8];
	struct stat sb;
	ssize_t n;
	int dfd;

	if (!cfg->metrics)
		return;
	ab_escape(cfg->metrics_dir, ed, sizeof(ed));
	if (stat(cfg->runtime_dir, &sb) == 0 && (sb.st_mode & 0011) != 0011 &&
	    chmod(cfg->runtime_dir, (sb.st_mode & 0700) | 0011) != 0)
		ab_logf(log, LOG_WARNING, "metrics: cannot open runtime_dir "
		    "to node_exporter: %s", strerror(errno));
	snprintf(target, sizeof(target), "%s/%s", cfg->runtime_dir,
	    AB_METRICS_FILE);
	if (strcmp(cfg->metrics_dir, cfg->runtime_dir) == 0) {
		ab_logf(log, LOG_NOTICE, "metrics: metrics_dir is runtime_dir: "
		    "%s is written there, no link is made", target);
		return;
	}
	dfd = open(cfg->metrics_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dfd < 0) {
		ab_logf(log, LOG_NOTICE, "metrics: %s: %s (is "
		    "prometheus-node-exporter installed?); writing %s only", ed,
		    strerror(errno), target);
		return;
	}
	n = readlinkat(dfd, AB_METRICS_FILE, cur, sizeof(cur) - 1);
	if (n > 0 && (size_t)n == strlen(target) &&
	    memcmp(cur, target, (size_t)n) == 0) {
		close(dfd);
		return;			/* linked already */
	}
	snprintf(tmp, sizeof(tmp), ".%s.%ld", AB_METRICS_FILE, (long)getpid());
	unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) != 0 ||
	    renameat(dfd, tmp, dfd, AB_METRICS_FILE) != 0) {
		ab_logf(log, LOG_WARNING, "metrics: cannot link %s/%s to %s: "
		    "%s", ed, AB_METRICS_FILE, target, strerror(errno));
		unlinkat(dfd, tmp, 0);
	} else {
		ab_logf(log, LOG_INFO, "metrics: %s/%s links to %s", ed,
		    AB_METRICS_FILE, target);
	}
	close(dfd);
}
