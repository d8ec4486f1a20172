"""Default credentials on HTML login forms: find the form, submit pairs, and decide success conservatively.

A device that answers every post with 200 (or with the same page) must never look logged in, so success
needs positive signs: a new session cookie and a redirect away from the login page to a page that opens
with that cookie and shows no password field, or (without a redirect) a page with no password field, a new
cookie and a post-login marker. Before any default pair, a random pair is submitted; if it "succeeds"
too, the form cannot be judged and nothing is claimed.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from iotmark.collect.probe.credentials import Attempt, Pair

if TYPE_CHECKING:
    from iotmark.collect.probe.http import Response
    from iotmark.collect.probe.session import Service, Session

MAX_HTML = 64 * 1024  # only the start of a page is parsed for its form
MAX_TAGS = 2000
USER_NAMES = re.compile(r"(?i)user|login|name|account|email|uid")
LOGIN_PATH = re.compile(r"(?i)log_?in|sign_?in|auth")
POST_LOGIN = re.compile(rb"(?i)log\s*out|sign\s*out|logoff|log\s*off")


@dataclass
class LoginForm:
    """One HTML form with a password input, as far as a login needs it."""

    page: str  # where the form was found
    action: str  # path the form posts to (resolved against the page)
    method: str  # "post" or "get"
    user_field: str | None
    password_field: str
    hidden: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, object]] = []
        self._current: dict[str, object] | None = None
        self.tags = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if self.tags > MAX_TAGS:
            return
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"action": values.get("action", ""), "method": values.get("method", "get").lower(),
                             "inputs": []}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None:
            inputs = self._current["inputs"]
            assert isinstance(inputs, list)
            inputs.append((values.get("type", "text").lower(), values.get("name", ""), values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def find_login_form(page: str, body: bytes) -> LoginForm | None:
    """The first form on `page` with exactly one password input (a sign-up or change form has two), or None."""
    parser = _FormParser()
    parser.feed(body[:MAX_HTML].decode("utf-8", "replace"))
    parser.close()
    for form in parser.forms:
        inputs = form["inputs"]
        assert isinstance(inputs, list)
        passwords = [name for kind, name, _ in inputs if kind == "password" and name]
        if len(passwords) != 1:
            continue
        texts = [name for kind, name, _ in inputs if kind in ("text", "email", "") and name]
        user = next((n for n in texts if USER_NAMES.search(n)), texts[0] if texts else None)
        hidden = {name: value for kind, name, value in inputs if kind == "hidden" and name}
        action = urllib.parse.urljoin(page, str(form["action"]) or page)
        parts = urllib.parse.urlsplit(action)
        if parts.netloc:  # a form posting to another host is not the device's to test
            continue
        method = "post" if form["method"] == "post" else "get"
        return LoginForm(page, urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")), method,
                         user, passwords[0], hidden)
    return None


def _cookies(reply: Response) -> dict[str, str]:
    """name → value of the cookies a reply sets (headers are joined with ", " by the parser)."""
    found = {}
    for match in re.finditer(r"(?:^|,\s*)([!#$%&'*+\-.^_`|~\w]+)=([^;,]*)", reply.headers.get("set-cookie", "")):
        if match.group(1).lower() not in ("path", "domain", "expires", "max-age", "samesite"):
            found[match.group(1)] = match.group(2)
    return found


def _is_login_page(location: str, form: LoginForm) -> bool:
    path = urllib.parse.urlsplit(location).path or "/"
    return path in (form.page, form.action) or bool(LOGIN_PATH.search(path))


async def submit(session: Session, service: Service, form: LoginForm, pair: Pair) -> Attempt:
    """Fetch the form afresh (tokens, cookies), submit `pair`, and judge the reply conservatively."""
    from iotmark.collect.probe.http import request

    fresh = await request(session, service, form.page)
    if fresh is None or fresh.status != 200:
        return Attempt.ERROR
    current = find_login_form(form.page, fresh.body) or form
    jar = _cookies(fresh)
    fields = dict(current.hidden)
    if current.user_field:
        fields[current.user_field] = pair.user
    fields[current.password_field] = pair.password
    encoded = urllib.parse.urlencode(fields)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
    if current.method == "post":
        headers.update({"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(encoded))})
        reply = await request(session, service, current.action, "POST", headers, encoded.encode())
    else:
        reply = await request(session, service, f"{current.action}?{encoded}", headers=headers)
    if reply is None:
        return Attempt.ERROR
    return await _judge(session, service, current, reply, jar)


async def _judge(session: Session, service: Service, form: LoginForm, reply: Response,
                 jar: dict[str, str]) -> Attempt:
    from iotmark.collect.probe.http import PASSWORD_FIELD, request

    new_cookies = {k: v for k, v in _cookies(reply).items() if jar.get(k) != v and v}
    if reply.status in (401, 403):
        return Attempt.REJECTED
    if reply.status in (301, 302, 303, 307, 308):
        location = reply.headers.get("location", "")
        target = urllib.parse.urlsplit(location)
        if _is_login_page(location, form) or not new_cookies:
            return Attempt.REJECTED
        if target.netloc and target.netloc.split(":")[0] != session.address:
            return Attempt.ERROR  # sent elsewhere: nothing we may follow
        cookie = "; ".join(f"{k}={v}" for k, v in {**jar, **new_cookies}.items())
        landing = await request(session, service, target.path or "/", headers={"Cookie": cookie})
        if landing is None:
            return Attempt.ERROR
        if landing.status == 200 and not PASSWORD_FIELD.search(landing.body):
            return Attempt.ACCEPTED
        return Attempt.REJECTED
    if reply.status == 200:
        if PASSWORD_FIELD.search(reply.body):
            return Attempt.REJECTED  # the form again: refused
        if new_cookies and POST_LOGIN.search(reply.body[:MAX_HTML]):
            return Attempt.ACCEPTED
        return Attempt.ERROR  # no form and no sign of a session: cannot tell
    return Attempt.ERROR


async def control_accepted(session: Session, service: Service, form: LoginForm) -> bool:
    """True when a random pair looks accepted: then this form's answers prove nothing."""
    pair = Pair(f"iotmark-{secrets.token_hex(3)}", secrets.token_urlsafe(12))
    return await submit(session, service, form, pair) is Attempt.ACCEPTED
