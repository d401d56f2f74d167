/*
 * pamdrive - run PAM transactions the way sshd does per connection:
 * pam_start_confdir, PAM_RHOST, pam_authenticate, pam_setcred on success,
 * pam_end.  Used by the tests (results, concurrency, valgrind) and by the
 * benchmarks (throughput and latency).
 *
 *   pamdrive -c CONFDIR -s SERVICE [-u USER] [-p PASSWORD] [-r RHOST |
 *            -H HOSTS [-b v4|v6] [-F FIRST]] [-n N] [-P PROCS] [-T THREADS]
 *            [-A ATTEMPTS] [-S] [-E] [-v] [-L FILE]
 *
 * With -H, transaction k of worker w comes from host number
 * (FIRST + w * N + k) mod HOSTS (FIRST 0 by default), so that runs given
 * different FIRSTs count different hosts.
 *
 * -A makes ATTEMPTS pam_authenticate calls in each transaction (one PAM
 * handle), as sshd's monitor does for the passwords of one connection,
 * ending early on success or PAM_MAXTRIES; the summary's result counts
 * are then per attempt (per transaction, the last attempt's, with -E).
 *
 * -E runs every transaction in a fresh process (fork and exec of pamdrive
 * itself), as sshd does per connection: libraries and modules are loaded
 * anew each time.  Latency then covers fork, exec, the transaction, exit.
 *
 * Prints one summary line:
 *   n=... success=... auth_err=... maxtries=... other=... secs=... ops=...
 *   p50_us=... p99_us=... p999_us=... heap_kb=... cpu_s=...
 * heap_kb is this process's malloc heap at the end (mallinfo2's arena): with
 * -P 1 and without -E every transaction ran in this process, as every
 * attempt of one connection runs in sshd's monitor.  cpu_s is the CPU time
 * (user and system) of this process and of every process it waited for:
 * with -E that includes each transaction's fork, exec and exit.
 * With -v, also one line per transaction: the pam_authenticate result name.
 * With -L, every transaction's latency (us, one a line) is appended to FILE,
 * so that runs split in parts can be summed (bench/pam-cost.sh).
 * Exit status 0 unless a PAM call could not be made at all.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *confdir, *service, *user, *password, *rhost, *base;
	const char *latfile;
	long hosts, n, first, attempts;
	int procs, threads, setcred, verbose, exec, one;
	const char *self;
};

enum { R_SUCCESS, R_AUTH_ERR, R_MAXTRIES, R_OTHER, R_N };

struct shared {
	long counts[R_N];
	int failed;
	pthread_mutex_t lock;
	double lat[];		/* microseconds, procs * threads * n */
};

struct worker {
	const struct opts *o;
	struct shared *sh;
	long index;		/* worker number */
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_response *r;
	int i;

	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup((const char *)data);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* cpu_secs WHO: user plus system time of getrusage(WHO), in seconds */
static double
cpu_secs(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) != 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
host_name(const struct opts *o, long i, char *buf, size_t len)
{
	if (o->rhost != NULL) {
		snprintf(buf, len, "%s", o->rhost);
	} else if (strcmp(o->base, "v4") == 0) {
		/* 768 documentation addresses: 192.0.2/24, 198.51.100/24, ... */
		static const char *nets[] = { "192.0.2", "198.51.100",
		    "203.0.113" };
		long h = i % 768;

		snprintf(buf, len, "%s.%ld", nets[h / 256], h % 256);
	} else {
		/* One /64 per host inside 2001:db8::/32. */
		snprintf(buf, len, "2001:db8:%lx:%lx::1", (i >> 16) & 0xffff,
		    i & 0xffff);
	}
}

/*
 * Modules may ask libpam to delay a failure (pam_faillock, pam_unix do);
 * the driver measures work, not sleeps, so its delay function does nothing.
 */
static void
no_delay(int retval, unsigned usec, void *appdata)
{
	(void)retval;
	(void)usec;
	(void)appdata;
}

static int
result_index(int rc)
{
	return rc == PAM_SUCCESS ? R_SUCCESS : rc == PAM_AUTH_ERR ?
	    R_AUTH_ERR : rc == PAM_MAXTRIES ? R_MAXTRIES : R_OTHER;
}

/*
 * One PAM transaction as sshd does it; returns the last pam_authenticate
 * code.  With counts, each attempt's result is added there.
 */
static int
transaction(const struct opts *o, const char *host, long *counts)
{
	struct pam_conv pc = { conv, (void *)(uintptr_t)o->password };
	pam_handle_t *pamh = NULL;
	long i;
	int rc;

	rc = pam_start_confdir(o->service, o->user, &pc, o->confdir, &pamh);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pamdrive: pam_start_confdir: %d\n", rc);
		return -1;
	}
	pam_set_item(pamh, PAM_RHOST, host);
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)(uintptr_t)no_delay);
	rc = pam_authenticate(pamh, 0);
	if (counts != NULL)
		counts[result_index(rc)]++;
	for (i = 1; i < o->attempts && rc != PAM_SUCCESS &&
	    rc != PAM_MAXTRIES; i++) {
		rc = pam_authenticate(pamh, 0);
		if (counts != NULL)
			counts[result_index(rc)]++;
	}
	if (rc == PAM_SUCCESS && o->setcred) {
		/* sshd: once in the monitor, once in the session child */
		pam_setcred(pamh, PAM_ESTABLISH_CRED);
		pam_setcred(pamh, PAM_ESTABLISH_CRED);
		pam_setcred(pamh, PAM_DELETE_CRED);
	}
	pam_end(pamh, rc);
	return rc;
}

