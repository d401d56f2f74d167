/*
 * authlog.c - one line of sshd's past log (auth.log, or `journalctl -u
 * ssh`), read for `banhelper import log`: is it a failed password, from
 * which address, when.
 *
 * Only sshd's own fixed messages for a password that was checked and
 * failed are taken (the ones autoban counts live):
 *
 *	Failed password for [invalid user ]USER from ADDR port N ssh2
 *	Failed keyboard-interactive/pam for [invalid user ]USER from ADDR port N ssh2
 *
 * possibly inside rsyslog's "message repeated N times: [ ... ]".  USER is
 * whatever the client sent, so the line is read from its end, which sshd
 * writes itself: " from ADDR port N ssh2" must close it, and nothing in
 * USER can move or add an address.  The tag must be sshd's ("sshd[PID]:",
 * "sshd:", or OpenSSH 9.8's "sshd-session[PID]:").  Timestamps: syslog's
 * "Mon DD HH:MM:SS" (local time, the year the latest not after now + 1 day)
 * or RFC 3339 ("2026-12-07T13:01:07.123456+01:00", rsyslog's and
 * journalctl -o short-iso's).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh.h"

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "HH:MM:SS" at s into tm: 0, or -1. */
static int
clock_of(const char *s, struct tm *tm)
{
	if (s[2] != ':' || s[5] != ':')
		return -1;
	tm->tm_hour = digits(s, 2);
	tm->tm_min = digits(s + 3, 2);
	tm->tm_sec = digits(s + 6, 2);
	return tm->tm_hour < 0 || tm->tm_hour > 23 || tm->tm_min < 0 ||
	    tm->tm_min > 59 || tm->tm_sec < 0 || tm->tm_sec > 60 ? -1 : 0;
}

/* The timestamp at *p: seconds, and *p moved past it; -1 if none. */
static int64_t
stamp(const char **p, int64_t now)
{
	const char *s = *p;
	struct tm tm;
	int64_t t;
	int m, off = 0;

	memset(&tm, 0, sizeof(tm));
	if (isdigit((unsigned char)s[0])) {
		/* RFC 3339: 2026-12-07T13:01:07[.frac](Z|+hh:mm|+hhmm) */
		if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
		    s[10] != 'T' || (tm.tm_year = digits(s, 4)) < 1970 ||
		    (tm.tm_mon = digits(s + 5, 2)) < 1 || tm.tm_mon > 12 ||
		    (tm.tm_mday = digits(s + 8, 2)) < 1 || tm.tm_mday > 31 ||
		    clock_of(s + 11, &tm) != 0)
			return -1;
		tm.tm_year -= 1900;
		tm.tm_mon--;
		s += 19;
		if (*s == '.' || *s == ',')
			for (s++; isdigit((unsigned char)*s); s++)
				;
		if (*s == 'Z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			int sign = *s == '-' ? -1 : 1, hh, mm;

			hh = digits(s + 1, 2);
			mm = s[3] == ':' ? digits(s + 4, 2) : digits(s + 3, 2);
			if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
				return -1;
			off = sign * (hh * 3600 + mm * 60);
			s += s[3] == ':' ? 6 : 5;
		} else
			return -1;
		if (*s != ' ')
			return -1;
		t = (int64_t)timegm(&tm) - off;
		*p = s + 1;
		return t;
	}
	/* syslog: "Dec  7 13:01:07 " or journalctl's "Dec 07 13:01:07 " */
	for (m = 0; m < 12; m++)
		if (strncmp(s, months[m], 3) == 0)
			break;
	if (m == 12 || s[3] != ' ')
		return -1;
	s += 4;
	if (s[0] == ' ')
		s++;
	tm.tm_mday = isdigit((unsigned char)s[1]) ? digits(s, 2) : digits(s, 1);
	if (tm.tm_mday < 1 || tm.tm_mday > 31)
		return -1;
	s += isdigit((unsigned char)s[1]) ? 2 : 1;
	if (*s++ != ' ' || clock_of(s, &tm) != 0 || s[8] != ' ')
		return -1;
	{
		time_t nt = (time_t)now;
		struct tm lt;

		localtime_r(&nt, &lt);
		tm.tm_mon = m;
		tm.tm_year = lt.tm_year;
		tm.tm_isdst = -1;
		t = (int64_t)mktime(&tm);
		if (t > now + 86400) {	/* December's lines read in January */
			tm.tm_year--;
			tm.tm_isdst = -1;
			t = (int64_t)mktime(&tm);
		}
	}
	*p = s + 9;
	return t;
}

