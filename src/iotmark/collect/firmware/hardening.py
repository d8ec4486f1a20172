"""Binary hardening of every ELF file (NX, RELRO, PIE, stack canary, FORTIFY, stripped, RPATH/RUNPATH,
dangerous imports) and a summary per architecture (issue 4 part 7)."""

from __future__ import annotations

import functools
import io
import logging
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from iotmark.collect.base import make_finding
from iotmark.collect.firmware.corpus import Corpus, evidence
from iotmark.model import Finding

log = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"
PF_X = 0x1
PF_W = 0x2
DF_BIND_NOW = 0x8
DF_1_NOW = 0x1
DF_1_PIE = 0x08000000
MAX_SYMBOLS = 200_000
WORST_LISTED = 10


@functools.lru_cache(maxsize=1)
def hardening_table() -> dict[str, Any]:
    """Dangerous functions and architecture names (data/hardening.yaml)."""
    return yaml.safe_load(resources.files("iotmark.collect.firmware").joinpath("data/hardening.yaml").read_text("utf-8"))


@dataclass
class ElfInfo:
    """What one ELF file's headers, dynamic section and symbols say about its hardening."""

    path: str
    arch: str
    bits: int
    endian: str
    kind: str  # executable, shared library, kernel module, object
    static: bool
    nx: bool
    rwx_segment: bool
    pie: bool | None
    relro: str  # none, partial, full
    canary: bool | None  # None: stripped static binary, cannot tell
    fortify: bool | None
    stripped: bool
    rpath: list[str] = field(default_factory=list)
    dangerous: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Architecture as reported: "mips 32-bit little-endian"."""
        return f"{self.arch} {self.bits}-bit {self.endian}"

    def missing(self) -> list[str]:
        """Protections this file lacks (only those that apply to its kind)."""
        gaps = [] if self.nx else ["NX (executable stack)"]
        if self.rwx_segment:
            gaps.append("writable and executable segment")
        if self.kind == "executable" and self.pie is False:
            gaps.append("PIE")
        if self.kind != "kernel module":
            if self.relro != "full":
                gaps.append(f"full RELRO (has {self.relro})")
            if self.canary is False:
                gaps.append("stack canary")
            if self.fortify is False:
                gaps.append("FORTIFY_SOURCE")
        if self.rpath:
            gaps.append("no RPATH/RUNPATH (" + ":".join(self.rpath)[:80] + ")")
        return gaps


def _dynamic(sections: list[Any]) -> tuple[bool, list[str]]:
    bind_now, rpath = False, []
    for section in sections:
        if not isinstance(section, DynamicSection):
            continue
        for tag in section.iter_tags():
            kind = tag.entry.d_tag
            if kind == "DT_BIND_NOW":
                bind_now = True
            elif kind == "DT_FLAGS" and tag.entry.d_val & DF_BIND_NOW:
                bind_now = True
            elif kind == "DT_FLAGS_1" and tag.entry.d_val & DF_1_NOW:
                bind_now = True
            elif kind in ("DT_RPATH", "DT_RUNPATH"):
                rpath.append(getattr(tag, "rpath", None) or getattr(tag, "runpath", "") or "")
    return bind_now, rpath


def _symbols(elf: ELFFile, sections: list[Any]) -> tuple[set[str], set[str], bool]:
    """(all symbol names, undefined dynamic symbols = imports, has a full symbol table).

    Symbol entries are unpacked with struct rather than pyelftools' per-symbol parser, which is
    most of the cost of a large library.
    """
    names: set[str] = set()
    imports: set[str] = set()
    has_symtab = False
    order = "<" if elf.little_endian else ">"
    # (st_name, st_shndx) positions in Elf32_Sym / Elf64_Sym
    layout = struct.Struct(order + ("IIIBBH" if elf.elfclass == 32 else "IBBHQQ"))
    for section in sections:
        if not isinstance(section, SymbolTableSection):
            continue
        has_symtab |= section.name == ".symtab"
        strtab = sections[section.header.sh_link].data() if section.header.sh_link < len(sections) else b""
        data = section.data()
        usable = min(len(data) // layout.size, MAX_SYMBOLS) * layout.size
        for entry in layout.iter_unpack(data[:usable]):
            offset = entry[0]
            shndx = entry[5] if elf.elfclass == 32 else entry[3]
            end = strtab.find(b"\0", offset)
            name = strtab[offset:end if end >= 0 else None].decode("ascii", "replace") if offset < len(strtab) else ""
            names.add(name)
            if section.name == ".dynsym" and shndx == 0 and name:
                imports.add(name)
    return names, imports, has_symtab


def inspect_elf(rel: str, data: bytes) -> ElfInfo | None:
    """Hardening facts of one ELF file, or None when `data` is not a readable ELF file."""
    if not data.startswith(ELF_MAGIC):
        return None
    try:
        elf = ELFFile(io.BytesIO(data))
        header = elf.header
        arch = hardening_table()["architectures"].get(header.e_machine, str(header.e_machine).lower())
        segments = [(s.header.p_type, s.header.p_flags) for s in elf.iter_segments()]
        types = {t for t, _ in segments}
        stack = [f for t, f in segments if t == "PT_GNU_STACK"]
        sections = list(elf.iter_sections())
        bind_now, rpath = _dynamic(sections)
        names, imports, has_symtab = _symbols(elf, sections)
    except (ELFError, ValueError, KeyError, IndexError, AssertionError, OSError, struct.error) as exc:
        log.debug("unreadable ELF /%s: %s", rel, exc)
        return None
    e_type = header.e_type
    interp = "PT_INTERP" in types
    static = "PT_DYNAMIC" not in types
    if e_type == "ET_REL":
        kind = "kernel module" if rel.endswith(".ko") else "object"
    elif e_type == "ET_EXEC" or interp:
        kind = "executable"
    else:
        kind = "shared library"
    pie = None if kind != "executable" else e_type == "ET_DYN"
    relro = "none" if "PT_GNU_RELRO" not in types else "full" if bind_now else "partial"
    symbols_known = bool(names - {""}) and (not static or has_symtab)
    canary = bool({"__stack_chk_fail", "__stack_chk_guard", "__stack_chk_fail_local"} & names) if symbols_known else None
    fortify = any(n.startswith("__") and n.endswith("_chk") and "stack_chk" not in n for n in names) \
        if symbols_known else None
    table = hardening_table()["dangerous_functions"]
    dangerous = sorted(imports & {f for group in table.values() for f in group})
    rwx = any(t == "PT_LOAD" and f & PF_W and f & PF_X for t, f in segments)
    return ElfInfo(
        path=rel, arch=arch, bits=elf.elfclass, endian="little-endian" if elf.little_endian else "big-endian",
        kind=kind, static=static, nx=kind in ("kernel module", "object") or (bool(stack) and not stack[0] & PF_X),
        rwx_segment=rwx, pie=pie, relro=relro if kind not in ("kernel module", "object") else "n/a",
        canary=canary, fortify=fortify, stripped=not has_symtab, rpath=[r for r in rpath if r], dangerous=dangerous)


def _share(items: list[ElfInfo], test: Any) -> str:
    known = [i for i in items if test(i) is not None]
    return f"{sum(1 for i in known if test(i))}/{len(known)}" if known else "unknown"


def hardening_findings(corpus: Corpus, elfs: list[ElfInfo]) -> list[Finding]:
    """One summary finding per architecture; it fails when a binary has an executable stack or RWX segment."""
    if not elfs:
        return [make_finding("firmware.hardening.summary", "not_tested",
                             "No ELF binary was found in the image, so binary hardening was not examined.",
                             evidence=evidence(corpus, ""))]
    by_arch: dict[str, list[ElfInfo]] = defaultdict(list)
    for info in elfs:
        by_arch[info.label].append(info)
    findings = []
    for label, items in sorted(by_arch.items()):
        linked = [i for i in items if i.kind in ("executable", "shared library")]
        execs = [i for i in linked if i.kind == "executable"]
        worst = sorted(items, key=lambda i: (i.nx and not i.rwx_segment, -len(i.missing()), i.path))
        exec_stack = [i for i in items if not i.nx or i.rwx_segment]
        dangerous = sorted({f for i in items for f in i.dangerous})
        detail = (
            f"{len(items)} ELF files ({len(execs)} executables, {len(linked) - len(execs)} shared libraries): "
            f"NX {_share(items, lambda i: i.nx and not i.rwx_segment)}, "
            f"PIE {_share(execs, lambda i: i.pie)}, "
            f"full RELRO {_share(linked, lambda i: i.relro == 'full')}, "
            f"partial RELRO {_share(linked, lambda i: i.relro == 'partial')}, "
            f"stack canary {_share(linked, lambda i: i.canary)}, "
            f"FORTIFY {_share(linked, lambda i: i.fortify)}, "
            f"stripped {_share(items, lambda i: i.stripped)}, "
            f"RPATH/RUNPATH {sum(1 for i in items if i.rpath)}. "
            + (f"Imports of risky functions: {', '.join(dangerous)}. " if dangerous else "")
            + ("Executable stack or writable+executable segment in: "
               + ", ".join("/" + i.path for i in exec_stack[:WORST_LISTED]) + "." if exec_stack else "")
        )
        listed = [{"path": "/" + i.path, "missing": i.missing(), "dangerous_imports": i.dangerous}
                  for i in worst[:WORST_LISTED] if i.missing() or i.dangerous]
        ev = evidence(corpus, worst[0].path, architecture=label, binaries=listed,
                      excerpt=f"{worst[0].kind}, lacks: {', '.join(worst[0].missing()) or 'nothing'}")
        findings.append(make_finding(
            "firmware.hardening.summary", "fail" if exec_stack else "pass", detail,
            title=f"Binary hardening, {label}", severity="medium" if exec_stack else None, evidence=ev))
    return findings
