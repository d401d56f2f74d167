#!/usr/bin/env python3
"""Receive syslog datagrams on a unix socket and append each message, one per
line, to a file.  Used by the tests to read what pam_syslog and banhelper
log.  Usage: syslog-sink.py SOCKET OUTFILE (stops on SIGTERM)."""
import os
import signal
import socket
import sys

sock_path, out_path = sys.argv[1], sys.argv[2]
try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
os.chmod(sock_path, 0o666)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with open(out_path, "ab", buffering=0) as out:
    open(out_path + ".ready", "w").close()
    while True:
        data = s.recv(65536)
        out.write(data.replace(b"\n", b"\\n") + b"\n")
