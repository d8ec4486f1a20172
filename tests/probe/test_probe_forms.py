"""Default credentials on HTML login forms: the form is found, a right pair is recognised only from a real
session, and a console that lets anyone in (or a strong password) never yields a default-login claim."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from iotmark.collect.probe import http
from iotmark.collect.probe.credentials import load_pairs
from iotmark.collect.probe.login_forms import find_login_form
from iotmark.collect.probe.session import ProbeOptions, Service, Session
from iotmark.model import Finding

LOOPBACK = "127.0.0.1"


def _console(*extra: str, password: str = "xmhdipc") -> Iterator[int]:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "iotmark.collect.probe.lab_webadmin", LOOPBACK, str(port),
                               "root", password, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection((LOOPBACK, port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def strong_console() -> Iterator[int]:
    yield from _console(password="Tq8#vL2m-strong-unique")


@pytest.fixture
def open_console() -> Iterator[int]:
    yield from _console("--any-pair")


def _logins(port: int) -> list[Finding]:
    session = Session(LOOPBACK, ProbeOptions(backoff=0.01, credential_budget=4))
    findings = asyncio.run(http.run(session, Service(port, "tcp", "http")))
    return [f for f in findings if f.check.startswith("probe.credentials.")]


def test_login_form_is_parsed_with_its_fields_and_hidden_token() -> None:
    page = (b'<html><form method="POST" action="../cgi-bin/auth.cgi?x=1"><input type=hidden name=csrf value="t1">'
            b'<input name="lang"><input type="text" name="user_name"><input type="password" name="pw"></form>')
    form = find_login_form("/web/login.html", page)
    assert form is not None
    assert (form.action, form.method, form.user_field, form.password_field, form.hidden) == (
        "/cgi-bin/auth.cgi?x=1", "post", "user_name", "pw", {"csrf": "t1"})


def test_password_change_forms_and_foreign_actions_are_not_login_forms() -> None:
    change = b'<form><input type=password name=old><input type=password name=new></form>'
    foreign = b'<form action="http://elsewhere.example/login"><input type=password name=p></form>'
    assert find_login_form("/", change) is None
    assert find_login_form("/", foreign) is None


def test_strong_password_form_refuses_every_default_pair(strong_console: int) -> None:
    (finding,) = _logins(strong_console)
    assert (finding.check, finding.outcome) == ("probe.credentials.rejected", "pass")
    assert finding.detail == f"http on port {strong_console} refused 4 default pairs (budget 4 of {len(load_pairs())} in the list)"


def test_form_that_lets_any_pair_in_is_not_claimed_as_default_login(open_console: int) -> None:
    (finding,) = _logins(open_console)
    assert (finding.check, finding.outcome, finding.evidence.path) == (
        "probe.credentials.default_login", "not_tested", "/")
    assert "a random pair looked accepted too" in finding.detail
