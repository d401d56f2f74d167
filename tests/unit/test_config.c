/* test_config.c - autoban.conf and module arguments: values and messages. */
#include "testlib.h"

#include <fcntl.h>

struct cfix {
	char *dir;
	char path[512];
	struct ab_config cfg;
	struct logbuf lb;
	struct ab_log log;
};

static int
setup(void **state)
{
	struct cfix *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->dir = tmpdir_new()) == NULL)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/autoban.conf", c->dir);
	config_defaults(&c->cfg);
	c->log.fn = logbuf_fn;
	c->log.ctx = &c->lb;
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct cfix *c = *state;

	rm_rf(c->dir);
	free(c->dir);
	free(c);
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int
load(struct cfix *c, const char *text)
{
	write_file(c->path, text, 0644);
	logbuf_reset(&c->lb);
	return config_load(&c->cfg, c->path, 1, &c->log);
}

static void
defaults(void **state)
{
	struct ab_config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.maxretry, 5);
	assert_int_equal(cfg.findtime, 600);
	assert_int_equal(cfg.bantime, 3600);
	assert_int_equal(cfg.bantime_increment, 2);
	assert_int_equal(cfg.bantime_max, 7 * 86400);
	assert_int_equal(cfg.forget_after, 7 * 86400);
	assert_int_equal(cfg.ipv4_prefix, 32);
	assert_int_equal(cfg.ipv6_prefix, 64);
	assert_int_equal(cfg.on_error, AB_ON_ERROR_OPEN);
	assert_string_equal(cfg.db, "/var/lib/autoban");
	assert_string_equal(cfg.runtime_dir, "/run/autoban");
	assert_int_equal(cfg.mapsize, 1 << 30);
	assert_int_equal(cfg.nignore, 0);
	assert_int_equal(cfg.backend, AB_BACKEND_NFT);
	assert_int_equal(cfg.nports, 0);
	assert_int_equal(cfg.sync_interval, 5);
	assert_int_equal(cfg.realtime, 1);
}

static void
every_key(void **state)
{
	struct cfix *c = *state;

	assert_int_equal(load(c,
	    "# a comment\n"
	    "maxretry = 4\n"
	    "  findtime=5m   # trailing comment\n"
	    "bantime = 2h\r\n"
	    "bantime_increment = 3\n"
	    "bantime_max = 2w\n"
	    "forget_after = 30d\n"
	    "ipv4_prefix = 24\n"
	    "ipv6_prefix = 56\n"
	    "on_error = closed\n"
	    "db = /srv/autoban\n"
	    "runtime_dir = /run/ab\n"
	    "mapsize = 256M\n"
	    "ignoreip = 192.0.2.0/24, 2001:db8::1\n"
	    "ignoreip = 198.51.100.7\n"
	    "backend = ipset\n"
	    "ports = 22 2222\n"
	    "sync_interval = 30s\n"
	    "realtime = no\n"
	    "report_group = www-data\n"
	    "report_rate = 100\n"
	    "\n"), 0);
	assert_int_equal(c->lb.n, 0);
	assert_int_equal(c->cfg.maxretry, 4);
	assert_int_equal(c->cfg.findtime, 300);
	assert_int_equal(c->cfg.bantime, 7200);
	assert_int_equal(c->cfg.bantime_increment, 3);
	assert_int_equal(c->cfg.bantime_max, 14 * 86400);
	assert_int_equal(c->cfg.forget_after, 30 * 86400);
	assert_int_equal(c->cfg.ipv4_prefix, 24);
	assert_int_equal(c->cfg.ipv6_prefix, 56);
	assert_int_equal(c->cfg.on_error, AB_ON_ERROR_CLOSED);
	assert_string_equal(c->cfg.db, "/srv/autoban");
	assert_string_equal(c->cfg.runtime_dir, "/run/ab");
	assert_int_equal(c->cfg.mapsize, 256 << 20);
	assert_int_equal(c->cfg.nignore, 3);	/* ignoreip lines add up */
	assert_int_equal(c->cfg.backend, AB_BACKEND_IPSET);
	assert_int_equal(c->cfg.nports, 2);
	assert_int_equal(c->cfg.ports[1], 2222);
	assert_int_equal(c->cfg.sync_interval, 30);
	assert_int_equal(c->cfg.realtime, 0);
	assert_string_equal(c->cfg.report_group, "www-data");
	assert_int_equal(c->cfg.report_rate, 100);
}