/* Past "HOST sshd[PID]: " at *p: 0, or -1 if the tag is not sshd's. */
static int
sshd_tag(const char **p)
{
	const char *s = *p, *tag;
	size_t n;

	if ((tag = strchr(s, ' ')) == NULL || tag == s)
		return -1;
	tag++;
	if (strncmp(tag, "sshd-session", 12) == 0)
		n = 12;
	else if (strncmp(tag, "sshd", 4) == 0)
		n = 4;
	else
		return -1;
	s = tag + n;
	if (*s == '[') {
		for (s++; isdigit((unsigned char)*s); s++)
			;
		if (*s++ != ']')
			return -1;
	}
	if (s[0] != ':' || s[1] != ' ')
		return -1;
	*p = s + 2;
	return 0;
}

int
authlog_line(const char *line, size_t len, int64_t now,
    struct authlog_event *ev, char *why, size_t n)
{
	char buf[AUTHLOG_LINE_MAX + 1], *msg, *end, *addr, *q;
	const char *p;
	size_t i;
	long rep = 1;

	memset(ev, 0, sizeof(*ev));
	why[0] = '\0';
	if (len > AUTHLOG_LINE_MAX) {
		snprintf(why, n, "line longer than %d bytes", AUTHLOG_LINE_MAX);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if (buf[i] == '\0' || buf[i] == '\r' || buf[i] == '\n')
			buf[i] = ' ';	/* never a line break of its own */
	p = buf;
	if ((ev->when = stamp(&p, now)) < 0 || sshd_tag(&p) != 0)
		return 0;		/* not a line of sshd's */
	msg = (char *)(uintptr_t)p;
	if (strncmp(msg, "message repeated ", 17) == 0) {
		rep = strtol(msg + 17, &q, 10);
		if (rep < 1 || rep > 1000000 || strncmp(q, " times: [", 9) != 0)
			return 0;
		for (msg = q + 9; *msg == ' '; msg++)
			;
		end = msg + strlen(msg);
		while (end > msg && end[-1] == ' ')
			end--;
		if (end == msg || end[-1] != ']')
			return 0;
		end[-1] = '\0';
	}
	if (strncmp(msg, "Failed password for ", 20) != 0 &&
	    strncmp(msg, "Failed keyboard-interactive/pam for ", 36) != 0)
		return 0;
	/* From the end, which sshd writes: " from ADDR port N ssh2". */
	end = msg + strlen(msg);
	while (end > msg && end[-1] == ' ')
		end--;
	*end = '\0';
	if (end - msg < 5 || strcmp(end - 5, " ssh2") != 0) {
		snprintf(why, n, "a failed password without sshd's \" ssh2\" "
		    "ending");
		return -1;
	}
	end -= 5;
	*end = '\0';
	for (q = end; q > msg && isdigit((unsigned char)q[-1]); q--)
		;
	if (q == end || q - msg < 6 || strncmp(q - 6, " port ", 6) != 0) {
		snprintf(why, n, "a failed password without sshd's port");
		return -1;
	}
	q -= 6;
	*q = '\0';
	if ((addr = strrchr(msg, ' ')) == NULL || addr - msg < 5 ||
	    strncmp(addr - 5, " from", 5) != 0) {
		snprintf(why, n, "a failed password without sshd's \"from "
		    "ADDR\"");
		return -1;
	}
	addr++;
	if (addr_parse(addr, &ev->host) != 0) {
		char e[64];

		snprintf(why, n, "\"%s\" is not an IP address (UseDNS?)",
		    ab_escape(addr, e, sizeof(e)));
		return -1;
	}
	ev->count = (unsigned)rep;
	return 1;
}
