/*
 * util.c - error text, the logging callback, escaping of outside values.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "autoban.h"

const char *
ab_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case AB_ECONFIG:
		return "configuration error";
	case AB_EUNTRUSTED:
		return "file or directory is not trusted";
	case AB_ECORRUPT:
		return "store is corrupt or not an autoban store";
	case AB_EVERSION:
		return "store was written by an incompatible version";
	case AB_EFULL:
		return "store is full";
	case AB_ELOCKED:
		return "store is locked by another process";
	case AB_EADDR:
		return "not an IP address or prefix";
	case AB_ESTORE:
		return "store error";
	case AB_ENOTFOUND:
		return "no such record";
	case AB_EFIREWALL:
		return "firewall change failed";
	case AB_EIGNORED:
		return "address is loopback or in ignoreip";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

void
ab_logf(const struct ab_log *log, int prio, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (log == NULL || log->fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(log->ctx, prio, msg);
}

/* Bytes c takes once escaped. */
static size_t
escaped_len(unsigned char c)
{
	if (c == '\\')
		return 2;
	return c >= 0x20 && c < 0x7f ? 1 : 4;
}

char *
ab_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t o = 0, need = 0;
	int cut;

	if (outlen == 0)
		return out;
	if (in == NULL)
		in = "(null)";
	for (p = (const unsigned char *)in; *p != '\0'; p++)
		need += escaped_len(*p);
	cut = need + 1 > outlen;	/* then end in "..." */
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		size_t n = escaped_len(*p);

		if (o + n + (cut ? 3 : 0) + 1 > outlen)
			break;
		if (n == 1) {
			out[o] = (char)*p;
		} else if (n == 2) {
			out[o] = '\\';
			out[o + 1] = '\\';
		} else {
			out[o] = '\\';
			out[o + 1] = 'x';
			out[o + 2] = hex[*p >> 4];
			out[o + 3] = hex[*p & 15];
		}
		o += n;
	}
	if (cut && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

char *
ab_fmt_duration(int64_t secs, char *out, size_t outlen)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = {
		{ 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
		{ 's', 1 },
	};
	size_t o = 0, i;

	if (outlen == 0)
		return out;
	out[0] = '\0';
	if (secs <= 0) {
		snprintf(out, outlen, "0s");
		return out;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int64_t n = secs / units[i].secs;
		int w;

		if (n == 0)
			continue;
		secs -= n * units[i].secs;
		w = snprintf(out + o, outlen - o, "%lld%c", (long long)n,
		    units[i].unit);
		if (w < 0 || (size_t)w >= outlen - o)
			break;
		o += (size_t)w;
	}
	return out;
}

int
ab_service_name(const char *in, char out[AB_SERVICE_MAX])
{
	size_t i;

	out[0] = '\0';
	if (in == NULL || in[0] == '\0')
		return -1;
	for (i = 0; in[i] != '\0' && i < AB_SERVICE_MAX - 1; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_' || c == '+' ? (char)c : '_';
	}
	out[i] = '\0';
	return 0;
}

const char *
ab_origin_name(int origin)
{
	return origin == AB_ORIGIN_MANUAL ? "manual" :
	    origin == AB_ORIGIN_TRUSTED ? "trusted" : "auto";
}
