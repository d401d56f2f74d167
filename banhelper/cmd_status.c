/*
 * cmd_status.c - banhelper status and check: what an admin looks at
 * before and after a change.  Both only read.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"
#include "runfiles.h"
#include "fleet.h"
#include "fw.h"
#include "privs.h"

struct actives {
	const struct ab_config *cfg;
	int64_t now;
	size_t n, manual, fleet;
};

static int
active_cb(const struct ab_ban *rec, void *arg)
{
	struct actives *a = arg;

	if (policy_ban_end(a->cfg, rec, a->now) > 0) {
		a->n++;
		a->manual += rec->origin == AB_ORIGIN_MANUAL;
		a->fleet += rec->from[0] != '\0';
	}
	return 0;
}

/* ---- one service, as fail2ban-client status JAIL shows a jail ---------- */

struct banned_list {
	const struct ab_config *cfg;
	const char *service;
	int64_t now;
	json_t *json;		/* array, or NULL: print */
	size_t n;
};

static int
banned_cb(const struct ab_ban *rec, void *arg)
{
	struct banned_list *l = arg;
	char a[AB_ADDRSTRLEN];

	if (rec->origin == AB_ORIGIN_MANUAL ||
	    strcmp(rec->service, l->service) != 0 ||
	    policy_ban_end(l->cfg, rec, l->now) <= 0)
		return 0;
	addr_format(&rec->prefix, a, sizeof(a));
	if (l->json != NULL)
		json_array_append_new(l->json, json_string(a));
	else
		printf("%s%s", l->n > 0 ? " " : "", a);
	l->n++;
	return 0;
}

static json_t *
service_json(const struct ab_service_stat *s)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "service",
	    s->name, "currently_failed", (json_int_t)s->failed_now,
	    "total_failed", (json_int_t)s->failed_total,
	    "currently_banned", (json_int_t)s->banned_now,
	    "total_banned", (json_int_t)s->banned_total,
	    "total_refused", (json_int_t)s->refused_total);
}

static int
status_service(struct bh *bh, const char *arg)
{
	char name[AB_SERVICE_MAX], e[96];
	struct ab_service_stat *v = NULL;
	const struct ab_service_stat *s = NULL;
	struct banned_list l;
	struct ab_store *st = NULL;
	size_t n = 0, i;
	int rc;

	if (ab_service_name(arg, name) != 0 || strcmp(name, arg) != 0) {
		bh_err("status: \"%s\" is not a PAM service name (letters, "
		    "digits, \".-_+\", at most %d)", ab_escape(arg, e,
		    sizeof(e)), AB_SERVICE_MAX - 1);
		return BH_USAGE;
	}
	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	memset(&l, 0, sizeof(l));
	l.cfg = &bh->cfg;
	l.service = name;
	l.now = (int64_t)time(NULL);
	if ((rc = policy_services(st, l.now, &v, &n)) != 0) {
		bh_err("cannot read the store: %s", ab_strerror(rc));
		store_close(st);
		return BH_ERR;
	}
	for (i = 0; i < n && s == NULL; i++)
		if (strcmp(v[i].name, name) == 0)
			s = &v[i];
	if (s == NULL) {
		bh_err("status: no attempt through service \"%s\" is on record"
		    "%s", name, n > 0 ? " (banhelper status lists the services "
		    "seen)" : "");
		free(v);
		store_close(st);
		return BH_ERR;
	}
	if (bh->json) {
		json_t *root = service_json(s);

		l.json = json_array();
		rc = store_ban_foreach(st, banned_cb, &l);
		json_object_set_new(root, "banned", l.json);
		if (rc == 0)
			bh_print_json(root);
		else
			json_decref(root);
	} else {
		printf("Status for the service: %s\n", name);
		printf("|- Failures\n");
		printf("|  |- Currently failed:\t%zu\n", s->failed_now);
		printf("|  `- Total failed:\t%llu\n",
		    (unsigned long long)s->failed_total);
		printf("`- Bans\n");
		printf("   |- Currently banned:\t%zu\n", s->banned_now);
		printf("   |- Total banned:\t%llu\n",
		    (unsigned long long)s->banned_total);
		printf("   |- Total refused:\t%llu\n",
		    (unsigned long long)s->refused_total);
		printf("   `- Banned IP list:\t");
		rc = store_ban_foreach(st, banned_cb, &l);
		printf("\n");
	}
	free(v);
	store_close(st);
	if (rc != 0) {
		bh_err("cannot read the store: %s", ab_strerror(rc));
		return BH_ERR;
	}
	return BH_OK;
}

