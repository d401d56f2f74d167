/*
 * cmd_stats.c - banhelper stats --prometheus: what the store, the kernel,
 * the daemon and the fleet link say, in Prometheus' text format, for
 * node_exporter's textfile collector or any scraper.
 *
 * MUST: no per-address label (a scrape must not grow with an attack);
 * label values only from names the store keeps in their checked form
 * (service names), so none needs escaping; counters only for what never
 * goes down while the store lives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
cmd_stats(struct bh *bh, int argc, char **argv)
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
	size_t nsvc = 0, i;
	int rc, o, f, running, have_fw = 0;
	long pid;
	int64_t last;

	(void)argv;
	if (argc > 0 || !bh->prometheus) {
		bh_err("stats: --prometheus is the one form so far (see "
		    "banhelper stats --help)");
		return BH_USAGE;
	}
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

	head("autoban_build_info", "gauge", "autoban's version (always 1).");
	printf("autoban_build_info{version=\"%s\"} 1\n", AB_VERSION);
	head("autoban_failures_total", "counter", "Failed logins counted, by "
	    "PAM service, since the counts store was made (less refunds).");
	for (i = 0; i < nsvc; i++)
		printf("autoban_failures_total{service=\"%s\"} %llu\n",
		    svc[i].name, (unsigned long long)svc[i].failed_total);
	head("autoban_hosts_failing", "gauge", "Hosts whose last failure in "
	    "findtime came from the service.");
	for (i = 0; i < nsvc; i++)
		printf("autoban_hosts_failing{service=\"%s\"} %zu\n",
		    svc[i].name, svc[i].failed_now);
	head("autoban_bans_total", "counter", "Automatic bans made, by the "
	    "service whose failures made them, since the ban store was made.");
	for (i = 0; i < nsvc; i++)
		printf("autoban_bans_total{service=\"%s\"} %llu\n",
		    svc[i].name, (unsigned long long)svc[i].banned_total);
	head("autoban_bans_active", "gauge", "Bans in force, by origin (auto, "
	    "manual, trusted: refused at PAM only, fleet: from another server) "
	    "and family.");
	for (o = 0; o < 4; o++)
		for (f = 0; f < 2; f++)
			printf("autoban_bans_active{origin=\"%s\",family=\"%s\"} "
			    "%zu\n", origins[o], f ? "ipv6" : "ipv4",
			    act.n[o][f]);
	head("autoban_store_records", "gauge", "Records in each store.");
	printf("autoban_store_records{store=\"bans\"} %llu\n",
	    (unsigned long long)ss.bans.records);
	printf("autoban_store_records{store=\"counts\"} %llu\n",
	    (unsigned long long)ss.counts.records);
	head("autoban_store_bytes", "gauge", "Size of each store's file.");
	printf("autoban_store_bytes{store=\"bans\"} %llu\n",
	    (unsigned long long)ss.bans.bytes);
	printf("autoban_store_bytes{store=\"counts\"} %llu\n",
	    (unsigned long long)ss.counts.bytes);
	if (have_fw) {
		head("autoban_kernel_elements", "gauge", "Elements in the "
		    "firewall's sets.");
		printf("autoban_kernel_elements %zu\n", chk.have);
		head("autoban_kernel_in_sync", "gauge", "1 if the kernel holds "
		    "exactly the store's active bans.");
		printf("autoban_kernel_in_sync %d\n", chk.present &&
		    chk.missing == 0 && chk.extra == 0);
	}
	head("autoban_daemon_up", "gauge", "1 if banhelper run is running.");
	printf("autoban_daemon_up %d\n", running);
	head("autoban_daemon_last_sync_timestamp_seconds", "gauge", "When the "
	    "daemon last brought the kernel in step with the store.");
	printf("autoban_daemon_last_sync_timestamp_seconds %lld\n",
	    (long long)(running ? last : 0));
	if (bh->cfg.fleet_host[0] != '\0' &&
	    fleet_state_read(&bh->cfg, &fs) == 0) {
		head("autoban_fleet_connected", "gauge", "1 if the link to the "
		    "fleet's Redis is up.");
		printf("autoban_fleet_connected %d\n", fs.connected);
		head("autoban_fleet_lag_seconds", "gauge", "Age of the last "
		    "fleet event when it was applied here.");
		printf("autoban_fleet_lag_seconds %.3f\n", fs.lag_ms / 1000.0);
		head("autoban_fleet_events_total", "counter", "Fleet events, by "
		    "what happened to them, since the daemon started.");
		printf("autoban_fleet_events_total{event=\"published\"} %llu\n",
		    (unsigned long long)fs.published);
		printf("autoban_fleet_events_total{event=\"received\"} %llu\n",
		    (unsigned long long)fs.received);
		printf("autoban_fleet_events_total{event=\"applied\"} %llu\n",
		    (unsigned long long)fs.applied);
		printf("autoban_fleet_events_total{event=\"refused\"} %llu\n",
		    (unsigned long long)fs.rejected);
	}
	free(svc);
	return fflush(stdout) == 0 ? BH_OK : BH_ERR;
}
