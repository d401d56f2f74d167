/*
 * f2b.c - banhelper import fail2ban FILE|-: arriving from fail2ban.  Reads
 * what fail2ban-client prints, never fail2ban's files or its Python:
 *
 *  - `fail2ban-client -d`: the jails' settings, one command a line, such
 *    as ['set', 'sshd', 'maxretry', 3].  For each jail, the autoban.conf
 *    lines that do the same are printed, and each setting that cannot be
 *    translated is named with the reason;
 *  - `fail2ban-client get JAIL banip --with-time`: the jail's current bans,
 *    "ADDR <tab>START + SECS = END".  Each still running is banned here
 *    for the time it has left (a permanent one for the longest ban
 *    autoban knows, 366 days), through the same path as banhelper ban.
 *
 * MUST: treat the text as outside input (bounded lines, strict fields, a
 * bad line named with its number and skipped); ban nothing that is
 * loopback or in ignoreip; build no command from it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bh.h"

#define F2B_LINE_MAX	4096
#define JAILS_MAX	32
#define FIELDS_MAX	64
#define PERMANENT	(366 * 86400)

struct jail {
	char name[64];
	char maxretry[24], findtime[24], bantime[24], maxtime[24];
	char factor[24];
	int increment;			/* bantime.increment true */
	char ignore[1024];		/* translated items, space-separated */
	char notes[2048];		/* what was not translated, and why */
};

struct f2b {
	struct jail jail[JAILS_MAX];
	size_t njail;
	struct ab_addr *ban;		/* the bans, grouped by time left */
	int64_t *secs;
	size_t nban, cap;
	size_t bad, expired;
};

/*
 * Split a Python list of strings and bare words, as fail2ban-client -d
 * prints it, in place: ['set', 'sshd', 'maxretry', 3].  Fields in f[],
 * their count, or -1 if the line is not such a list (a nested list counts
 * as not: those are filters and actions, which have no equivalent).
 */
static int
pylist(char *s, char *f[], int max)
{
	int n = 0;

	if (*s++ != '[')
		return -1;
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == ']')
			return s[1] == '\0' ? n : -1;
		if (n == max)
			return -1;
		if (*s == '\'' || *s == '"') {
			char q = *s++, *o = s;

			f[n++] = o;
			while (*s != q) {
				if (*s == '\0')
					return -1;
				if (*s == '\\' && s[1] != '\0')
					s++;
				*o++ = *s++;
			}
			s++;
			*o = '\0';
		} else {
			f[n++] = s;
			while (*s != ',' && *s != ']' && *s != '\0') {
				if (*s == '[')
					return -1;
				s++;
			}
			if (*s == '\0')
				return -1;
			if (*s == ']') {
				char *e = s;

				/* f[n-1] ends here; keep the ']' seen. */
				while (e > f[n - 1] && e[-1] == ' ')
					e--;
				if (s[1] != '\0')
					return -1;
				*e = '\0';
				return n;
			}
			*s = '\0';
			s++;
			continue;
		}
		while (*s == ' ')
			s++;
		if (*s == ',')
			s++;
		else if (*s != ']')
			return -1;
	}
}

static struct jail *
jail_get(struct f2b *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->njail; i++)
		if (strcmp(x->jail[i].name, name) == 0)
			return &x->jail[i];
	if (x->njail == JAILS_MAX || strlen(name) >= sizeof(x->jail[0].name))
		return NULL;
	memset(&x->jail[x->njail], 0, sizeof(x->jail[0]));
	snprintf(x->jail[x->njail].name, sizeof(x->jail[0].name), "%s", name);
	return &x->jail[x->njail++];
}

static void
note(struct jail *j, const char *key, const char *val, const char *why)
{
	char ek[48], ev[64];
	size_t l = strlen(j->notes);

	snprintf(j->notes + l, sizeof(j->notes) - l,
	    "#   %s = %s: %s\n", ab_escape(key, ek, sizeof(ek)),
	    ab_escape(val, ev, sizeof(ev)), why);
}