/*
 * The names in ignoreip as the daemon last resolved them: printed, or
 * added to j.  Fresh means the module lets them in now.
 */
static void
allowlist(struct ab_store *st, const struct ab_config *cfg, int64_t now,
    json_t *j, FILE *out)
{
	struct ab_addr a[AB_ALLOW_ADDRS_MAX];
	char s[AB_ADDRSTRLEN], ago[32];
	size_t i, k, n;
	int64_t last;

	for (i = 0; i < cfg->nignore_names; i++) {
		const char *name = cfg->ignore_names[i];
		int got = store_allow_get(st, name, a, AB_ALLOW_ADDRS_MAX, &n,
		    &last) == 1;
		int fresh = got && store_allow_fresh(cfg, last, now);

		if (j != NULL) {
			json_t *ja = json_array();

			for (k = 0; got && k < n; k++)
				json_array_append_new(ja, json_string(
				    addr_format(&a[k], s, sizeof(s))));
			json_array_append_new(j, json_pack("{s:s, s:o, s:I, "
			    "s:b}", "name", name, "addresses", ja, "resolved",
			    (json_int_t)(got ? last : 0), "allowed", fresh));
			continue;
		}
		fprintf(out, "%s %s", i == 0 ? "allowlist:" : "          ",
		    name);
		for (k = 0; got && k < n; k++)
			fprintf(out, " %s", addr_format(&a[k], s, sizeof(s)));
		if (!got)
			fprintf(out, " not resolved yet (the daemon resolves "
			    "it)\n");
		else
			fprintf(out, " (resolved %s ago%s)\n", ab_fmt_duration(now -
			    last, ago, sizeof(ago)), fresh ? "" : "; too long "
			    "ago: no longer allowed");
	}
}

struct trust_ctx {
	const struct ab_config *cfg;
	int64_t now;
	json_t *j;
	FILE *out;
	size_t n;
};

static int
trust_cb(const struct ab_addr *unit, const char *user, int64_t last,
    void *arg)
{
	struct trust_ctx *t = arg;
	char a[AB_ADDRSTRLEN], ago[32], eu[80];

	if (last < t->now - t->cfg->trust_window)
		return 0;	/* past its window: pruned soon */
	addr_format(unit, a, sizeof(a));
	ab_escape(user, eu, sizeof(eu));
	if (t->j != NULL)
		json_array_append_new(t->j, json_pack("{s:s, s:s, s:I}",
		    "prefix", a, "user", eu, "last_login", (json_int_t)last));
	else
		fprintf(t->out, "%s %s %s (logged in %s ago)\n", t->n == 0 ?
		    "trusted:  " : "          ", a, eu, ab_fmt_duration(t->now -
		    last, ago, sizeof(ago)));
	t->n++;
	return 0;
}

static unsigned
pct(const struct ab_store_part *p)
{
	return p->capacity > 0 ? (unsigned)(p->records * 100 / p->capacity) :
	    0;
}

/* ---- the fleet link, as the daemon last wrote it ------------------------ */

static const char *
fleet_self(const struct ab_config *cfg, char *buf, size_t len)
{
	if (cfg->fleet_name[0] != '\0')
		return cfg->fleet_name;
	if (gethostname(buf, len) != 0 || !config_fleet_name_ok(buf))
		snprintf(buf, len, "?");
	return buf;
}

static json_t *
fleet_json(const struct bh *bh, const struct actives *a)
{
	struct fleet_state fs;
	char me[AB_FLEET_NAME_MAX];
	int have = fleet_state_read(&bh->cfg, &fs) == 0;

	return json_pack("{s:s, s:s, s:i, s:b, s:b, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:s, s:s, s:I}", "name", fleet_self(&bh->cfg, me,
	    sizeof(me)), "redis", bh->cfg.fleet_host, "port",
	    (int)bh->cfg.fleet_port, "state_known", have, "connected",
	    have && fs.connected, "since", (json_int_t)fs.since, "last_event",
	    (json_int_t)fs.last_event, "lag_ms", (json_int_t)fs.lag_ms,
	    "published", (json_int_t)fs.published, "received",
	    (json_int_t)fs.received, "applied", (json_int_t)fs.applied,
	    "rejected", (json_int_t)fs.rejected, "last_id", fs.last_id,
	    "error", fs.error, "bans_from_fleet", (json_int_t)a->fleet);
}

