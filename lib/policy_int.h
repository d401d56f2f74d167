/*
 * policy_int.h - what policy.c and earned.c share, and nothing else sees.
 */
#ifndef POLICY_INT_H
#define POLICY_INT_H

#include "autoban.h"

/* Ban unit at now (s) after failures; fills d (policy.c). */
int policy_ban_unit(struct ab_store *st, const struct ab_addr *host,
    const struct ab_addr *unit, const char *service, int64_t now,
    unsigned failures, struct ab_decision *d);

/*
 * The question to ask with the ban lookup (store_ban_covering_probe):
 * q->user NULL when trust is off or user cannot earn it.
 */
void earned_probe(struct ab_store *st, const char *user, int64_t now,
    struct ab_trust_probe *q);

/* Some user earned trust from unit: 1, 0, or an error. */
int earned_prefix(struct ab_store *st, const struct ab_addr *unit,
    int64_t now);

/*
 * An attempt (pending) or a failure of a trusted pair: counted apart, up
 * to trust_factor * maxretry in findtime (after since_ns); fills d as
 * policy_attempt does.
 */
int earned_count(struct ab_store *st, const struct ab_addr *host,
    const struct ab_addr *unit, const char *user, const char *service,
    int64_t now_ns, int64_t since_ns, int pending, struct ab_decision *d);

/* The pair's attempt id refunded: 1, 0 if it was not the pair's, error. */
int earned_refund(struct ab_store *st, const struct ab_addr *unit,
    const char *user, int64_t attempt);

/* Forget trust past trust_window and pair failures past findtime. */
int earned_prune(struct ab_store *st, int64_t now);

#endif
