/*
 * config.c - /etc/security/autoban.conf and module arguments.
 *
 * MUST: open the file with O_NOFOLLOW and judge it on the open fd only
 * (trust_fd); never let one bad line change a value (the previous value is
 * kept and the line is logged with file and line number); judge each item
 * of a list alone, keeping the good ones.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoban.h"

#define CONF_MAX_BYTES	(64 * 1024)

void
config_defaults(struct ab_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->maxretry = 5;
	cfg->findtime = 600;
	cfg->bantime = 3600;
	cfg->bantime_increment = 2;
	cfg->bantime_max = 7 * 86400;
	cfg->forget_after = 7 * 86400;
	cfg->ipv4_prefix = 32;
	cfg->ipv6_prefix = 64;
	cfg->on_error = AB_ON_ERROR_OPEN;
	snprintf(cfg->db, sizeof(cfg->db), "%s", AB_DB_DIR);
	snprintf(cfg->runtime_dir, sizeof(cfg->runtime_dir), "%s", AB_RUN_DIR);
	cfg->mapsize = (size_t)1 << 30;
	cfg->backend = AB_BACKEND_NFT;
	cfg->sync_interval = 5;
	cfg->realtime = 1;
	snprintf(cfg->user, sizeof(cfg->user), "%s", AB_USER);
	cfg->report_group[0] = '\0';
	cfg->report_rate = 20;
	cfg->resolve_interval = 300;
	cfg->resolve_keep = 86400;
	cfg->trust_factor = 3;
	cfg->trust_window = 30 * 86400;
	cfg->fleet_accept = AB_FLEET_AUTO | AB_FLEET_MANUAL;
	cfg->fleet_rate = 20000;
	cfg->metrics_interval = 60;
	snprintf(cfg->metrics_dir, sizeof(cfg->metrics_dir), "%s",
	    AB_METRICS_DIR);
}

/* Strict unsigned decimal in [lo, hi]. */
static int
parse_uint(const char *s, unsigned long lo, unsigned long hi,
    unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (ULONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
config_parse_duration(const char *s, int64_t *out)
{
	char num[24];
	size_t n = strlen(s);
	unsigned long v, mult = 1;

	if (n == 0 || n >= sizeof(num))
		return AB_ECONFIG;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 604800; break;
	default:
		if (num[n - 1] < '0' || num[n - 1] > '9')
			return AB_ECONFIG;
		n++;	/* no suffix: seconds */
	}
	num[n - 1] = '\0';
	if (parse_uint(num, 0, (unsigned long)AB_DURATION_MAX, &v) != 0 ||
	    v > (unsigned long)AB_DURATION_MAX / mult)
		return AB_ECONFIG;
	*out = (int64_t)(v * mult);
	return 0;
}

static int
parse_size(const char *s, size_t *out)
{
	char num[24];
	size_t n = strlen(s);
	unsigned long v, mult = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'K': case 'k': mult = 1UL << 10; num[n - 1] = '\0'; break;
	case 'M': case 'm': mult = 1UL << 20; num[n - 1] = '\0'; break;
	case 'G': case 'g': mult = 1UL << 30; num[n - 1] = '\0'; break;
	}
	if (parse_uint(num, 1, ULONG_MAX / mult, &v) != 0)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

/*
 * Split a list value on commas and blanks and add each item with fn.  Each
 * item is judged alone: a bad one is logged by name and skipped, and the
 * good ones around it are kept (one typo must not drop the admin's own
 * address from ignoreip).  Returns 0, or AB_ECONFIG if any item was bad.
 */
static int
foreach_item(struct ab_config *cfg, const char *key, const char *value,
    int (*fn)(struct ab_config *, const char *), const char *expect,
    const char *loc, const struct ab_log *log)
{
	char item[AB_RHOST_MAX + 1], ev[128];
	const char *p = value;
	int rc = 0;

	while (*p != '\0') {
		size_t n;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		p += n;
		if (n < sizeof(item) && fn(cfg, item) == 0)
			continue;
		ab_logf(log, LOG_ERR, "%s: %s: bad item \"%s\": expected %s "
		    "(item ignored, the others kept)", loc, key,
		    ab_escape(item, ev, sizeof(ev)), expect);
		rc = AB_ECONFIG;
	}
	return rc;
}

/*
 * A host name as DNS has them: labels of letters, digits and '-' (not at
 * either end), 1 to 63 bytes, 253 in all, and a last label that is not all
 * digits, so that a mistyped address (203.0.113.300) is never taken for a
 * name.
 */
static int
valid_hostname(const char *s)
{
	size_t n = strlen(s), label = 0, i;
	int digits_only = 1;

	if (n == 0 || n > AB_NAME_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			if (c == '\0')
				return !digits_only;
			label = 0;
			digits_only = 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0)))
			return 0;
		if (!(c >= '0' && c <= '9'))
			digits_only = 0;
		label++;
	}
	return 0;
}

