/*
 * test_pam_faults.c - the real module when its files or disks fail: a
 * store directory that cannot be trusted, a store file cut short or with
 * garbage, a full /run, a full disk at the first ban, a full ban store, a
 * process killed or stopped holding the lock.  Each under the on_error it
 * names, and never a crash: a signal here ends the suite.
 */
#include "pamlib.h"

#include <signal.h>
#include <sys/mount.h>

/* ---- a store that cannot be used, under both on_error values ------------ */

enum fault { F_MISSING, F_OWNER, F_MODE, F_SYMLINK, F_UNWRITABLE, F_FILE,
    F_SHORT, F_BADMETA };

static int
fill_cb(size_t i, struct ab_ban *rec, int found, void *arg)
{
	const int64_t *t = arg;

	(void)i;
	(void)found;
	rec->origin = AB_ORIGIN_MANUAL;
	rec->start = *t;
	rec->until = *t + 3600;
	rec->nbans = 1;
	return AB_WRITE;
}

/* A ban store of 3000 bans (many pages), then damaged as asked. */
static void
damaged_store(struct pfix *p, int shorten)
{
	struct ab_addr v[500];
	struct ab_store *st;
	char path[600];
	int64_t t = (int64_t)time(NULL);
	int i, k, fd;

	assert_int_equal(store_open(&st, &p->cfg, NULL), 0);
	for (k = 0; k < 6; k++) {
		for (i = 0; i < 500; i++) {
			char a[64];

			snprintf(a, sizeof(a), "2001:db8:%x:%x::/64", k, i);
			assert_int_equal(addr_parse_prefix(a, 0, &v[i]), 0);
		}
		assert_int_equal(store_ban_update_many(st, v, 500, fill_cb, &t),
		    0);
	}
	store_close(st);
	snprintf(path, sizeof(path), "%s/%s", p->cfg.db, AB_BANS_FILE);
	if (shorten) {
		struct stat sb;

		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(truncate(path, sb.st_size / 2), 0);
		return;
	}
	/* A page size of 0 in both metas: LMDB divides by it. */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\0", 1, 16 + 25), 1);
	assert_int_equal(pwrite(fd, "\0", 1, 4096 + 16 + 25), 1);
	close(fd);
}

static void
make_fault(struct pfix *p, enum fault f)
{
	char real[600];

	switch (f) {
	case F_MISSING:	/* its parent does not exist */
		snprintf(p->cfg.db, sizeof(p->cfg.db), "%s/gone/db", p->dir);
		break;
	case F_OWNER:	/* someone else's, where anyone could have made it */
		snprintf(real, sizeof(real), "%s/shared", p->dir);
		mkdir(real, 01777);
		assert_int_equal(chmod(real, 01777), 0);
		snprintf(p->cfg.db, sizeof(p->cfg.db), "%s/db", real);
		mkdir(p->cfg.db, 0700);
		assert_int_equal(chown(p->cfg.db, 65534, 65534), 0);
		break;
	case F_MODE:
		mkdir(p->cfg.db, 0700);
		assert_int_equal(chmod(p->cfg.db, 0775), 0);
		break;
	case F_SYMLINK:
		snprintf(real, sizeof(real), "%s/real", p->dir);
		mkdir(real, 0700);
		assert_int_equal(symlink(real, p->cfg.db), 0);
		break;
	case F_UNWRITABLE:	/* see the caller: runs as nobody */
		break;
	case F_FILE:	/* the store file is a directory */
		mkdir(p->cfg.db, 0700);
		snprintf(real, sizeof(real), "%s/%s", p->cfg.db, AB_BANS_FILE);
		mkdir(real, 0700);
		break;
	case F_SHORT:	/* cut short, as a full disk or a bad copy leaves it */
	case F_BADMETA:	/* garbage where LMDB finds its page size */
		damaged_store(p, f == F_SHORT);
		break;
	}
}

