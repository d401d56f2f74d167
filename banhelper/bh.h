/*
 * bh.h - what banhelper's files share that is not the firewall's: the
 * command's context, exit codes, and the leaf helpers of common.c.
 */
#ifndef BH_H
#define BH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "autoban.h"

/* Exit codes (documented in banhelper(8)). */
enum {
	BH_OK = 0,
	BH_ERR = 1,		/* store, firewall or system error */
	BH_USAGE = 2,		/* bad command line */
	BH_PARTIAL = 3,		/* some items refused, the rest done */
	BH_PERM = 4,		/* missing privilege */
};

/* Everything a command needs: configuration, options, where to log. */
struct bh {
	struct ab_config cfg;
	const char *conf_path;
	struct ab_log log;
	int use_syslog;		/* run --syslog */
	int daemon;		/* the command is run */
	int json, all, force;
	int64_t for_secs;	/* ban --for, 0: bantime */
	const char *service;	/* report --service */
	const char *user;	/* report --user */
	int success;		/* report --success */
	int prometheus;		/* stats --prometheus */
	const char *output;	/* stats --output */
};

/* ---- common.c: leaf helpers, calling nothing else of banhelper ---------- */

/* Log to stderr ("banhelper: ...") or syslog (LOG_AUTHPRIV). */
void bh_log(void *ctx, int prio, const char *msg);

/* Print "banhelper: ..." to stderr (command-line errors). */
void bh_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Read bh->cfg from bh->conf_path (or the default).  strict: a bad line is
 * an error (banhelper run, check), else it is reported and its default
 * kept.  Returns 0, or an exit code (the reason printed).
 */
int bh_load_config(struct bh *bh, int strict);

/* Root and CAP_NET_ADMIN for a changing command: 0, or BH_PERM (said why). */
int bh_need_privileges(const struct bh *bh, const char *cmd);

/* 1 if CAP_NET_ADMIN is in the effective set. */
int bh_have_net_admin(void);

/* store_open with the reason printed: 0, or BH_ERR. */
int bh_open_store(struct bh *bh, struct ab_store **st);

/* Print j (indented, keys in order) and free it. */
void bh_print_json(json_t *j);

/* "2026-11-24 19:26:18" in local time, "-" for 0. */
char *bh_fmt_time(int64_t t, char *buf, size_t len);

/* A growing text buffer for backend commands; oom is sticky. */
struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

/* Append formatted text to sb (sets sb->oom and stops on failure). */
void sb_printf(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- targets.c: admin input, parsed into binary prefixes ------------- */

/*
 * Parse an admin's address: a bare address means its counting unit (the
 * /32 or /64 the module would ban); ADDR/LEN means exactly that prefix.
 * Returns 0 and *out, or -1 with the reason in why.
 */
int target_parse(const struct ab_config *cfg, const char *s,
    struct ab_addr *out, char *why, size_t whylen);

/*
 * One line of `ban -` input, len bytes that may hold anything: blanks and
 * a '#' comment are ignored.  Returns 1 and *out, 0 for a line with no
 * address, or -1 with the reason in why (a NUL byte, too long, not an
 * address).
 */
int target_line(const struct ab_config *cfg, const char *line, size_t len,
    struct ab_addr *out, char *why, size_t whylen);

/* ---- commands: each returns an exit code ------------------------------- */

int cmd_list(struct bh *bh, int argc, char **argv);
int cmd_ban(struct bh *bh, int argc, char **argv);
int cmd_unban(struct bh *bh, int argc, char **argv);
int cmd_stats(struct bh *bh, int argc, char **argv);
int cmd_status(struct bh *bh, int argc, char **argv);
int cmd_sync(struct bh *bh, int argc, char **argv);
int cmd_check(struct bh *bh, int argc, char **argv);
int cmd_run(struct bh *bh, int argc, char **argv);
int cmd_report(struct bh *bh, int argc, char **argv);
int cmd_import(struct bh *bh, int argc, char **argv);

/* f2b.c: banhelper import fail2ban (called by cmd_import). */
int import_fail2ban(struct bh *bh, int argc, char **argv);

/* ---- report.c: reports of programs without PAM ----------------------- */

#define REPORT_LINE_MAX	512
#define REPORT_USER_MAX	64

enum { REPORT_FAIL, REPORT_SUCCESS, REPORT_CHECK };

struct report {
	int verb;			/* REPORT_FAIL, _SUCCESS, _CHECK */
	char service[AB_SERVICE_MAX];
	struct ab_addr host;
	char user[REPORT_USER_MAX + 1];	/* only logged */
};

enum { REPORT_COUNTED = 1, REPORT_BANNED = 2, REPORT_REFUSED = 3,
	REPORT_CLEAR = 4 };

/*
 * Parse one report line of len bytes (no newline): "fail|success|check
 * SERVICE ADDR [USER]".  0 and *r, or -1 with the reason in why (nothing
 * taken).
 */
int report_parse(const char *line, size_t len, struct report *r, char *why,
    size_t n);

/*
 * Apply r through the policy at now_ns; the reply line (no newline) in
 * reply.  REPORT_COUNTED, REPORT_BANNED, REPORT_REFUSED, REPORT_CLEAR (a
 * check of a host not banned), or an AB_E* / -errno error (nothing
 * changed, reply says so).
 */
int report_apply(const struct ab_config *cfg, struct ab_store *st,
    const struct report *r, int64_t now_ns, char *reply, size_t n);

/* ---- authlog.c: sshd's past log, for import log --------------------- */

#define AUTHLOG_LINE_MAX	8192

struct authlog_event {
	struct ab_addr host;
	int64_t when;			/* seconds since the epoch */
	unsigned count;			/* "message repeated N times" */
};

/*
 * One line of auth.log or journalctl output (no newline), read at now: 1
 * and *ev for a failed password of sshd, 0 for any other line, -1 for a
 * line that looks like one but cannot be read (why says what).
 */
int authlog_line(const char *line, size_t len, int64_t now,
    struct authlog_event *ev, char *why, size_t n);

#endif
