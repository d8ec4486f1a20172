"""Target metadata read from the image: architecture, kernel version, OS release, build date, vendor
and model strings (issue 4 part 9)."""

from __future__ import annotations

import re
from collections import Counter

from iotmark.collect.firmware.corpus import Corpus
from iotmark.collect.firmware.hardening import ElfInfo

RELEASE_FILES = ("etc/os-release", "usr/lib/os-release", "etc/openwrt_release", "etc/device_info", "etc/lsb-release")
KEY_VALUE = re.compile(r"""^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*['"]?([^'"\n]*)['"]?\s*$""")
MODULES_DIR = re.compile(r"^lib/modules/(\d+\.\d+(?:\.\d+)?[^/]*)/")
DATE = re.compile(r"\b(20\d\d-[01]\d-[0-3]\d(?:[ T][0-2]\d:[0-5]\d(?::[0-5]\d)?)?|20\d\d[01]\d[0-3]\d)\b")
DATE_FILES = re.compile(r"^etc/(?:version|build[\w.-]*|banner|firmware[\w.-]*|fw[\w.-]*version[\w.-]*|.*release)$")
DEVICE_KEYS = {
    "vendor": ("DEVICE_MANUFACTURER", "VENDOR", "MANUFACTURER", "vendor", "manufacturer", "VENDOR_NAME"),
    "model": ("DEVICE_PRODUCT", "MODEL", "model", "model_name", "product_name", "PRODUCT", "HW_MODEL", "board_name"),
    "hardware_version": ("DEVICE_REVISION", "hw_version", "HW_VERSION", "hardware_version"),
}


def _pairs(corpus: Corpus, rel: str) -> dict[str, str]:
    out = {}
    for _, line in corpus.lines(rel):
        m = KEY_VALUE.match(line)
        if m and m.group(2).strip():
            out.setdefault(m.group(1), m.group(2).strip())
    return out


def read_metadata(corpus: Corpus, elfs: list[ElfInfo]) -> dict[str, str]:
    """What the image says about itself; keys are present only when found."""
    meta: dict[str, str] = {}
    labels = Counter(i.label for i in elfs if i.kind in ("executable", "shared library"))
    if labels:
        meta["architecture"] = labels.most_common(1)[0][0]
        meta["elf_files"] = str(len(elfs))
    kernels = sorted({m.group(1) for p in corpus.paths if (m := MODULES_DIR.match(p))})
    if kernels:
        meta["kernel_version"] = kernels[-1]
    release: dict[str, str] = {}
    for rel in RELEASE_FILES:
        release.update({k: v for k, v in _pairs(corpus, rel).items() if k not in release})
    for key, names in (("os_release", ("PRETTY_NAME", "DISTRIB_DESCRIPTION", "NAME")),
                       ("os_id", ("ID", "DISTRIB_ID")), ("os_version", ("VERSION_ID", "DISTRIB_RELEASE")),
                       ("os_build", ("BUILD_ID", "DISTRIB_REVISION", "OPENWRT_BUILD")),
                       ("target", ("DISTRIB_TARGET", "OPENWRT_BOARD")), ("os_arch", ("DISTRIB_ARCH",))):
        value = next((release[n] for n in names if n in release), None)
        if value:
            meta[key] = value
    device: dict[str, str] = dict(release)
    for rel in sorted(corpus.texts):
        if rel.startswith("etc/") and re.search(r"(?:default|nvram|model|product|device|board)", rel.rsplit("/", 1)[-1]):
            device.update({k: v for k, v in _pairs(corpus, rel).items() if k not in device})
    for key, names in DEVICE_KEYS.items():
        value = next((device[n] for n in names if n in device), None)
        if value:
            meta[key] = value[:200]
    for rel in sorted(corpus.texts):
        if DATE_FILES.match(rel):
            m = DATE.search(corpus.texts[rel])
            if m:
                meta["build_date"] = m.group(1)
                meta["build_date_source"] = "/" + rel
                break
    meta["files"] = str(len(corpus.paths))
    meta["symlinks"] = str(len(corpus.links))
    return meta