static void
store_faults(void **state)
{
	static const char *names[] = { "missing", "owner", "mode", "symlink",
	    "unwritable", "file", "short", "badmeta" };
	struct pfix *p = *state;
	int f, closed;

	/* Each fault gets a fixture of its own; the runner's comes back. */
	teardown((void **)&p);
	for (f = F_MISSING; f <= F_BADMETA; f++) {
		for (closed = 0; closed <= 1; closed++) {
			char extra[700];
			int before, want_open;

			setup((void **)&p);
			*state = p;
			make_fault(p, f);
			snprintf(extra, sizeof(extra), "on_error = %s\n"
			    "db = %s\n", closed ? "closed" : "open", p->cfg.db);
			write_conf(p, extra);
			write_oneline(p, "");
			if (f == F_UNWRITABLE) {
				/* An unprivileged caller cannot open the
				 * root-only store. */
				pid_t pid;
				int status;

				mkdir(p->cfg.db, 0700);
				mkdir(p->cfg.runtime_dir, 0700);
				chmod(p->dir, 0755);
				chmod(p->confdir, 0755);
				if ((pid = fork()) == 0) {
					/* No cmocka asserts in here: a failed
					 * one would longjmp back into the
					 * runner inside this child. */
					if (setgid(65534) != 0 ||
					    setuid(65534) != 0)
						_exit(98);
					_exit(auth_plain(p, "one",
					    "203.0.113.99", "secret"));
				}
				assert_int_equal(waitpid(pid, &status, 0), pid);
				if (WEXITSTATUS(status) != (closed ?
				    PAM_AUTH_ERR : PAM_SUCCESS))
					fail_msg("fault %s closed=%d: got %d",
					    names[f], closed,
					    WEXITSTATUS(status));
				teardown((void **)&p);
				continue;
			}
			before = checks(p);
			want_open = closed ? PAM_AUTH_ERR : PAM_SUCCESS;
			if (auth(p, "one", "203.0.113.99", "secret") !=
			    want_open)
				fail_msg("fault %s closed=%d: wrong result",
				    names[f], closed);
			/* closed: refused before the password module ran */
			assert_int_equal(checks(p), before + !closed);
			assert_syslog(closed ? "refusing (on_error = closed)" :
			    "stepping aside (on_error = open)");
			teardown((void **)&p);
		}
	}
	setup((void **)&p);
	*state = p;
}


/* ---- full disks, a full store ------------------------------------------- */

/* A small tmpfs on path, private to this process's mount namespace. */
static void
tiny_tmpfs(const char *path, const char *size)
{
	char opts[64];

	mkdir(path, 0700);
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("autoban-full", path, "tmpfs", 0, opts) != 0)
		fail_msg("mount tmpfs on %s: %s", path, strerror(errno));
}

