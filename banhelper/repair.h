/*
 * repair.h - a ban store that fails its checks, rebuilt from the kernel.
 */
#ifndef REPAIR_H
#define REPAIR_H

#include "fw.h"

/*
 * If the ban store's file fails its checks, set it aside (kept) and start
 * a new one holding every ban the kernel still has, with its time left.
 * Returns 1 if it did, 0 if the store is sound, or an error (logged).
 * *restored (may be NULL): bans written into the new store.
 */
int repair_store(struct ab_store *st, struct fw *fw, int64_t now,
    const struct ab_log *log, size_t *restored);

#endif
