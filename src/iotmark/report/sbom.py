"""CycloneDX 1.6 SBOM of the software found on the device: the components of the bundle, with where each
was seen and how sure the collector is, without the vulnerability analysis (that is the VEX document)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from iotmark.model import Assessment, Bundle, Certificate
from iotmark.report import vex

SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:iotmark:sbom")


def build(bundle: Bundle) -> dict[str, Any]:
    """The SBOM as a dict; same bundle, same bytes (time and serial number come from the bundle)."""
    bom = vex.build(bundle)
    bom.pop("vulnerabilities", None)
    bom["serialNumber"] = f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, bundle.digest())}"
    return bom


def write(out: Path, bundle: Bundle, assessment: Assessment | None, certificate: Certificate | None) -> None:
    out.write_text(json.dumps(build(bundle), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
