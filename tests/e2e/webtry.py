#!/usr/bin/env python3
"""webtry.py SRC HOST USER PASSWORD

One POST /login to HOST:8080 from source address SRC.  Prints the HTTP
status (200 welcome, 401 wrong password, 403 refused), or "closed" when
no connection was made within 3 s (dropped by the kernel).
"""
import http.client
import sys
import urllib.parse


def main():
    src, host, user, password = sys.argv[1:5]
    body = urllib.parse.urlencode({"user": user, "password": password})
    conn = http.client.HTTPConnection(host, 8080, timeout=3,
                                      source_address=(src, 0))
    try:
        conn.request("POST", "/login", body, {
            "Content-Type": "application/x-www-form-urlencoded"})
        print(conn.getresponse().status)
    except OSError:
        print("closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
