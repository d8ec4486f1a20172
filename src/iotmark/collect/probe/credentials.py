"""Default-credential attempts: which pairs to try, how many per service, how fast, and how to show them.

The list is the shared one the firmware collector ships (Mirai table plus vendor defaults); a user file in
the same `user:password` format can replace it. Each login service gets its own budget, attempts are
sequential per service, and signs of throttling (errors, closed connections) double the pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iotmark.collect.probe.session import Service, Session
    from iotmark.model import Finding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pair:
    user: str
    password: str

    def masked(self) -> str:
        return f"{mask(self.user)}:{mask(self.password)}"


class Attempt(Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ERROR = "error"  # no answer we could judge: timeout, reset, garbage


@dataclass
class LoginResult:
    """What a budgeted series of attempts on one service showed."""

    accepted: Pair | None
    tried: int
    rejected: int
    errors: int
    available: int
    last_error: str = ""

    @property
    def conclusive(self) -> bool:
        """True when a pair was accepted or every pair in the budget got a clear refusal (after retries)."""
        return self.accepted is not None or (self.tried > 0 and self.rejected == self.tried)


def mask(secret: str) -> str:
    """Show a secret's shape, never its value: "admin" → "ad***n", "root" → "r***t"; short ones become "***"."""
    if len(secret) <= 3:
        return "***"
    # At most three characters shown, and never more than half of the secret.
    return f"{secret[:2 if len(secret) >= 5 else 1]}***{secret[-1]}"


def load_pairs(path: Path | None = None) -> list[Pair]:
    """Pairs from `path` (user:password per line, # comments), else the shared default-credential list."""
    if path is None:
        # The firmware collector owns the data file and its public reader; one list serves both collectors.
        from iotmark.collect.firmware.accounts import default_credentials

        return list(dict.fromkeys(Pair(c.user, c.password) for c in default_credentials()))
    pairs: list[Pair] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and ":" in line:
            user, _, password = line.partition(":")
            pairs.append(Pair(user, password))
    return list(dict.fromkeys(pairs))


async def try_pairs(pairs: list[Pair], attempt: Callable[[Pair], Awaitable[Attempt]], budget: int,
                    backoff: float, backoff_max: float, *, label: str = "") -> LoginResult:
    """Try at most `budget` pairs one after another; stop at the first accepted one.

    After a refusal the pause is `backoff`; after an error it doubles (up to `backoff_max`), because errors
    are how devices signal lockout or overload; the pair is retried once. Three errors in a row end the
    series as inconclusive.
    """
    result = LoginResult(accepted=None, tried=0, rejected=0, errors=0, available=len(pairs))
    pause = backoff
    streak = 0
    for pair in pairs[:budget]:
        result.tried += 1
        for _retry in range(2):  # an error is no verdict: the same pair gets one more try after a pause
            outcome = await _one(attempt, pair, result)
            if outcome is not Attempt.ERROR:
                break
            result.errors += 1
            streak += 1
            pause = min(pause * 2, backoff_max)
            if streak >= 3:
                log.info("%s: three login errors in a row, stopping (%s)", label, result.last_error)
                return result
            await asyncio.sleep(pause)
        if outcome is Attempt.ACCEPTED:
            result.accepted = pair
            return result
        if outcome is Attempt.REJECTED:
            result.rejected += 1
            streak, pause = 0, backoff
        await asyncio.sleep(pause)
    return result


async def _one(attempt: Callable[[Pair], Awaitable[Attempt]], pair: Pair, result: LoginResult) -> Attempt:
    try:
        return await attempt(pair)
    except (OSError, TimeoutError, EOFError, ValueError) as exc:
        result.last_error = f"{type(exc).__name__}: {exc}"[:200]
        return Attempt.ERROR


async def login_finding(session: Session, service: Service,
                        attempt: Callable[[Pair], Awaitable[Attempt]]) -> Finding:
    """Run the budgeted default-credential series on one service and turn its result into one finding."""
    options = session.options
    pairs = load_pairs(options.credentials)
    result = await try_pairs(pairs, attempt, options.credential_budget, options.backoff, options.backoff_max,
                             label=f"{session.address}:{service.port}/{service.protocol}")
    where = f"{service.protocol} on port {service.port}"
    if result.accepted is not None:
        return session.finding(
            "probe.credentials.default_login", "fail",
            f"{where} accepted the default pair {result.accepted.masked()} (attempt {result.tried} of "
            f"{min(options.credential_budget, result.available)})", service, excerpt=result.accepted.masked())
    if not result.conclusive:
        return session.not_tested(
            "probe.credentials.default_login",
            f"{where}: {result.tried - result.rejected} of {result.tried} pairs got no clear answer "
            f"({result.last_error or 'no verdict from the service'}); default credentials not established", service)
    return session.finding(
        "probe.credentials.rejected", "pass",
        f"{where} refused {result.rejected} default pairs (budget {options.credential_budget} of "
        f"{result.available} in the list)", service, title="Default credentials rejected")
