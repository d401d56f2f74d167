/*
 * report_srv.h - the daemon's report socket (report_srv.c).
 */
#ifndef REPORT_SRV_H
#define REPORT_SRV_H

#include <poll.h>

#include "autoban.h"

struct report_srv;

/* pollfds report_srv_pollfds fills at most: the listener and its peers. */
#define REPORT_POLLFDS	17

/* As root, before the drop: bind runtime_dir/report.sock.  0 or -errno. */
int report_srv_open(struct report_srv **s, const struct ab_config *cfg,
    const struct ab_log *log);

void report_srv_close(struct report_srv *s);

/* Fill up to max pollfds (the listener, then each peer); how many. */
int report_srv_pollfds(struct report_srv *s, struct pollfd *pfd, int max);

/*
 * After poll: serve what is ready in pfd[0..n) (as report_srv_pollfds
 * filled them), applying reports to st (NULL: answered with an error).
 * 1 if a report made a ban (the caller syncs the kernel), else 0.
 */
int report_srv_handle(struct report_srv *s, const struct pollfd *pfd, int n,
    struct ab_store *st);

#endif
