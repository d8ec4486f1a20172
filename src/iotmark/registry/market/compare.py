"""Side-by-side comparison of 2-4 certified products in plain language: what the level means, what each device
is protected against and what is missing (grouped into buyer topics, data/buyer-topics.yaml), how long it gets
security updates, and the certificate's status."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel

from iotmark.registry import services
from iotmark.registry.services import RegistryError

MIN_COMPARE, MAX_COMPARE = 2, 4


class Topic(BaseModel):
    id: str
    name: str
    protects: str
    provisions: list[str]


class TopicResult(BaseModel):
    topic: str
    explanation: str
    passed: int
    failed: int
    checked: int
    missing: list[str]  # titles of the failed provisions, in the catalog's words


class ComparedProduct(BaseModel):
    id: str
    vendor: str
    vendor_id: int
    model: str
    firmware_version: str
    device_class: str
    device_class_name: str
    level: int
    level_name: str
    level_meaning: str
    required_level: int | None
    meets_class: bool
    status: str
    status_summary: str
    support_until: dt.date | None
    updates_left: str
    protected: list[TopicResult]  # topics with at least one provision met
    missing: list[TopicResult]  # topics with at least one provision failed


@lru_cache(maxsize=1)
def buyer_topics() -> tuple[Topic, ...]:
    text = resources.files("iotmark.registry.market").joinpath("data/buyer-topics.yaml").read_text(encoding="utf-8")
    return tuple(Topic.model_validate(t) for t in yaml.safe_load(text)["topics"])


def updates_left(until: dt.date | None, today: dt.date) -> str:
    """"3 years and 2 months left", "ended on 2025-01-31", or "not stated"."""
    if until is None:
        return "not stated"
    if until < today:
        return f"ended on {until.isoformat()}"
    months = (until.year - today.year) * 12 + until.month - today.month - (1 if until.day < today.day else 0)
    years, months = divmod(months, 12)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((years, "year"), (months, "month")) if n]
    return (" and ".join(parts) or "less than a month") + f" left (until {until.isoformat()})"


def verdicts_of(assessment_json: str) -> dict[str, str]:
    """provision id -> PASS/FAIL/... from a stored assessment; empty when it cannot be read."""
    try:
        data = json.loads(assessment_json)
        return {str(v["provision"]): str(v["verdict"]) for v in data.get("verdicts", [])}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}


def topic_results(verdicts: dict[str, str]) -> list[TopicResult]:
    from iotmark.catalog.loader import load_standard

    titles = {p.id: p.title for p in load_standard("etsi-en-303-645").provisions}
    results = []
    for topic in buyer_topics():
        passed = [p for p in topic.provisions if verdicts.get(p) == "PASS"]
        failed = [p for p in topic.provisions if verdicts.get(p) == "FAIL"]
        checked = [p for p in topic.provisions if p in verdicts]
        results.append(TopicResult(topic=topic.name, explanation=topic.protects, passed=len(passed),
                                   failed=len(failed), checked=len(checked),
                                   missing=[titles.get(p, p) for p in failed]))
    return results


def parse_ids(ids: list[str]) -> list[str]:
    ids = [i.strip() for i in ids if i.strip()]
    if not MIN_COMPARE <= len(ids) <= MAX_COMPARE:
        raise RegistryError(400, f"choose between {MIN_COMPARE} and {MAX_COMPARE} certificates to compare "
                                 f"(got {len(ids)}); pass each as c=<certificate id>")
    if len(set(ids)) != len(ids):
        raise RegistryError(400, "the same certificate is listed twice")
    for cert_id in ids:
        if len(cert_id) > services.MAX_ID_LENGTH:
            raise RegistryError(400, f"a certificate id is at most {services.MAX_ID_LENGTH} characters")
    return ids


def compare(ids: list[str], today: dt.date | None = None) -> list[ComparedProduct]:
    """The products behind 2-4 certificate ids, in the order given. Unknown ids raise RegistryError(404)."""
    from iotmark.catalog.loader import load_device_classes, load_levels

    today = today or dt.date.today()
    ids = parse_ids(ids)
    meanings = {lvl.level: lvl.summary for lvl in load_levels()}
    classes = load_device_classes()
    out = []
    for cert_id in ids:
        status = services.certificate_status(cert_id, today)
        record = status.certificate
        if record is None:
            raise RegistryError(404, f"no certificate with id {cert_id} is registered")
        firmware, product = record.firmware, record.firmware.product
        topics = topic_results(verdicts_of(record.assessment))
        cls = classes.get(record.device_class)
        out.append(ComparedProduct(
            id=cert_id, vendor=product.vendor.name, vendor_id=product.vendor_id, model=product.model,
            firmware_version=firmware.version, device_class=record.device_class,
            device_class_name=cls.name if cls else record.device_class, level=record.level,
            level_name=record.level_name,
            level_meaning=meanings.get(record.level, "Not certified: the device did not reach the first level."),
            required_level=cls.minimum_level if cls else None, meets_class=record.meets_class,
            status=status.status, status_summary=status.summary, support_until=firmware.support_until,
            updates_left=updates_left(firmware.support_until, today),
            protected=[t for t in topics if t.passed], missing=[t for t in topics if t.failed]))
    return out
