/*
 * test_pam.c - the real pam_autoban.so driven through libpam with
 * pam_start_confdir(): no /etc/pam.d is read or written.  The password
 * module is pam_testpw.so, which appends a line to a file each time it runs,
 * so "the password module never ran" is observed where it happens.  Log
 * lines are read from the syslog sink tests/lib/with-devlog.sh provides
 * ($AB_SYSLOG).
 */
#include "pamlib.h"

#include <dirent.h>

/* ---- one-line mode ------------------------------------------------------ */

static void
oneline_bans_after_maxretry(void **state)
{
	struct pfix *p = *state;
	struct ab_ban b;
	int i;

	write_conf(p, "maxretry = 4\n");
	write_oneline(p, "");
	for (i = 1; i <= 4; i++) {
		assert_int_equal(auth(p, "one", "203.0.113.7", "wrong"),
		    PAM_AUTH_ERR);
		assert_int_equal(checks(p), i);
	}
	assert_int_equal(banned(p, "203.0.113.7", &b), 0);
	/* The fifth: refused by PAM, the password module never runs. */
	assert_int_equal(auth(p, "one", "203.0.113.7", "secret"), PAM_MAXTRIES);
	assert_int_equal(checks(p), 4);
	assert_int_equal(banned(p, "203.0.113.7", &b), 1);
	assert_int_equal(b.until - b.start, 3600);
	assert_syslog("pam_autoban(one:auth): banned 203.0.113.7 as 203.0.113.7 "
	    "for 1h after 4 failures (ban #1); refusing it");
	assert_int_equal(auth(p, "one", "203.0.113.7", "secret"), PAM_MAXTRIES);
	assert_int_equal(checks(p), 4);
	assert_syslog("pam_autoban(one:auth): refusing 203.0.113.7: banned as "
	    "203.0.113.7 (auto), ");
	/* Another host is not affected. */
	assert_int_equal(auth(p, "one", "203.0.113.8", "secret"), PAM_SUCCESS);
}

/* With debug, a new ban also logs when the call that made it began. */
static void
oneline_debug_times_the_ban(void **state)
{
	struct pfix *p = *state;
	int i;

	write_conf(p, "maxretry = 2\n");
	write_oneline(p, "debug");
	for (i = 0; i < 2; i++)
		assert_int_equal(auth(p, "one", "203.0.113.9", "wrong"),
		    PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "203.0.113.9", "wrong"), PAM_MAXTRIES);
	assert_syslog("pam_autoban(one:auth): 203.0.113.9: ban stored; this "
	    "call began at 17");
	assert_syslog(" (CLOCK_REALTIME)");
}

