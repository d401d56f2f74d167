/*
 * wake.c - tell banhelper that a ban changed, without ever waiting for it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "autoban.h"

int
wake_send(const struct ab_config *cfg)
{
	struct sockaddr_un sun;
	int fd, rc = 0, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    cfg->runtime_dir, AB_WAKE_SOCK);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * The content does not matter: banhelper reads what changed from the
	 * store.  A full queue already holds a wake-up, and no daemon means the
	 * periodic reconcile or the next start picks the ban up.
	 */
	if (sendto(fd, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -EAGAIN)
			rc = 0;
	}
	close(fd);
	return rc;
}