/* The same in a fresh process: fork, exec pamdrive -1, wait. */
static int
transaction_exec(const struct opts *o, const char *host)
{
	char *argv[20], att[24];
	int i = 0, status;
	pid_t pid;

	argv[i++] = (char *)(uintptr_t)o->self;
	argv[i++] = (char *)"-1";
	argv[i++] = (char *)"-c";
	argv[i++] = (char *)(uintptr_t)o->confdir;
	argv[i++] = (char *)"-s";
	argv[i++] = (char *)(uintptr_t)o->service;
	argv[i++] = (char *)"-u";
	argv[i++] = (char *)(uintptr_t)o->user;
	argv[i++] = (char *)"-p";
	argv[i++] = (char *)(uintptr_t)o->password;
	argv[i++] = (char *)"-r";
	argv[i++] = (char *)(uintptr_t)host;
	if (o->setcred)
		argv[i++] = (char *)"-S";
	if (o->attempts > 1) {
		snprintf(att, sizeof(att), "%ld", o->attempts);
		argv[i++] = (char *)"-A";
		argv[i++] = att;
	}
	argv[i] = NULL;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execv(o->self, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) >= 100)
		return -1;
	return WEXITSTATUS(status);
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	long k, counts[R_N] = { 0 };
	double *lat = w->sh->lat + w->index * o->n;

	for (k = 0; k < o->n; k++) {
		char host[64];
		double t0 = now_us();
		int rc, r;

		host_name(o, (o->first + w->index * o->n + k) % o->hosts, host,
		    sizeof(host));
		rc = o->exec ? transaction_exec(o, host) : transaction(o, host,
		    o->attempts > 1 ? counts : NULL);
		if (rc < 0) {
			w->sh->failed = 1;
			return NULL;
		}
		lat[k] = now_us() - t0;
		r = result_index(rc);
		if (o->exec || o->attempts <= 1)
			counts[r]++;
		if (o->verbose)
			printf("%s %s\n", host, rc == PAM_SUCCESS ? "success" :
			    rc == PAM_AUTH_ERR ? "auth_err" :
			    rc == PAM_MAXTRIES ? "maxtries" : "other");
	}
	pthread_mutex_lock(&w->sh->lock);
	for (k = 0; k < R_N; k++)
		w->sh->counts[k] += counts[k];
	pthread_mutex_unlock(&w->sh->lock);
	return NULL;
}

