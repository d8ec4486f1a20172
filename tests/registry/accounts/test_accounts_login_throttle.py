"""Log-in throttling: too many failed log-ins for one user name, or from one address, within the window lock
further attempts out (HTTP 429, the same words whether or not the user exists), even with the right password;
a success resets the user name's count; the lock ends after the lock-out period; lock-outs are audited."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db.models import F
from django.test import override_settings
from servers import serving

from iotmark.registry.accounts import throttle
from iotmark.registry.accounts.models import FailedLogin
from iotmark.registry.models import AuditEntry

LIMITS = {"per_username": 3, "per_address": 6, "window_seconds": 600, "lockout_seconds": 900}
LOCKED = "Too many failed log-ins for this user name or from your network."


@pytest.fixture(autouse=True)
def small_limits():
    with override_settings(LOGIN_THROTTLE=LIMITS):
        yield


def log_in(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/login", {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "Log out" in client.get("/").content.decode()


def move_clock_back(seconds: int) -> None:
    """As if every recorded failure had happened `seconds` earlier."""
    FailedLogin.objects.update(attempted=F("attempted") - dt.timedelta(seconds=seconds))


def test_the_third_failure_locks_the_user_name_and_even_the_right_password_is_refused(client, lab):
    assert [log_in(client, "assessor", "wrong").status_code for _ in range(2)] == [200, 200]
    third = log_in(client, "assessor", "wrong")
    assert third.status_code == 429 and LOCKED in third.content.decode()
    assert "try again in 15 minutes" in third.content.decode() and int(third["Retry-After"]) > 890
    right = log_in(client, "assessor", lab.password)
    assert right.status_code == 429 and LOCKED in right.content.decode()
    assert not logged_in(client)
    assert FailedLogin.objects.count() == 3  # refused attempts are not counted again: the lock-out does not grow
    entry = AuditEntry.objects.get(action="login.lockout")
    assert (entry.actor, entry.data["username"], entry.data["address"], entry.data["by"]) == (
        "system", "assessor", "127.0.0.1", "username")


def test_after_the_lockout_period_the_right_password_works(client, lab):
    for _ in range(3):
        log_in(client, "assessor", "wrong")
    move_clock_back(899)
    assert log_in(client, "assessor", lab.password).status_code == 429
    move_clock_back(2)
    response = log_in(client, "assessor", lab.password)
    assert (response.status_code, response["Location"]) == (302, "/") and logged_in(client)
    assert not FailedLogin.objects.filter(username="assessor").exists()


def test_failures_spread_wider_than_the_window_do_not_lock(client, lab):
    log_in(client, "assessor", "wrong")
    log_in(client, "assessor", "wrong")
    move_clock_back(601)
    assert log_in(client, "assessor", "wrong").status_code == 200
    assert log_in(client, "assessor", lab.password).status_code == 302


def test_a_success_resets_the_user_names_count(client, lab):
    log_in(client, "assessor", "wrong")
    log_in(client, "assessor", "wrong")
    assert log_in(client, "assessor", lab.password).status_code == 302
    client.post("/logout")
    assert [log_in(client, "assessor", "wrong").status_code for _ in range(2)] == [200, 200]
    assert log_in(client, "assessor", lab.password).status_code == 302


def test_other_user_names_are_not_affected(client, lab):
    from iotmark.registry import services

    services.create_user("inspector", "another long password", "regulator", "Market Surveillance Office")
    for _ in range(3):
        log_in(client, "assessor", "wrong")
    assert log_in(client, "inspector", "another long password").status_code == 302


def test_an_unknown_user_name_gets_the_same_answers_as_a_real_one(client, lab):
    def answers(username: str) -> list[tuple[int, str]]:
        out = []
        for _ in range(3):
            response = log_in(client, username, "wrong", address="198.51.100.1")
            out.append((response.status_code, re.search(r'<p class="error"[^>]*>(.*?)</p>',
                                                        response.content.decode(), re.S).group(1)))
        return out

    real = answers("assessor")
    assert real == answers("nobody-by-this-name")
    assert [status for status, _ in real] == [200, 200, 429]


def test_user_names_are_counted_without_regard_to_case_or_spaces(client, lab):
    for typed in ("Assessor", " ASSESSOR ", "assessor"):
        log_in(client, typed, "wrong")
    assert log_in(client, "assessor", lab.password).status_code == 429


def test_one_address_trying_many_user_names_is_locked_and_other_addresses_are_not(client, lab):
    statuses = [log_in(client, f"guess{n}", "wrong", address="203.0.113.9").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]
    refused = log_in(client, "assessor", lab.password, address="203.0.113.9")
    assert refused.status_code == 429
    assert AuditEntry.objects.get(action="login.lockout").data["by"] == "address"
    assert log_in(client, "assessor", lab.password, address="198.51.100.20").status_code == 302


def test_failures_too_old_to_matter_are_deleted_when_a_new_one_is_counted(client):
    log_in(client, "someone", "wrong")
    move_clock_back(600 + 900 + 1)
    log_in(client, "someone-else", "wrong")
    assert list(FailedLogin.objects.values_list("username", flat=True)) == ["someone-else"]


def test_limits_come_from_the_environment_and_bad_values_fall_back_to_safe_defaults(monkeypatch, caplog):
    with override_settings(LOGIN_THROTTLE={}):
        monkeypatch.setenv("IOTMARK_LOGIN_MAX_FAILURES", "7")
        monkeypatch.setenv("IOTMARK_LOGIN_WINDOW_SECONDS", "soon")
        monkeypatch.setenv("IOTMARK_LOGIN_LOCKOUT_SECONDS", "0")
        rules = throttle.limits()
    assert (rules.per_username, rules.per_address) == (7, 20)
    assert (rules.window, rules.lockout) == (dt.timedelta(minutes=15), dt.timedelta(minutes=15))
    assert "IOTMARK_LOGIN_WINDOW_SECONDS='soon' is not a positive whole number; using 900" in caplog.text


def _browser_log_in(opener, base: str, username: str, password: str) -> int:
    with opener.open(base + "/login", timeout=30) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(base + "/login", data=body.encode(), headers={"Referer": base + "/login"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_gunicorn_workers_share_the_count(database, tmp_path):
    """Two worker processes, each request on a new connection: the count lives in the database, so the lock
    holds whichever worker answers."""
    if database != "sqlite":
        pytest.skip("drives its own server process; once is enough")
    with serving(tmp_path / "home", None, "--workers", "2",
                 env={"IOTMARK_LOGIN_MAX_FAILURES": "4"}) as server:
        server.cli("createuser", "assessor", "--role", "lab", "--org", "Example Test Lab", "--password",
                   "a long test password")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                             _NoRedirect)
        statuses = [_browser_log_in(opener, server.url, "assessor", "wrong") for _ in range(4)]
        statuses.append(_browser_log_in(opener, server.url, "assessor", "a long test password"))
    assert statuses == [200, 200, 200, 429, 429]
