"""Accounts and credentials: passwd/shadow files, hash schemes, empty and default passwords, and
passwords hard-coded in scripts, web configuration and nvram defaults (issue 4 part 3)."""

from __future__ import annotations

import functools
import logging
import re
import warnings
from dataclasses import dataclass
from importlib import resources

from iotmark.collect.base import make_finding
from iotmark.collect.firmware.corpus import Corpus, evidence, mask, mask_hash
from iotmark.model import Finding

log = logging.getLogger(__name__)

with warnings.catch_warnings():
    # crypt is deprecated in 3.11 but is the only binding to libxcrypt (yescrypt) in the stdlib.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import crypt as _crypt
    except ImportError:  # pragma: no cover - Python without crypt (3.13+): passlib covers the rest
        _crypt = None  # type: ignore[assignment]

ACCOUNT_FILE = re.compile(r"(?:^|/)(?:passwd|shadow|master\.passwd)(?:[-.][\w.-]*)?$")
USER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}\$?$")
DES_HASH = re.compile(r"^[./0-9A-Za-z]{13}$")
BSDI_HASH = re.compile(r"^_[./0-9A-Za-z]{19}$")
LOGIN_SHELLS_NOT = ("/bin/false", "/sbin/nologin", "/usr/sbin/nologin", "/bin/nologin", "/usr/bin/false", "/bin/sync")
WEAK_SCHEMES = {"des", "bsdi", "md5", "none"}
# Tries per account by cost of one hash, so cracking stays well under a second per slow hash.
MAX_TRIES = {"des": 10_000, "bsdi": 10_000, "md5": 10_000, "sha256": 40, "sha512": 40,
             "yescrypt": 8, "gost-yescrypt": 8, "scrypt": 8, "bcrypt": 3}
MAX_ACCOUNTS_CRACKED = 32
SCHEME_NAMES = {"des": "DES crypt", "bsdi": "BSDi extended DES", "md5": "MD5-crypt ($1$)",
                "sha256": "SHA-256-crypt ($5$)", "sha512": "SHA-512-crypt ($6$)", "yescrypt": "yescrypt ($y$)",
                "gost-yescrypt": "GOST yescrypt ($gy$)", "scrypt": "scrypt ($7$)", "bcrypt": "bcrypt ($2*$)",
                "none": "no hash (empty)", "locked": "locked", "plain": "not a crypt hash"}


@dataclass(frozen=True)
class Credential:
    user: str
    password: str
    source: str


@dataclass
class Account:
    user: str
    hash: str
    path: str
    line: int
    raw: str
    shell: str | None = None
    uid: int | None = None

    @property
    def scheme(self) -> str:
        return hash_scheme(self.hash)

    @property
    def can_log_in(self) -> bool:
        """False only when we know the shell refuses logins."""
        return not (self.shell and self.shell.strip() in LOGIN_SHELLS_NOT)


@functools.lru_cache(maxsize=1)
def default_credentials() -> tuple[Credential, ...]:
    """The default-credential list (data/credentials.txt), with the section each pair came from."""
    text = resources.files("iotmark.collect.firmware").joinpath("data/credentials.txt").read_text(encoding="utf-8")
    pairs: list[Credential] = []
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line and not line.startswith("#") and ":" in line:
            user, _, password = line.partition(":")
            pairs.append(Credential(user, password, section))
    return tuple(dict.fromkeys(pairs))


