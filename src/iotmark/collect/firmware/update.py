"""The update mechanism: scripts that download and flash firmware, and whether they check a signature
first (issue 4 part 8, EN 303 645 5.3)."""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from iotmark.collect.base import make_finding
from iotmark.collect.firmware.corpus import Corpus, evidence
from iotmark.collect.firmware.services import ASSIGN, VAR_REF
from iotmark.model import Finding

SCRIPT_DIRS = ("etc/init.d/", "etc/hotplug.d/", "lib/upgrade/", "usr/libexec/", "www/cgi-bin/", "etc/rc.d/")
NO_FETCH_CONFIDENCE = 0.7  # flashing a local file: the image may have been checked by the caller


@functools.lru_cache(maxsize=1)
def update_rules() -> dict[str, Any]:
    """Compiled fetch/flash/verify patterns (data/update.yaml)."""
    raw = yaml.safe_load(resources.files("iotmark.collect.firmware").joinpath("data/update.yaml").read_text("utf-8"))
    return {
        "fetch": re.compile(raw["fetch"]),
        "cleartext_url": re.compile(raw["cleartext_url"]),
        "cleartext_command": re.compile(raw["cleartext_command"]),
        "flash": [re.compile(p) for p in raw["flash"]],
        "verify": [re.compile(p) for p in raw["verify"]],
        "key_dirs": tuple(raw["key_dirs"]),
    }


@dataclass
class UpdateScript:
    path: str
    fetch: list[tuple[int, str, bool]]  # line, text, cleartext
    flash: list[tuple[int, str]]
    verify: list[tuple[int, str]]


def _is_script(rel: str, text: str) -> bool:
    first = text[:80].split("\n", 1)[0]
    return (first.startswith("#!") and "sh" in first) or rel.endswith(".sh") or rel.startswith(SCRIPT_DIRS)


def read_update_scripts(corpus: Corpus) -> list[UpdateScript]:
    """Scripts that fetch, flash or verify, with the lines that do."""
    rules = update_rules()
    scripts = []
    for rel, text in sorted(corpus.texts.items()):
        if not _is_script(rel, text) or not any(p.search(text) for p in rules["flash"] + rules["verify"]):
            continue
        fetch, flash, verify = [], [], []
        variables: dict[str, str] = {}
        for number, line in corpus.lines(rel):
            code = line.strip()
            if not code or code.startswith("#"):
                continue
            if m := ASSIGN.match(code):
                variables[m.group(1)] = m.group(2).strip("\"'")
            if rules["fetch"].search(code):
                # URLs usually sit in a variable set a few lines up: judge the command with it expanded.
                expanded = VAR_REF.sub(lambda v: variables.get(v.group(1), v.group(0)), code)
                clear = bool(rules["cleartext_url"].search(expanded) or rules["cleartext_command"].search(expanded))
                fetch.append((number, code, clear))
            if any(p.search(code) for p in rules["verify"]):
                verify.append((number, code))
            elif any(p.search(code) for p in rules["flash"]):
                flash.append((number, code))
        if flash or verify:
            scripts.append(UpdateScript(rel, fetch, flash, verify))
    return scripts


def update_findings(corpus: Corpus) -> list[Finding]:
    """unsigned (fail) per script that flashes without a signature check; signature_verified otherwise."""
    rules = update_rules()
    scripts = read_update_scripts(corpus)
    keys = sorted(p for p in corpus.paths if p.startswith(rules["key_dirs"]))
    verifying = [s for s in scripts if s.verify]
    findings: list[Finding] = []
    for script in scripts:
        if not script.flash or script.verify:
            continue
        clear = [f for f in script.fetch if f[2]]
        if not script.fetch and verifying:
            continue  # flashes a file another script downloaded and verified
        number, line = script.flash[0]
        how = (f"downloads over a cleartext protocol (line {clear[0][0]}) and " if clear else
               f"downloads (line {script.fetch[0][0]}) and " if script.fetch else "")
        findings.append(make_finding(
            "firmware.update.unsigned", "fail",
            f"/{script.path} {how}writes the image to flash (line {number}) without checking a signature; "
            "no usign/signify/openssl/gpg verification occurs in the script"
            + ("." if verifying else " or anywhere else in the image."),
            title=f"Unsigned firmware update in /{script.path}",
            confidence=1.0 if script.fetch else NO_FETCH_CONFIDENCE,
            evidence=evidence(corpus, script.path, line=number, excerpt=line,
                              fetch_line=(clear or script.fetch or [(None, "", False)])[0][0],
                              fetch_excerpt=(clear or script.fetch or [(None, "", False)])[0][1][:200])))
    if findings:
        return findings
    if verifying:
        script = verifying[0]
        number, line = script.verify[0]
        return [make_finding(
            "firmware.update.signature_verified", "pass",
            f"/{script.path} verifies a signature (line {number}) before the image is used"
            + (f"; verification keys: {', '.join('/' + k for k in keys[:5])}." if keys else "."),
            evidence=evidence(corpus, script.path, line=number, excerpt=line))]
    names = sorted({posixpath.basename(s.path) for s in scripts})
    return [make_finding(
        "firmware.update.reviewed", "not_tested",
        "No script that downloads and flashes firmware was found"
        + (f" (scripts examined that mention flashing: {', '.join(names)})" if names else "")
        + "; the update mechanism may live in a binary and needs a functional test.",
        evidence=evidence(corpus, ""))]