static void
durations(void **state)
{
	int64_t d;

	(void)state;
	assert_int_equal(config_parse_duration("45", &d), 0);
	assert_int_equal(d, 45);
	assert_int_equal(config_parse_duration("45s", &d), 0);
	assert_int_equal(d, 45);
	assert_int_equal(config_parse_duration("10m", &d), 0);
	assert_int_equal(d, 600);
	assert_int_equal(config_parse_duration("1h", &d), 0);
	assert_int_equal(d, 3600);
	assert_int_equal(config_parse_duration("2d", &d), 0);
	assert_int_equal(d, 172800);
	assert_int_equal(config_parse_duration("1w", &d), 0);
	assert_int_equal(d, 604800);
	assert_int_equal(config_parse_duration("", &d), AB_ECONFIG);
	assert_int_equal(config_parse_duration("h", &d), AB_ECONFIG);
	assert_int_equal(config_parse_duration("1y", &d), AB_ECONFIG);
	assert_int_equal(config_parse_duration("-5m", &d), AB_ECONFIG);
	assert_int_equal(config_parse_duration("1.5h", &d), AB_ECONFIG);
	assert_int_equal(config_parse_duration("53w", &d), AB_ECONFIG);
	assert_int_equal(config_parse_duration("99999999999999999999", &d),
	    AB_ECONFIG);
}

/* One bad line: its message names file and line, the default stays. */
static void
bad_line(struct cfix *c, const char *line, const char *msg)
{
	char text[512], want[1024];
	struct ab_config before;

	config_defaults(&c->cfg);
	before = c->cfg;
	snprintf(text, sizeof(text), "maxretry = 5\n%s\n", line);
	assert_int_equal(load(c, text), AB_ECONFIG);
	snprintf(want, sizeof(want), "file %s line 2: %s", c->path, msg);
	assert_logged(&c->lb, want);
	assert_int_equal(c->lb.n, 1);
	assert_memory_equal(&before, &c->cfg, sizeof(before));
}

static void
messages_values(void **state)
{
	struct cfix *c = *state;

	bad_line(c, "maxretry = 0", "bad value \"0\" for maxretry: expected a "
	    "whole number from 1 to 100 (keeping the previous value)");
	bad_line(c, "maxretry = 101", "bad value \"101\" for maxretry");
	bad_line(c, "maxretry = five", "bad value \"five\" for maxretry");
	bad_line(c, "findtime = 10x", "bad value \"10x\" for findtime: "
	    "expected a duration such as 30s, 10m, 1h, 2d or 1w");
	bad_line(c, "findtime = 0", "bad value \"0\" for findtime");
	bad_line(c, "bantime = ", "bad value \"\" for bantime");
	bad_line(c, "bantime_increment = 0", "bad value \"0\" for "
	    "bantime_increment: expected a whole factor from 1 (off) to 100");
	bad_line(c, "bantime_max = forever", "bad value \"forever\" for "
	    "bantime_max");
	bad_line(c, "forget_after = -1", "bad value \"-1\" for forget_after");
	bad_line(c, "ipv4_prefix = 33", "bad value \"33\" for ipv4_prefix: "
	    "expected a prefix length from 8 to 32");
	bad_line(c, "ipv6_prefix = 8", "bad value \"8\" for ipv6_prefix: "
	    "expected a prefix length from 16 to 128");
	bad_line(c, "on_error = maybe", "bad value \"maybe\" for on_error: "
	    "expected open or closed");
	bad_line(c, "backend = pf", "bad value \"pf\" for backend: expected "
	    "nftables or ipset");
	bad_line(c, "db = var/lib/autoban", "bad value \"var/lib/autoban\" for "
	    "db: expected an absolute path shorter than 256 bytes");
	bad_line(c, "runtime_dir = run", "bad value \"run\" for runtime_dir");
	bad_line(c, "mapsize = 10K", "bad value \"10K\" for mapsize: expected "
	    "a size from 1M to 64G, such as 512M");
	bad_line(c, "sync_interval = 0", "bad value \"0\" for sync_interval");
	bad_line(c, "realtime = 1", "bad value \"1\" for realtime: expected "
	    "yes or no");
	bad_line(c, "report_group = a b", "bad value \"a b\" for "
	    "report_group: expected a group name such as www-data, or nothing");
	bad_line(c, "report_rate = 0", "bad value \"0\" for report_rate: "
	    "expected a whole number of reports a second, 1 to 10000");
	bad_line(c, "trust_factor = 11", "bad value \"11\" for trust_factor: "
	    "expected a whole factor from 1 (off) to 10");
	bad_line(c, "trust_window = soon", "bad value \"soon\" for "
	    "trust_window");
	bad_line(c, "fleet = http://198.51.100.1:6379", "bad value "
	    "\"http://198.51.100.1:6379\" for fleet: expected redis://HOST:PORT "
	    "(HOST a name, an address or [an IPv6 address]), or nothing");
	bad_line(c, "fleet = redis://", "bad value \"redis://\" for fleet");
	bad_line(c, "fleet = redis://198.51.100.1:0", "bad value "
	    "\"redis://198.51.100.1:0\" for fleet");
	bad_line(c, "fleet = redis://198.51.100.1:65536", "bad value "
	    "\"redis://198.51.100.1:65536\" for fleet");
	bad_line(c, "fleet = redis://[2001:db8::1", "bad value "
	    "\"redis://[2001:db8::1\" for fleet");
	bad_line(c, "fleet = redis://bad_host!:6379", "bad value "
	    "\"redis://bad_host!:6379\" for fleet");
	bad_line(c, "fleet_password_file = fleet.pw", "bad value \"fleet.pw\" "
	    "for fleet_password_file: expected an absolute path");
	bad_line(c, "fleet_name = web 1", "bad value \"web 1\" for fleet_name: "
	    "expected 1 to 63 letters, digits, '.', '_' or '-'");
	bad_line(c, "fleet_accept = all", "bad value \"all\" for fleet_accept: "
	    "expected auto, manual or both");
	bad_line(c, "fleet_rate = 0", "bad value \"0\" for fleet_rate");
	bad_line(c, "metrics = 1", "bad value \"1\" for metrics: expected "
	    "yes or no");
	bad_line(c, "metrics_interval = 2s", "bad value \"2s\" for "
	    "metrics_interval");
	bad_line(c, "metrics_dir = node-exporter", "bad value "
	    "\"node-exporter\" for metrics_dir: expected an absolute path");
}

