/*
 * cmd_report.c - banhelper report: one failure (or success) of a program
 * without PAM, from the command line, as root.  The line it makes is the
 * one the daemon's socket takes (report.c), so both judge it alike.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"

int
cmd_report(struct bh *bh, int argc, char **argv)
{
	struct ab_store *st = NULL;
	struct report r;
	struct timespec ts;
	char line[REPORT_LINE_MAX + 2], why[256], reply[256];
	int n, rc;

	if (bh->service == NULL) {
		bh_err("report: --service NAME is required (see banhelper "
		    "report --help)");
		return BH_USAGE;
	}
	if (argc != 1) {
		bh_err("report: give exactly one address (see banhelper report "
		    "--help)");
		return BH_USAGE;
	}
	n = snprintf(line, sizeof(line), "%s %s %s%s%s", bh->success ?
	    "success" : "fail", bh->service, argv[0], bh->user != NULL ?
	    " " : "", bh->user != NULL ? bh->user : "");
	if (n < 0 || (size_t)n >= sizeof(line)) {
		bh_err("report: the report is longer than %d bytes",
		    REPORT_LINE_MAX);
		return BH_USAGE;
	}
	/* Spaces only separate words: none inside the service or address. */
	if (strchr(bh->service, ' ') != NULL || strchr(argv[0], ' ') != NULL) {
		bh_err("report: the service and the address take no spaces");
		return BH_USAGE;
	}
	if (report_parse(line, (size_t)n, &r, why, sizeof(why)) != 0) {
		bh_err("report: %s", why);
		return BH_USAGE;
	}
	if (geteuid() != 0) {
		bh_err("report: must be run as root; other programs send the "
		    "line to the daemon's socket (%s/%s) as members of "
		    "report_group", bh->cfg.runtime_dir, AB_REPORT_SOCK);
		return BH_PERM;
	}
	if ((rc = bh_open_store(bh, &st)) != 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = report_apply(&bh->cfg, st, &r, (int64_t)ts.tv_sec * 1000000000 +
	    ts.tv_nsec, reply, sizeof(reply));
	store_close(st);
	if (rc == REPORT_BANNED)
		wake_send(&bh->cfg);	/* as the module does */
	if (rc < 0) {
		bh_err("report: %s", reply);
		return BH_ERR;
	}
	printf("%s\n", reply);
	return rc == REPORT_REFUSED ? BH_PARTIAL : BH_OK;
}
