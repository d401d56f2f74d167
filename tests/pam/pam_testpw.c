/*
 * pam_testpw.so - a password module for the tests only: it asks for the
 * password, appends one line "RHOST PASSWORD-OK|PASSWORD-BAD" to a count
 * file, and succeeds when the password equals password=VALUE.
 *
 *   auth required /path/pam_testpw.so password=secret count=/tmp/file
 *
 * The count file is where "the password module ran" is observed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define EXPORT	__attribute__((visibility("default")))

EXPORT int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	const char *want = "secret", *count = NULL, *tok = NULL;
	const void *rhost = NULL;
	char line[512];
	int i, ok, fd;

	(void)flags;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "password=", 9) == 0)
			want = argv[i] + 9;
		else if (strncmp(argv[i], "count=", 6) == 0)
			count = argv[i] + 6;
	}
	if (pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL) != PAM_SUCCESS ||
	    tok == NULL)
		return PAM_AUTH_ERR;
	ok = strcmp(tok, want) == 0;
	pam_get_item(pamh, PAM_RHOST, &rhost);
	if (count != NULL) {
		char *c;

		/* One line per run, whatever the rhost holds. */
		snprintf(line, sizeof(line), "%.200s",
		    rhost != NULL ? (const char *)rhost : "-");
		for (c = line; *c != '\0'; c++)
			if (*c < 0x20 || *c == 0x7f)
				*c = '?';
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    " %s\n", ok ? "PASSWORD-OK" : "PASSWORD-BAD");
		fd = open(count, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (write(fd, line, strlen(line)) < 0)
				ok = 0;
			close(fd);
		}
	}
	return ok ? PAM_SUCCESS : PAM_AUTH_ERR;
}

EXPORT int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
