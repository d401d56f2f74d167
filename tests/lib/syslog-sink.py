#!/usr/bin/env python3
"""Receive syslog datagrams on a unix socket and append each message, one per
line, to a file.  Used by the tests to read what pam_syslog and banhelper
log.  Usage: syslog-sink.py SOCKET OUTFILE (stops on SIGTERM).

For the benchmarks, two optional environment variables:
  SINK_AUTHLOG=FILE  also write each message as a classic auth.log line
                     ("Mmm dd HH:MM:SS host tag[pid]: text"), for log
                     readers such as fail2ban and sshguard;
  SINK_TIMES=FILE    also write "<seconds> <message>" per message, where the
                     time (CLOCK_REALTIME) is the kernel's stamp of when the
                     sender sent the datagram (SO_TIMESTAMP), not when this
                     reader got round to it.
"""
import os
import re
import signal
import socket
import struct
import sys
import time

sock_path, out_path = sys.argv[1], sys.argv[2]
authlog = os.environ.get("SINK_AUTHLOG")
times = os.environ.get("SINK_TIMES")
try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)  # Linux, asm-generic
if times:
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
TV = struct.Struct("@ll")
os.chmod(sock_path, 0o666)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
head = re.compile(rb"^<\d+>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (.*)$", re.S)
outs = [open(p, "ab", buffering=0) if p else None
        for p in (out_path, authlog, times)]
open(out_path + ".ready", "w").close()
while True:
    data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(TV.size))
    now = time.time()
    for level, kind, val in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP:
            sec, usec = TV.unpack(val[:TV.size])
            now = sec + usec / 1e6
    line = data.replace(b"\n", b"\\n")
    outs[0].write(line + b"\n")
    if outs[1] is not None:
        m = head.match(data)
        if m:
            outs[1].write(m.group(1) + b" srv " + m.group(2).rstrip(b"\n")
                          + b"\n")
    if outs[2] is not None:
        outs[2].write(b"%.6f " % now + line + b"\n")