static void
run_process(const struct opts *o, struct shared *sh, int p)
{
	pthread_t tid[64];
	struct worker w[64];
	int t;

	for (t = 0; t < o->threads; t++) {
		w[t].o = o;
		w[t].sh = sh;
		w[t].index = (long)p * o->threads + t;
		if (o->threads == 1) {
			work(&w[t]);
			return;
		}
		if (pthread_create(&tid[t], NULL, work, &w[t]) != 0) {
			sh->failed = 1;
			return;
		}
	}
	for (t = 0; t < o->threads; t++)
		pthread_join(tid[t], NULL);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct opts o = { NULL, NULL, "tester", "wrong", NULL, "v6", NULL, 1, 1,
	    0, 1, 1, 1, 0, 0, 0, 0, NULL };
	pthread_mutexattr_t ma;
	struct shared *sh;
	size_t total, size;
	double t0, secs;
	int c, p;

	while ((c = getopt(argc, argv, "1c:s:u:p:r:H:b:F:n:A:P:T:SEvL:")) != -1) {
		switch (c) {
		case 'c': o.confdir = optarg; break;
		case 's': o.service = optarg; break;
		case 'u': o.user = optarg; break;
		case 'p': o.password = optarg; break;
		case 'r': o.rhost = optarg; break;
		case 'H': o.hosts = atol(optarg); break;
		case 'b': o.base = optarg; break;
		case 'F': o.first = atol(optarg); break;
		case 'n': o.n = atol(optarg); break;
		case 'A': o.attempts = atol(optarg); break;
		case 'P': o.procs = atoi(optarg); break;
		case 'T': o.threads = atoi(optarg); break;
		case 'S': o.setcred = 1; break;
		case 'E': o.exec = 1; break;
		case '1': o.one = 1; break;
		case 'v': o.verbose = 1; break;
		case 'L': o.latfile = optarg; break;
		default:
			fprintf(stderr, "usage: see the top of pamdrive.c\n");
			return 2;
		}
	}
	if (o.confdir == NULL || o.service == NULL || o.hosts < 1 ||
	    o.first < 0 || o.n < 1 || o.procs < 1 || o.threads < 1 ||
	    o.threads > 64) {
		fprintf(stderr, "pamdrive: need -c CONFDIR -s SERVICE and "
		    "positive counts\n");
		return 2;
	}
	if (strcmp(o.base, "v4") == 0 && o.hosts > 768)
		o.hosts = 768;
	if (o.one) {
		/* Child of -E: one transaction, its code as exit status. */
		int rc = transaction(&o, o.rhost != NULL ? o.rhost : "192.0.2.1",
		    NULL);

		return rc < 0 ? 100 : rc;
	}
	o.self = "/proc/self/exe";
	{
		static char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n > 0) {
			self[n] = '\0';
			o.self = self;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	total = (size_t)o.procs * (size_t)o.threads * (size_t)o.n;
	size = sizeof(*sh) + total * sizeof(double);
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (sh == MAP_FAILED) {
		perror("pamdrive: mmap");
		return 1;
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->lock, &ma);
	t0 = now_us();
	if (o.procs == 1) {
		run_process(&o, sh, 0);
	} else {
		pid_t pids[256];

		for (p = 0; p < o.procs && p < 256; p++) {
			if ((pids[p] = fork()) == 0) {
				run_process(&o, sh, p);
				_exit(sh->failed);
			}
			if (pids[p] < 0) {
				perror("pamdrive: fork");
				return 1;
			}
		}
		for (p = 0; p < o.procs && p < 256; p++)
			waitpid(pids[p], NULL, 0);
	}
	secs = (now_us() - t0) / 1e6;
	if (o.latfile != NULL) {
		FILE *lf = fopen(o.latfile, "a");
		size_t i;

		if (lf == NULL) {
			perror(o.latfile);
			return 1;
		}
		for (i = 0; i < total; i++)
			fprintf(lf, "%.0f\n", sh->lat[i]);
		if (fclose(lf) != 0) {
			perror(o.latfile);
			return 1;
		}
	}
	qsort(sh->lat, total, sizeof(double), cmp_double);
	printf("n=%zu success=%ld auth_err=%ld maxtries=%ld other=%ld "
	    "secs=%.3f ops=%.1f p50_us=%.0f p99_us=%.0f p999_us=%.0f "
	    "heap_kb=%zu cpu_s=%.6f\n",
	    total, sh->counts[R_SUCCESS], sh->counts[R_AUTH_ERR],
	    sh->counts[R_MAXTRIES], sh->counts[R_OTHER], secs, total / secs,
	    sh->lat[total / 2], sh->lat[total * 99 / 100],
	    sh->lat[total * 999 / 1000], mallinfo2().arena / 1024,
	    cpu_secs(RUSAGE_SELF) + cpu_secs(RUSAGE_CHILDREN));
	return sh->failed;
}
