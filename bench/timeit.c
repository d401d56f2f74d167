/*
 * timeit - one command's wall time and peak RSS, for the benchmarks:
 *   timeit CMD [ARG...]
 * Prints "SECONDS KIB STATUS" on stdout (CMD's stdout goes to /dev/null,
 * its stderr is left as it is); exits 0 unless CMD could not be run.
 *
 * GNU time gives the RSS but only centiseconds; timing from a script
 * counts the script's own forks.  The peak RSS the kernel keeps for a
 * child includes what the child had before exec, the forking parent's
 * pages: this program is small, so what it reports is CMD's.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	pid_t pid;
	int st, null;

	if (argc < 2) {
		fprintf(stderr, "usage: timeit CMD [ARG...]\n");
		return 2;
	}
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		perror("timeit: /dev/null");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) < 0) {
		perror("timeit: fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(null, STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "timeit: %s: cannot run it\n", argv[1]);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid) {
		perror("timeit: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.4f %ld %d\n", (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss,
	    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
