/*
 * targets.c - addresses and prefixes as an admin types them, on the
 * command line or one a line on `ban -`'s input, into binary prefixes.
 *
 * MUST: accept any bytes without harm (a NUL, a line of any length, bytes
 * that are not text), name what is wrong with the bytes escaped, and hand
 * on only parsed binary prefixes: nothing downstream sees the text.
 */
#include <stdio.h>
#include <string.h>

#include "bh.h"

#define LINE_MAX_BYTES	1024

int
target_parse(const struct ab_config *cfg, const char *s, struct ab_addr *out,
    char *why, size_t whylen)
{
	struct ab_addr a;
	char e[96];

	if (strchr(s, '/') == NULL) {
		if (addr_parse(s, &a) != 0) {
			snprintf(why, whylen, "\"%s\": not an IP address or "
			    "prefix", ab_escape(s, e, sizeof(e)));
			return -1;
		}
		config_unit(cfg, &a, out);
		return 0;
	}
	if (addr_parse_prefix(s, 0, out) == 0)
		return 0;
	if (addr_parse_prefix(s, 1, &a) == 0) {
		char fixed[AB_ADDRSTRLEN];

		snprintf(why, whylen, "\"%s\" has host bits set (did you mean "
		    "%s?)", ab_escape(s, e, sizeof(e)),
		    addr_format(&a, fixed, sizeof(fixed)));
		return -1;
	}
	snprintf(why, whylen, "\"%s\": not an IP address or prefix",
	    ab_escape(s, e, sizeof(e)));
	return -1;
}

int
target_line(const struct ab_config *cfg, const char *line, size_t len,
    struct ab_addr *out, char *why, size_t whylen)
{
	char buf[LINE_MAX_BYTES + 1], *s, *e;

	if (memchr(line, '\0', len) != NULL) {
		snprintf(why, whylen, "contains a NUL byte: skipped");
		return -1;
	}
	if (len > LINE_MAX_BYTES) {
		snprintf(why, whylen, "longer than %d bytes: skipped",
		    LINE_MAX_BYTES);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if ((e = strchr(buf, '#')) != NULL)
		*e = '\0';
	for (s = buf; *s == ' ' || *s == '\t'; s++)
		;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
	    e[-1] == '\t'))
		*--e = '\0';
	if (*s == '\0')
		return 0;
	return target_parse(cfg, s, out, why, whylen) == 0 ? 1 : -1;
}
