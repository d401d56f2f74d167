/*
 * policy_manual.c - the bans an admin makes and lifts by hand (banhelper
 * ban and unban), and the one rule they share with the fleet's bans of
 * other servers: what may never be banned from outside the module.
 *
 * MUST: refuse a prefix overlapping loopback, an ignoreip entry or an
 * address an ignoreip name resolves to now, unless the admin forces it.
 */
#include <stdint.h>
#include <string.h>

#include "autoban.h"

const char *
policy_protected(struct ab_store *st, const struct ab_addr *prefix,
    int64_t now)
{
	const struct ab_config *cfg = store_config(st);
	struct ab_addr lo4 = { 4, 8, { 127 } };
	struct ab_addr lo6 = { 6, 128, { [15] = 1 } };
	size_t k;

	if (addr_overlaps(prefix, &lo4) || addr_overlaps(prefix, &lo6))
		return "loopback";
	for (k = 0; k < cfg->nignore; k++)
		if (addr_overlaps(prefix, &cfg->ignore[k]))
			return "in ignoreip";
	if (store_allow_covers(st, prefix, now))
		return "an ignoreip name's address";
	return NULL;
}

struct manual_ctx {
	const struct ab_config *cfg;
	int64_t now, secs;
	int *res;
	uint8_t *was_active;
};

static int
manual_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	struct manual_ctx *m = arg;
	int active = found && policy_ban_end(m->cfg, rec, m->now) > 0;

	if (m->res[i] != 0)
		return AB_KEEP;		/* refused before the transaction */
	if (m->was_active != NULL)
		m->was_active[i] = (uint8_t)active;
	if (active)			/* same ban, new end */
		rec->nbans = rec->nbans > 0 ? rec->nbans : 1;
	else if (found && rec->until + m->cfg->forget_after >= m->now)
		rec->nbans++;
	else
		rec->nbans = 1;
	rec->origin = AB_ORIGIN_MANUAL;
	rec->from[0] = '\0';
	rec->service[0] = '\0';
	rec->start = m->now;
	rec->until = m->now + m->secs;
	return AB_WRITE;
}

int
policy_ban_manual_many(struct ab_store *st, const struct ab_addr *prefixes,
    size_t n, int64_t secs, int force, int64_t now, int *res,
    uint8_t *was_active)
{
	const struct ab_config *cfg = store_config(st);
	struct manual_ctx m = { cfg, now, secs > 0 ? secs : cfg->bantime, res,
	    was_active };
	size_t i;

	for (i = 0; i < n; i++) {
		res[i] = 0;
		if (was_active != NULL)
			was_active[i] = 0;
		if (!force && policy_protected(st, &prefixes[i], now) != NULL)
			res[i] = AB_EIGNORED;
	}
	return store_ban_update_many(st, prefixes, n, manual_cb, &m);
}

int
policy_ban_manual(struct ab_store *st, const struct ab_addr *prefix,
    int64_t secs, int force, int64_t now, struct ab_ban *ban)
{
	int res, rc;

	rc = policy_ban_manual_many(st, prefix, 1, secs, force, now, &res, NULL);
	if (rc != 0)
		return rc;
	if (res != 0)
		return res;
	if (ban != NULL && (rc = store_ban_get(st, prefix, ban)) < 0)
		return rc;
	return 0;
}

static int
inside_cb(struct ab_counter *rec, int found, void *arg)
{
	const struct ab_addr *prefix = arg;

	(void)found;
	return addr_contains(prefix, &rec->prefix) ? AB_DELETE : AB_KEEP;
}

static int
delete_cb(struct ab_ban *rec, int found, void *arg)
{
	int *existed = arg;

	(void)rec;
	*existed = found;
	return AB_DELETE;
}

int
policy_unban(struct ab_store *st, const struct ab_addr *prefix, int64_t now)
{
	int existed = 0, rc;

	(void)now;
	if ((rc = store_ban_update(st, prefix, delete_cb, &existed)) != 0)
		return rc;
	/* Counts live at the unit length: drop every unit inside prefix. */
	if ((rc = store_count_sweep(st, inside_cb, (void *)(uintptr_t)prefix,
	    4096, NULL)) != 0)
		return rc;
	return existed;
}
