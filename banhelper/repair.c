/*
 * repair.c - a ban store whose file fails its checks (cut short, garbage,
 * a page out of place) cannot be read, and the module follows on_error
 * until someone acts.  The kernel still holds every active ban with its
 * time left, so the store is rebuilt from it: the broken file is set
 * aside (kept, never deleted), and a new store gets one ban per kernel
 * element, as an automatic ban that started now.  What the kernel does
 * not hold (ban history, failures counted) is lost with the file's
 * readable part; the file stays for whoever wants to look.
 */
#include <stdlib.h>
#include <string.h>

#include "fw.h"
#include "repair.h"

struct rebuild {
	struct ab_addr *prefixes;
	int64_t *until;
	size_t n;
	int64_t now;
};

static int
rebuild_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	struct rebuild *r = arg;

	(void)found;
	rec->origin = AB_ORIGIN_AUTO;
	rec->nbans = rec->nbans > 0 ? rec->nbans : 1;
	rec->start = r->now;
	if (r->until[i] > rec->until)
		rec->until = r->until[i];
	return AB_WRITE;
}

int
repair_store(struct ab_store *st, struct fw *fw, int64_t now,
    const struct ab_log *log, size_t *restored)
{
	struct fw_range *have = NULL;
	struct rebuild r;
	size_t nh = 0, i, cap = 0;
	int rc;

	if (restored != NULL)
		*restored = 0;
	if ((rc = store_check(st)) != AB_ECORRUPT)
		return rc == 0 || rc == AB_EVERSION ? 0 : rc;
	/* What the kernel holds, before anything is moved. */
	if ((rc = fw->ops->present(fw)) == 1 &&
	    (rc = fw->ops->list(fw, &have, &nh)) != 0)
		return rc;
	if ((rc = store_set_aside(st)) != 0) {
		free(have);
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.now = now;
	for (i = 0; i < nh; i++) {
		struct ab_addr p[256];
		size_t k, np;

		if (have[i].timeout <= 0)
			continue;
		np = fw_range_prefixes(&have[i], p, 256);
		if (r.n + np > cap) {
			size_t nc = (r.n + np) * 2;
			struct ab_addr *pv = realloc(r.prefixes,
			    nc * sizeof(*pv));
			int64_t *uv;

			if (pv == NULL)
				break;
			r.prefixes = pv;
			if ((uv = realloc(r.until, nc * sizeof(*uv))) == NULL)
				break;
			r.until = uv;
			cap = nc;
		}
		for (k = 0; k < np; k++) {
			r.prefixes[r.n] = p[k];
			r.until[r.n] = now + have[i].timeout;
			r.n++;
		}
	}
	rc = r.n > 0 ? store_ban_update_many(st, r.prefixes, r.n, rebuild_cb,
	    &r) : 0;
	ab_logf(log, rc == 0 ? LOG_WARNING : LOG_ERR, "ban store rebuilt "
	    "from the kernel: %zu ban(s) restored%s%s", rc == 0 ? r.n : 0,
	    rc != 0 ? ": " : "", rc != 0 ? ab_strerror(rc) : "");
	if (restored != NULL && rc == 0)
		*restored = r.n;
	free(have);
	free(r.prefixes);
	free(r.until);
	return rc == 0 ? 1 : rc;
}
