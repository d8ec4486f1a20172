"""HTTP(S) administration: server banners, login over plain HTTP, default credentials on basic and digest
authentication, directory listings and configuration files anyone can download."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from iotmark.collect.probe.credentials import Attempt, Pair, login_finding
from iotmark.collect.probe.login_forms import LoginForm, control_accepted, find_login_form, submit
from iotmark.collect.probe.session import Service, Session, load_data, printable
from iotmark.model import Finding

SERVICES = ("http",)
DEFAULT_CHECK = "probe.http.cleartext_login"
MAX_BODY = 256 * 1024
PASSWORD_FIELD = re.compile(rb"(?i)<input[^>]+type\s*=\s*[\"']?password")


def rules() -> dict[str, Any]:
    return load_data("http.yaml")  # type: ignore[no-any-return]


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; repeated headers joined
    body: bytes = b""

    @property
    def challenge(self) -> str:
        return self.headers.get("www-authenticate", "")


def parse_response(raw: bytes) -> Response | None:
    """Status, headers and body of a raw HTTP/1.x response, or None if it is not one."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/\d(?:\.\d)?\s+(\d{3})", lines[0])
    if not match:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return Response(int(match.group(1)), headers, body[:MAX_BODY])


async def request(session: Session, service: Service, path: str, method: str = "GET",
                  headers: dict[str, str] | None = None, body: bytes = b"") -> Response | None:
    """One HTTP/1.0 request on a fresh connection; the reply is capped in size and time."""
    lines = [f"{method} {path} HTTP/1.0", f"Host: {session.address}", "User-Agent: iotmark-probe",
             "Connection: close"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    async with session.stream(service.port, tls=service.tls) as stream:
        if not await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body):
            return None
        raw = await stream.read_until(lambda b: False, session.options.read_timeout * 2, MAX_BODY + 16384)
    return parse_response(raw)


def digest_authorization(challenge: str, pair: Pair, method: str, path: str) -> str:
    """An RFC 7616 Digest answer (MD5 or SHA-256, qop=auth) to a WWW-Authenticate challenge."""
    params = {k.lower(): a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', challenge)}
    algorithm = params.get("algorithm", "MD5").upper()
    digest = hashlib.sha256 if algorithm.startswith("SHA-256") else hashlib.md5

    def h(text: str) -> str:
        return digest(text.encode()).hexdigest()

    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    cnonce, nc = secrets.token_hex(8), "00000001"
    ha1, ha2 = h(f"{pair.user}:{realm}:{pair.password}"), h(f"{method}:{path}")
    qop = "auth" if "auth" in params.get("qop", "").split(",") else ""
    answer = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}") if qop else h(f"{ha1}:{nonce}:{ha2}")
    parts = [f'username="{pair.user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{path}"',
             f'response="{answer}"', f"algorithm={algorithm}"]
    if qop:
        parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts)


async def _auth_attempt(session: Session, service: Service, path: str, scheme: str, pair: Pair) -> Attempt:
    if scheme == "basic":
        import base64

        token = base64.b64encode(f"{pair.user}:{pair.password}".encode()).decode()
        authorization = f"Basic {token}"
    else:
        fresh = await request(session, service, path)  # a digest answer needs a fresh nonce
        if fresh is None or "digest" not in fresh.challenge.lower():
            return Attempt.ERROR
        authorization = digest_authorization(fresh.challenge, pair, "GET", path)
    reply = await request(session, service, path, headers={"Authorization": authorization})
    if reply is None:
        return Attempt.ERROR
    if reply.status in (401, 403):
        return Attempt.REJECTED
    return Attempt.ACCEPTED if reply.status < 400 else Attempt.ERROR


def _redirects_to_https(reply: Response) -> bool:
    return reply.status in (301, 302, 303, 307, 308) and reply.headers.get("location", "").lower().startswith("https:")