/* fleet = redis://HOST:PORT in each of its forms. */
static void
fleet_keys(void **state)
{
	struct cfix *c = *state;

	assert_int_equal(load(c, "fleet = redis://198.51.100.1:6380\n"
	    "fleet_name = web-1.example\nfleet_accept = manual\n"
	    "fleet_rate = 600\n"), 0);
	assert_string_equal(c->cfg.fleet_host, "198.51.100.1");
	assert_int_equal(c->cfg.fleet_port, 6380);
	assert_string_equal(c->cfg.fleet_name, "web-1.example");
	assert_int_equal(c->cfg.fleet_accept, AB_FLEET_MANUAL);
	assert_int_equal(c->cfg.fleet_rate, 600);
	assert_int_equal(load(c, "fleet = redis://redis.example.net\n"), 0);
	assert_string_equal(c->cfg.fleet_host, "redis.example.net");
	assert_int_equal(c->cfg.fleet_port, 6379);
	assert_int_equal(load(c, "fleet = redis://[2001:db8::5]:7000\n"), 0);
	assert_string_equal(c->cfg.fleet_host, "2001:db8::5");
	assert_int_equal(c->cfg.fleet_port, 7000);
	assert_int_equal(load(c, "fleet =\n"), 0);
	assert_string_equal(c->cfg.fleet_host, "");
	assert_int_equal(load(c, "metrics = yes\nmetrics_interval = 30s\n"
	    "metrics_dir = /srv/textfile\n"), 0);
	assert_int_equal(c->cfg.metrics, 1);
	assert_int_equal(c->cfg.metrics_interval, 30);
	assert_string_equal(c->cfg.metrics_dir, "/srv/textfile");
	assert_false(config_fleet_name_ok(""));
	assert_false(config_fleet_name_ok("a/b"));
	assert_true(config_fleet_name_ok("A_b-9.c"));
}

/* A list line with bad items: each is named, the good ones are kept. */
static void
list_line(struct cfix *c, const char *line, unsigned nbad)
{
	char text[512];

	config_defaults(&c->cfg);
	logbuf_reset(&c->lb);
	snprintf(text, sizeof(text), "maxretry = 5\n%s\n", line);
	assert_int_equal(load(c, text), AB_ECONFIG);
	assert_int_equal(c->lb.n, nbad);
}

