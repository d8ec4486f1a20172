"""What starts at boot: inittab, rcS and init.d/rc.d scripts (sysvinit, busybox, OpenWrt procd), systemd
units and inetd/xinetd, read as text and never run (issue 4 part 4)."""

from __future__ import annotations

import functools
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from iotmark.collect.base import make_finding
from iotmark.collect.firmware.corpus import Corpus, evidence
from iotmark.model import Finding

INIT_SCRIPT = re.compile(r"(?:^|/)etc[^/]*/(?:init\.d|rc\.d|rc[0-6S]\.d)/[^/]+$")
BOOT_SCRIPT_NAMES = {"rcS", "rc.local", "rc.sysinit", "rc.startup", "rc.init", "rc.boot"}
SYSTEMD_DIRS = ("etc/systemd/system/", "lib/systemd/system/", "usr/lib/systemd/system/")
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "(", ")", "time", "case", "esac"}
SEPARATORS = {";", "&&", "||", "|", "&", ";;", "(", ")", "&>", "|&"}
ASSIGN = re.compile(r"^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=(\S*)")
VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
DROPBEAR_ARG_OPTIONS = set("brpPWKIcTD")


@dataclass
class Start:
    """One daemon started at boot, with where it is started."""

    service: str
    name: str
    args: list[str]
    path: str
    line: int
    text: str
    via: str
    file_uses_uci: bool = False


@dataclass
class ServiceTable:
    daemons: dict[str, dict[str, Any]]
    by_name: dict[str, str]
    wrappers: set[str]
    non_starting: set[str]
    shells: set[str]
    extra: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def service_table() -> ServiceTable:
    """The daemon table (data/services.yaml)."""
    raw = yaml.safe_load(resources.files("iotmark.collect.firmware").joinpath("data/services.yaml").read_text("utf-8"))
    by_name = {name: key for key, entry in raw["daemons"].items() for name in entry["names"]}
    return ServiceTable(raw["daemons"], by_name, set(raw["wrappers"]), set(raw["non_starting"]), set(raw["shells"]))


# ---------------------------------------------------------------- shell command lines


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: fall back to plain words
        return line.split("#", 1)[0].split()


def _segments(tokens: list[str]) -> list[list[str]]:
    segments, current = [], []
    for tok in tokens:
        if tok in SEPARATORS:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        segments.append(current)
    return segments


