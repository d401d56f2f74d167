/*
 * report.c - a failure or a success reported by a program that does not
 * use PAM (a web login, a database's audit hook), through the module's own
 * path: the same policy, the same store, the same wake-up to the daemon.
 *
 * One report is one line:
 *
 *	fail SERVICE ADDR [USER]
 *	success SERVICE ADDR [USER]
 *	check SERVICE ADDR [USER]
 *
 * "check" asks, before the password is checked, whether ADDR is banned (as
 * the module refuses a banned host first): what a program behind a
 * reverse proxy needs, where the kernel cannot drop the client.
 *
 * SERVICE as a PAM service name (letters, digits, . - _ +; at most 31),
 * ADDR one numeric IPv4 or IPv6 address, USER the rest of the line (at
 * most 64 bytes, no control character), only logged.  The reply is one
 * line too: "counted", "banned", "refused", "clear" or "error", then the
 * reason.
 *
 * MUST: take nothing from a line that does not parse whole (a bad line
 * changes nothing); never count or ban loopback or an ignoreip address; never
 * count a host already banned (it is refused, as the module refuses it
 * before the password); put nothing from the line into a log message
 * unescaped.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "bh.h"

/* The next space-separated word of *s (NUL-terminated in place), or NULL. */
static char *
word(char **s)
{
	char *w = *s, *e;

	if (*w == '\0')
		return NULL;
	e = strchr(w, ' ');
	if (e != NULL) {
		*e = '\0';
		*s = e + 1;
	} else
		*s = w + strlen(w);
	return w;
}

/* why = pre, arg escaped, post; -1. */
static int
bad(char *why, size_t n, const char *pre, const char *arg, const char *post)
{
	char esc[80];

	snprintf(why, n, "%s%s%s", pre, ab_escape(arg, esc, sizeof(esc)),
	    post);
	return -1;
}

int
report_parse(const char *line, size_t len, struct report *r, char *why,
    size_t n)
{
	char buf[REPORT_LINE_MAX + 1], *s = buf, *verb, *svc, *addr;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (len > REPORT_LINE_MAX) {
		snprintf(why, n, "line longer than %d bytes", REPORT_LINE_MAX);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
			snprintf(why, n, "control character (0x%02x) at byte %zu",
			    (unsigned char)buf[i], i + 1);
			return -1;
		}
	verb = word(&s);
	if (verb != NULL && strcmp(verb, "fail") == 0)
		r->verb = REPORT_FAIL;
	else if (verb != NULL && strcmp(verb, "success") == 0)
		r->verb = REPORT_SUCCESS;
	else if (verb != NULL && strcmp(verb, "check") == 0)
		r->verb = REPORT_CHECK;
	else
		return bad(why, n, "unknown report \"", verb != NULL ?
		    verb : "", "\": expected fail, success or check");
	if ((svc = word(&s)) == NULL || *svc == '\0') {
		snprintf(why, n, "no service name");
		return -1;
	}
	if (strlen(svc) >= AB_SERVICE_MAX)
		return bad(why, n, "service name \"", svc, "\" is too long "
		    "(at most 31 bytes)");
	ab_service_name(svc, r->service);
	if (strcmp(r->service, svc) != 0)
		return bad(why, n, "service name \"", svc, "\": only "
		    "letters, digits and . - _ + may be used");
	if ((addr = word(&s)) == NULL || *addr == '\0') {
		snprintf(why, n, "no address");
		return -1;
	}
	if (addr_parse(addr, &r->host) != 0)
		return bad(why, n, "\"", addr, "\" is not an IPv4 or IPv6 "
		    "address");
	if (strlen(s) > REPORT_USER_MAX)
		return bad(why, n, "user name \"", s, "\" is too long (at "
		    "most 64 bytes)");
	snprintf(r->user, sizeof(r->user), "%s", s);
	return 0;
}

int
report_apply(const struct ab_config *cfg, struct ab_store *st,
    const struct report *r, int64_t now_ns, char *reply, size_t n)
{
	struct ab_decision d;
	char a[AB_ADDRSTRLEN], p[AB_ADDRSTRLEN], left[32];
	int rc;

	addr_format(&r->host, a, sizeof(a));
	if (config_is_ignored(cfg, &r->host)) {
		snprintf(reply, n, "refused %s is %s: never counted or banned",
		    a, addr_is_loopback(&r->host) ? "loopback" :
		    "in ignoreip");
		return REPORT_REFUSED;
	}
	if (r->verb == REPORT_SUCCESS) {
		if ((rc = policy_success(st, &r->host, now_ns)) != 0)
			goto fail;
		snprintf(reply, n, "counted success of %s", a);
		return REPORT_COUNTED;
	}
	if ((rc = policy_check(st, &r->host, now_ns, &d)) != 0)
		goto fail;
	if (d.verdict == AB_IGNORED) {
		snprintf(reply, n, "refused %s is allowlisted (a name in "
		    "ignoreip): never counted or banned", a);
		return REPORT_REFUSED;
	}
	if (d.verdict != AB_REFUSE && r->verb == REPORT_CHECK) {
		snprintf(reply, n, "clear %s is not banned", a);
		return REPORT_CLEAR;
	}
	if (d.verdict == AB_REFUSE) {
		snprintf(reply, n, "refused %s is banned as %s (%s), %s left%s",
		    a, addr_format(&d.ban.prefix, p, sizeof(p)),
		    ab_origin_name(d.ban.origin),
		    ab_fmt_duration(d.ban.until - now_ns / 1000000000, left,
		    sizeof(left)), r->verb == REPORT_CHECK ? "" :
		    ": not counted");
		return REPORT_REFUSED;
	}
	if ((rc = policy_fail(st, &r->host, r->service, now_ns, &d)) != 0)
		goto fail;
	if (d.verdict == AB_BANNED) {
		snprintf(reply, n, "banned %s as %s for %s after %u failures",
		    a, addr_format(&d.ban.prefix, p, sizeof(p)),
		    ab_fmt_duration(d.ban.until - now_ns / 1000000000, left,
		    sizeof(left)), d.ban.failures);
		return REPORT_BANNED;
	}
	snprintf(reply, n, "counted %s: %u of %u failures in findtime", a,
	    d.failures, cfg->maxretry);
	return REPORT_COUNTED;
fail:
	snprintf(reply, n, "error %s: %s: nothing changed", a,
	    ab_strerror(rc));
	return rc;
}