static void
oneline_success_is_refunded(void **state)
{
	struct pfix *p = *state;
	struct ab_counter c;
	int i;

	/* Trust off: the good login earns its user no room (earned.c). */
	write_conf(p, "maxretry = 4\ntrust_factor = 1\n");
	write_oneline(p, "");
	for (i = 0; i < 3; i++)
		assert_int_equal(auth(p, "one", "198.51.100.5", "wrong"),
		    PAM_AUTH_ERR);
	/* maxretry-1 mistakes, then right: not banned, not counted. */
	assert_int_equal(auth(p, "one", "198.51.100.5", "secret"), PAM_SUCCESS);
	assert_int_equal(counted(p, "198.51.100.5", &c), 1);
	assert_int_equal(c.nfail, 3);
	assert_int_equal(c.nsucc, 1);
	/* The next real failure is the maxretry-th; then refused. */
	assert_int_equal(auth(p, "one", "198.51.100.5", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "198.51.100.5", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(checks(p), 5);
}

static void
several_passwords_one_handle(void **state)
{
	struct pfix *p = *state;
	pam_handle_t *pamh;
	struct ab_counter c;

	/* sshd MaxAuthTries: one handle, one pam_authenticate per password */
	write_conf(p, "maxretry = 10\n");
	write_oneline(p, "");
	pamh = start(p, "one", "203.0.113.20", "wrong");
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	pam_end(pamh, PAM_AUTH_ERR);
	assert_int_equal(counted(p, "203.0.113.20", &c), 1);
	assert_int_equal(c.nfail, 3);
}

/* How many mappings of the counts store this process holds now. */
static int
counts_mapped(struct pfix *p)
{
	char want[600], line[1024];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	assert_non_null(f);
	snprintf(want, sizeof(want), "%s/%s", p->cfg.runtime_dir,
	    AB_COUNTS_FILE);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, want) != NULL;
	fclose(f);
	return n;
}

/* How many counts files were set aside as broken. */
static int
broken_files(struct pfix *p)
{
	DIR *d = opendir(p->cfg.runtime_dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, AB_COUNTS_FILE ".broken-",
		    strlen(AB_COUNTS_FILE ".broken-")) == 0;
	closedir(d);
	return n;
}

/*
 * The attempts of one handle share one LMDB environment (opened once per
 * sshd connection): it stays mapped between them and goes with pam_end.
 */
static void
one_handle_keeps_one_environment(void **state)
{
	struct pfix *p = *state;
	pam_handle_t *pamh;
	struct ab_counter c;
	int i;

	write_conf(p, "maxretry = 10\n");
	write_oneline(p, "");
	pamh = start(p, "one", "203.0.113.21", "wrong");
	for (i = 0; i < 6; i++) {
		assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
		assert_int_equal(counts_mapped(p), 1);
	}
	pam_end(pamh, PAM_AUTH_ERR);
	assert_int_equal(counts_mapped(p), 0);
	assert_int_equal(counted(p, "203.0.113.21", &c), 1);
	assert_int_equal(c.nfail, 6);
	assert_int_equal(checks(p), 6);
}

/*
 * Between two attempts of one handle the counts file is set aside, cut to
 * nothing, cut short: the kept environment is never used on it (no
 * SIGBUS), and every attempt is counted in the file under the name.
 */
static void
kept_environment_meets_a_changed_file(void **state)
{
	struct pfix *p = *state;
	char path[600], aside[640];
	pam_handle_t *pamh;
	struct ab_counter c;
	struct stat sb;

	write_conf(p, "maxretry = 10\n");
	write_oneline(p, "");
	snprintf(path, sizeof(path), "%s/%s", p->cfg.runtime_dir,
	    AB_COUNTS_FILE);
	snprintf(aside, sizeof(aside), "%s.old", path);
	pamh = start(p, "one", "203.0.113.22", "wrong");
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	/* Replaced (renamed away; a new one is made). */
	assert_int_equal(rename(path, aside), 0);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	assert_int_equal(counted(p, "203.0.113.22", &c), 1);
	assert_int_equal(c.nfail, 1);
	/* Cut to nothing while mapped: created again. */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	assert_int_equal(counted(p, "203.0.113.22", &c), 1);
	assert_int_equal(c.nfail, 1);
	/* Cut short (two pages of a larger file): set aside, a new one. */
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 2 * 4096);
	assert_int_equal(truncate(path, 2 * 4096), 0);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	assert_int_equal(counted(p, "203.0.113.22", &c), 1);
	assert_int_equal(c.nfail, 1);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	pam_end(pamh, PAM_AUTH_ERR);
	assert_int_equal(counted(p, "203.0.113.22", &c), 1);
	assert_int_equal(c.nfail, 2);
	assert_int_equal(checks(p), 6);
	assert_int_equal(broken_files(p), 1);
}

/*
 * A handle forked with a kept environment (sshd's keyboard-interactive
 * child): parent and child write at once on the same handle, and not one
 * attempt is lost (the child never takes the parent's descriptor, whose
 * locks the two would share).
 */
