"""Renderers: typed objects in, one file out. One module per format; `render` picks the module.

Modules are imported on first use so that importing the package (and CLI startup) stays cheap:
WeasyPrint and trestle take seconds to import.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from iotmark.model import Assessment, Bundle, Certificate

FORMATS = ("html", "pdf", "json", "sarif", "vex", "oscal", "sbom")

# format -> (module under iotmark.report, file name used when `out` is a directory)
_MODULES: dict[str, tuple[str, str]] = {
    "html": ("html", "report.html"),
    "pdf": ("pdf", "report.pdf"),
    "json": ("json_report", "report.json"),
    "sarif": ("sarif", "report.sarif"),
    "vex": ("vex", "vex.cdx.json"),
    "oscal": ("oscal", "assessment-results.oscal.json"),
    "sbom": ("sbom", "sbom.cdx.json"),
}


class ReportError(ValueError):
    """A report cannot be produced from what was given (unknown format, missing assessment...)."""


def render(
    fmt: str,
    out: Path,
    bundle: Bundle,
    assessment: Assessment | None = None,
    certificate: Certificate | None = None,
) -> Path:
    """Write `bundle` (+ assessment, certificate) as `fmt` to `out` and return the file written.

    If `out` is an existing directory the file gets the format's default name inside it.
    """
    if fmt not in _MODULES:
        raise ReportError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    module_name, default_name = _MODULES[fmt]
    out = Path(out)
    if out.is_dir():
        out = out / default_name
    out.parent.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module(f"iotmark.report.{module_name}")
    module.write(out, bundle, assessment, certificate)
    return out


__all__ = ["FORMATS", "ReportError", "render"]
