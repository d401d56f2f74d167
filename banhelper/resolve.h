/*
 * resolve.h - resolving the host names in ignoreip (resolve.c).
 */
#ifndef RESOLVE_H
#define RESOLVE_H

#include "autoban.h"

struct resolver;

/* 0 and *r, or -errno. */
int resolver_new(struct resolver **r, const struct ab_log *log);

/* The fd the daemon polls: readable after a round lifted a ban. */
int resolver_fd(const struct resolver *r);

/* Start a round in the background with cfg's names, unless one runs. */
void resolver_start(struct resolver *r, const struct ab_config *cfg);

/* Empty the fd after it polled readable. */
void resolver_drain(struct resolver *r);

/* Free r, unless a round still runs: its detached thread uses r until it
 * clears busy, its last touch, so r is then left to the exit. */
void resolver_free(struct resolver *r);

#endif
