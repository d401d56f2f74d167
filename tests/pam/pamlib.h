/*
 * pamlib.h - what the PAM-stack suites share: a fixture with its own
 * pam.d, autoban.conf and stores; the real module driven through libpam
 * with pam_start_confdir() (no /etc/pam.d is read or written); the
 * password module pam_testpw.so, which appends a line to a file each time
 * it runs, so "the password module never ran" is observed where it
 * happens; the syslog sink of tests/lib/with-devlog.sh ($AB_SYSLOG).
 */
#ifndef PAMLIB_H
#define PAMLIB_H

#include "../unit/testlib.h"

#include <fcntl.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <sys/mount.h>
#include <time.h>

struct pfix {
	char *dir;
	char confdir[512], conf[512], count[512], mod[512], pw[512];
	struct ab_config cfg;	/* what the module reads, for checking */
};

static inline int
setup(void **state)
{
	struct pfix *p = calloc(1, sizeof(*p));
	const char *b = getenv("AB_BUILD");

	if (p == NULL || b == NULL || (p->dir = tmpdir_new()) == NULL)
		return -1;
	snprintf(p->confdir, sizeof(p->confdir), "%s/pam.d", p->dir);
	snprintf(p->conf, sizeof(p->conf), "%s/autoban.conf", p->dir);
	snprintf(p->count, sizeof(p->count), "%s/checked", p->dir);
	snprintf(p->mod, sizeof(p->mod), "%s/pam_autoban.so", b);
	snprintf(p->pw, sizeof(p->pw), "%s/tests/pam_testpw.so", b);
	mkdir(p->confdir, 0755);
	config_defaults(&p->cfg);
	snprintf(p->cfg.db, sizeof(p->cfg.db), "%s/db", p->dir);
	snprintf(p->cfg.runtime_dir, sizeof(p->cfg.runtime_dir), "%s/run",
	    p->dir);
	*state = p;
	return 0;
}

static inline int
teardown(void **state)
{
	struct pfix *p = *state;

	/* A test that mounted a small tmpfs there, even one that failed. */
	umount2(p->cfg.db, MNT_DETACH);
	umount2(p->cfg.runtime_dir, MNT_DETACH);
	rm_rf(p->dir);
	free(p->dir);
	free(p);
	return 0;
}

static inline void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* autoban.conf with the fixture's stores plus extra lines. */
static inline void
write_conf(struct pfix *p, const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text), "db = %s\nruntime_dir = %s\n%s",
	    p->cfg.db, p->cfg.runtime_dir, extra);
	write_text(p->conf, text);
	chmod(p->conf, 0644);
	/* keep our copy in step for store checks */
	config_defaults(&p->cfg);
	assert_int_equal(config_load(&p->cfg, p->conf, 1, NULL), 0);
}

/* Service "one": the one line on top, then the password module. */
static inline void
write_oneline(struct pfix *p, const char *args)
{
	char text[4096], path[600];

	snprintf(text, sizeof(text),
	    "auth requisite %s conf=%s %s\n"
	    "auth required %s password=secret count=%s\n"
	    "account required pam_permit.so\n",
	    p->mod, p->conf, args, p->pw, p->count);
	snprintf(path, sizeof(path), "%s/one", p->confdir);
	write_text(path, text);
}

/* Service "explicit": preauth / authfail / authsucc, pam_faillock style. */
static inline void
write_explicit(struct pfix *p)
{
	char text[4096], path[600];

	snprintf(text, sizeof(text),
	    "auth requisite %s preauth conf=%s\n"
	    "auth [success=2 default=ignore] %s password=secret count=%s\n"
	    "auth [default=die] %s authfail conf=%s\n"
	    "auth requisite pam_deny.so\n"
	    "auth optional %s authsucc conf=%s\n"
	    "auth required pam_permit.so\n",
	    p->mod, p->conf, p->pw, p->count, p->mod, p->conf, p->mod, p->conf);
	snprintf(path, sizeof(path), "%s/explicit", p->confdir);
	write_text(path, text);
}

