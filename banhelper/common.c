/*
 * common.c - the leaf every banhelper file may call: messages, the
 * configuration, the privilege check, the store, output helpers.  It calls
 * nothing else of banhelper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"

void
bh_err(const char *fmt, ...)
{
	va_list ap;

	fputs("banhelper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The daemon logs everything to one place (stderr, or syslog with
 * --syslog).  A command logs its decisions (bans, unbans: notices) to
 * syslog, where the module's decisions go too, and shows the admin only
 * warnings and errors on stderr.
 */
void
bh_log(void *ctx, int prio, const char *msg)
{
	const struct bh *bh = ctx;

	if (bh != NULL && bh->use_syslog)
		syslog(prio, "%s", msg);
	else if (bh != NULL && !bh->daemon && prio >= LOG_NOTICE)
		syslog(prio, "%s", msg);
	else if (prio != LOG_DEBUG)
		fprintf(stderr, "banhelper: %s\n", msg);
}

int
bh_load_config(struct bh *bh, int strict)
{
	const char *path = bh->conf_path != NULL ? bh->conf_path :
	    AB_CONF_PATH;
	int rc;

	config_defaults(&bh->cfg);
	rc = config_load(&bh->cfg, path, bh->conf_path != NULL, &bh->log);
	if (rc == AB_ECONFIG && !strict)
		return 0;	/* bad lines were reported; defaults kept */
	if (rc == AB_ECONFIG) {
		bh_err("%s has errors (each named above with its line): fix "
		    "them first", path);
		return BH_ERR;
	}
	if (rc != 0) {
		bh_err("cannot use the configuration %s: %s", path,
		    ab_strerror(rc));
		return BH_ERR;
	}
	return 0;
}

int
bh_have_net_admin(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (caps == NULL)
		return 0;
	cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &v);
	cap_free(caps);
	return v == CAP_SET;
}

int
bh_need_privileges(const struct bh *bh, const char *cmd)
{
	int root = geteuid() == 0, netadm = bh_have_net_admin();

	if (root && netadm)
		return 0;
	if (!root && !netadm)
		bh_err("%s needs root (to write the store in %s) and "
		    "CAP_NET_ADMIN (to change the firewall); you are uid %u "
		    "without CAP_NET_ADMIN", cmd, bh->cfg.db, (unsigned)geteuid());
	else if (!root)
		bh_err("%s needs root to write the store in %s; you are uid %u",
		    cmd, bh->cfg.db, (unsigned)geteuid());
	else
		bh_err("%s needs CAP_NET_ADMIN to change the firewall, and this "
		    "process does not have it in its effective set", cmd);
	return BH_PERM;
}

int
bh_open_store(struct bh *bh, struct ab_store **st)
{
	int rc = store_open(st, &bh->cfg, &bh->log);

	if (rc != 0) {
		bh_err("cannot open the store: %s", ab_strerror(rc));
		return BH_ERR;
	}
	return 0;
}

void
bh_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

char *
bh_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

void
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->oom)
		return;
	for (;;) {
		size_t room = sb->cap - sb->len, cap;
		char *np;

		va_start(ap, fmt);
		n = vsnprintf(sb->p != NULL ? sb->p + sb->len : NULL, room, fmt,
		    ap);
		va_end(ap);
		if (n < 0) {
			sb->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			sb->len += (size_t)n;
			return;
		}
		for (cap = sb->cap ? sb->cap * 2 : 65536; cap - sb->len <=
		    (size_t)n; cap *= 2)
			;
		if ((np = realloc(sb->p, cap)) == NULL) {
			sb->oom = 1;
			return;
		}
		sb->p = np;
		sb->cap = cap;
	}
}
