/*
 * metrics.h - Prometheus' text format for banhelper stats --prometheus and
 * for the daemon's metrics = yes (metrics.c).
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdio.h>

#include "bh.h"
#include "runfiles.h"

struct fw_check;

/* What the daemon says of itself. */
struct metrics_daemon {
	int running;
	int64_t last_sync;
	struct bh_syncs syncs;
};

/* Print every metric; chk may be NULL (no kernel figures).  BH_OK or
 * BH_ERR (logged). */
int metrics_print(struct bh *bh, struct ab_store *st,
    const struct fw_check *chk, const struct metrics_daemon *dm, FILE *out);

/* The same into path, whole or not at all (renamed over it). */
int metrics_write(struct bh *bh, struct ab_store *st,
    const struct fw_check *chk, const struct metrics_daemon *dm,
    const char *path);

/* As root: metrics_dir/autoban.prom links to runtime_dir's (metrics.c). */
void metrics_link(const struct ab_config *cfg, const struct ab_log *log);

#endif
