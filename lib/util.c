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

char *
ab_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return out;
	if (in == NULL)
		in = "(null)";
	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		char tmp[4];
		size_t n;

		if (c == '\\') {
			tmp[0] = '\\';
			tmp[1] = '\\';
			n = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			n = 1;
		} else {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[c >> 4];
			tmp[3] = hex[c & 15];
			n = 4;
		}
		/* Keep room for "..." and the NUL if the input goes on. */
		if (o + n + 4 > outlen && in[1] != '\0') {
			if (o + 4 <= outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
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
