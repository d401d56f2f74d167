/*
 * test_cold.c - pam_module/cold.c: every function it defines is the one this
 * program calls (not libc's, bound at load), and each does what libc's
 * does, because each forwards to it.
 */
#include "testlib.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

/* &NAME here is cold.c's, not libc's: the call below really forwards. */
#define ASSERT_OURS(name) \
	assert_ptr_not_equal((void *)(uintptr_t)&name, \
	    dlsym(RTLD_DEFAULT, #name))

static void
bound_here(void **state)
{
	(void)state;
	ASSERT_OURS(pthread_mutex_init);
	ASSERT_OURS(pthread_mutex_lock);
	ASSERT_OURS(pthread_create);
	ASSERT_OURS(pthread_key_create);
	ASSERT_OURS(sigwait);
	ASSERT_OURS(write);
	ASSERT_OURS(msync);
	ASSERT_OURS(mkdir);
	ASSERT_OURS(renameat);
	ASSERT_OURS(strerror);
	ASSERT_OURS(geteuid);
	ASSERT_OURS(strtol);
	ASSERT_OURS(lseek);
	ASSERT_OURS(abort);
	ASSERT_OURS(__fprintf_chk);
	ASSERT_OURS(__sprintf_chk);
	/* Functions of the common paths stay ordinary imports. */
	assert_ptr_equal((void *)(uintptr_t)&openat,
	    dlsym(RTLD_DEFAULT, "openat"));
}

/* LMDB's robust, process-shared lock-table mutex, the way it sets one up. */
static void
robust_mutex(void **state)
{
	pthread_mutexattr_t ma;
	pthread_mutex_t m;

	(void)state;
	assert_int_equal(pthread_mutexattr_init(&ma), 0);
	assert_int_equal(pthread_mutexattr_setpshared(&ma,
	    PTHREAD_PROCESS_SHARED), 0);
	assert_int_equal(pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST),
	    0);
	assert_int_equal(pthread_mutex_init(&m, &ma), 0);
	assert_int_equal(pthread_mutexattr_destroy(&ma), 0);
	assert_int_equal(pthread_mutex_lock(&m), 0);
	/* Not "inconsistent": libc's answer, EINVAL, comes back. */
	assert_int_equal(pthread_mutex_consistent(&m), EINVAL);
	assert_int_equal(pthread_mutex_unlock(&m), 0);
	assert_int_equal(pthread_mutex_destroy(&m), 0);
}

struct handoff {
	pthread_mutex_t m;
	pthread_cond_t c;
	pthread_key_t key;
	int ready;
	pthread_t self;
	void *specific;
};

static void *
worker(void *arg)
{
	struct handoff *h = arg;
	int mark;

	h->self = pthread_self();
	pthread_setspecific(h->key, &mark);
	h->specific = pthread_getspecific(h->key) == &mark ? arg : NULL;
	pthread_mutex_lock(&h->m);
	h->ready = 1;
	pthread_cond_signal(&h->c);
	pthread_mutex_unlock(&h->m);
	return arg;
}

/* LMDB's copy thread and reader keys: a thread, a condition, a key. */
static void
thread_cond_key(void **state)
{
	struct handoff h;
	pthread_t t;
	void *ret = NULL;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(pthread_mutex_init(&h.m, NULL), 0);
	assert_int_equal(pthread_cond_init(&h.c, NULL), 0);
	assert_int_equal(pthread_key_create(&h.key, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, worker, &h), 0);
	pthread_mutex_lock(&h.m);
	while (!h.ready)
		assert_int_equal(pthread_cond_wait(&h.c, &h.m), 0);
	pthread_mutex_unlock(&h.m);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_ptr_equal(ret, &h);
	assert_true(pthread_equal(h.self, t));
	assert_false(pthread_equal(pthread_self(), t));
	assert_ptr_equal(h.specific, &h);
	assert_null(pthread_getspecific(h.key));	/* not set here */
	assert_int_equal(pthread_key_delete(h.key), 0);
	assert_int_equal(pthread_cond_destroy(&h.c), 0);
	assert_int_equal(pthread_mutex_destroy(&h.m), 0);
}

/* LMDB's copy thread blocks SIGPIPE and waits for it. */
static void
signals(void **state)
{
	sigset_t set, old;
	int sig = 0;

	(void)state;
	assert_int_equal(sigemptyset(&set), 0);
	assert_int_equal(sigaddset(&set, SIGUSR1), 0);
	assert_int_equal(sigaddset(&set, 100000), -1);	/* libc says EINVAL */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(sigwait(&set, &sig), 0);
	assert_int_equal(sig, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

static void
files_and_maps(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], path2[PATH_MAX], buf[16] = "";
	struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };
	void *map;
	int fd;

	snprintf(path, sizeof(path), "%s/f", f->dir);
	snprintf(path2, sizeof(path2), "%s/g", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "xy", 2), 2);
	assert_int_equal(writev(fd, iov, 2), 4);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 6);
	assert_string_equal(buf, "xyabcd");
	assert_int_equal(write(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fsync(-1), -1);
	assert_int_equal(errno, EBADF);

	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(madvise(map, 4096, MADV_RANDOM), 0);
	memcpy(map, "XY", 2);
	assert_int_equal(msync(map, 4096, MS_SYNC), 0);
	assert_int_equal(pread(fd, buf, 2, 0), 2);
	assert_memory_equal(buf, "XY", 2);
	munmap(map, 4096);
	close(fd);


	assert_int_equal(renameat(AT_FDCWD, path, AT_FDCWD, path2), 0);
	assert_int_equal(access(path2, F_OK), 0);
	assert_int_equal(renameat(AT_FDCWD, path, AT_FDCWD, path2), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(path, sizeof(path), "%s/d", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mkdir(path, 0700), -1);
	assert_int_equal(errno, EEXIST);
	assert_string_equal(strerror(ENOENT), "No such file or directory");
	assert_int_equal(geteuid(), (uid_t)syscall(SYS_geteuid));
}

static void
numbers_and_seeks(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], *end = NULL;
	int fd;

	/* LMDB reads "3.10" of a kernel release this way. */
	assert_int_equal(strtol("10-generic", &end, 10), 10);
	assert_string_equal(end, "-generic");
	assert_int_equal(strtol("x", &end, 10), 0);
	assert_string_equal(end, "x");

	snprintf(path, sizeof(path), "%s/s", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "abcdef", 6, 0), 6);
	assert_int_equal(lseek(fd, 0, SEEK_END), 6);
	assert_int_equal(lseek(fd, -2, SEEK_CUR), 4);
	assert_int_equal(lseek(-1, 0, SEEK_SET), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
}

/* LMDB's assertion message: its stderr (see lmdb_link.c) is NULL. */
static void
assertion_message(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], buf[64] = "", small[8];
	FILE *volatile none = NULL;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/err", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	assert_int_equal(__fprintf_chk(none, 1, "%s:%d", "mdb.c", 42), 8);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 8);
	assert_string_equal(buf, "mdb.c:42");
	close(fd);
	/* Compiled to __sprintf_chk by _FORTIFY_SOURCE. */
	assert_int_equal(sprintf(small, "%d-%d", 12, 34), 5);
	assert_string_equal(small, "12-34");
}

static void
abort_aborts(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bound_here),
		cmocka_unit_test(robust_mutex),
		cmocka_unit_test(thread_cond_key),
		cmocka_unit_test(signals),
		cmocka_unit_test_setup_teardown(files_and_maps, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(numbers_and_seeks,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(assertion_message, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test(abort_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