static inline int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup((const char *)data);
	*resp = r;
	return PAM_SUCCESS;
}

static inline pam_handle_t *
start(struct pfix *p, const char *service, const char *rhost,
    const char *password)
{
	static struct pam_conv pc;
	pam_handle_t *pamh = NULL;

	pc.conv = conv;
	pc.appdata_ptr = (void *)(uintptr_t)password;
	assert_int_equal(pam_start_confdir(service, "tester", &pc, p->confdir,
	    &pamh), PAM_SUCCESS);
	if (rhost != NULL)
		assert_int_equal(pam_set_item(pamh, PAM_RHOST, rhost),
		    PAM_SUCCESS);
	return pamh;
}

/* One sshd-style password transaction; setcred after success. */
static inline int
auth(struct pfix *p, const char *service, const char *rhost,
    const char *password)
{
	pam_handle_t *pamh = start(p, service, rhost, password);
	int rc = pam_authenticate(pamh, 0);

	if (rc == PAM_SUCCESS) {
		assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED),
		    PAM_SUCCESS);
		assert_null(pam_getenv(pamh, AB_ATTEMPT_ENV));
		assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED),
		    PAM_SUCCESS);
		assert_int_equal(pam_setcred(pamh, PAM_DELETE_CRED),
		    PAM_SUCCESS);
	}
	pam_end(pamh, rc);
	return rc;
}

/* auth() without asserts, for forked children; 100+ on setup failure. */
static inline int
auth_plain(struct pfix *p, const char *service, const char *rhost,
    const char *password)
{
	struct pam_conv pc = { conv, (void *)(uintptr_t)password };
	pam_handle_t *pamh = NULL;
	int rc;

	if (pam_start_confdir(service, "tester", &pc, p->confdir, &pamh) !=
	    PAM_SUCCESS)
		return 100;
	pam_set_item(pamh, PAM_RHOST, rhost);
	rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		pam_setcred(pamh, PAM_ESTABLISH_CRED);
	pam_end(pamh, rc);
	return rc;
}

/* How many times the password module ran. */
static inline int
checks(struct pfix *p)
{
	FILE *f = fopen(p->count, "r");
	int n = 0, c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Wait up to a second for text to reach the syslog sink (all of it). */
static inline void
assert_syslog(const char *text)
{
	const char *path = getenv("AB_SYSLOG");
	int tries;

	if (path == NULL)
		fail_msg("AB_SYSLOG is not set: run under with-devlog.sh");
	for (tries = 0; tries < 100; tries++) {
		FILE *f = fopen(path, "r");
		char *buf = NULL;
		size_t cap = 0;
		ssize_t n;
		int found = 0;

		while (f != NULL && !found &&
		    (n = getline(&buf, &cap, f)) > 0)
			found = strstr(buf, text) != NULL;
		free(buf);
		if (f != NULL)
			fclose(f);
		if (found)
			return;
		usleep(10000);
	}
	fail_msg("syslog lacks \"%s\"", text);
}

static inline int
counted(struct pfix *p, const char *unit, struct ab_counter *c)
{
	struct ab_store *st = NULL;
	struct ab_addr u;
	int rc;

	assert_int_equal(store_open(&st, &p->cfg, NULL), 0);
	assert_int_equal(addr_parse_prefix(unit, 0, &u), 0);
	rc = store_count_get(st, &u, c);
	store_close(st);
	return rc;
}

static inline int
banned(struct pfix *p, const char *host, struct ab_ban *b)
{
	struct ab_store *st = NULL;
	struct ab_addr h;
	int rc;

	assert_int_equal(store_open(&st, &p->cfg, NULL), 0);
	assert_int_equal(addr_parse(host, &h), 0);
	rc = policy_find_ban(st, &h, (int64_t)time(NULL), b, NULL, NULL, NULL);
	store_close(st);
	return rc;
}


#endif