static void
fleet_print(const struct bh *bh, const struct actives *a)
{
	struct fleet_state fs;
	char me[AB_FLEET_NAME_MAX], t[32], ago[32];

	printf("fleet:     %s on redis://%s:%u: ", fleet_self(&bh->cfg, me,
	    sizeof(me)), bh->cfg.fleet_host, (unsigned)bh->cfg.fleet_port);
	if (fleet_state_read(&bh->cfg, &fs) != 0) {
		printf("no state yet (is the daemon running?)\n");
		return;
	}
	if (fs.connected)
		printf("connected since %s", bh_fmt_time(fs.since, t,
		    sizeof(t)));
	else
		printf("CUT OFF since %s (%s): protection here goes on; bans "
		    "made here are sent when the link returns",
		    bh_fmt_time(fs.since, t, sizeof(t)), fs.error[0] ? fs.error :
		    "?");
	printf("\n           ");
	if (fs.last_event > 0)
		printf("last event %s ago (lag %lld ms), ", ab_fmt_duration(
		    (int64_t)time(NULL) - fs.last_event, ago, sizeof(ago)),
		    (long long)fs.lag_ms);
	else
		printf("no event yet, ");
	printf("%llu published, %llu received, %llu applied, %llu refused; "
	    "%zu active bans came from the fleet\n",
	    (unsigned long long)fs.published, (unsigned long long)fs.received,
	    (unsigned long long)fs.applied, (unsigned long long)fs.rejected,
	    a->fleet);
}

