#!/usr/bin/env python3
"""sshtry.py SRC METHOD PASSWORD... HOST USER

One OpenSSH connection from source address SRC, answering each password
prompt with the next PASSWORD (several on one connection, as sshd's
MaxAuthTries allows).  METHOD is "password" or "keyboard-interactive".
With no PASSWORD at all it answers nothing and waits $SSHTRY_WAIT seconds
(sshd drops it at LoginGraceTime; the ssh client, blocked reading the prompt
from its tty, does not notice, so it is ended here).  With $SSHTRY_HOLD set,
it holds the connection open at the prompt after the last password, for
$SSHTRY_WAIT seconds (benchmarks: sshd's processes as they are after N
attempts).

Prints one line: "<result> <prompts answered>", result being "logged-in",
"denied" (authentication failed or refused) or "closed" (no connection, or
dropped).  Bounded: gives up after 60 seconds.
"""
import os
import pty
import select
import sys
import time


def main():
    src, method = sys.argv[1], sys.argv[2]
    host, user = sys.argv[-2], sys.argv[-1]
    passwords = sys.argv[3:-2]
    hold = bool(os.environ.get("SSHTRY_HOLD"))
    argv = ["ssh", "-b", src, "-l", user,
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=3",
            "-o", "PubkeyAuthentication=no",
            "-o", "PreferredAuthentications=" + method,
            "-o", "NumberOfPasswordPrompts=%d" % (max(1, len(passwords)) +
                                                  (1 if hold else 0)),
            "-o", "LogLevel=ERROR",
            host, "echo LOGGED-IN"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ssh", argv)
    out = b""
    answered = 0
    deadline = time.time() + (60 if passwords and not hold else
                              float(os.environ.get("SSHTRY_WAIT", "60")))
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if fd not in ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        prompts = out.count(b"assword:")
        if prompts > answered and answered < len(passwords):
            os.write(fd, passwords[answered].encode() + b"\n")
            answered += 1
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if b"LOGGED-IN" in out:
        result = "logged-in"
    elif b"Permission denied" in out or b"Too many authentication" in out \
            or b"Authentication failed" in out:
        result = "denied"
    else:
        result = "closed"
    print(result, answered)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
