/*
 * fleet_event.c - a fleet event as one line of text.
 *
 * An event comes from another machine, through a Redis anyone with the
 * password can write to: it is outside input.  MUST: take a line only if
 * every field is exactly as fleet_event_format writes it (so one event has
 * one spelling, and nothing odd reaches a log or the store); bound every
 * field; never read past len.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

int
fleet_event_format(const struct fleet_event *ev, char *out, size_t len)
{
	char p[AB_ADDRSTRLEN];
	int n;

	addr_format(&ev->prefix, p, sizeof(p));
	if (ev->op == FLEET_BAN)
		n = snprintf(out, len, "v1 ban %s %lld %s %s %s %s %s", p,
		    (long long)ev->until, ev->origin, ev->owner,
		    ab_origin_name(ev->kind),
		    ev->service[0] ? ev->service : "-",
		    ev->reason[0] ? ev->reason : "-");
	else
		n = snprintf(out, len, "v1 unban %s 0 %s %s - - -", p,
		    ev->origin, ev->owner);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* The next space-separated token of [*s, end): 0, or -1 if none. */
static int
token(const char **s, const char *end, char *out, size_t outlen)
{
	const char *p = *s, *q;

	if (p >= end)
		return -1;
	for (q = p; q < end && *q != ' '; q++)
		;
	if (q == p || (size_t)(q - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	*s = q < end ? q + 1 : q;
	return 0;
}

/* A decimal without sign or leading zero, at most 12 digits. */
static int
decimal(const char *s, int64_t *v)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 12 || (n > 1 && s[0] == '0'))
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
fleet_event_parse(const char *line, size_t len, struct fleet_event *ev,
    const char **why)
{
	const char *s = line, *end = line + len;
	char t[FLEET_LINE_MAX], canon[AB_ADDRSTRLEN];
	size_t i;

	memset(ev, 0, sizeof(*ev));
	*why = "line";
	if (len == 0 || len >= FLEET_LINE_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return -1;
	*why = "version";
	if (token(&s, end, t, sizeof(t)) != 0 || strcmp(t, "v1") != 0)
		return -1;
	*why = "operation";
	if (token(&s, end, t, sizeof(t)) != 0)
		return -1;
	if (strcmp(t, "ban") == 0)
		ev->op = FLEET_BAN;
	else if (strcmp(t, "unban") == 0)
		ev->op = FLEET_UNBAN;
	else
		return -1;
	*why = "prefix";
	if (token(&s, end, t, sizeof(t)) != 0 ||
	    addr_parse_prefix(t, 0, &ev->prefix) != 0 ||
	    strcmp(addr_format(&ev->prefix, canon, sizeof(canon)), t) != 0)
		return -1;
	*why = "end of the ban";
	if (token(&s, end, t, sizeof(t)) != 0 || decimal(t, &ev->until) != 0 ||
	    (ev->op == FLEET_UNBAN) != (ev->until == 0))
		return -1;
	*why = "origin";
	if (token(&s, end, t, sizeof(t)) != 0 || !config_fleet_name_ok(t))
		return -1;
	memcpy(ev->origin, t, strlen(t) + 1);
	*why = "owner";
	if (token(&s, end, t, sizeof(t)) != 0 || !config_fleet_name_ok(t))
		return -1;
	memcpy(ev->owner, t, strlen(t) + 1);
	if (ev->op == FLEET_BAN && strcmp(ev->owner, ev->origin) != 0)
		return -1;
	*why = "kind";
	if (token(&s, end, t, sizeof(t)) != 0)
		return -1;
	if (ev->op == FLEET_UNBAN) {
		if (strcmp(t, "-") != 0)
			return -1;
	} else if (strcmp(t, "auto") == 0) {
		ev->kind = AB_ORIGIN_AUTO;
	} else if (strcmp(t, "manual") == 0) {
		ev->kind = AB_ORIGIN_MANUAL;
	} else {
		return -1;
	}
	*why = "service";
	if (token(&s, end, t, sizeof(t)) != 0)
		return -1;
	if (strcmp(t, "-") != 0) {
		char norm[AB_SERVICE_MAX];

		if (ev->op == FLEET_UNBAN || strlen(t) >= AB_SERVICE_MAX ||
		    ab_service_name(t, norm) != 0 || strcmp(norm, t) != 0)
			return -1;
		memcpy(ev->service, t, strlen(t) + 1);
	}
	/* The reason: the rest, printable (checked above), bounded. */
	*why = "reason";
	if (s >= end || (size_t)(end - s) > FLEET_REASON_MAX ||
	    (ev->op == FLEET_UNBAN && (end - s != 1 || *s != '-')))
		return -1;
	if (!(end - s == 1 && *s == '-')) {
		memcpy(ev->reason, s, (size_t)(end - s));
		ev->reason[end - s] = '\0';
	}
	*why = NULL;
	return 0;
}

/* "MS-SEQ" into two numbers: 0, or -1. */
static int
id_parse(const char *id, unsigned long long *ms, unsigned long long *seq)
{
	char *e;

	if (id == NULL || id[0] < '0' || id[0] > '9')
		return -1;
	*ms = strtoull(id, &e, 10);
	if (*e != '-' || e[1] < '0' || e[1] > '9')
		return -1;
	*seq = strtoull(e + 1, &e, 10);
	return *e == '\0' && strlen(id) < FLEET_ID_MAX ? 0 : -1;
}

int
fleet_id_ok(const char *id)
{
	unsigned long long a, b;

	return id_parse(id, &a, &b) == 0;
}

int
fleet_id_cmp(const char *a, const char *b)
{
	unsigned long long am = 0, as = 0, bm = 0, bs = 0;
	int ao = id_parse(a, &am, &as) == 0, bo = id_parse(b, &bm, &bs) == 0;

	if (!ao || !bo)
		return ao - bo;
	if (am != bm)
		return am < bm ? -1 : 1;
	if (as != bs)
		return as < bs ? -1 : 1;
	return 0;
}