/* A fail2ban time ("600", "10m", "-1") as autoban writes one, or "". */
static void
duration(const char *val, char *out, size_t n, int *permanent)
{
	int64_t d;

	*permanent = strcmp(val, "-1") == 0;
	out[0] = '\0';
	if (*permanent)
		snprintf(out, n, "366d");
	else if (config_parse_duration(val, &d) == 0 && d > 0)
		ab_fmt_duration(d, out, n);
}

/* One ['set', JAIL, KEY, VALUE...] line into its jail. */
static void
jail_set(struct f2b *x, char *f[], int n)
{
	struct jail *j;
	const char *key, *val;
	char *dst = NULL;
	int perm, i;

	if (n < 4 || strcmp(f[0], "set") != 0 ||
	    (j = jail_get(x, f[1])) == NULL)
		return;
	key = f[2];
	val = f[3];
	if (strcmp(key, "maxretry") == 0) {
		unsigned long v = strtoul(val, NULL, 10);

		if (v >= 1 && v <= AB_MAXRETRY_MAX)
			snprintf(j->maxretry, sizeof(j->maxretry), "%lu", v);
		else
			note(j, key, val, "outside autoban's 1 to 100");
		return;
	}
	if (strcmp(key, "findtime") == 0)
		dst = j->findtime;
	else if (strcmp(key, "bantime") == 0)
		dst = j->bantime;
	else if (strcmp(key, "bantime.maxtime") == 0)
		dst = j->maxtime;
	if (dst != NULL) {
		duration(val, dst, 24, &perm);
		if (dst[0] == '\0')
			note(j, key, val, "not a time autoban reads");
		else if (perm)
			note(j, key, val, "permanent: autoban's longest ban is "
			    "366d");
		return;
	}
	if (strcmp(key, "bantime.increment") == 0) {
		j->increment = strcmp(val, "True") == 0 ||
		    strcmp(val, "true") == 0;
		return;
	}
	if (strcmp(key, "bantime.factor") == 0) {
		snprintf(j->factor, sizeof(j->factor), "%s", val);
		return;
	}
	if (strcmp(key, "addignoreip") == 0) {
		for (i = 3; i < n; i++) {
			struct ab_config probe;
			char ev[64];
			size_t l = strlen(j->ignore);

			config_defaults(&probe);
			if (config_set(&probe, "ignoreip", f[i], "", 0,
			    NULL) != 0 || probe.nignore + probe.nignore_names == 0)
				note(j, "ignoreip", f[i], "not an address, "
				    "prefix or host name autoban takes");
			else if (probe.nignore == 1 &&
			    addr_is_loopback(&probe.ignore[0]))
				continue;	/* autoban always ignores it */
			else if (l + strlen(f[i]) + 2 < sizeof(j->ignore))
				snprintf(j->ignore + l, sizeof(j->ignore) - l,
				    "%s%s", l ? " " : "",
				    ab_escape(f[i], ev, sizeof(ev)));
		}
		return;
	}
	if (strcmp(key, "bantime.rndtime") == 0)
		note(j, key, val, "autoban adds no random time to a ban");
	else if (strcmp(key, "bantime.multipliers") == 0 ||
	    strcmp(key, "bantime.formula") == 0)
		note(j, key, val, "autoban grows bans by one factor "
		    "(bantime_increment)");
	else if (strcmp(key, "bantime.overalljails") == 0)
		note(j, key, val, "autoban's bans and history are per host "
		    "for every service already");
	else if (strcmp(key, "usedns") == 0 && strcmp(val, "no") != 0)
		note(j, key, val, "autoban never resolves a client's name");
	else if (strcmp(key, "ignoreself") == 0 && strcmp(val, "False") == 0)
		note(j, key, val, "autoban always ignores loopback");
	else if (strcmp(key, "ignorecommand") == 0 && val[0] != '\0')
		note(j, key, val, "autoban runs no command");
	/* The rest (log paths, filters, actions, encodings) is how
	 * fail2ban reads logs and changes the firewall: no equivalent. */
}

