/*
 * pam_autoban.c - count failed logins per remote host, refuse banned hosts.
 *
 * MUST (this code runs inside sshd's monitor, as root, once per attempt):
 *  - never exit, abort, print, or keep state in statics;
 *  - never resolve PAM_RHOST: it is parsed with inet_pton or not used;
 *  - escape every outside value before logging it;
 *  - an allowlisted host is decided before any file is read beyond the
 *    configuration, so a broken store can never lock it out;
 *  - pam_sm_setcred never returns an error (sshd makes that fatal after a
 *    good login).
 *
 * One-line mode (no mode argument) records the attempt before the password
 * modules run and passes the attempt's id on in the PAM environment
 * (AUTOBAN_ATTEMPT).  pam_setcred(PAM_ESTABLISH_CRED) after a good login
 * refunds that id and removes the variable.  The PAM environment is the one
 * piece of per-login state that sshd carries from its keyboard-interactive
 * child (which _exit()s, losing pam_set_data) back to the monitor, and it
 * does so only after a successful authentication; the monitor calls
 * pam_setcred before it forks the session child, so the child's second
 * pam_setcred finds the variable gone and refunds nothing.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "autoban.h"

#define EXPORT	__attribute__((visibility("default")))

enum mode { MODE_ONELINE, MODE_PREAUTH, MODE_AUTHFAIL, MODE_AUTHSUCC };

struct modctx {
	pam_handle_t *pamh;
	int debug;
	struct ab_log log;
	struct ab_config cfg;
	int cfg_bad;		/* error if the config file was unusable */
	enum mode mode;
};

static void
mod_log(void *ctx, int prio, const char *msg)
{
	struct modctx *m = ctx;

	if (prio == LOG_DEBUG && !m->debug)
		return;
	pam_syslog(m->pamh, prio, "%s", msg);
}

/*
 * Read the configuration: the file (conf=FILE or the default), then the
 * key=value arguments over it.  Mode words and debug are taken first so
 * they apply even when the file is unusable.
 */
static void
mod_setup(struct modctx *m, pam_handle_t *pamh, int argc, const char **argv)
{
	const char *conf = AB_CONF_PATH;
	char where[32], e[96];
	int i, rc, required = 0;

	memset(m, 0, sizeof(*m));
	m->pamh = pamh;
	m->log.fn = mod_log;
	m->log.ctx = m;
	m->mode = MODE_ONELINE;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "debug") == 0)
			m->debug = 1;
		else if (strcmp(argv[i], "preauth") == 0)
			m->mode = MODE_PREAUTH;
		else if (strcmp(argv[i], "authfail") == 0)
			m->mode = MODE_AUTHFAIL;
		else if (strcmp(argv[i], "authsucc") == 0)
			m->mode = MODE_AUTHSUCC;
		else if (strncmp(argv[i], "conf=", 5) == 0) {
			conf = argv[i] + 5;
			required = 1;
		}
	}
	config_defaults(&m->cfg);
	rc = config_load(&m->cfg, conf, required, &m->log);
	if (rc != 0 && rc != AB_ECONFIG)
		m->cfg_bad = rc;
	for (i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char key[32];
		size_t klen;

		if (strcmp(argv[i], "debug") == 0 ||
		    strcmp(argv[i], "preauth") == 0 ||
		    strcmp(argv[i], "authfail") == 0 ||
		    strcmp(argv[i], "authsucc") == 0 ||
		    strncmp(argv[i], "conf=", 5) == 0)
			continue;
		snprintf(where, sizeof(where), "module argument %d", i + 1);
		klen = eq != NULL ? (size_t)(eq - argv[i]) : 0;
		if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
			pam_syslog(pamh, LOG_ERR, "%s: unknown argument \"%s\" "
			    "(ignored)", where, ab_escape(argv[i], e,
			    sizeof(e)));
			continue;
		}
		memcpy(key, argv[i], klen);
		key[klen] = '\0';
		config_set(&m->cfg, key, eq + 1, where, 0, &m->log);
	}
}

/*
 * What to return when the store or the configuration cannot be used (the
 * reason was logged where it was found).
 */
static int
mod_on_error(const struct modctx *m, int rc)
{
	pam_syslog(m->pamh, LOG_ERR, "cannot use the %s (%s): %s",
	    m->cfg_bad ? "configuration" : "store", ab_strerror(rc),
	    m->mode == MODE_AUTHFAIL ? "failing as the password did" :
	    m->mode == MODE_AUTHSUCC ||
	    m->cfg.on_error == AB_ON_ERROR_OPEN ? "stepping aside (on_error = "
	    "open)" : "refusing (on_error = closed)");
	if (m->mode == MODE_AUTHFAIL)
		return PAM_AUTH_ERR;	/* the password failed anyway */
	if (m->mode == MODE_AUTHSUCC)
		return PAM_IGNORE;
	return m->cfg.on_error == AB_ON_ERROR_CLOSED ? PAM_AUTH_ERR :
	    PAM_IGNORE;
}

