/*
 * common.c - the leaf every banhelper file may call: messages, the
 * configuration, the privilege check, the store, output helpers.  It calls
 * nothing else of banhelper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
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

const double bh_sync_le[BH_SYNC_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.1, 1, 10 };

void
bh_sync_note(struct bh_syncs *s, int ok, int64_t us)
{
	int i;

	if (us < 0)
		us = 0;
	if (ok)
		s->ok++;
	else
		s->failed++;
	s->sum_us += (uint64_t)us;
	for (i = 0; i < BH_SYNC_BUCKETS; i++)
		if ((double)us <= bh_sync_le[i] * 1e6)
			s->le[i]++;
}

int
bh_daemon_line(char *buf, size_t len, int64_t last, const struct bh_syncs *s)
{
	int n = snprintf(buf, len, "%ld %lld %llu %llu %llu", (long)getpid(),
	    (long long)last, (unsigned long long)s->ok,
	    (unsigned long long)s->failed, (unsigned long long)s->sum_us);
	int i;

	for (i = 0; i < BH_SYNC_BUCKETS && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, " %llu",
		    (unsigned long long)s->le[i]);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "\n");
	return n > 0 && (size_t)n < len ? n : -1;
}

/* Is the daemon running?  Its pid file is locked while it runs. */
int
bh_daemon_state(const struct ab_config *cfg, long *pid, int64_t *last,
    struct bh_syncs *syncs)
{
	char path[AB_PATH_MAX + 32], buf[512], *p, *end;
	unsigned long long v[3 + BH_SYNC_BUCKETS];
	ssize_t n;
	int fd, running, i;

	*pid = 0;
	*last = 0;
	if (syncs != NULL)
		memset(syncs, 0, sizeof(*syncs));
	snprintf(path, sizeof(path), "%s/%s", cfg->runtime_dir, AB_PID_FILE);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	running = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return running;
	buf[n] = '\0';
	{
		long long l = 0;

		if (sscanf(buf, "%ld %lld", pid, &l) == 2)
			*last = l;
	}
	/* The syncs after them: all or none (an older daemon wrote none). */
	p = buf + strcspn(buf, " ");
	p += *p == ' ';
	p += strcspn(p, " \n");
	for (i = 0; i < 3 + BH_SYNC_BUCKETS; i++) {
		if (*p != ' ')
			break;
		errno = 0;
		v[i] = strtoull(p + 1, &end, 10);
		if (errno != 0 || end == p + 1)
			break;
		p = end;
	}
	if (syncs != NULL && i == 3 + BH_SYNC_BUCKETS) {
		syncs->ok = v[0];
		syncs->failed = v[1];
		syncs->sum_us = v[2];
		for (i = 0; i < BH_SYNC_BUCKETS; i++)
			syncs->le[i] = v[3 + i];
	}
	return running;
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