def hash_scheme(value: str) -> str:
    """The crypt scheme of a passwd/shadow password field."""
    if value == "":
        return "none"
    if value[0] in "!*" or value in ("x", "LK", "NP"):
        return "locked"
    prefixes = {"$1$": "md5", "$5$": "sha256", "$6$": "sha512", "$y$": "yescrypt", "$gy$": "gost-yescrypt",
                "$7$": "scrypt", "$2a$": "bcrypt", "$2b$": "bcrypt", "$2y$": "bcrypt", "$2x$": "bcrypt"}
    for prefix, scheme in prefixes.items():
        if value.startswith(prefix):
            return scheme
    if DES_HASH.match(value):
        return "des"
    if BSDI_HASH.match(value):
        return "bsdi"
    return "plain"


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` produces `hashed` (libxcrypt through crypt, else passlib)."""
    if _crypt is not None:
        try:
            return _crypt.crypt(password, hashed) == hashed
        except (OSError, ValueError):
            return False
    from passlib.context import CryptContext  # only on Pythons without crypt

    context = CryptContext(schemes=["des_crypt", "bsdi_crypt", "md5_crypt", "sha256_crypt", "sha512_crypt", "bcrypt"])
    try:
        return bool(context.verify(password, hashed))
    except (ValueError, TypeError):
        return False


# ---------------------------------------------------------------- reading account files


def _account_lines(corpus: Corpus, rel: str) -> list[tuple[int, list[str], str]]:
    rows = []
    for number, line in corpus.lines(rel):
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) >= 2 and USER_NAME.match(fields[0]):
            rows.append((number, fields, line))
    return rows


def read_accounts(corpus: Corpus) -> tuple[list[Account], list[str]]:
    """Accounts with a password field, from every passwd/shadow-like file; and the files read.

    Shadow entries are authoritative; a passwd entry counts only when its second field holds a hash.
    """
    files = sorted(rel for rel in corpus.texts if ACCOUNT_FILE.search(rel))
    shells: dict[str, tuple[str, int | None]] = {}
    accounts: list[Account] = []
    used: list[str] = []
    for rel in files:
        rows = _account_lines(corpus, rel)
        # A file qualifies when most of its lines look like account entries (not a man page or script).
        if not rows or len(rows) * 2 < sum(1 for _, line in corpus.lines(rel) if line.strip()):
            continue
        used.append(rel)
        for number, fields, line in rows:
            if len(fields) >= 7:
                uid = int(fields[2]) if fields[2].isdigit() else None
                shells.setdefault(fields[0], (fields[6], uid))
            if "shadow" in rel or (len(fields) >= 7 and fields[1] not in ("x", "*", "!")):
                accounts.append(Account(fields[0], fields[1], rel, number, line))
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for acc in accounts:
        acc.shell, acc.uid = shells.get(acc.user, (None, None))
        key = (acc.user, acc.hash, acc.path)
        if key not in seen:
            seen.add(key)
            unique.append(acc)
    return unique, used


def _shadowed(corpus: Corpus, files: list[str]) -> bool:
    """True when some passwd entry says its password is in the shadow file ("x")."""
    return any(fields[1] == "x" for rel in files for _, fields, _ in _account_lines(corpus, rel) if len(fields) >= 7)


def _masked_line(acc: Account) -> str:
    fields = acc.raw.split(":")
    fields[1] = mask_hash(fields[1]) if acc.scheme not in ("plain",) else mask(fields[1])
    return ":".join(fields)


def crack(acc: Account) -> Credential | None:
    """The default credential whose password matches the account's hash, trying same-user pairs first."""
    creds = default_credentials()
    if acc.scheme == "plain":
        return next((c for c in creds if c.password and c.password == acc.hash), None)
    limit = MAX_TRIES.get(acc.scheme)
    if not limit:
        return None
    ordered = [c for c in creds if c.user == acc.user] + [c for c in creds if c.user != acc.user]
    tried: set[str] = set()
    for cred in ordered:
        if cred.password in tried or not cred.password:
            continue
        if len(tried) >= limit:
            break
        tried.add(cred.password)
        if verify_password(cred.password, acc.hash):
            return cred
    return None


# ---------------------------------------------------------------- findings


def account_findings(corpus: Corpus) -> list[Finding]:
    """Findings about the accounts in passwd/shadow files; not_tested when the image has none."""
    accounts, files = read_accounts(corpus)
    if not files:
        return [make_finding("firmware.accounts.reviewed", "not_tested",
                             "No passwd or shadow file was found in the image, so its accounts were not examined.",
                             evidence=evidence(corpus, ""))]
    if not accounts and _shadowed(corpus, files):
        return [make_finding("firmware.accounts.reviewed", "not_tested",
                             f"{', '.join('/' + f for f in files)} point to a shadow file for the passwords, and no "
                             "shadow file is in the image, so the passwords were not examined.",
                             evidence=evidence(corpus, files[0]))]
    findings: list[Finding] = []
    for acc in accounts[:MAX_ACCOUNTS_CRACKED * 4]:
        ev = evidence(corpus, acc.path, line=acc.line, excerpt=_masked_line(acc), account=acc.user,
                      hash_type=SCHEME_NAMES[acc.scheme])
        if acc.scheme == "none" and acc.can_log_in:
            findings.append(make_finding(
                "firmware.accounts.empty_password", "fail",
                f"Account {acc.user!r} has an empty password field: it logs in without a password.",
                title=f"Account {acc.user} has an empty password", evidence=ev))
            continue
        if acc.scheme in ("des", "bsdi", "md5"):
            findings.append(make_finding(
                "firmware.accounts.weak_hash", "fail",
                f"Account {acc.user!r} stores its password as {SCHEME_NAMES[acc.scheme]}, which is fast to brute-force; "
                "use SHA-512-crypt or yescrypt.",
                title=f"Account {acc.user} uses {SCHEME_NAMES[acc.scheme]}", evidence=ev))
        if acc.scheme == "plain" and acc.hash:
            findings.append(make_finding(
                "firmware.accounts.weak_hash", "fail",
                f"Account {acc.user!r} has a password field that is not a crypt hash; it may be stored in clear.",
                title=f"Account {acc.user} password is not hashed", evidence=ev, confidence=0.7))
        cred = crack(acc) if acc.scheme not in ("locked", "none") else None
        if cred is not None:
            findings.append(make_finding(
                "firmware.accounts.default_credential", "fail",
                f"The password of {acc.user!r} is {mask(cred.password)}, listed as {cred.user}:{mask(cred.password)} in "
                f"the default-credential list ({cred.source}).",
                title=f"Account {acc.user} has a default password", evidence=ev))
    if not any(f.outcome == "fail" for f in findings):
        summary = ", ".join(f"{a.user} ({SCHEME_NAMES[a.scheme]}{'' if a.can_log_in else ', no login shell'})"
                            for a in accounts) or "no account with a password"
        findings.append(make_finding(
            "firmware.accounts.reviewed", "pass",
            f"Examined {', '.join('/' + f for f in files)}: {summary}. None is empty, weakly hashed or on the "
            f"default-credential list ({len(default_credentials())} pairs; slow hashes tried with a bounded number "
            "of candidates, same-user pairs first).",
            evidence=evidence(corpus, files[0])))
    return findings


# ---------------------------------------------------------------- hard-coded credentials

KEY = r"[A-Za-z0-9_.\-]*(?:passw(?:or)?d|passphrase|pwd|_pass|pass_|wpa_psk|wpakey|\bpass)[A-Za-z0-9_.\-]*"
ASSIGNMENT = re.compile(rf"(?i)(?P<key>\b{KEY})\s*[=:]\s*(?P<q>[\"']?)(?P<value>[^\"'\s;,<>&|]{{1,128}})(?P=q)")
UCI_OPTION = re.compile(r"""^\s*option\s+(?P<key>\w*(?:pass|key|pwd|secret)\w*)\s+(?P<q>['"]?)(?P<value>[^'"\s]+)(?P=q)""", re.I)
XML_ELEMENT = re.compile(r"(?i)<(?P<key>[\w:.\-]*(?:passw(?:or)?d|pwd|passphrase)[\w:.\-]*)>(?P<value>[^<\s]{1,128})</")
CHPASSWD = re.compile(r"""echo\s+(?:-e\s+)?["']?(?P<key>[\w.\-]+):(?P<value>[^"'\s:|]+)["']?\s*\|\s*chpasswd""")
PLACEHOLDER = re.compile(r"^(?:[$%{<@`(]|\\|x+$|\*+$|\.+$|-+$|none$|null$|nil$|true$|false$|yes$|no$|on$|off$|"
                         r"0$|1$|required$|optional$|sufficient$|string$|password$|passwd$|\[|/)", re.I)