static int
add_ignore(struct ab_config *cfg, const char *item)
{
	struct ab_addr a;
	size_t i;

	if (addr_parse_prefix(item, 1, &a) == 0) {
		if (cfg->nignore >= AB_IGNORE_MAX)
			return -1;
		cfg->ignore[cfg->nignore++] = a;
		return 0;
	}
	/* A name: banhelper resolves it; the module never does DNS. */
	if (!valid_hostname(item))
		return -1;
	for (i = 0; i < cfg->nignore_names; i++)
		if (strcasecmp(cfg->ignore_names[i], item) == 0)
			return 0;
	if (cfg->nignore_names >= AB_IGNORE_NAMES_MAX)
		return -1;
	snprintf(cfg->ignore_names[cfg->nignore_names++], AB_NAME_MAX + 1,
	    "%s", item);
	return 0;
}

static int
add_port(struct ab_config *cfg, const char *item)
{
	unsigned long v;

	if (cfg->nports >= AB_PORTS_MAX || parse_uint(item, 1, 65535, &v) != 0)
		return -1;
	cfg->ports[cfg->nports++] = (uint16_t)v;
	return 0;
}

static int
valid_path(const char *s)
{
	return s[0] == '/' && strlen(s) < AB_PATH_MAX;
}

int
config_fleet_name_ok(const char *s)
{
	size_t i, n = strnlen(s, AB_FLEET_NAME_MAX);

	if (n == 0 || n >= AB_FLEET_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

/*
 * "redis://HOST:PORT" (PORT defaults to 6379; HOST a name, an IPv4
 * address or [an IPv6 address]): 0, or -1.
 */
static int
parse_fleet(struct ab_config *cfg, const char *v)
{
	char host[AB_NAME_MAX + 1];
	const char *h, *e, *port;
	unsigned long p = 6379;
	struct ab_addr a;
	size_t n;

	if (strncmp(v, "redis://", 8) != 0)
		return -1;
	h = v + 8;
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			return -1;
		n = (size_t)(e - h - 1);
		port = e[1] == ':' ? e + 2 : e[1] == '\0' ? NULL : "";
		h++;
	} else {
		e = strchr(h, ':');
		n = e != NULL ? (size_t)(e - h) : strlen(h);
		port = e != NULL ? e + 1 : NULL;
	}
	if (n == 0 || n > AB_NAME_MAX)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (addr_parse(host, &a) != 0 && !valid_hostname(host))
		return -1;
	if (port != NULL && parse_uint(port, 1, 65535, &p) != 0)
		return -1;
	memcpy(cfg->fleet_host, host, n + 1);
	cfg->fleet_port = (uint16_t)p;
	return 0;
}

/* A user name as adduser takes it (no digits first, no ':' or '/'). */
static int
valid_user(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= sizeof(((struct ab_config *)0)->user) ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		    (s[i] == '$' && i == n - 1)))
			return 0;
	return 1;
}

/*
 * "WHERE line N" for a message.  Only an error needs it: the module reads
 * the configuration on every login, so it is not formatted for keys that
 * are fine.
 */