/* Write a file into dir until the file system is full. */
static void
fill_up(const char *dir)
{
	char path[700], buf[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	memset(buf, 'f', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	while (write(fd, buf, 1) > 0)
		;
	close(fd);
}

static void
unfill(const char *dir)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/filler", dir);
	assert_int_equal(unlink(path), 0);
}

/*
 * The counts grow into a full /run: each attempt follows on_error and the
 * process lives (with MDB_WRITEMAP the write into the sparse file raised
 * SIGBUS); once there is room again, counting goes on.
 */
static void
full_runtime_dir(void **state)
{
	struct pfix *p = *state;
	struct ab_counter c;
	char host[64];
	int i, before;

	tiny_tmpfs(p->cfg.runtime_dir, "256k");
	write_conf(p, "maxretry = 100\non_error = open\n");
	write_oneline(p, "");
	assert_int_equal(auth(p, "one", "203.0.113.1", "wrong"), PAM_AUTH_ERR);
	fill_up(p->cfg.runtime_dir);
	before = checks(p);
	for (i = 0; i < 300; i++) {
		snprintf(host, sizeof(host), "2001:db8:%x::1", i + 1);
		if (auth(p, "one", host, "secret") != PAM_SUCCESS)
			fail_msg("attempt %d with a full tmpfs was not let "
			    "through (on_error = open)", i);
	}
	assert_int_equal(checks(p), before + 300);
	assert_syslog("stepping aside (on_error = open)");
	write_conf(p, "maxretry = 100\non_error = closed\n");
	assert_int_equal(auth(p, "one", "2001:db8:ffff::1", "secret"),
	    PAM_AUTH_ERR);
	unfill(p->cfg.runtime_dir);
	assert_int_equal(auth(p, "one", "2001:db8:fffe::1", "wrong"),
	    PAM_AUTH_ERR);
	assert_int_equal(counted(p, "2001:db8:fffe::/64", &c), 1);
	umount2(p->cfg.runtime_dir, MNT_DETACH);
}

/*
 * The disk is full when the first ban is made: bans.mdb is left empty or
 * cut short.  Once there is room, the next attempt makes it anew and the
 * host is banned (it stayed "Bad file descriptor", or refused everyone).
 */
static void
full_disk_first_ban(void **state)
{
	struct pfix *p = *state;
	struct ab_ban b;
	int i;

	tiny_tmpfs(p->cfg.db, "64k");
	write_conf(p, "maxretry = 2\non_error = open\n");
	write_oneline(p, "");
	fill_up(p->cfg.db);
	for (i = 0; i < 3; i++)
		auth(p, "one", "198.51.100.77", "wrong");
	assert_syslog("stepping aside (on_error = open)");
	unfill(p->cfg.db);
	assert_int_equal(auth(p, "one", "198.51.100.77", "secret"),
	    PAM_MAXTRIES);
	assert_int_equal(banned(p, "198.51.100.77", &b), 1);
	/* Someone else is not refused: the store is sound again. */
	assert_int_equal(auth(p, "one", "198.51.100.78", "secret"),
	    PAM_SUCCESS);
	umount2(p->cfg.db, MNT_DETACH);
}

/*
 * A ban store full of other prefixes still bans a new attacker after
 * maxretry (it got unlimited passwords when writes failed).
 */
static void
full_ban_store_still_bans(void **state)
{
	struct pfix *p = *state;
	struct ab_addr v[500];
	struct ab_store *st;
	int64_t t = (int64_t)time(NULL);
	int i, k, before;

	write_conf(p, "maxretry = 1\nmapsize = 1M\n");
	write_oneline(p, "");
	assert_int_equal(store_open(&st, &p->cfg, NULL), 0);
	for (k = 0; k < 12; k++) {
		for (i = 0; i < 500; i++) {
			char a[64];

			snprintf(a, sizeof(a), "2001:db8:%x:%x::/64", k, i);
			assert_int_equal(addr_parse_prefix(a, 0, &v[i]), 0);
		}
		assert_int_equal(store_ban_update_many(st, v, 500, fill_cb, &t),
		    0);
	}
	store_close(st);
	before = checks(p);
	for (i = 0; i < 8; i++)
		auth(p, "one", "203.0.113.55", "wrong");
	assert_int_equal(checks(p), before + 1);
}

/* ---- a process that dies or stops holding the lock ---------------------- */

static int
hold_cb(struct ab_ban *rec, int found, void *arg)
{
	const int *sig = arg;

	(void)found;
	rec->origin = AB_ORIGIN_MANUAL;
	rec->start = (int64_t)time(NULL);
	rec->until = rec->start + 3600;
	raise(*sig);		/* inside the write transaction */
	return AB_WRITE;
}

/* A child that takes the ban store's write lock and raises sig there. */
static pid_t
lock_holder(struct pfix *p, int sig)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct ab_store *st;
		struct ab_addr a;

		if (store_open(&st, &p->cfg, NULL) != 0 ||
		    addr_parse_prefix("192.0.2.99", 0, &a) != 0)
			_exit(1);
		_exit(store_ban_update(st, &a, hold_cb, &sig) == 0 ? 0 : 2);
	}
	assert_true(pid > 0);
	return pid;
}

/* Killed holding the write lock: the next writer goes on. */
static void
lock_holder_killed(void **state)
{
	struct pfix *p = *state;
	struct ab_ban b;
	int status;
	pid_t pid;

	write_conf(p, "maxretry = 1\n");
	write_oneline(p, "");
	pid = lock_holder(p, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(auth(p, "one", "203.0.113.56", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth(p, "one", "203.0.113.56", "wrong"), PAM_MAXTRIES);
	assert_int_equal(banned(p, "203.0.113.56", &b), 1);
	assert_int_equal(banned(p, "192.0.2.99", &b), 0);	/* never made */
}

/*
 * Stopped holding it: a login waits at most the bounded time, then follows
 * on_error; once the holder goes on, its write lands and nothing is lost.
 */
static void
lock_holder_stopped(void **state)
{
	struct pfix *p = *state;
	struct timespec t0, t1;
	struct ab_ban b;
	int status, rc;
	pid_t pid;

	write_conf(p, "maxretry = 3\non_error = open\n");
	write_oneline(p, "");
	assert_int_equal(auth(p, "one", "203.0.113.57", "wrong"), PAM_AUTH_ERR);
	pid = lock_holder(p, SIGSTOP);
	assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
	assert_true(WIFSTOPPED(status));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = auth(p, "one", "203.0.113.57", "secret");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(pid, SIGCONT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(rc, PAM_SUCCESS);	/* stepped aside */
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	assert_syslog("lock: store is locked by another process");
	assert_int_equal(banned(p, "192.0.2.99", &b), 1);	/* landed */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(store_faults),
		T(full_runtime_dir),
		T(full_disk_first_ban),
		T(full_ban_store_still_bans),
		T(lock_holder_killed),
		T(lock_holder_stopped),
	};

	return cmocka_run_group_tests_name("pam-faults", tests, NULL, NULL);
}
