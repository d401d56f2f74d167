/*
 * pam_lmdb_floor.c - a PAM module that links liblmdb.so and does nothing
 * (bench/pam-cost.sh builds it): the floor any module that keeps its
 * state in LMDB, as Debian ships it, pays per connection for loading the
 * library.  Beside pam_permit (a module that loads and does nothing) it
 * shows what of autoban's cost is the library's, not autoban's.
 */
#include <stddef.h>

#include <lmdb.h>
#include <security/pam_modules.h>

#define EXPORT	__attribute__((visibility("default")))

EXPORT int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argv;
	/* Never true (PAM passes argc >= 0): keeps the link to LMDB. */
	if (argc < 0)
		return mdb_version(NULL, NULL, NULL) != NULL ? PAM_IGNORE :
		    PAM_SERVICE_ERR;
	return PAM_IGNORE;
}

EXPORT int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}
