/*
 * testlib.h - shared helpers for the cmocka suites: a private temporary
 * directory per test, a log callback that keeps every message, and a
 * configuration whose stores live in that directory.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autoban.h"

#define NS	1000000000LL

struct logbuf {
	char text[16384];
	size_t len;
	unsigned n;
};

static void
logbuf_fn(void *ctx, int prio, const char *msg)
{
	struct logbuf *lb = ctx;
	int w;

	(void)prio;
	w = snprintf(lb->text + lb->len, sizeof(lb->text) - lb->len, "%s\n",
	    msg);
	if (w > 0 && lb->len + (size_t)w < sizeof(lb->text))
		lb->len += (size_t)w;
	lb->n++;
}

static inline void
logbuf_reset(struct logbuf *lb)
{
	lb->len = 0;
	lb->n = 0;
	lb->text[0] = '\0';
}

/* Assert that the log holds text (a plain substring). */
#define assert_logged(lb, s) do {					\
	if (strstr((lb)->text, (s)) == NULL)				\
		fail_msg("log lacks \"%s\"; log was:\n%s", (s), (lb)->text); \
} while (0)

/* A fresh directory under $AB_TMP (or /tmp), removed by rm_rf. */
static inline char *
tmpdir_new(void)
{
	const char *base = getenv("AB_TMP");
	char *p;

	if (base == NULL)
		base = "/tmp";
	if (asprintf(&p, "%s/unit.XXXXXX", base) < 0)
		return NULL;
	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static inline void
rm_rf(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* A test fixture: config with db and runtime_dir inside a temp dir. */
struct fixture {
	char *dir;
	struct ab_config cfg;
	struct logbuf lb;
	struct ab_log log;
	struct ab_store *st;
};

static inline int
fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->dir = tmpdir_new()) == NULL)
		return -1;
	config_defaults(&f->cfg);
	snprintf(f->cfg.db, sizeof(f->cfg.db), "%s/db", f->dir);
	snprintf(f->cfg.runtime_dir, sizeof(f->cfg.runtime_dir), "%s/run",
	    f->dir);
	f->cfg.mapsize = 16 << 20;
	f->log.fn = logbuf_fn;
	f->log.ctx = &f->lb;
	*state = f;
	return 0;
}

static inline int
fixture_teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Open the fixture's store (after the test adjusted cfg). */
static inline struct ab_store *
fixture_store(struct fixture *f)
{
	int rc;

	store_close(f->st);
	f->st = NULL;
	rc = store_open(&f->st, &f->cfg, &f->log);
	if (rc != 0)
		fail_msg("store_open: %s\n%s", ab_strerror(rc), f->lb.text);
	return f->st;
}

static inline struct ab_addr
A(const char *s)
{
	struct ab_addr a;

	if (addr_parse_prefix(s, 0, &a) != 0)
		fail_msg("bad test address %s", s);
	return a;
}

#endif