/* "ADDR \tSTART + SECS = END": 1 and a ban, 0 if not such a line, -1. */
static int
ban_line(struct f2b *x, const struct ab_config *cfg, char *s, int64_t now,
    char *why, size_t n)
{
	struct ab_addr a;
	struct tm tm;
	char *eq, *addr = s, *e;
	int64_t end, left;

	if ((e = strpbrk(s, " \t")) == NULL)
		return 0;
	*e++ = '\0';
	if (addr_parse(addr, &a) != 0)
		return 0;
	if ((eq = strstr(e, " = ")) == NULL) {
		snprintf(why, n, "no \"= END\": use get JAIL banip "
		    "--with-time");
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	eq += 3;
	if (strlen(eq) != 19 || sscanf(eq, "%4d-%2d-%2d %2d:%2d:%2d",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec) != 6) {
		snprintf(why, n, "the end is not YYYY-MM-DD HH:MM:SS");
		return -1;
	}
	if (tm.tm_year >= 9999)
		end = now + PERMANENT;
	else {
		tm.tm_year -= 1900;
		tm.tm_mon--;
		tm.tm_isdst = -1;
		end = (int64_t)mktime(&tm);
	}
	if (end <= now) {
		x->expired++;
		return 0;
	}
	left = end - now;
	if (left > PERMANENT)
		left = PERMANENT;
	if (x->nban == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 256;
		struct ab_addr *nb = realloc(x->ban, nc * sizeof(*nb));
		int64_t *ns;

		if (nb == NULL)
			return -2;
		x->ban = nb;
		if ((ns = realloc(x->secs, nc * sizeof(*ns))) == NULL)
			return -2;
		x->secs = ns;
		x->cap = nc;
	}
	/* A bare address is banned as its unit, as banhelper ban does. */
	config_unit(cfg, &a, &x->ban[x->nban]);
	x->secs[x->nban++] = left;
	return 1;
}

static void
print_jails(const struct f2b *x)
{
	size_t i;

	for (i = 0; i < x->njail; i++) {
		const struct jail *j = &x->jail[i];

		printf("# fail2ban jail %s, as autoban.conf lines (or as "
		    "arguments of the\n# pam_autoban.so line of its PAM "
		    "service):\n", j->name);
		if (j->maxretry[0])
			printf("maxretry = %s\n", j->maxretry);
		if (j->findtime[0])
			printf("findtime = %s\n", j->findtime);
		if (j->bantime[0])
			printf("bantime = %s\n", j->bantime);
		if (j->increment) {
			unsigned long f = j->factor[0] ?
			    strtoul(j->factor, NULL, 10) : 1;

			/* fail2ban's default formula doubles each ban. */
			printf("bantime_increment = 2\n");
			if (f > 1)
				printf("# bantime.factor = %lu: each ban is "
				    "%lu times longer in fail2ban; raise "
				    "bantime to match\n", f, f);
			printf("bantime_max = %s\n", j->maxtime[0] ?
			    j->maxtime : "1w");
		} else
			printf("bantime_increment = 1\n");
		if (j->ignore[0])
			printf("ignoreip = %s\n", j->ignore);
		if (j->notes[0])
			printf("# not translated:\n%s", j->notes);
		printf("\n");
	}
}

int
import_fail2ban(struct bh *bh, int argc, char **argv)
{
	struct f2b x;
	struct ab_store *st = NULL;
	FILE *f;
	char *line = NULL, why[128], en[64];
	const char *name;
	size_t len = 0, lineno = 0, i, done = 0, refused = 0;
	ssize_t got;
	int64_t now = (int64_t)time(NULL);
	int rc = 0, *res = NULL;

	if (argc != 1) {
		bh_err("import fail2ban: give the file fail2ban-client's output "
		    "is in, or - for stdin (see banhelper import --help)");
		return BH_USAGE;
	}
	memset(&x, 0, sizeof(x));
	name = strcmp(argv[0], "-") == 0 ? "stdin" : argv[0];
	if (strcmp(argv[0], "-") == 0)
		f = stdin;
	else if ((f = fopen(argv[0], "re")) == NULL) {
		bh_err("import fail2ban: %s: %s", ab_escape(argv[0], en,
		    sizeof(en)), strerror(errno));
		return BH_ERR;
	}
	while ((got = getline(&line, &len, f)) >= 0) {
		char *fl[FIELDS_MAX];
		int nf;

		lineno++;
		if (got > 0 && line[got - 1] == '\n')
			line[--got] = '\0';
		if ((size_t)got > F2B_LINE_MAX || memchr(line, '\0',
		    (size_t)got) != NULL) {
			if (line[0] != '[' && x.bad++ < 20)
				bh_err("%s line %zu: too long or binary: "
				    "skipped", ab_escape(name, en, sizeof(en)),
				    lineno);
			continue;
		}
		if (line[0] == '[') {
			if ((nf = pylist(line, fl, FIELDS_MAX)) >= 4)
				jail_set(&x, fl, nf);
			continue;
		}
		if (line[0] == '\0')
			continue;
		rc = ban_line(&x, &bh->cfg, line, now, why, sizeof(why));
		if (rc == -2) {
			bh_err("out of memory");
			rc = BH_ERR;
			goto out;
		}
		if (rc < 0 && x.bad++ < 20)
			bh_err("%s line %zu: %s: skipped", ab_escape(name, en,
			    sizeof(en)), lineno, why);
		rc = 0;
	}
	print_jails(&x);
	if (x.nban > 0) {
		if (geteuid() != 0) {
			bh_err("import fail2ban: banning needs root; the "
			    "settings above need nothing");
			rc = BH_PERM;
			goto out;
		}
		if ((rc = bh_open_store(bh, &st)) != 0)
			goto out;
		if ((res = calloc(x.nban, sizeof(*res))) == NULL) {
			bh_err("out of memory");
			rc = BH_ERR;
			goto out;
		}
		/* One transaction per ban length (rounded up to the minute). */
		for (i = 0; i < x.nban; i++) {
			size_t k, m = 0;
			int64_t s = (x.secs[i] + 59) / 60 * 60;
			struct ab_addr *grp = x.ban + i;

			if (x.secs[i] < 0)
				continue;	/* done with its group */
			for (k = i; k < x.nban; k++)
				if (x.secs[k] >= 0 &&
				    (x.secs[k] + 59) / 60 * 60 == s) {
					struct ab_addr t = x.ban[k];

					x.ban[k] = x.ban[i + m];
					x.ban[i + m] = t;
					{
						int64_t ts = x.secs[k];

						x.secs[k] = x.secs[i + m];
						x.secs[i + m] = ts;
					}
					m++;
				}
			if (policy_ban_manual_many(st, grp, m, s, 0, now,
			    res + i, NULL) != 0) {
				bh_err("import fail2ban: the store refused the "
				    "bans");
				rc = BH_ERR;
				goto out;
			}
			for (k = i; k < i + m; k++) {
				char a[AB_ADDRSTRLEN], d[32];

				if (res[k] == 0) {
					done++;
					printf("banned %s for %s\n",
					    addr_format(&x.ban[k], a,
					    sizeof(a)), ab_fmt_duration(
					    x.secs[k], d, sizeof(d)));
				} else {
					refused++;
					bh_err("%s: %s: not banned",
					    addr_format(&x.ban[k], a,
					    sizeof(a)), ab_strerror(res[k]));
				}
				x.secs[k] = -1;
			}
		}
		wake_send(&bh->cfg);
	}
	printf("# %zu jail(s) read; %zu ban(s) taken over, %zu refused, %zu "
	    "already ended\n", x.njail, done, refused, x.expired);
	if (done > 0)
		printf("# the daemon puts them into the kernel; without it, run "
		    "banhelper sync\n");
	rc = x.bad || refused ? BH_PARTIAL : BH_OK;
out:
	if (f != stdin)
		fclose(f);
	store_close(st);
	free(line);
	free(res);
	free(x.ban);
	free(x.secs);
	return rc;
}
