#!/usr/bin/env python3
"""weblogin.py SOCKET LOGFILE USER PASSWORD ADDR...

A web application with passwords of its own (no PAM): a login form served
by Python's HTTP server on port 8080 of each ADDR, wired to autoban the way
docs/recipes.md shows.  For each POST /login it asks the daemon's report
socket first ("check weblogin ADDR"): a banned client gets 403 and its
password is never looked at, as the module refuses a banned host.
Otherwise the password is checked (one line "checked ADDR" in LOGFILE), and
the outcome reported ("fail weblogin ADDR USER" or "success ..."): 200 for
the right password, 401 for a wrong one, 403 if that failure banned it.
If the socket cannot be reached the form goes on without autoban (and
says so in LOGFILE): a login form must not go down with its guard.
"""
import http.server
import socket
import sys
import threading
import urllib.parse

SOCK, LOG, USER, PASSWORD = sys.argv[1:5]
ADDRS = sys.argv[5:]
LOCK = threading.Lock()


def log(line):
    with LOCK, open(LOG, "a") as f:
        f.write(line + "\n")


def report(verb, addr, user=""):
    """One line to autoban's report socket; its reply, or None."""
    # No spaces or control characters in what we pass on as the user.
    user = "".join(c for c in user if c.isprintable() and c != " ")[:64]
    line = "%s weblogin %s %s" % (verb, addr, user)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(SOCK)
            s.sendall(line.strip().encode() + b"\n")
            return s.makefile("rb").readline().decode().strip()
    except OSError as e:
        log("autoban unreachable: %s" % e)
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, "POST user=...&password=... to /login")

    def do_POST(self):
        addr = self.client_address[0]
        if self.path != "/login":
            self.answer(404, "no such page")
            return
        n = min(int(self.headers.get("Content-Length") or 0), 4096)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode("utf-8",
                                                               "replace"))
        user = form.get("user", [""])[0]
        password = form.get("password", [""])[0]
        r = report("check", addr)
        if r is not None and r.startswith("refused"):
            self.answer(403, "refused: " + r)
            return
        log("checked %s" % addr)
        if user == USER and password == PASSWORD:
            report("success", addr, user)
            self.answer(200, "welcome " + user)
            return
        r = report("fail", addr, user)
        if r is not None and r.startswith("banned"):
            self.answer(403, "refused: " + r)
        else:
            self.answer(401, "wrong user or password")

    def log_message(self, fmt, *args):
        pass


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def main():
    servers = []
    for a in ADDRS:
        cls = V6Server if ":" in a else http.server.ThreadingHTTPServer
        servers.append(cls((a, 8080), Handler))
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    log("listening")
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