static const char *
where_line(char *buf, size_t len, const char *where, unsigned line)
{
	if (line > 0)
		snprintf(buf, len, "%s line %u", where, line);
	else
		snprintf(buf, len, "%s", where);
	return buf;
}

int
config_set(struct ab_config *cfg, const char *key, const char *value,
    const char *where, unsigned line, const struct ab_log *log)
{
	char ek[64], ev[128], loc[AB_PATH_MAX + 64];
	const char *expect = NULL;
	unsigned long u;
	int64_t d;

#define DURATION(name, lo)						\
	if (strcmp(key, #name) == 0) {					\
		if (config_parse_duration(value, &d) == 0 && d >= (lo)) { \
			cfg->name = d;					\
			return 0;					\
		}							\
		expect = "a duration such as 30s, 10m, 1h, 2d or 1w";	\
		goto bad_value;						\
	}
#define UINT(name, lo, hi, text)					\
	if (strcmp(key, #name) == 0) {					\
		if (parse_uint(value, lo, hi, &u) == 0) {		\
			cfg->name = (unsigned)u;			\
			return 0;					\
		}							\
		expect = text;						\
		goto bad_value;						\
	}

	UINT(maxretry, 1, AB_MAXRETRY_MAX, "a whole number from 1 to 100")
	DURATION(findtime, 1)
	DURATION(bantime, 1)
	UINT(bantime_increment, 1, 100, "a whole factor from 1 (off) to 100")
	DURATION(bantime_max, 1)
	DURATION(forget_after, 0)
	UINT(ipv4_prefix, 8, 32, "a prefix length from 8 to 32")
	UINT(ipv6_prefix, 16, 128, "a prefix length from 16 to 128")
	DURATION(sync_interval, 1)
	DURATION(resolve_interval, 1)
	DURATION(resolve_keep, 0)
	DURATION(trust_window, 0)
	DURATION(metrics_interval, 5)
	UINT(trust_factor, 1, 10, "a whole factor from 1 (off) to 10")
	UINT(report_rate, 1, 10000, "a whole number of reports a second, "
	    "1 to 10000")
	UINT(fleet_rate, 1, 1000000, "a whole number of fleet events a "
	    "minute per server, 1 to 1000000")
#undef DURATION
#undef UINT

	if (strcmp(key, "on_error") == 0) {
		if (strcmp(value, "open") == 0)
			cfg->on_error = AB_ON_ERROR_OPEN;
		else if (strcmp(value, "closed") == 0)
			cfg->on_error = AB_ON_ERROR_CLOSED;
		else {
			expect = "open or closed";
			goto bad_value;
		}
		return 0;
	}
	if (strcmp(key, "realtime") == 0 || strcmp(key, "metrics") == 0) {
		int *dst = key[0] == 'r' ? &cfg->realtime : &cfg->metrics;

		if (strcmp(value, "yes") == 0)
			*dst = 1;
		else if (strcmp(value, "no") == 0)
			*dst = 0;
		else {
			expect = "yes or no";
			goto bad_value;
		}
		return 0;
	}
	if (strcmp(key, "backend") == 0) {
		if (strcmp(value, "nftables") == 0 || strcmp(value, "nft") == 0)
			cfg->backend = AB_BACKEND_NFT;
		else if (strcmp(value, "ipset") == 0)
			cfg->backend = AB_BACKEND_IPSET;
		else {
			expect = "nftables or ipset";
			goto bad_value;
		}
		return 0;
	}
	if (strcmp(key, "db") == 0 || strcmp(key, "runtime_dir") == 0 ||
	    strcmp(key, "metrics_dir") == 0) {
		char *dst = key[0] == 'd' ? cfg->db : key[0] == 'r' ?
		    cfg->runtime_dir : cfg->metrics_dir;

		if (!valid_path(value)) {
			expect = "an absolute path shorter than 256 bytes";
			goto bad_value;
		}
		snprintf(dst, AB_PATH_MAX, "%s", value);
		return 0;
	}
	if (strcmp(key, "fleet") == 0) {
		if (value[0] == '\0') {
			cfg->fleet_host[0] = '\0';
			return 0;
		}
		if (parse_fleet(cfg, value) != 0) {
			expect = "redis://HOST:PORT (HOST a name, an address or "
			    "[an IPv6 address]), or nothing";
			goto bad_value;
		}
		return 0;
	}
	if (strcmp(key, "fleet_password_file") == 0) {
		if (value[0] != '\0' && !valid_path(value)) {
			expect = "an absolute path shorter than 256 bytes";
			goto bad_value;
		}
		snprintf(cfg->fleet_password_file, AB_PATH_MAX, "%s", value);
		return 0;
	}
	if (strcmp(key, "fleet_name") == 0) {
		if (value[0] != '\0' && !config_fleet_name_ok(value)) {
			expect = "1 to 63 letters, digits, '.', '_' or '-'";
			goto bad_value;
		}
		snprintf(cfg->fleet_name, sizeof(cfg->fleet_name), "%s", value);
		return 0;
	}
	if (strcmp(key, "fleet_accept") == 0) {
		if (strcmp(value, "auto") == 0)
			cfg->fleet_accept = AB_FLEET_AUTO;
		else if (strcmp(value, "manual") == 0)
			cfg->fleet_accept = AB_FLEET_MANUAL;
		else if (strcmp(value, "both") == 0)
			cfg->fleet_accept = AB_FLEET_AUTO | AB_FLEET_MANUAL;
		else {
			expect = "auto, manual or both";
			goto bad_value;
		}
		return 0;
	}
	if (strcmp(key, "report_group") == 0) {
		if (value[0] != '\0' && !valid_user(value)) {
			expect = "a group name such as www-data, or nothing";
			goto bad_value;
		}
		snprintf(cfg->report_group, sizeof(cfg->report_group), "%s",
		    value);
		return 0;
	}
	if (strcmp(key, "user") == 0) {
		if (!valid_user(value)) {
			expect = "a user name such as _autoban, or root";
			goto bad_value;
		}
		snprintf(cfg->user, sizeof(cfg->user), "%s", value);
		return 0;
	}
	if (strcmp(key, "mapsize") == 0) {
		size_t sz;

		if (parse_size(value, &sz) != 0 || sz < ((size_t)1 << 20) ||
		    sz > ((size_t)64 << 30)) {
			expect = "a size from 1M to 64G, such as 512M";
			goto bad_value;
		}
		cfg->mapsize = sz;
		return 0;
	}
	if (strcmp(key, "ignoreip") == 0)
		return foreach_item(cfg, key, value, add_ignore, "an IP address, "
		    "ADDR/LEN or a host name (at most 256 addresses and 8 "
		    "names)",
		    where_line(loc, sizeof(loc), where, line), log);
	if (strcmp(key, "ports") == 0)
		return foreach_item(cfg, key, value, add_port, "a TCP port from "
		    "1 to 65535 (at most 32)",
		    where_line(loc, sizeof(loc), where, line), log);
	ab_logf(log, LOG_ERR, "%s: unknown key \"%s\" (ignored)",
	    where_line(loc, sizeof(loc), where, line),
	    ab_escape(key, ek, sizeof(ek)));
	return AB_ECONFIG;

bad_value:
	ab_logf(log, LOG_ERR, "%s: bad value \"%s\" for %s: expected %s "
	    "(keeping the previous value)",
	    where_line(loc, sizeof(loc), where, line),
	    ab_escape(value, ev, sizeof(ev)), key, expect);
	return AB_ECONFIG;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Parse the text of a config file; buf (NUL-terminated) is modified.
 * Blank and comment lines, most of a shipped file, cost one scan for their
 * end: the module reads this file on every login.
 */
static int
parse_text(struct ab_config *cfg, char *buf, const char *where,
    const struct ab_log *log)
{
	char *line = buf, ek[64], fw[AB_PATH_MAX + 32];
	unsigned lineno = 0;
	int rc = 0;

	snprintf(fw, sizeof(fw), "file %s", where);
	while (line != NULL) {
		char *next, *hash, *eq, *key, *val;
		size_t i;

		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#' || *line == '\n' || *line == '\0' ||
		    (*line == '\r' && (line[1] == '\n' || line[1] == '\0'))) {
			if ((next = strchr(line, '\n')) != NULL)
				next++;
			goto next_line;
		}
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		line = trim(line);
		if (*line == '\0')
			goto next_line;
		if ((eq = strchr(line, '=')) == NULL) {
			ab_logf(log, LOG_ERR, "file %s line %u: expected "
			    "key = value, got \"%s\" (ignored)", where, lineno,
			    ab_escape(line, ek, sizeof(ek)));
			rc = AB_ECONFIG;
			goto next_line;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		for (i = 0; key[i] != '\0'; i++)
			if (!((key[i] >= 'a' && key[i] <= 'z') ||
			    (key[i] >= '0' && key[i] <= '9') || key[i] == '_'))
				break;
		if (i == 0 || key[i] != '\0') {
			ab_logf(log, LOG_ERR, "file %s line %u: bad key \"%s\" "
			    "(ignored)", where, lineno,
			    ab_escape(key, ek, sizeof(ek)));
			rc = AB_ECONFIG;
			goto next_line;
		}
		if (config_set(cfg, key, val, fw, lineno, log) != 0)
			rc = AB_ECONFIG;
next_line:
		line = next;
	}
	return rc;
}

int
config_load(struct ab_config *cfg, const char *path, int required,
    const struct ab_log *log)
{
	char epath[AB_PATH_MAX + 16];
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int fd, rc;

	ab_escape(path, epath, sizeof(epath));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT && !required)
			return 0;
		if (rc == -ELOOP) {
			ab_logf(log, LOG_ERR, "config %s is a symlink: refusing "
			    "it", epath);
			return AB_EUNTRUSTED;
		}
		ab_logf(log, LOG_ERR, "config %s: %s", epath, strerror(-rc));
		return rc;
	}
	if ((rc = trust_fd(fd, 0, AB_NOUID, "config", epath, log, &sb)) != 0)
		goto fd_close;
	if (sb.st_size > CONF_MAX_BYTES) {
		ab_logf(log, LOG_ERR, "config %s is larger than %d bytes: "
		    "refusing it", epath, CONF_MAX_BYTES);
		rc = AB_ECONFIG;
		goto fd_close;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto fd_close;
	}
	while (len < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)sb.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			ab_logf(log, LOG_ERR, "config %s: read: %s", epath,
			    strerror(-rc));
			goto buf_free;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	rc = config_parse(cfg, buf, len, epath, log);
buf_free:
	free(buf);
fd_close:
	close(fd);
	return rc;
}

int
config_parse(struct ab_config *cfg, char *buf, size_t len, const char *where,
    const struct ab_log *log)
{
	buf[len] = '\0';
	if (strlen(buf) != len) {
		ab_logf(log, LOG_ERR, "config %s contains a NUL byte: refusing "
		    "it", where);
		return AB_ECONFIG;
	}
	return parse_text(cfg, buf, where, log);
}

unsigned
config_unit_plen(const struct ab_config *cfg, int family)
{
	return family == 4 ? cfg->ipv4_prefix : cfg->ipv6_prefix;
}

void
config_unit(const struct ab_config *cfg, const struct ab_addr *host,
    struct ab_addr *unit)
{
	*unit = *host;
	addr_mask(unit, config_unit_plen(cfg, host->family));
}

int
config_is_ignored(const struct ab_config *cfg, const struct ab_addr *host)
{
	size_t i;

	if (addr_is_loopback(host))
		return 1;
	for (i = 0; i < cfg->nignore; i++)
		if (addr_contains(&cfg->ignore[i], host))
			return 1;
	return 0;
}
