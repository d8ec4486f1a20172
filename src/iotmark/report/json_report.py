"""JSON report: the typed objects as they are, under one schema tag, for machines that speak iotmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iotmark.model import Assessment, Bundle, Certificate

SCHEMA = "iotmark-report/1"


def build(bundle: Bundle, assessment: Assessment | None = None, certificate: Certificate | None = None) -> dict[str, Any]:
    """`{"schema", "bundle", "assessment", "certificate"}`; absent parts are null. Each part loads back with
    its model's `model_validate`."""

    def dump(obj: Any) -> Any:
        return obj.model_dump(mode="json", by_alias=True) if obj is not None else None

    return {"schema": SCHEMA, "bundle": dump(bundle), "assessment": dump(assessment), "certificate": dump(certificate)}


def write(out: Path, bundle: Bundle, assessment: Assessment | None, certificate: Certificate | None) -> None:
    data = build(bundle, assessment, certificate)
    out.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
