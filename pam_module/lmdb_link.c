/*
 * lmdb_link.c - lets Debian's liblmdb.a be linked into pam_autoban.so.
 *
 * Why static: every sshd connection loads the module afresh, and libpam
 * loads it with RTLD_NOW, so each shared library it pulls in costs a file
 * mapping and a symbol lookup per import on every connection.  Linking LMDB
 * in removes one library and its 69 eager imports from that path (measured:
 * 63 000 fewer instructions per connection under callgrind).
 *
 * Why this file: Debian builds liblmdb.a as PIE code, which a shared object
 * can take, except for one PC-relative reference to libc's data symbol
 * stderr (LMDB prints an assertion message to it just before abort()).  A
 * hidden stderr defined here satisfies that reference; the constructor
 * points it at libc's stream.  Nothing else in the module uses stderr.
 * Build with LMDB_STATIC=0 to link liblmdb.so instead (and drop this file).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

#undef stderr
__attribute__((visibility("hidden"))) FILE *stderr;

__attribute__((constructor)) static void
lmdb_link_init(void)
{
	FILE **libc_stderr = dlsym(RTLD_DEFAULT, "stderr");

	stderr = libc_stderr != NULL ? *libc_stderr : NULL;
}