static void
messages_lists(void **state)
{
	struct cfix *c = *state;
	struct ab_addr h;
	char want[512];

	/*
	 * Each item alone: a typo, a /129 or a mistyped address among the
	 * admin's own addresses is named, and the good ones are still kept;
	 * a host name is kept for banhelper to resolve.
	 */
	list_line(c, "ignoreip = 192.0.2.1, home.example.org 198.51.100.0/129,"
	    "2001:db8::/32 203.0.113.300 -x.example.org a..example.org", 4);
	snprintf(want, sizeof(want), "file %s line 2: ignoreip: bad item "
	    "\"203.0.113.300\": expected an IP address, ADDR/LEN or a host "
	    "name (at most 256 addresses and 8 names) (item ignored, the "
	    "others kept)", c->path);
	assert_logged(&c->lb, want);
	assert_logged(&c->lb, "line 2: ignoreip: bad item \"198.51.100.0/129\"");
	assert_logged(&c->lb, "bad item \"-x.example.org\"");
	assert_logged(&c->lb, "bad item \"a..example.org\"");
	assert_int_equal(c->cfg.nignore, 2);
	assert_int_equal(c->cfg.nignore_names, 1);
	assert_string_equal(c->cfg.ignore_names[0], "home.example.org");
	h = A("192.0.2.1");
	assert_true(config_is_ignored(&c->cfg, &h));
	h = A("2001:db8:7::1");
	assert_true(config_is_ignored(&c->cfg, &h));
	h = A("198.51.100.1");
	assert_false(config_is_ignored(&c->cfg, &h));
	/* At most 8 names; the same name twice is kept once. */
	list_line(c, "ignoreip = a.example b.example c.example d.example "
	    "e.example f.example g.example h.example h.example i.example", 1);
	assert_int_equal(c->cfg.nignore_names, 8);
	assert_logged(&c->lb, "bad item \"i.example\"");
	list_line(c, "ports = 22, 70000", 1);
	assert_logged(&c->lb, "ports: bad item \"70000\": expected a TCP port "
	    "from 1 to 65535 (at most 32) (item ignored, the others kept)");
	assert_int_equal(c->cfg.nports, 1);
	assert_int_equal(c->cfg.ports[0], 22);
	list_line(c, "ports = 0", 1);
	assert_logged(&c->lb, "ports: bad item \"0\"");
	assert_int_equal(c->cfg.nports, 0);
}

static void
messages_syntax(void **state)
{
	struct cfix *c = *state;

	bad_line(c, "maxretry 4", "expected key = value, got \"maxretry 4\" "
	    "(ignored)");
	bad_line(c, "max-retry = 4", "bad key \"max-retry\" (ignored)");
	bad_line(c, " = 4", "bad key \"\" (ignored)");
	bad_line(c, "colour = blue", "unknown key \"colour\" (ignored)");
	/* Outside text is escaped in messages. */
	bad_line(c, "bad\x1bkey = 1", "bad key \"bad\\x1bkey\" (ignored)");
}

static void
line_numbers(void **state)
{
	struct cfix *c = *state;
	char want[600];

	assert_int_equal(load(c, "# 1\n\nmaxretry = 3\n\n\nfoo = 1\nbar = 2\n"),
	    AB_ECONFIG);
	snprintf(want, sizeof(want), "file %s line 6: unknown key \"foo\"",
	    c->path);
	assert_logged(&c->lb, want);
	snprintf(want, sizeof(want), "file %s line 7: unknown key \"bar\"",
	    c->path);
	assert_logged(&c->lb, want);
	assert_int_equal(c->cfg.maxretry, 3);	/* good lines still apply */
}

/*
 * Blank and comment lines are skipped on a short path (the module reads
 * the file on every login): indented, CRLF-ended and trailing comments
 * still count as lines, and a line that only starts blank is parsed.
 */