def _unwrap(words: list[str], table: ServiceTable) -> list[str] | None:
    """The command a segment really runs (after assignments, keywords and wrappers), or None."""
    while words and (words[0] in KEYWORDS or ASSIGN.match(words[0])):
        words = words[1:]
    if words[:2] in (["procd_set_param", "command"], ["procd_append_param", "command"]):
        words = words[2:]
    elif words and words[0] == "service_start":
        words = words[1:]
    if not words or posixpath.basename(words[0]) in table.non_starting:
        return None
    head = posixpath.basename(words[0])
    if head == "start-stop-daemon":
        if any(w in ("-K", "--stop") for w in words):
            return None
        exe = next((words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-x", "--exec", "-a", "--startas")), None)
        rest = words[words.index("--") + 1:] if "--" in words else []
        return [exe, *rest] if exe else None
    if head in table.wrappers:
        rest = words[1:]
        if head == "chroot" and rest:
            rest = rest[1:]
        while rest and rest[0].startswith("-") and head != "busybox":
            rest = rest[1:]
        return _unwrap(rest, table) if rest else None
    return words


def _commands_in_line(line: str, variables: dict[str, str], table: ServiceTable) -> list[list[str]]:
    expanded = VAR_REF.sub(lambda m: variables.get(m.group(1), m.group(0)), line)
    found = []
    for segment in _segments(_tokens(expanded)):
        words = _unwrap(segment, table)
        if words and posixpath.basename(words[0]).lstrip("-") in table.by_name:
            found.append(words)
    return found


def _script_starts(corpus: Corpus, rel: str, via: str, table: ServiceTable) -> list[Start]:
    variables: dict[str, str] = {}
    text = corpus.texts.get(rel, "")
    uses_uci = "USE_PROCD" in text or "config_load" in text or "config_get" in text
    starts = []
    for number, line in corpus.lines(rel):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = ASSIGN.match(line)
        if m:
            variables[m.group(1)] = m.group(2).strip("\"'")
        for words in _commands_in_line(stripped, variables, table):
            name = posixpath.basename(words[0]).lstrip("-")
            starts.append(Start(table.by_name[name], name, words[1:], rel, number, stripped, via, uses_uci))
    return starts


# ---------------------------------------------------------------- boot configuration sources


def _enabled_init_scripts(corpus: Corpus) -> tuple[set[str], bool]:
    """Base names of init.d scripts linked from an rc*.d folder, and whether any such links exist."""
    linked = {posixpath.basename(target) for path, target in corpus.links.items()
              if re.search(r"(?:^|/)etc[^/]*/rc[0-6S]?\.d/", path)}
    return linked, bool(linked)


def _inittab_starts(corpus: Corpus, rel: str, table: ServiceTable) -> tuple[list[Start], list[Finding]]:
    starts: list[Start] = []
    shells: list[Finding] = []
    for number, line in corpus.lines(rel):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":", 3)
        if len(fields) != 4:
            continue
        tty, _, action, process = fields
        words = _tokens(process)
        if not words:
            continue
        head = posixpath.basename(words[0].lstrip("-"))
        console = tty.strip() or "the console"
        reason = None
        if head in table.shells and action in ("askfirst", "respawn", "once", "wait", "sysinit", "boot"):
            reason = f"inittab starts {words[0]} on {console} ({action}) without a login prompt"
        elif head.endswith("getty") and "-l" in words and \
                posixpath.basename(words[words.index("-l") + 1] if words.index("-l") + 1 < len(words) else "") in table.shells:
            reason = f"getty on {console} runs a shell as its login program"
        elif head == "login" and "-f" in words:
            reason = f"login -f logs {console} in without a password"
        if reason:
            shells.append(make_finding(
                "firmware.services.debug_shell", "fail", reason + "; anyone with access to that port gets a shell.",
                title=f"Shell without login on {console}", evidence=evidence(corpus, rel, line=number, excerpt=line)))
            continue
        for cmd in _commands_in_line(process.lstrip("-"), {}, table):
            name = posixpath.basename(cmd[0]).lstrip("-")
            starts.append(Start(table.by_name[name], name, cmd[1:], rel, number, line.strip(), "inittab"))
    return starts, shells


def _inetd_starts(corpus: Corpus, table: ServiceTable) -> list[Start]:
    starts = []
    for rel in corpus.texts:
        if posixpath.basename(rel) == "inetd.conf":
            for number, line in corpus.lines(rel):
                fields = line.split()
                if len(fields) >= 6 and not line.lstrip().startswith("#"):
                    name = posixpath.basename(fields[5])
                    args = fields[7:] if len(fields) > 7 else []
                    if name in table.by_name:
                        starts.append(Start(table.by_name[name], name, args, rel, number, line.strip(), "inetd"))
        elif re.search(r"(?:^|/)xinetd\.(?:conf|d/[^/]+)$", rel):
            starts += _xinetd_starts(corpus, rel, table)
    return starts


def _xinetd_starts(corpus: Corpus, rel: str, table: ServiceTable) -> list[Start]:
    starts = []
    server: tuple[int, str] | None = None
    disabled = False
    for number, line in corpus.lines(rel):
        key, _, value = (p.strip() for p in line.partition("="))
        if line.strip().startswith("service"):
            server, disabled = None, False
        elif key == "server":
            server = (number, value)
        elif key == "disable":
            disabled = value.lower() == "yes"
        elif line.strip() == "}" and server and not disabled:
            name = posixpath.basename(server[1])
            if name in table.by_name:
                starts.append(Start(table.by_name[name], name, [], rel, server[0], f"server = {server[1]}", "xinetd"))
    return starts


def _systemd_starts(corpus: Corpus, table: ServiceTable) -> list[Start]:
    wanted = {posixpath.basename(p) for p in corpus.links if "/systemd/" in p and ".wants/" in p}
    starts = []
    for rel in corpus.texts:
        if not (rel.startswith(SYSTEMD_DIRS) and rel.endswith(".service")):
            continue
        if posixpath.basename(rel) not in wanted and not rel.startswith("etc/systemd/system/"):
            continue
        for number, line in corpus.lines(rel):
            key, _, value = line.partition("=")
            if key.strip() == "ExecStart":
                for cmd in _commands_in_line(value.strip().lstrip("-@+!"), {}, table):
                    name = posixpath.basename(cmd[0])
                    starts.append(Start(table.by_name[name], name, cmd[1:], rel, number, line.strip(), "systemd"))
    return starts


def boot_starts(corpus: Corpus) -> tuple[list[Start], list[Finding], list[str]]:
    """Every recognised daemon started at boot, console shells without login, and the files read."""
    table = service_table()
    starts: list[Start] = []
    shell_findings: list[Finding] = []
    sources: list[str] = []
    for rel in sorted(corpus.texts):
        if posixpath.basename(rel) == "inittab":
            sources.append(rel)
            more, shells = _inittab_starts(corpus, rel, table)
            starts += more
            shell_findings += shells
    linked, has_links = _enabled_init_scripts(corpus)
    boot_text = " ".join(corpus.texts.get(s, "") for s in sources)
    for rel in sorted(corpus.texts):
        name = posixpath.basename(rel)
        if name in BOOT_SCRIPT_NAMES and rel.startswith(("etc", "usr/etc")):
            sources.append(rel)
            starts += _script_starts(corpus, rel, "boot script", table)
        elif INIT_SCRIPT.search(rel):
            sources.append(rel)
            # With rc.d links present only linked (or explicitly invoked) scripts run at boot.
            if has_links and name not in linked and f"init.d/{name}" not in boot_text:
                continue
            starts += _script_starts(corpus, rel, "init script", table)
    inetd = _inetd_starts(corpus, table)
    systemd = _systemd_starts(corpus, table)
    sources += sorted({s.path for s in inetd + systemd})
    return starts + inetd + systemd, shell_findings, sources


# ---------------------------------------------------------------- SSH options


def _dropbear_flags(args: list[str]) -> set[str]:
    flags: set[str] = set()
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if not arg.startswith("-") or arg.startswith("--") or len(arg) < 2:
            continue
        for i, letter in enumerate(arg[1:]):
            if letter in DROPBEAR_ARG_OPTIONS:
                skip = i == len(arg) - 2  # the option's argument is the next word
                break
            flags.add(letter)
    return flags


def _uci_option(corpus: Corpus, rel: str, option: str) -> tuple[int, str, str] | None:
    for number, line in corpus.lines(rel):
        m = re.match(rf"""\s*option\s+{option}\s+['"]?([^'"\s]*)""", line)
        if m:
            return number, m.group(1), line.strip()
    return None


def _ssh_findings(corpus: Corpus, start: Start) -> list[Finding]:
    where = evidence(corpus, start.path, line=start.line, excerpt=start.text, started_by=start.via)
    if start.service == "dropbear":
        uci = "etc/config/dropbear"
        if start.file_uses_uci and uci in corpus.texts:
            opt = _uci_option(corpus, uci, "PasswordAuth")
            if opt and opt[1].lower() in ("off", "0", "no", "false"):
                return []
            ev = evidence(corpus, uci, line=opt[0], excerpt=opt[2]) if opt else where
            why = f"PasswordAuth is {opt[1]!r} in /{uci}" if opt else f"/{uci} does not turn PasswordAuth off (default on)"
            return [make_finding("firmware.services.ssh_password_login", "fail",
                                 f"Dropbear is started by /{start.path} and {why}.", evidence=ev)]
        flags = _dropbear_flags(start.args)
        if "s" in flags:
            return []
        extra = " Root password logins are refused (-g/-w), other accounts still log in with passwords." \
            if flags & {"g", "w"} else ""
        return [make_finding("firmware.services.ssh_password_login", "fail",
                             f"Dropbear starts without -s, so it accepts password logins.{extra}",
                             title="Dropbear accepts password logins", evidence=where)]
    config = "etc/ssh/sshd_config"
    value, ev = "yes (default)", where
    for number, line in corpus.lines(config):
        parts = line.split()
        if len(parts) >= 2 and parts[0].lower() == "passwordauthentication":
            value, ev = parts[1].lower(), evidence(corpus, config, line=number, excerpt=line)
            break
    if value == "no":
        return []
    return [make_finding("firmware.services.ssh_password_login", "fail",
                         f"sshd is started at boot with PasswordAuthentication {value}.",
                         title="OpenSSH accepts password logins", evidence=ev)]


# ---------------------------------------------------------------- findings


def service_findings(corpus: Corpus) -> list[Finding]:
    """Findings about daemons and shells started at boot; not_tested when no boot configuration exists."""
    table = service_table()
    starts, findings, sources = boot_starts(corpus)
    if not sources:
        return [make_finding("firmware.services.reviewed", "not_tested",
                             "No inittab, rcS, init.d/rc.d script, systemd unit or inetd configuration was found, "
                             "so what starts at boot is unknown.", evidence=evidence(corpus, ""))]
    reported: set[tuple[str, str, int]] = set()
    for start in starts:
        key = (start.service, start.path, start.line)
        if key in reported:
            continue
        reported.add(key)
        entry = table.daemons[start.service]
        ev = evidence(corpus, start.path, line=start.line, excerpt=start.text, started_by=start.via)
        if entry.get("check"):
            findings.append(make_finding(
                entry["check"], "fail",
                f"{start.name} ({entry['role']}) is started by /{start.path} line {start.line} ({start.via}).",
                title=f"{entry['role'].split(' (')[0].capitalize()} {start.name} starts at boot", evidence=ev))
        elif start.service in ("dropbear", "sshd"):
            findings += _ssh_findings(corpus, start)
    if not any(f.outcome == "fail" for f in findings):
        listed = "; ".join(f"{s.name} ({table.daemons[s.service]['role']}, /{s.path}:{s.line})"
                           for s in starts) or "no recognised network daemon"
        findings.append(make_finding(
            "firmware.services.reviewed", "pass",
            f"Read {len(sources)} boot configuration files. Started at boot: {listed}. No telnet, cleartext file "
            "service, console shell without login or SSH password login found.",
            evidence=evidence(corpus, sources[0])))
    return findings
