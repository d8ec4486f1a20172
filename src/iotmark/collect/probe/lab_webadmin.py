"""The lab's camera-style web console: a login form that hands out a session cookie, run as its own server
process inside the lab namespace (`python -m iotmark.collect.probe.lab_webadmin ADDRESS PORT USER PASSWORD [--any-pair]`).

A right pair gets a 302 to the status page with a session cookie; a wrong one gets the form again with an
error and status 200, as many devices do, so "200" alone never means logged in.
"""

from __future__ import annotations

import argparse
import html
import secrets
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORM = """<html><head><title>SmartCam login</title></head><body>
<h1>SmartCam 3000</h1>{error}
<form name="login" method="post" action="/cgi-bin/login.cgi">
<input type="hidden" name="token" value="{token}">
User <input type="text" name="username">
Password <input type="password" name="password">
<input type="submit" value="Login">
</form></body></html>
"""
STATUS = """<html><head><title>SmartCam status</title></head><body>
<h1>Device status</h1><p>Recording: on</p><a href="/logout.cgi">Logout</a></body></html>
"""
MAX_POST = 4096


class Console(BaseHTTPRequestHandler):
    server_version = "SmartCamWeb"
    sys_version = ""
    user = ""
    password = ""
    any_pair = False  # a console that lets every pair in (the probe must not claim a default login then)
    sessions: set[str] = set()
    tokens: set[str] = set()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def _send(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self, error: str = "") -> None:
        token = secrets.token_hex(8)
        self.tokens.add(token)
        self._send(200, FORM.format(error=f"<p class=error>{html.escape(error)}</p>" if error else "", token=token))

    def _logged_in(self) -> bool:
        cookies = self.headers.get("Cookie", "")
        return any(part.strip().removeprefix("SID=") in self.sessions
                   for part in cookies.split(";") if part.strip().startswith("SID="))

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path = self.path.split("?", 1)[0]
        if path in ("/", "/login.html"):
            self._form()
        elif path == "/status.html":
            if self._logged_in():
                self._send(200, STATUS)
            else:
                self._send(302, headers={"Location": "/login.html"})
        else:
            self._send(404, "<html><body>404 Not Found</body></html>")

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path != "/cgi-bin/login.cgi":
            self._send(404, "<html><body>404 Not Found</body></html>")
            return
        length = min(int(self.headers.get("Content-Length") or 0), MAX_POST)
        fields = urllib.parse.parse_qs(self.rfile.read(length).decode("latin-1"), keep_blank_values=True)
        token = fields.get("token", [""])[0]
        if token not in self.tokens:
            self._form("Session expired, please log in again")
            return
        self.tokens.discard(token)
        right = fields.get("username", [""])[0] == self.user and fields.get("password", [""])[0] == self.password
        if right or self.any_pair:
            sid = secrets.token_hex(16)
            self.sessions.add(sid)
            self._send(302, headers={"Location": "/status.html", "Set-Cookie": f"SID={sid}; Path=/; HttpOnly"})
        else:
            self._form("Invalid user name or password")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("address")
    parser.add_argument("port", type=int)
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("--any-pair", action="store_true", help="let every pair in")
    args = parser.parse_args()
    Console.user, Console.password, Console.any_pair = args.user, args.password, args.any_pair
    ThreadingHTTPServer((args.address, args.port), Console).serve_forever()


if __name__ == "__main__":
    main()