static void
comments_and_line_ends(void **state)
{
	struct cfix *c = *state;
	char text[4096], want[600];
	size_t len = 0;
	int i;

	len += (size_t)snprintf(text + len, sizeof(text) - len,
	    "# shipped header\r\n\r\n   # indented\n\t# tabbed\n \t \n");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "#bantime = %dm\n", i + 1);
	/* line 46 */
	len += (size_t)snprintf(text + len, sizeof(text) - len,
	    "\tmaxretry = 7   # trailing comment\r\n"
	    "  findtime=2m\n"
	    "\rbantime = 3h\n"
	    "#\n"
	    "colour = blue\n"
	    "ports = 22 # no newline at the end");
	assert_int_equal(load(c, text), AB_ECONFIG);
	assert_int_equal(c->cfg.maxretry, 7);
	assert_int_equal(c->cfg.findtime, 120);
	assert_int_equal(c->cfg.bantime, 3600);	/* line 48 was refused */
	assert_int_equal(c->cfg.nports, 1);
	assert_int_equal(c->cfg.ports[0], 22);
	snprintf(want, sizeof(want), "file %s line 48: bad key \"\\x0dbantime\" "
	    "(ignored)", c->path);
	assert_logged(&c->lb, want);
	snprintf(want, sizeof(want), "file %s line 50: unknown key \"colour\"",
	    c->path);
	assert_logged(&c->lb, want);
	assert_int_equal(c->lb.n, 2);	/* the comments said nothing */

	/* Only comments and blanks: nothing changes, nothing is said. */
	config_defaults(&c->cfg);
	assert_int_equal(load(c, "# a\n\n  # b\r\n\t\n#"), 0);
	assert_int_equal(c->lb.n, 0);
	assert_int_equal(c->cfg.maxretry, 5);
}

static void
untrusted_files(void **state)
{
	struct cfix *c = *state;
	char link[600], want[700];
	struct ab_config before = c->cfg;

	write_file(c->path, "maxretry = 2\n", 0644);
	snprintf(link, sizeof(link), "%s/link.conf", c->dir);
	assert_int_equal(symlink(c->path, link), 0);
	logbuf_reset(&c->lb);
	assert_int_equal(config_load(&c->cfg, link, 1, &c->log), AB_EUNTRUSTED);
	snprintf(want, sizeof(want), "config %s is a symlink: refusing it", link);
	assert_logged(&c->lb, want);

	assert_int_equal(chmod(c->path, 0664), 0);
	logbuf_reset(&c->lb);
	assert_int_equal(config_load(&c->cfg, c->path, 1, &c->log),
	    AB_EUNTRUSTED);
	snprintf(want, sizeof(want), "config %s is writable by group or other "
	    "(mode 664): refusing it", c->path);
	assert_logged(&c->lb, want);

	assert_int_equal(chmod(c->path, 0644), 0);
	assert_int_equal(chown(c->path, 65534, 65534), 0);
	logbuf_reset(&c->lb);
	assert_int_equal(config_load(&c->cfg, c->path, 1, &c->log),
	    AB_EUNTRUSTED);
	snprintf(want, sizeof(want), "config %s is owned by uid 65534, not "
	    "root: refusing it", c->path);
	assert_logged(&c->lb, want);

	logbuf_reset(&c->lb);
	assert_int_equal(config_load(&c->cfg, c->dir, 1, &c->log),
	    AB_EUNTRUSTED);
	snprintf(want, sizeof(want), "config %s is not a regular file: "
	    "refusing it", c->dir);
	assert_logged(&c->lb, want);
	/* Nothing of an untrusted file was applied. */
	assert_memory_equal(&before, &c->cfg, sizeof(before));
}

static void
odd_files(void **state)
{
	struct cfix *c = *state;
	char want[700], *big;
	int fd;

	logbuf_reset(&c->lb);
	snprintf(want, sizeof(want), "%s/missing.conf", c->dir);
	assert_int_equal(config_load(&c->cfg, want, 0, &c->log), 0);
	assert_int_equal(c->lb.n, 0);	/* the default file may be absent */
	assert_int_equal(config_load(&c->cfg, want, 1, &c->log), -ENOENT);
	assert_logged(&c->lb, "missing.conf: No such file or directory");

	fd = open(c->path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "maxretry = 3\n\0x", 15), 15);
	close(fd);
	logbuf_reset(&c->lb);
	assert_int_equal(config_load(&c->cfg, c->path, 1, &c->log), AB_ECONFIG);
	assert_logged(&c->lb, "contains a NUL byte: refusing it");
	assert_int_equal(c->cfg.maxretry, 5);

	big = malloc(70000);
	assert_non_null(big);
	memset(big, '#', 69999);
	big[69999] = '\0';
	write_file(c->path, big, 0644);
	free(big);
	logbuf_reset(&c->lb);
	assert_int_equal(config_load(&c->cfg, c->path, 1, &c->log), AB_ECONFIG);
	assert_logged(&c->lb, "is larger than 65536 bytes: refusing it");
}