async def run(session: Session, service: Service) -> list[Finding]:
    """Banner, login surface, default credentials, listings and exposed files on one web port."""
    findings: list[Finding] = []
    server = ""
    protected: tuple[str, str] | None = None  # (path, basic|digest)
    form: LoginForm | None = None
    redirected = True
    answered = 0
    for path in rules()["login_paths"]:
        reply = await request(session, service, path)
        if reply is None:
            continue
        answered += 1
        server = server or reply.headers.get("server", "")
        redirected = redirected and _redirects_to_https(reply)
        scheme = reply.challenge.split(" ", 1)[0].lower()
        if reply.status == 401 and scheme in ("basic", "digest") and protected is None:
            protected = (path, scheme)
        elif reply.status == 200 and PASSWORD_FIELD.search(reply.body) and form is None:
            form = find_login_form(path, reply.body)
    if not answered:
        return [session.not_tested(DEFAULT_CHECK, f"no HTTP answer on port {service.port}", service)]
    if re.search(r"\d+\.\d+", server):
        findings.append(session.finding("probe.http.server_version", "fail", f"Server header: {printable(server)}",
                                        service, banner=printable(server)))
    if not service.tls and (protected or form):
        where = f"HTTP {protected[1]} authentication on {protected[0]}" if protected else f"login form on {form.page}"
        findings.append(session.finding("probe.http.cleartext_login", "fail",
                                        f"{where} over plain HTTP (port {service.port}): the password crosses the "
                                        "network in clear", service, path=protected[0] if protected else form.page))
    if protected:
        path, scheme = protected
        found = await login_finding(session, service, lambda pair: _auth_attempt(session, service, path, scheme, pair))
        # say which scheme and page were tried, so the reviewer can repeat the login
        findings.append(found.model_copy(update={
            "detail": f"HTTP {scheme} authentication on {path}: {found.detail}",
            "evidence": found.evidence.model_copy(update={"path": path})}))
    elif form:
        findings.append(await _form_login(session, service, form))
    if not redirected:
        findings += await _listings(session, service)
        findings += await _exposed_files(session, service)
    return findings


async def _form_login(session: Session, service: Service, form: LoginForm) -> Finding:
    if await control_accepted(session, service, form):
        return session.not_tested("probe.credentials.default_login",
                                  f"login form on {form.page}: a random pair looked accepted too, so the form's "
                                  "answers cannot tell a login from a refusal", service, path=form.page)
    found = await login_finding(session, service, lambda pair: submit(session, service, form, pair))
    return found.model_copy(update={"evidence": found.evidence.model_copy(update={"path": form.action})})


async def _listings(session: Session, service: Service) -> list[Finding]:
    pattern = re.compile(rules()["listing_pattern"].encode())
    for path in rules()["listing_paths"]:
        reply = await request(session, service, path)
        if reply is not None and reply.status == 200 and pattern.search(reply.body[:4096]):
            return [session.finding("probe.http.directory_listing", "fail",
                                    f"{path} on port {service.port} lists its files", service, path=path,
                                    excerpt=printable(reply.body[:4096], 200))]
    return []


async def _exposed_files(session: Session, service: Service) -> list[Finding]:
    # A device that answers 200 to any path (a soft 404) would make every file look exposed: compare first.
    control = await request(session, service, f"/iotmark-{secrets.token_hex(6)}.bak")
    control_body = control.body if control is not None and control.status == 200 else None
    not_found = re.compile(rules()["not_found_pattern"].encode())
    exposed = []
    for item in rules()["exposed_files"]:
        reply = await request(session, service, item["path"])
        if reply is None or reply.status != 200 or not reply.body or reply.body == control_body:
            continue
        if b"<html" in reply.body[:512].lower() or not_found.search(reply.body[:512]):
            continue
        exposed.append(session.finding("probe.http.exposed_file", "fail",
                                       f"{item['path']} ({item['what']}) downloads without a login: "
                                       f"{len(reply.body)} bytes", service, path=item["path"],
                                       excerpt=f"{len(reply.body)} bytes, content withheld"))
    return exposed
