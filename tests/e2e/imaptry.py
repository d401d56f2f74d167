#!/usr/bin/env python3
"""imaptry.py SRC HOST USER PASSWORD...

One IMAP connection from source address SRC to HOST:143, one LOGIN per
PASSWORD (an IMAP server answers several on one connection).  Prints one
line: "<result> <LOGINs answered>", result being "logged-in" (the last
LOGIN answered OK, and a SELECT of INBOX worked: a real session),
"denied" (every LOGIN answered NO) or "closed" (no connection, or the
server went away).  Bounded: 10 s per step, 60 s in all.
"""
import imaplib
import socket
import sys
import time


class SourcedIMAP4(imaplib.IMAP4):
    """imaplib's client, from a chosen source address."""

    def __init__(self, src, host, timeout):
        self._src = src
        super().__init__(host, 143, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._src, 0))


def main():
    if len(sys.argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    src, host, user = sys.argv[1:4]
    passwords = sys.argv[4:]
    deadline = time.monotonic() + 60
    try:
        conn = SourcedIMAP4(src, host, 10)
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error):
        print("closed 0")
        return 0
    answered = 0
    for pw in passwords:
        if time.monotonic() > deadline:
            break
        try:
            conn.login(user, pw)
        except imaplib.IMAP4.abort:
            print("closed %d" % answered)
            return 0
        except imaplib.IMAP4.error:
            answered += 1
            continue
        except OSError:
            print("closed %d" % answered)
            return 0
        answered += 1
        try:
            typ, _ = conn.select("INBOX")
            conn.logout()
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error):
            typ = "NO"
        print("%s %d" % ("logged-in" if typ == "OK" else "closed", answered))
        return 0
    try:
        conn.logout()
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error):
        pass
    print("denied %d" % answered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