/* Parse PAM_RHOST.  0 and *host, or 1 if there is nothing to count. */
static int
mod_rhost(struct modctx *m, struct ab_addr *host)
{
	const void *item = NULL;
	const char *rhost;
	char e[96];

	if (pam_get_item(m->pamh, PAM_RHOST, &item) != PAM_SUCCESS ||
	    item == NULL || *(const char *)item == '\0')
		return 1;	/* a local login: nothing to count */
	rhost = item;
	if (addr_parse(rhost, host) != 0) {
		pam_syslog(m->pamh, LOG_NOTICE, "PAM_RHOST \"%s\" is not an IP "
		    "address: not counted (is UseDNS on in sshd_config?)",
		    ab_escape(rhost, e, sizeof(e)));
		return 1;
	}
	return 0;
}

#define KEEP_DATA	"pam_autoban_keep"

static void
keep_cleanup(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	store_keep_free(data);
}

/*
 * Open the store with the write environments this PAM handle kept from
 * its earlier attempts (sshd's monitor runs every attempt of a connection
 * on one handle): one LMDB open per connection instead of one per
 * attempt.  Without memory for it, nothing is kept.
 */
static int
mod_store(struct modctx *m, struct ab_store **st)
{
	const void *data = NULL;
	struct ab_keep *k;
	int rc;

	if ((rc = store_open(st, &m->cfg, &m->log)) != 0)
		return rc;
	if (pam_get_data(m->pamh, KEEP_DATA, &data) == PAM_SUCCESS &&
	    data != NULL) {
		store_keep(*st, (struct ab_keep *)(uintptr_t)data);
		return 0;
	}
	if ((k = store_keep_new()) == NULL)
		return 0;
	if (pam_set_data(m->pamh, KEEP_DATA, k, keep_cleanup) != PAM_SUCCESS) {
		store_keep_free(k);
		return 0;
	}
	store_keep(*st, k);
	return 0;
}

/* PAM_SERVICE as the store keeps it (ab_service_name); "" if unset. */
static void
mod_service(struct modctx *m, char svc[AB_SERVICE_MAX])
{
	const void *item = NULL;

	if (pam_get_item(m->pamh, PAM_SERVICE, &item) != PAM_SUCCESS)
		item = NULL;
	ab_service_name(item, svc);
}

/* PAM_USER as the application set it (never prompted for), or NULL. */
static const char *
mod_user(struct modctx *m)
{
	const void *item = NULL;

	if (pam_get_item(m->pamh, PAM_USER, &item) != PAM_SUCCESS)
		return NULL;
	return item;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Log the refusal of a host banned before (a new ban the policy logs). */
static void
log_refusal(struct modctx *m, const struct ab_addr *host,
    const struct ab_decision *d, int64_t now)
{
	char a[AB_ADDRSTRLEN], p[AB_ADDRSTRLEN], left[32];

	if (d->verdict == AB_BANNED)
		return;
	pam_syslog(m->pamh, LOG_NOTICE, "refusing %s: banned as %s (%s), %s "
	    "left", addr_format(host, a, sizeof(a)),
	    addr_format(&d->ban.prefix, p, sizeof(p)),
	    ab_origin_name(d->ban.origin),
	    ab_fmt_duration(d->ban.until - now, left, sizeof(left)));
}

/* Keep the attempt id for pam_sm_setcred; see the top of the file. */
static void
remember_attempt(struct modctx *m, int64_t id)
{
	char kv[64];

	snprintf(kv, sizeof(kv), "%s=%lld", AB_ATTEMPT_ENV, (long long)id);
	if (pam_putenv(m->pamh, kv) != PAM_SUCCESS)
		pam_syslog(m->pamh, LOG_WARNING, "cannot keep the attempt id: "
		    "a good login will count as a failure");
}

EXPORT int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct modctx m;
	struct ab_store *st = NULL;
	struct ab_decision d;
	struct ab_addr host;
	char svc[AB_SERVICE_MAX];
	int64_t now, began = now_ns();
	int rc;

	(void)flags;
	mod_setup(&m, pamh, argc, argv);
	if (mod_rhost(&m, &host) != 0)
		return m.mode == MODE_AUTHFAIL ? PAM_AUTH_ERR : PAM_IGNORE;
	if (config_is_ignored(&m.cfg, &host))
		return m.mode == MODE_AUTHFAIL ? PAM_AUTH_ERR : PAM_IGNORE;
	if (m.cfg_bad)
		return mod_on_error(&m, m.cfg_bad);
	if ((rc = mod_store(&m, &st)) != 0)
		return mod_on_error(&m, rc);
	mod_service(&m, svc);
	now = now_ns();
	switch (m.mode) {
	case MODE_ONELINE:
		rc = policy_attempt_user(st, &host, svc, mod_user(&m), now, &d);
		break;
	case MODE_PREAUTH:
		rc = policy_check(st, &host, now, &d);
		break;
	case MODE_AUTHFAIL:
		rc = policy_fail_user(st, &host, svc, mod_user(&m), now, &d);
		break;
	case MODE_AUTHSUCC:
		rc = policy_success(st, &host, now);
		if (rc == 0 && policy_trust_success(st, &host, mod_user(&m),
		    now / 1000000000) < 0)
			pam_syslog(pamh, LOG_WARNING, "could not record the "
			    "trust this login earned");
		d.verdict = AB_PASS;
		break;
	default:
		rc = AB_ECONFIG;
	}
	/* Counted for banhelper status and metrics; never changes the
	 * verdict (a full store still refuses). */
	if (rc == 0 && (d.verdict == AB_REFUSE || d.verdict == AB_BANNED) &&
	    store_refusal(st, svc) != 0)
		pam_syslog(pamh, LOG_WARNING, "could not count a refusal");
	store_close(st);
	if (rc != 0)
		return mod_on_error(&m, rc);
	switch (d.verdict) {
	case AB_REFUSE:
	case AB_BANNED:
		log_refusal(&m, &host, &d, now / 1000000000);
		if (m.debug && d.verdict == AB_BANNED) {
			char a[AB_ADDRSTRLEN];

			/* For timing a ban from its cause (bench/reaction.sh). */
			pam_syslog(pamh, LOG_DEBUG, "%s: ban stored; this call "
			    "began at %lld.%06lld (CLOCK_REALTIME)",
			    addr_format(&host, a, sizeof(a)),
			    (long long)(began / 1000000000),
			    (long long)(began % 1000000000 / 1000));
		}
		/* sshd ends the connection on PAM_MAXTRIES: no more guesses. */
		return PAM_MAXTRIES;
	case AB_PASS:
		if (m.mode == MODE_ONELINE && d.attempt != 0)
			remember_attempt(&m, d.attempt);
		if (m.debug) {
			char a[AB_ADDRSTRLEN];

			pam_syslog(pamh, LOG_DEBUG, "%s: %u failure(s) in "
			    "window", addr_format(&host, a, sizeof(a)),
			    d.failures);
		}
		break;
	}
	return m.mode == MODE_AUTHFAIL ? PAM_AUTH_ERR : PAM_IGNORE;
}

