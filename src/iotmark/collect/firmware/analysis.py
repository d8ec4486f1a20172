"""Runs every analyser over one extracted root: one pass reads each file once (text files kept for the
script and configuration analysers, binaries scanned and dropped), then each analyser turns what it
needs into findings. An analyser that fails becomes an `error` finding; the others still run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from iotmark.collect.base import make_finding
from iotmark.collect.firmware import accounts, services, update
from iotmark.collect.firmware.components import ComponentScanner
from iotmark.collect.firmware.corpus import Corpus
from iotmark.collect.firmware.fsview import RootView
from iotmark.collect.firmware.hardening import ELF_MAGIC, ElfInfo, hardening_findings, inspect_elf
from iotmark.collect.firmware.metadata import read_metadata
from iotmark.collect.firmware.secrets import SecretScanner
from iotmark.model import Component, Finding
from iotmark.vulns import VulnDB

log = logging.getLogger(__name__)

TEXT_MAX = 1024 * 1024  # config files and scripts are small; larger text is logs or data
BINARY_MAX = 32 * 1024 * 1024
TEXT_TOTAL_MAX = 128 * 1024 * 1024
SNIFF = 8192


@dataclass
class Analysis:
    """Everything the analysers found in one root."""

    findings: list[Finding] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    key_fingerprints: list[dict] = field(default_factory=list)


@dataclass
class _Pass:
    corpus: Corpus
    elfs: list[ElfInfo] = field(default_factory=list)
    components: ComponentScanner = field(default_factory=ComponentScanner)
    secrets: SecretScanner = field(default_factory=SecretScanner)


def _read_root(view: RootView, image_name: str) -> _Pass:
    """The single pass: classify each regular file by its first bytes and feed the scanners."""
    state = _Pass(Corpus(image=image_name))
    corpus = state.corpus
    corpus.links = dict(view.symlinks())
    text_total = 0
    for rel in view.files():
        corpus.paths.append(rel)
        size = view.size(rel)
        if not size:
            continue
        cap = min(BINARY_MAX, view.max_file_bytes)
        if size > cap:
            corpus.skipped.append(rel)
            continue
        try:
            head = view.read_bytes(rel, SNIFF)
            is_text = b"\x00" not in head and not head.startswith(ELF_MAGIC)
            if is_text and (size > TEXT_MAX or text_total + size > TEXT_TOTAL_MAX):
                corpus.skipped.append(rel)
                continue
            data = head if size <= len(head) else view.read_bytes(rel, cap)
        except OSError as exc:
            log.debug("cannot read /%s: %s", rel, exc)
            corpus.skipped.append(rel)
            continue
        state.secrets.scan(rel, data)
        if is_text:
            corpus.texts[rel] = data.decode("utf-8", errors="replace")
            text_total += size
        elif data.startswith(ELF_MAGIC):
            info = inspect_elf(rel, data)
            if info is not None:
                state.elfs.append(info)
            state.components.scan_binary(rel, data)
    return state


def _run(name: str, step: Callable[[], list[Finding]], image_name: str) -> list[Finding]:
    try:
        return step()
    except Exception as exc:  # one broken analyser must not hide the others' evidence
        log.exception("firmware analyser %s failed", name)
        return [make_finding("firmware.analysis.error", "error",
                             f"The {name} analyser failed: {type(exc).__name__}: {exc}",
                             title=f"Firmware {name} analysis failed", evidence={"source": image_name, "path": "/"})]


def analyse_root(view: RootView, *, image_name: str = "", db: VulnDB | None = None) -> Analysis:
    """Run every analyser over an extracted root and collect findings, components, metadata and key fingerprints."""
    state = _read_root(view, image_name)
    corpus = state.corpus
    result = Analysis()
    db = db if db is not None else VulnDB.load()

    def components() -> list[Finding]:
        state.components.scan_packages(corpus)
        found, findings = state.components.findings(corpus, db)
        result.components = found
        return findings

    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("accounts", lambda: accounts.account_findings(corpus) + accounts.hardcoded_credential_findings(corpus)),
        ("services", lambda: services.service_findings(corpus)),
        ("components", components),
        ("secrets", lambda: state.secrets.findings(corpus)),
        ("hardening", lambda: hardening_findings(corpus, state.elfs)),
        ("update", lambda: update.update_findings(corpus)),
    ]
    for name, step in steps:
        result.findings += _run(name, step, image_name)
    if corpus.skipped:
        shown = ", ".join("/" + p for p in corpus.skipped[:20]) + (" …" if len(corpus.skipped) > 20 else "")
        result.findings.append(make_finding(
            "firmware.analysis.limits", "not_tested",
            f"{len(corpus.skipped)} files were not examined (larger than the limits: text {TEXT_MAX // 1024} KiB, "
            f"binary {BINARY_MAX // 1024 // 1024} MiB, or unreadable): {shown}",
            evidence={"source": image_name, "path": "/" + corpus.skipped[0], "files": corpus.skipped[:200]}))
    result.key_fingerprints = state.secrets.fingerprints()
    try:
        result.metadata = read_metadata(corpus, state.elfs)
    except Exception:  # metadata is descriptive; its failure must not lose the findings
        log.exception("reading image metadata failed")
    return result
