"""Version strings as embedded firmware writes them, parsed into one total order.

PEP 440 and semver reject most of what devices report (``1.0.2k``, ``8.9p1``, ``2019.78``,
``OpenSSL_1_0_2k``, ``5.10.0-21-amd64``), so the order here follows the approach of libversion:
a version is a list of components, each ranked before it is compared by value:

    pre-release (rc, beta, alpha, dev, unknown words)  <  zero / padding  <  post-release
    (patch letters such as ``k`` in ``1.0.2k``, ``p1`` in ``8.9p1``)  <  non-zero number

Missing components compare as zero, so ``1.2 == 1.2.0`` and ``2.4.0-rc1 < 2.4.0 < 2.4.0.1``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

MAX_VERSION_LENGTH = 128
MAX_COMPONENTS = 64

# Ranks of components; comparison is by (rank, value) and each rank has one value type.
_PRE, _ZERO, _POST, _NUMBER = 0, 1, 2, 3
_PAD = (_ZERO, 0)

# Pre-release words map to an order: dev < alpha < beta < rc; unknown words sit with dev.
_PRE_WORDS = {
    "dev": 0, "snapshot": 0, "nightly": 0,
    "alpha": 1, "a": 1,
    "beta": 2, "b": 2,
    "rc": 3, "c": 3, "cr": 3, "pre": 3, "preview": 3,
}
_POST_WORDS = {"p": "p", "pl": "p", "patch": "p", "post": "p", "r": "r", "rev": "r", "errata": "errata"}

_ALLOWED = re.compile(r"[0-9a-z._+~:\-]+")
# Tags and file names carry the project name in front: openssl_1_0_2k, curl-7_69_0, v1.1.1w.
_PREFIX = re.compile(r"(?:[a-z][a-z0-9]*[-_])*v?(?=\d)")
_EPOCH = re.compile(r"(\d+):")
_TOKEN = re.compile(r"\d+|[a-z]+")


class VersionError(ValueError):
    """A version string that cannot be put in order (empty, no digits, stray characters)."""


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A parsed version: compare with <, ==, sort freely; `text` keeps what was written."""

    text: str
    epoch: int = 0
    parts: tuple[tuple[int, object], ...] = field(default=(), repr=False)

    def _cmp(self, other: Version) -> int:
        if self.epoch != other.epoch:
            return -1 if self.epoch < other.epoch else 1
        a, b = self.parts, other.parts
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else _PAD
            y = b[i] if i < len(b) else _PAD
            if x != y:
                return -1 if x < y else 1  # type: ignore[operator]  # same rank, same value type
        return 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) == 0

    def __lt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        return hash((self.epoch, self.parts))

    def __str__(self) -> str:
        return self.text


def _classify_word(word: str, after_digit: bool, before_digit: bool) -> tuple[int, object]:
    if word in _PRE_WORDS and (before_digit or len(word) > 1):
        return (_PRE, (_PRE_WORDS[word], word if _PRE_WORDS[word] == 0 else ""))
    if word in _POST_WORDS:
        return (_POST, _POST_WORDS[word])
    if after_digit and not before_digit and len(word) <= 2:
        return (_POST, word)  # patch letter: 1.0.2k, 1.0.2zd
    return (_PRE, (0, word))


@functools.lru_cache(maxsize=65536)
def parse_version(text: str) -> Version:
    """Parse a version string; raise VersionError naming the problem if it has no sensible order."""
    if not isinstance(text, str):
        raise VersionError(f"version must be a string, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise VersionError("version is empty")
    if len(raw) > MAX_VERSION_LENGTH:
        raise VersionError(f"version is longer than {MAX_VERSION_LENGTH} characters")
    low = raw.lower()
    if not _ALLOWED.fullmatch(low):
        bad = next(ch for ch in low if not _ALLOWED.fullmatch(ch))
        raise VersionError(f"version {raw!r} contains {bad!r}; expected digits, letters and . - _ + ~ :")
    prefix = _PREFIX.match(low)
    if prefix is None:
        raise VersionError(f"version {raw!r} does not start with a number")
    rest = low[prefix.end():]
    epoch = 0
    if m := _EPOCH.match(rest):
        epoch, rest = int(m.group(1)), rest[m.end():]
    if ":" in rest:
        raise VersionError(f"version {raw!r} has a ':' that is not an epoch")
    if not rest or not rest[0].isdigit():
        raise VersionError(f"version {raw!r} does not start with a number")

    parts: list[tuple[int, object]] = []
    for tok in _TOKEN.finditer(rest):
        word = tok.group()
        if word[0].isdigit():
            n = int(word)
            parts.append((_NUMBER, n) if n else _PAD)
        else:
            after_digit = tok.start() > 0 and rest[tok.start() - 1].isdigit()
            before_digit = tok.end() < len(rest) and rest[tok.end()].isdigit()
            parts.append(_classify_word(word, after_digit, before_digit))
        if len(parts) > MAX_COMPONENTS:
            raise VersionError(f"version {raw!r} has more than {MAX_COMPONENTS} components")
    while parts and parts[-1] == _PAD:
        parts.pop()
    return Version(text=raw, epoch=epoch, parts=tuple(parts))


def compare_versions(a: str | Version, b: str | Version) -> int:
    """-1, 0 or 1 as `a` sorts before, equal to or after `b`. Raises VersionError on unparseable input."""
    va = a if isinstance(a, Version) else parse_version(a)
    vb = b if isinstance(b, Version) else parse_version(b)
    return va._cmp(vb)


# Distribution packages add a revision (Debian -0+deb11u4, RPM -5.el8, Alpine -r15) and sometimes an
# epoch; the upstream part is what advisories about the upstream project talk about.
_DISTRO_PURL_TYPES = frozenset({"deb", "rpm", "apk", "alpm", "opkg", "ipk"})
_DISTRO_MARKER = re.compile(
    r"[-+~.](?:deb\d|ubuntu|el\d|fc\d|bpo\d|amzn|mga\d|suse|sles|build\d|dfsg|ppa\d|r\d+$)"
)
_KERNEL_LOCAL = re.compile(r"(\d+\.\d+(?:\.\d+)*)(-(?!rc\d*$).+)")


def split_distro_version(version: str, purl_type: str | None = None, kernel: bool = False) -> tuple[str, bool]:
    """Return (upstream version, whether a distro/vendor revision was stripped).

    A stripped revision means a vendor may have back-ported fixes, so a match is less certain.
    """
    v = version.strip()
    distro = False
    if m := re.match(r"\d+:(?=\d)", v):
        v, distro = v[m.end():], True
    if purl_type in _DISTRO_PURL_TYPES and "-" in v:
        return v.rsplit("-", 1)[0], True
    if m := _DISTRO_MARKER.search(v):
        cut = v.rfind("-", 0, m.start() + 1)
        return v[: cut if cut > 0 else m.start()], True
    if kernel and (m := _KERNEL_LOCAL.fullmatch(v)):
        return m.group(1), True
    return v, distro