static void
module_arguments(void **state)
{
	struct cfix *c = *state;

	logbuf_reset(&c->lb);
	assert_int_equal(config_set(&c->cfg, "maxretry", "3",
	    "module argument 2", 0, &c->log), 0);
	assert_int_equal(c->cfg.maxretry, 3);
	assert_int_equal(config_set(&c->cfg, "maxretry", "x",
	    "module argument 3", 0, &c->log), AB_ECONFIG);
	assert_logged(&c->lb, "module argument 3: bad value \"x\" for maxretry");
	assert_int_equal(c->cfg.maxretry, 3);
	assert_int_equal(config_set(&c->cfg, "nosuch", "1",
	    "module argument 4", 0, &c->log), AB_ECONFIG);
	assert_logged(&c->lb, "module argument 4: unknown key \"nosuch\"");
}

static void
units_and_allowlist(void **state)
{
	struct cfix *c = *state;
	struct ab_addr h, u;
	char out[AB_ADDRSTRLEN];

	assert_int_equal(load(c, "ignoreip = 198.51.100.0/24 2001:db8:5::/48\n"
	    "ipv4_prefix = 24\n"), 0);
	h = A("203.0.113.77");
	config_unit(&c->cfg, &h, &u);
	assert_string_equal(addr_format(&u, out, sizeof(out)), "203.0.113.0/24");
	h = A("2001:db8:1:2:3::4");
	config_unit(&c->cfg, &h, &u);
	assert_string_equal(addr_format(&u, out, sizeof(out)), "2001:db8:1:2::/64");
	h = A("198.51.100.200");
	assert_true(config_is_ignored(&c->cfg, &h));
	h = A("2001:db8:5:9::1");
	assert_true(config_is_ignored(&c->cfg, &h));
	h = A("127.0.0.1");
	assert_true(config_is_ignored(&c->cfg, &h));	/* always */
	h = A("::1");
	assert_true(config_is_ignored(&c->cfg, &h));
	h = A("203.0.113.1");
	assert_false(config_is_ignored(&c->cfg, &h));
}

/*
 * conf/autoban.conf documents every key with its default: uncommenting
 * each "#key = value" line must parse without a message and give exactly
 * config_defaults(), and every key the parser knows must be there.
 */
static void
shipped_file_matches_defaults(void **state)
{
	static const char *keys[] = { "maxretry", "findtime", "bantime",
	    "bantime_increment", "bantime_max", "forget_after", "ignoreip",
	    "ipv4_prefix", "ipv6_prefix", "on_error", "db", "runtime_dir",
	    "mapsize", "backend", "ports", "sync_interval", "realtime",
	    "report_group", "report_rate", "resolve_interval",
	    "resolve_keep", "trust_factor", "trust_window", "fleet",
	    "fleet_password_file", "fleet_name", "fleet_accept",
	    "fleet_rate", "metrics", "metrics_interval", "metrics_dir" };
	struct cfix *c = *state;
	struct ab_config def;
	char path[600], line[512], text[8192] = "";
	const char *top = getenv("AB_TOP");
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf/autoban.conf", top ? top : ".");
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t n = strlen(keys[i]);

			if (line[0] == '#' && strncmp(line + 1, keys[i], n) == 0 &&
			    line[1 + n] == ' ' && line[2 + n] == '=') {
				strncat(text, line + 1, sizeof(text) -
				    strlen(text) - 1);
				keys[i] = "";	/* seen */
			}
		}
	}
	fclose(f);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i][0] != '\0')
			fail_msg("conf/autoban.conf does not document %s", keys[i]);
	assert_int_equal(load(c, text), 0);
	assert_int_equal(c->lb.n, 0);
	config_defaults(&def);
	assert_memory_equal(&def, &c->cfg, sizeof(def));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test_setup_teardown(every_key, setup, teardown),
		cmocka_unit_test(durations),
		cmocka_unit_test_setup_teardown(messages_values, setup, teardown),
		cmocka_unit_test_setup_teardown(fleet_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(messages_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(messages_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(line_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(comments_and_line_ends, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(untrusted_files, setup, teardown),
		cmocka_unit_test_setup_teardown(odd_files, setup, teardown),
		cmocka_unit_test_setup_teardown(module_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(units_and_allowlist, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(shipped_file_matches_defaults,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