SKIP_PREFIXES = ("usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/include/", "usr/share/locale/")
CREDENTIAL_FILE_MAX = 256 * 1024
CODE_SUFFIXES = (".js", ".html", ".htm", ".asp", ".php", ".lua", ".py")


def _credential_matches(line: str, quoted_only: bool) -> list[tuple[str, str, int]]:
    found = []
    for pattern in (UCI_OPTION, XML_ELEMENT, CHPASSWD, ASSIGNMENT):
        for m in pattern.finditer(line):
            if pattern is ASSIGNMENT and quoted_only and not m.group("q"):
                continue
            value = m.group("value")
            if len(value) < 3 or PLACEHOLDER.match(value):
                continue
            found.append((m.group("key"), value, m.start("value")))
        if found:
            break
    return found


def hardcoded_credential_findings(corpus: Corpus) -> list[Finding]:
    """Literal passwords in scripts and configuration files (init scripts, web configs, nvram defaults)."""
    known = {c.password for c in default_credentials() if c.password}
    findings: list[Finding] = []
    for rel, text in corpus.texts.items():
        if rel.startswith(SKIP_PREFIXES) or ACCOUNT_FILE.search(rel) or len(text) > CREDENTIAL_FILE_MAX:
            continue
        if not re.search(r"(?i)pass|pwd|psk|key", text):
            continue
        quoted_only = rel.endswith(CODE_SUFFIXES)
        for number, line in corpus.lines(rel):
            stripped = line.strip()
            if not stripped or stripped.startswith(("#", "//", ";", "<!--")):
                continue
            for key, value, start in _credential_matches(line, quoted_only):
                masked = line[:start] + mask(value) + line[start + len(value):]
                default = value in known
                findings.append(make_finding(
                    "firmware.accounts.hardcoded_credential", "fail",
                    f"{key} is set to the literal {mask(value)} in /{rel}"
                    + (", a password on the default-credential list." if default else "."),
                    title=f"Hard-coded credential {key} in /{rel}",
                    severity="critical" if default else None,
                    evidence=evidence(corpus, rel, line=number, excerpt=masked, key=key)))
    return findings
