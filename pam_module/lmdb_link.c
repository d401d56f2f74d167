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
 * hidden stderr defined here satisfies that reference.  It stays NULL:
 * LMDB's only use of it is that message, and the __fprintf_chk that formats
 * it is cold.c's, which takes a NULL stream as libc's stderr and looks that
 * up then (a constructor that copied libc's stream here cost a dlsym on
 * every load).  Nothing else in the module uses stderr.
 * Build with LMDB_STATIC=0 to link liblmdb.so instead (and drop this file).
 */
#include <stdio.h>

#undef stderr
__attribute__((visibility("hidden"))) FILE *stderr;