/* Strict positive decimal. */
static int
parse_id(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return v > 0 ? 0 : -1;
}

EXPORT int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct modctx m;
	struct ab_store *st = NULL;
	struct ab_addr host;
	char svc[AB_SERVICE_MAX];
	int64_t id;
	int rc, bad;

	if (!(flags & (PAM_ESTABLISH_CRED | PAM_REINITIALIZE_CRED)))
		return PAM_SUCCESS;
	bad = parse_id(pam_getenv(pamh, AB_ATTEMPT_ENV), &id);
	if (pam_getenv(pamh, AB_ATTEMPT_ENV) == NULL)
		return PAM_SUCCESS;
	/* Gone before anything else: refund at most once per login. */
	pam_putenv(pamh, AB_ATTEMPT_ENV);
	if (bad)
		return PAM_SUCCESS;
	mod_setup(&m, pamh, argc, argv);
	if (m.cfg_bad || mod_rhost(&m, &host) != 0)
		return PAM_SUCCESS;
	if (mod_store(&m, &st) != 0)
		return PAM_SUCCESS;
	mod_service(&m, svc);
	rc = policy_refund_user(st, &host, svc, mod_user(&m), id, now_ns());
	/* A good password: the pair earns trust (earned.c). */
	if (policy_trust_success(st, &host, mod_user(&m), now_ns() /
	    1000000000) < 0)
		pam_syslog(pamh, LOG_WARNING, "could not record the trust this "
		    "login earned");
	store_close(st);
	if (rc < 0)
		pam_syslog(pamh, LOG_WARNING, "could not refund the attempt of "
		    "a good login: %s", ab_strerror(rc));
	else if (m.debug) {
		char a[AB_ADDRSTRLEN];

		pam_syslog(pamh, LOG_DEBUG, "%s: good login, %s",
		    addr_format(&host, a, sizeof(a)),
		    rc == 1 ? "attempt refunded" : "nothing to refund");
	}
	return PAM_SUCCESS;
}

/*
 * The account line ("account optional pam_autoban.so"): every login that
 * got this far succeeded, by any method, a public key included (those
 * never reach the auth stack).  The pair (unit, PAM_USER) earns trust and
 * a PAM-only ban of the unit ends.  Never refuses: PAM_IGNORE.
 */
EXPORT int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct modctx m;
	struct ab_store *st = NULL;
	struct ab_addr host;
	int rc;

	(void)flags;
	mod_setup(&m, pamh, argc, argv);
	if (m.cfg_bad || m.cfg.trust_factor <= 1 ||
	    mod_rhost(&m, &host) != 0 || config_is_ignored(&m.cfg, &host))
		return PAM_IGNORE;
	if (mod_store(&m, &st) != 0)
		return PAM_IGNORE;
	rc = policy_trust_success(st, &host, mod_user(&m), now_ns() /
	    1000000000);
	store_close(st);
	if (rc < 0)
		pam_syslog(pamh, LOG_WARNING, "could not record the trust this "
		    "login earned: %s", ab_strerror(rc));
	return PAM_IGNORE;
}
