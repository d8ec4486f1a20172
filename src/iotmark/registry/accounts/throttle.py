"""Log-in throttling: after too many failed log-ins for one user name, or from one client address, within a
window, further attempts are refused for a lock-out period, whatever the password. Failures are rows in the
database, so all server processes count together; rows older than any rule can look back are deleted."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from iotmark.registry import audit
from iotmark.registry.accounts.models import FailedLogin

log = logging.getLogger(__name__)

# (setting, environment variable, default): failures allowed per user name and per address within the window
# (an address is often shared: an office or a phone network behind one IP), the window and the lock-out in seconds.
DEFAULTS = {
    "per_username": ("IOTMARK_LOGIN_MAX_FAILURES", 5),
    "per_address": ("IOTMARK_LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
    "window_seconds": ("IOTMARK_LOGIN_WINDOW_SECONDS", 15 * 60),
    "lockout_seconds": ("IOTMARK_LOGIN_LOCKOUT_SECONDS", 15 * 60),
}


@dataclass(frozen=True)
class Limits:
    per_username: int
    per_address: int
    window: dt.timedelta
    lockout: dt.timedelta

    @property
    def horizon(self) -> dt.timedelta:
        """How far back a failure can still matter."""
        return self.window + self.lockout


@dataclass(frozen=True)
class Lockout:
    until: dt.datetime
    by: str  # "username" or "address"

    def minutes_left(self, now: dt.datetime) -> int:
        return max(1, -(-int((self.until - now).total_seconds()) // 60))


def limits() -> Limits:
    """The LOGIN_THROTTLE Django setting, else the environment, else the defaults; a value that is not a positive
    whole number is ignored with a warning (the default applies)."""
    configured = getattr(settings, "LOGIN_THROTTLE", {})
    values = {}
    for name, (variable, default) in DEFAULTS.items():
        raw = configured.get(name, os.environ.get(variable, default))
        try:
            value = int(raw)
            if value < 1:
                raise ValueError
        except (TypeError, ValueError):
            log.warning("%s=%r is not a positive whole number; using %d", variable, raw, default)
            value = default
        values[name] = value
    return Limits(values["per_username"], values["per_address"], dt.timedelta(seconds=values["window_seconds"]),
                  dt.timedelta(seconds=values["lockout_seconds"]))


def normalised(username: str) -> str:
    return username.strip().casefold()[:150]


def _lock_from(times: list[dt.datetime], limit: int, limits_: Limits, now: dt.datetime) -> dt.datetime | None:
    """The end of the lock-out the failure times (newest first) impose, if any: `limit` failures within one window
    lock the key until `lockout` after the last of them."""
    for newest in range(len(times) - limit + 1):
        if times[newest] - times[newest + limit - 1] <= limits_.window and now < times[newest] + limits_.lockout:
            return times[newest] + limits_.lockout
    return None


def _recent(field: str, value: str, since: dt.datetime) -> list[dt.datetime]:
    return list(FailedLogin.objects.filter(**{field: value, "attempted__gte": since})
                .order_by("-attempted").values_list("attempted", flat=True))


def lockout_for(username: str, address: str, now: dt.datetime | None = None) -> Lockout | None:
    """The lock-out in force for this user name or this address, the one that ends later if both are."""
    now, rules = now or timezone.now(), limits()
    since = now - rules.horizon
    found = []
    for by, value, limit in (("username", normalised(username), rules.per_username),
                             ("address", address, rules.per_address)):
        until = _lock_from(_recent(by, value, since), limit, rules, now)
        if until is not None:
            found.append(Lockout(until, by))
    return max(found, key=lambda lock: lock.until) if found else None


def record_failure(username: str, address: str, now: dt.datetime | None = None) -> Lockout | None:
    """Count one failed log-in; the lock-out it starts, if it reaches a limit (audited), else None. Failures too
    old to matter are deleted on the way."""
    now, rules = now or timezone.now(), limits()
    with transaction.atomic():
        FailedLogin.objects.filter(attempted__lt=now - rules.horizon).delete()
        FailedLogin.objects.create(username=normalised(username), address=address, attempted=now)
        lock = lockout_for(username, address, now)
        if lock is not None:
            audit.record(None, "login.lockout", normalised(username) or "(empty)", {
                "username": normalised(username), "address": address, "by": lock.by,
                "until": lock.until.isoformat(timespec="seconds")}, object_type="login")
    return lock


def record_success(username: str) -> None:
    """A correct password resets the user name's count (the address keeps its other failures)."""
    FailedLogin.objects.filter(username=normalised(username)).delete()


def client_address(request) -> str:
    """The address the request came from. Behind a reverse proxy every client has the proxy's address, so the
    per-address limit then applies to all clients together; raise it (IOTMARK_LOGIN_MAX_FAILURES_PER_ADDRESS)."""
    return (request.META.get("REMOTE_ADDR") or "unknown")[:45]