static void
kept_environment_across_fork(void **state)
{
	struct pfix *p = *state;
	pam_handle_t *pamh;
	struct ab_counter c;
	int i, status, bad = 0;
	pid_t pid;

	write_conf(p, "maxretry = 100\n");
	write_oneline(p, "");
	pamh = start(p, "one", "203.0.113.23", "wrong");
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	if ((pid = fork()) == 0) {
		for (i = 0; i < 40; i++)
			bad += pam_authenticate(pamh, 0) != PAM_AUTH_ERR;
		_exit(bad);
	}
	assert_true(pid > 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	pam_end(pamh, PAM_AUTH_ERR);
	assert_int_equal(counted(p, "203.0.113.23", &c), 1);
	assert_int_equal(c.nfail, 82);
}

/*
 * Failures and bans are recorded with the PAM service they came through
 * (PAM_SERVICE), and a ban holds for every service: failures on one and
 * another add up (maxretry counts them together), the ban names the
 * service whose failure crossed it, and the other service refuses the
 * host too.
 */
static void
services_recorded(void **state)
{
	struct pfix *p = *state;
	struct ab_service_stat *v;
	struct ab_store *st = NULL;
	struct ab_ban b;
	char src[600], dst[600], cmd[1300];
	size_t n;

	write_conf(p, "maxretry = 3\n");
	write_oneline(p, "");
	snprintf(src, sizeof(src), "%s/one", p->confdir);
	snprintf(dst, sizeof(dst), "%s/mail", p->confdir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(auth(p, "one", "203.0.113.30", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "203.0.113.30", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth(p, "mail", "203.0.113.30", "wrong"),
	    PAM_AUTH_ERR);
	assert_int_equal(auth(p, "mail", "203.0.113.30", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(auth(p, "one", "203.0.113.30", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(checks(p), 3);
	assert_int_equal(banned(p, "203.0.113.30", &b), 1);
	assert_string_equal(b.service, "mail");
	/* A good login on one service refunds its attempt there. */
	assert_int_equal(auth(p, "one", "203.0.113.31", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "203.0.113.31", "secret"), PAM_SUCCESS);
	assert_int_equal(store_open(&st, &p->cfg, NULL), 0);
	assert_int_equal(policy_services(st, (int64_t)time(NULL), &v, &n), 0);
	store_close(st);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "mail");
	assert_int_equal(v[0].failed_total, 1);
	assert_int_equal(v[0].failed_now, 1);	/* .30's last failure */
	assert_int_equal(v[0].banned_now, 1);
	assert_int_equal(v[0].banned_total, 1);
	assert_string_equal(v[1].name, "one");
	assert_int_equal(v[1].failed_total, 3);	/* 2 + 1; the good one refunded */
	assert_int_equal(v[1].failed_now, 1);	/* .31 */
	assert_int_equal(v[1].banned_total, 0);
	free(v);
}

/*
 * What sshd does for keyboard-interactive: pam_authenticate in a forked
 * child that _exit()s, sending its PAM environment to the monitor on
 * success; pam_setcred in the monitor; the session child forks after that
 * and calls pam_setcred again.
 */
static int
kbdint_login(pam_handle_t *pamh)
{
	char buf[4096];
	int fds[2], status, rc;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		char **env;
		int i, off = 0;

		close(fds[0]);
		rc = pam_authenticate(pamh, 0);
		if (rc == PAM_SUCCESS && (env = pam_getenvlist(pamh)) != NULL)
			for (i = 0; env[i] != NULL; i++)
				off += snprintf(buf + off, sizeof(buf) - off,
				    "%s\n", env[i]);
		if (write(fds[1], buf, off) < 0)
			_exit(99);
		_exit(rc);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rc = WEXITSTATUS(status);
	if (rc == PAM_SUCCESS && n > 0) {
		char *line, *save = NULL;

		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			pam_putenv(pamh, line);
	}
	return rc;
}

static void
kbdint_refund_across_processes(void **state)
{
	struct pfix *p = *state;
	pam_handle_t *pamh;
	struct ab_counter c;
	int status;
	pid_t pid;

	write_conf(p, "maxretry = 5\n");
	write_oneline(p, "");
	/* Two failed kbdint rounds and a good one, on one connection. */
	pamh = start(p, "one", "2001:db8:aa::1", "wrong");
	assert_int_equal(kbdint_login(pamh), PAM_AUTH_ERR);
	assert_int_equal(kbdint_login(pamh), PAM_AUTH_ERR);
	pam_end(pamh, PAM_AUTH_ERR);
	pamh = start(p, "one", "2001:db8:aa::1", "secret");
	assert_int_equal(kbdint_login(pamh), PAM_SUCCESS);
	assert_non_null(pam_getenv(pamh, AB_ATTEMPT_ENV));
	/* monitor */
	assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_null(pam_getenv(pamh, AB_ATTEMPT_ENV));
	/* session child */
	if ((pid = fork()) == 0)
		_exit(pam_setcred(pamh, PAM_ESTABLISH_CRED));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), PAM_SUCCESS);
	assert_int_equal(pam_setcred(pamh, PAM_DELETE_CRED), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	/* Exactly the good attempt went; both real failures stay. */
	assert_int_equal(counted(p, "2001:db8:aa::/64", &c), 1);
	assert_int_equal(c.nfail, 2);
	assert_int_equal(c.nsucc, 1);
}

static void
setcred_without_attempt_refunds_nothing(void **state)
{
	struct pfix *p = *state;
	pam_handle_t *pamh;
	struct ab_counter c;

	write_conf(p, "maxretry = 5\n");
	write_oneline(p, "");
	assert_int_equal(auth(p, "one", "192.0.2.30", "wrong"), PAM_AUTH_ERR);
	/* A public-key login: no pam_authenticate, then pam_setcred. */
	pamh = start(p, "one", "192.0.2.30", "secret");
	assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	/* A forged variable with a bad value is dropped, not trusted. */
	pamh = start(p, "one", "192.0.2.30", "secret");
	assert_int_equal(pam_putenv(pamh, AB_ATTEMPT_ENV "=12x"), PAM_SUCCESS);
	assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	assert_null(pam_getenv(pamh, AB_ATTEMPT_ENV));
	pam_end(pamh, PAM_SUCCESS);
	assert_int_equal(counted(p, "192.0.2.30", &c), 1);
	assert_int_equal(c.nfail, 1);
}

/* ---- explicit modes ----------------------------------------------------- */

static void
explicit_modes(void **state)
{
	struct pfix *p = *state;
	struct ab_counter c;
	struct ab_ban b;
	int i;

	write_conf(p, "maxretry = 4\n");
	write_explicit(p);
	for (i = 1; i <= 3; i++)
		assert_int_equal(auth(p, "explicit", "203.0.113.30", "wrong"),
		    PAM_AUTH_ERR);
	assert_int_equal(banned(p, "203.0.113.30", &b), 0);
	/* The 4th failure itself bans (authfail sees the outcome). */
	assert_int_equal(auth(p, "explicit", "203.0.113.30", "wrong"),
	    PAM_MAXTRIES);
	assert_int_equal(banned(p, "203.0.113.30", &b), 1);
	assert_int_equal(checks(p), 4);
	/* preauth refuses before the password module. */
	assert_int_equal(auth(p, "explicit", "203.0.113.30", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(checks(p), 4);
	/* A success is recorded by authsucc. */
	assert_int_equal(auth(p, "explicit", "203.0.113.31", "secret"),
	    PAM_SUCCESS);
	assert_int_equal(counted(p, "203.0.113.31", &c), 1);
	assert_int_equal(c.nsucc, 1);
	assert_int_equal(c.nfail, 0);
}

/* ---- what PAM_RHOST may hold -------------------------------------------- */

static void
odd_rhosts(void **state)
{
	struct pfix *p = *state;
	struct ab_counter c;
	char longhost[400];
	int n = 0;

	write_conf(p, "maxretry = 2\n");
	write_oneline(p, "");
	/* No rhost (a local login) and empty: not counted, never refused. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(auth(p, "one", NULL, "wrong"), PAM_AUTH_ERR);
		assert_int_equal(auth(p, "one", "", "wrong"), PAM_AUTH_ERR);
	}
	n += 8;
	/* A name (UseDNS yes): one documented rule, not counted, logged. */
	assert_int_equal(auth(p, "one", "attacker.example.org", "wrong"),
	    PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "attacker.example.org", "wrong"),
	    PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "attacker.example.org", "wrong"),
	    PAM_AUTH_ERR);
	n += 3;
	assert_syslog("PAM_RHOST \"attacker.example.org\" is not an IP address: "
	    "not counted (is UseDNS on in sshd_config?)");
	/* Control characters are escaped in the log line. */
	assert_int_equal(auth(p, "one", "x\r\nFake: 198.51.100.1", "wrong"),
	    PAM_AUTH_ERR);
	n++;
	assert_syslog("PAM_RHOST \"x\\x0d\\x0aFake: 198.51.100.1\" is not an IP");
	memset(longhost, 'a', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	assert_int_equal(auth(p, "one", longhost, "wrong"), PAM_AUTH_ERR);
	n++;
	assert_syslog("PAM_RHOST \"aaaaaaaaaaaaaaaa");
	/* Brackets and zones are parsed; mapped IPv4 counts as IPv4. */
	assert_int_equal(auth(p, "one", "[2001:db8:1:1::9]", "wrong"),
	    PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "2001:db8:1:1::8%eth0", "wrong"),
	    PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "2001:db8:1:1::7", "wrong"),
	    PAM_MAXTRIES);
	n += 2;
	assert_int_equal(auth(p, "one", "::ffff:203.0.113.77", "wrong"),
	    PAM_AUTH_ERR);
	n++;
	assert_int_equal(counted(p, "203.0.113.77", &c), 1);
	assert_int_equal(c.nfail, 1);
	assert_int_equal(checks(p), n);
}

static void
allowlist_never_locked_out(void **state)
{
	struct pfix *p = *state;
	int i;

	write_conf(p, "maxretry = 2\nignoreip = 198.51.100.0/24\n"
	    "on_error = closed\n");
	write_oneline(p, "");
	for (i = 0; i < 6; i++) {
		assert_int_equal(auth(p, "one", "198.51.100.9", "wrong"),
		    PAM_AUTH_ERR);
		assert_int_equal(auth(p, "one", "127.0.0.1", "wrong"),
		    PAM_AUTH_ERR);
		assert_int_equal(auth(p, "one", "::1", "wrong"), PAM_AUTH_ERR);
	}
	/* Even with a broken store and on_error = closed (allowlisted hosts
	 * never touched the store, so make it first). */
	assert_int_equal(mkdir(p->cfg.db, 0700), 0);
	assert_int_equal(chmod(p->cfg.db, 0777), 0);
	assert_int_equal(auth(p, "one", "198.51.100.9", "secret"), PAM_SUCCESS);
	assert_int_equal(auth(p, "one", "127.0.0.1", "secret"), PAM_SUCCESS);
	assert_int_equal(auth(p, "one", "203.0.113.1", "secret"), PAM_AUTH_ERR);
	assert_int_equal(checks(p), 20);
}

/* ---- a configuration that cannot be used --------------------------------- */

static void
config_faults(void **state)
{
	struct pfix *p = *state;
	char path[600], text[2048];

	write_conf(p, "maxretry = 2\n");
	/* A missing conf= file: on_error from the arguments applies. */
	snprintf(text, sizeof(text),
	    "auth requisite %s conf=%s/nope.conf on_error=closed\n"
	    "auth required %s count=%s\n", p->mod, p->dir, p->pw, p->count);
	snprintf(path, sizeof(path), "%s/noconf", p->confdir);
	write_text(path, text);
	assert_int_equal(auth(p, "noconf", "203.0.113.5", "secret"),
	    PAM_AUTH_ERR);
	assert_int_equal(checks(p), 0);
	assert_syslog("cannot use the configuration (No such file or "
	    "directory): refusing (on_error = closed)");
	/* Bad and unknown arguments are logged; the rest still applies. */
	snprintf(text, sizeof(text),
	    "auth requisite %s conf=%s maxretry=1 frobnicate bantime=soon\n"
	    "auth required %s count=%s\n", p->mod, p->conf, p->pw, p->count);
	snprintf(path, sizeof(path), "%s/args", p->confdir);
	write_text(path, text);
	assert_int_equal(auth(p, "args", "203.0.113.6", "wrong"), PAM_AUTH_ERR);
	assert_syslog("module argument 3: unknown argument \"frobnicate\" "
	    "(ignored)");
	assert_syslog("module argument 4: bad value \"soon\" for bantime");
	/* maxretry=1 from the arguments overrode the file's 2. */
	assert_int_equal(auth(p, "args", "203.0.113.6", "secret"),
	    PAM_MAXTRIES);
}

/* ---- many processes and threads through the module ---------------------- */

#define WORKERS	8
#define PER	500
#define UNITS	500

struct pworker {
	struct pfix *p;
	int index, errors;
};

static void *
pam_worker(void *arg)
{
	struct pworker *w = arg;
	int i;

	for (i = 0; i < PER; i++) {
		int u = (w->index * PER + i) % UNITS;
		char host[64];
		pam_handle_t *pamh;
		int rc;

		snprintf(host, sizeof(host), "2001:db8:%x::%x", u, w->index);
		pamh = start(w->p, "conc", host, "wrong");
		rc = pam_authenticate(pamh, 0);
		pam_end(pamh, rc);
		w->errors += rc != PAM_AUTH_ERR;
	}
	return NULL;
}

static void
conc_setup(struct pfix *p)
{
	char text[4096], path[600];

	write_conf(p, "maxretry = 100\nfindtime = 1d\n");
	snprintf(text, sizeof(text), "auth requisite %s conf=%s\n"
	    "auth required pam_deny.so\n", p->mod, p->conf);
	snprintf(path, sizeof(path), "%s/conc", p->confdir);
	write_text(path, text);
}

static void
conc_check(struct pfix *p)
{
	struct ab_counter c;
	char unit[64];
	int u;

	for (u = 0; u < UNITS; u++) {
		snprintf(unit, sizeof(unit), "2001:db8:%x::/64", u);
		assert_int_equal(counted(p, unit, &c), 1);
		if (c.nfail != WORKERS * PER / UNITS)
			fail_msg("%s: %u failures, want %d", unit, c.nfail,
			    WORKERS * PER / UNITS);
	}
}

static void
concurrent_processes(void **state)
{
	struct pfix *p = *state;
	pid_t pids[WORKERS];
	int i, status;

	conc_setup(p);
	for (i = 0; i < WORKERS; i++) {
		if ((pids[i] = fork()) == 0) {
			struct pworker w = { p, i, 0 };

			pam_worker(&w);
			_exit(w.errors != 0);
		}
	}
	for (i = 0; i < WORKERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	conc_check(p);
}

static void
concurrent_threads(void **state)
{
	struct pfix *p = *state;
	pthread_t tid[WORKERS];
	struct pworker w[WORKERS];
	int i;

	conc_setup(p);
	for (i = 0; i < WORKERS; i++) {
		w[i] = (struct pworker){ p, i, 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, pam_worker, &w[i]),
		    0);
	}
	for (i = 0; i < WORKERS; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	conc_check(p);
}

/* ---- earned trust -------------------------------------------------------- */

/* Service "trust": the one line, the password module, the account line. */
static void
write_trust(struct pfix *p, const char *args)
{
	char text[4096], path[600];

	snprintf(text, sizeof(text),
	    "auth requisite %s conf=%s %s\n"
	    "auth required %s password=secret count=%s\n"
	    "account optional %s conf=%s %s\n"
	    "account required pam_permit.so\n",
	    p->mod, p->conf, args, p->pw, p->count, p->mod, p->conf, args);
	snprintf(path, sizeof(path), "%s/trust", p->confdir);
	write_text(path, text);
}

/* One password transaction of user (setcred after success). */
static int
auth_user(struct pfix *p, const char *user, const char *rhost,
    const char *password)
{
	pam_handle_t *pamh = start(p, "trust", rhost, password);
	int rc;

	assert_int_equal(pam_set_item(pamh, PAM_USER, user), PAM_SUCCESS);
	rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS) {
		assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
		assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED),
		    PAM_SUCCESS);
	}
	pam_end(pamh, rc);
	return rc;
}

/* A public key login: sshd runs the account stack, not the auth stack. */
static int
keylogin(struct pfix *p, const char *user, const char *rhost)
{
	pam_handle_t *pamh = start(p, "trust", rhost, "");
	int rc;

	assert_int_equal(pam_set_item(pamh, PAM_USER, user), PAM_SUCCESS);
	rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static int
trusted(struct pfix *p, const char *unit, const char *user)
{
	struct ab_store *st = NULL;
	struct ab_addr u;
	int rc;

	assert_int_equal(store_open(&st, &p->cfg, NULL), 0);
	assert_int_equal(addr_parse_prefix(unit, 0, &u), 0);
	rc = store_trust_since(st, &u, user, 0, NULL);
	store_close(st);
	return rc;
}

static void
trust_earned_by_a_login(void **state)
{
	struct pfix *p = *state;
	struct ab_ban b;
	int i;

	write_conf(p, "maxretry = 3\n");	/* trust_factor 3: 9 */
	write_trust(p, "");
	/* alice logged in from .30: 9 failures of hers before a ban. */
	assert_int_equal(auth_user(p, "alice", "203.0.113.30", "secret"),
	    PAM_SUCCESS);
	assert_int_equal(trusted(p, "203.0.113.30", "alice"), 1);
	for (i = 0; i < 9; i++)
		assert_int_equal(auth_user(p, "alice", "203.0.113.30",
		    "wrong"), PAM_AUTH_ERR);
	assert_int_equal(checks(p), 10);
	assert_int_equal(banned(p, "203.0.113.30", &b), 0);
	assert_int_equal(auth_user(p, "alice", "203.0.113.30", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(checks(p), 10);
	assert_int_equal(banned(p, "203.0.113.30", &b), 1);
	assert_int_equal(b.origin, AB_ORIGIN_TRUSTED);
	assert_syslog("banned 203.0.113.30 as 203.0.113.30 for 1h after 9 "
	    "failures (ban #1, a trusted prefix: refused at PAM, not "
	    "dropped); refusing it");
	/* Her key login ends that ban at once. */
	assert_int_equal(keylogin(p, "alice", "203.0.113.30"), PAM_SUCCESS);
	assert_int_equal(banned(p, "203.0.113.30", &b), 0);
	assert_syslog("alice logged in from 203.0.113.30: the ban of "
	    "203.0.113.30 (a trusted prefix, refused at PAM only) ends now");
	assert_int_equal(auth_user(p, "alice", "203.0.113.30", "secret"),
	    PAM_SUCCESS);

	/* From .31, where alice logged in, bob counts as usual: 3. */
	assert_int_equal(keylogin(p, "alice", "203.0.113.31"), PAM_SUCCESS);
	for (i = 0; i < 3; i++)
		assert_int_equal(auth_user(p, "bob", "203.0.113.31", "wrong"),
		    PAM_AUTH_ERR);
	assert_int_equal(auth_user(p, "bob", "203.0.113.31", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(banned(p, "203.0.113.31", &b), 1);
	/* ... and the ban of a trusted prefix is PAM's only. */
	assert_int_equal(b.origin, AB_ORIGIN_TRUSTED);

	/* Where nobody logged in, alice counts as usual too. */
	for (i = 0; i < 3; i++)
		assert_int_equal(auth_user(p, "alice", "203.0.113.32",
		    "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth_user(p, "alice", "203.0.113.32", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(banned(p, "203.0.113.32", &b), 1);
	assert_int_equal(b.origin, AB_ORIGIN_AUTO);
	/* A user name that is not one earns nothing. */
	assert_int_equal(keylogin(p, "a b", "203.0.113.33"), PAM_SUCCESS);
	assert_int_equal(trusted(p, "203.0.113.33", NULL), 0);
}

/* trust_factor = 1: off.  Nothing is recorded, every ban is dropped. */
static void
trust_off_switch(void **state)
{
	struct pfix *p = *state;
	struct ab_ban b;
	int i;

	write_conf(p, "maxretry = 3\ntrust_factor = 1\n");
	write_trust(p, "");
	assert_int_equal(auth_user(p, "alice", "203.0.113.40", "secret"),
	    PAM_SUCCESS);
	assert_int_equal(keylogin(p, "alice", "203.0.113.40"), PAM_SUCCESS);
	assert_int_equal(trusted(p, "203.0.113.40", NULL), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(auth_user(p, "alice", "203.0.113.40",
		    "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth_user(p, "alice", "203.0.113.40", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(banned(p, "203.0.113.40", &b), 1);
	assert_int_equal(b.origin, AB_ORIGIN_AUTO);
	/* The module argument turns it off for one service alone. */
	write_conf(p, "maxretry = 3\n");
	write_trust(p, "trust_factor=1");
	assert_int_equal(keylogin(p, "alice", "203.0.113.41"), PAM_SUCCESS);
	assert_int_equal(trusted(p, "203.0.113.41", NULL), 0);
}

/* A good password within findtime refunds the pair's own attempt. */
static void
trust_refunds_its_attempt(void **state)
{
	struct pfix *p = *state;
	int i;

	write_conf(p, "maxretry = 2\n");	/* trusted: 6 */
	write_trust(p, "");
	assert_int_equal(keylogin(p, "carol", "203.0.113.50"), PAM_SUCCESS);
	for (i = 0; i < 5; i++)
		assert_int_equal(auth_user(p, "carol", "203.0.113.50",
		    "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth_user(p, "carol", "203.0.113.50", "secret"),
	    PAM_SUCCESS);
	/* 5 failures, the good one refunded: one more before the ban. */
	assert_int_equal(auth_user(p, "carol", "203.0.113.50", "wrong"),
	    PAM_AUTH_ERR);
	assert_int_equal(auth_user(p, "carol", "203.0.113.50", "wrong"),
	    PAM_MAXTRIES);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(oneline_bans_after_maxretry),
		T(oneline_debug_times_the_ban),
		T(oneline_success_is_refunded),
		T(several_passwords_one_handle),
		T(one_handle_keeps_one_environment),
		T(kept_environment_meets_a_changed_file),
		T(kept_environment_across_fork),
		T(services_recorded),
		T(kbdint_refund_across_processes),
		T(setcred_without_attempt_refunds_nothing),
		T(explicit_modes),
		T(odd_rhosts),
		T(allowlist_never_locked_out),
		T(config_faults),
		T(trust_earned_by_a_login),
		T(trust_off_switch),
		T(trust_refunds_its_attempt),
		T(concurrent_processes),
		T(concurrent_threads),
	};

	return cmocka_run_group_tests_name("pam", tests, NULL, NULL);
}