int
cmd_status(struct bh *bh, int argc, char **argv)
{
	struct ab_store *st = NULL;
	struct ab_store_stat ss;
	struct actives act = { &bh->cfg, (int64_t)time(NULL), 0, 0, 0 };
	struct fw_check chk;
	struct fw *fw = NULL;
	struct ab_service_stat *svc = NULL;
	json_t *jallow, *jtrust;
	FILE *amf = NULL;
	char *atext = NULL;
	size_t nsvc = 0, i, alen = 0;
	int rc, have_fw = 0, running, broken = 0;
	long pid;
	int64_t last;

	if (argc > 1) {
		bh_err("status: one service at most (see banhelper status "
		    "--help)");
		return BH_USAGE;
	}
	if (argc == 1)
		return status_service(bh, argv[0]);
	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	if ((rc = store_stat(st, &ss)) == 0 &&
	    (rc = store_ban_foreach(st, active_cb, &act)) == 0)
		rc = policy_services(st, act.now, &svc, &nsvc);
	if (rc == AB_ECORRUPT || rc == AB_EVERSION) {
		broken = rc;
	} else if (rc < 0) {
		bh_err("cannot read the store: %s", ab_strerror(rc));
		store_close(st);
		return BH_ERR;
	}
	/* Printed last, but read now, while the store is open. */
	jallow = bh->json ? json_array() : NULL;
	if (!bh->json && (amf = open_memstream(&atext, &alen)) == NULL) {
		bh_err("out of memory");
		store_close(st);
		return BH_ERR;
	}
	if (!broken)
		allowlist(st, &bh->cfg, act.now, jallow, amf);
	jtrust = bh->json ? json_array() : NULL;
	if (!broken && bh->cfg.trust_factor > 1) {
		struct trust_ctx t = { &bh->cfg, act.now, jtrust, amf, 0 };

		store_trust_foreach(st, trust_cb, &t);
	}
	if (amf != NULL)
		fclose(amf);
	memset(&chk, 0, sizeof(chk));
	if (!broken && bh_have_net_admin() &&
	    fw_open(&fw, &bh->cfg, &bh->log) == 0) {
		have_fw = fw_check(fw, st, act.now, &chk) == 0;
		fw_close(fw);
	}
	store_close(st);
	running = bh_daemon_state(&bh->cfg, &pid, &last, NULL);
	if (bh->json) {
		json_t *root = json_pack("{s:{s:s, s:I, s:I, s:i, s:s}, "
		    "s:{s:s, s:I, s:I, s:i}, s:I, s:I}",
		    "store", "path", bh->cfg.db, "bytes",
		    (json_int_t)ss.bans.bytes, "records",
		    (json_int_t)ss.bans.records, "percent_full", (int)pct(&ss.bans),
		    "health", broken == AB_ECORRUPT ? "damaged" : broken ?
		    "newer-version" : "ok",
		    "counts", "path", bh->cfg.runtime_dir, "bytes",
		    (json_int_t)ss.counts.bytes, "hosts_counted",
		    (json_int_t)ss.counts.records, "percent_full",
		    (int)pct(&ss.counts),
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
		{
			json_t *js = json_array();

			for (i = 0; i < nsvc; i++)
				json_array_append_new(js,
				    service_json(&svc[i]));
			json_object_set_new(root, "services", js);
		}
		json_object_set_new(root, "allowlist", json_pack("{s:I, s:o}",
		    "addresses", (json_int_t)bh->cfg.nignore, "names", jallow));
		json_object_set_new(root, "trusted", jtrust);
		if (bh->cfg.fleet_host[0] != '\0')
			json_object_set_new(root, "fleet", fleet_json(bh, &act));
		free(svc);
		bh_print_json(root);
		return BH_OK;
	}
	if (broken)
		printf("store:     %s (%s) %s\n", bh->cfg.db, AB_BANS_FILE,
		    broken == AB_ECORRUPT ? "DAMAGED: it fails its checks and "
		    "is not used (the daemon rebuilds it from the kernel, or run "
		    "banhelper sync)" : "written by a newer version: not used");
	else
		printf("store:     %s (%s, %llu KiB, %llu records, %u%% full)\n",
		    bh->cfg.db, AB_BANS_FILE,
		    (unsigned long long)ss.bans.bytes / 1024,
		    (unsigned long long)ss.bans.records, pct(&ss.bans));
	printf("counts:    %s (%s, %llu KiB, %llu hosts counted, %u%% full)\n",
	    bh->cfg.runtime_dir, AB_COUNTS_FILE,
	    (unsigned long long)ss.counts.bytes / 1024,
	    (unsigned long long)ss.counts.records, pct(&ss.counts));
	printf("bans:      %zu active (%zu auto, %zu manual)\n", act.n,
	    act.n - act.manual, act.manual);
	for (i = 0; i < nsvc; i++)
		printf("%s %-12s currently failed %zu, total failed %llu, "
		    "currently banned %zu, total banned %llu, total refused "
		    "%llu\n", i == 0 ? "services: " : "          ",
		    svc[i].name, svc[i].failed_now,
		    (unsigned long long)svc[i].failed_total, svc[i].banned_now,
		    (unsigned long long)svc[i].banned_total,
		    (unsigned long long)svc[i].refused_total);
	free(svc);
	printf("firewall:  %s, ", bh->cfg.backend == AB_BACKEND_IPSET ?
	    "ipset + iptables" : "nftables table inet autoban");
	if (!have_fw)
		printf("not checked (%s)\n", broken ? "no store to compare" :
		    "needs CAP_NET_ADMIN");
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
	if (bh->cfg.fleet_host[0] != '\0')
		fleet_print(bh, &act);
	if (atext != NULL)
		fputs(atext, stdout);
	free(atext);
	return BH_OK;
}

int
cmd_check(struct bh *bh, int argc, char **argv)
{
	const char *path = bh->conf_path != NULL ? bh->conf_path : AB_CONF_PATH;
	struct ab_store *st = NULL;
	struct fw *fw = NULL;
	uid_t uid;
	gid_t gid;
	int bad = 0;

	(void)argc;
	(void)argv;
	/* The configuration was read strictly before we got here. */
	printf("configuration %s: no errors\n", path);
	if (privs_user(&bh->cfg, &uid, &gid, &bh->log) != 0)
		bad = 1;
	else
		printf("daemon user %s: uid %u, gid %u\n", bh->cfg.user,
		    (unsigned)uid, (unsigned)gid);
	if (store_open(&st, &bh->cfg, &bh->log) != 0) {
		bad = 1;
	} else {
		struct ab_store_stat ss;
		int rc = store_stat(st, &ss);

		if (rc != 0) {
			bh_err("store: %s", ab_strerror(rc));
			bad = 1;
		} else {
			printf("store %s and %s: usable\n", bh->cfg.db,
			    bh->cfg.runtime_dir);
		}
		store_close(st);
	}
	if (bh_have_net_admin()) {
		if (fw_open(&fw, &bh->cfg, &bh->log) != 0) {
			bad = 1;
		} else {
			printf("firewall backend %s: usable\n", fw->ops->name);
			fw_close(fw);
		}
	}
	if (bad) {
		bh_err("check failed (see above)");
		return BH_ERR;
	}
	printf("all well\n");
	return BH_OK;
}
