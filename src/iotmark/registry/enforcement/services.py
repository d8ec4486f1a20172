"""What the enforcement app does, independent of HTTP: who may see which case, opening and moving a case along its
timeline, importing incidents and attributing them to product models. Every change is audited in its transaction.

Errors are `RegistryError(status, one-line message)`; objects of another vendor are reported as 404, never 403,
so an id reveals nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Literal

from django.db import router, transaction
from django.db.models import QuerySet
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotmark.registry import audit
from iotmark.registry.enforcement import grounds as ground_checks
from iotmark.registry.enforcement.models import Attribution, Case, CaseEvent, Incident
from iotmark.registry.models import Member, Product
from iotmark.registry.services import RegistryError, role_of

MAX_INCIDENT_BYTES = 4 * 1024 * 1024
MAX_GROUNDS = 20
MAX_FINE = Decimal("100000000000")
CURRENCY = r"^[A-Z]{3}$"


def _atomic():
    return transaction.atomic(using=router.db_for_write(Case))


class GroundIn(BaseModel):
    """One ground of a new case, as a regulator states it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["failed_provision", "support_expired", "missed_reporting_deadline", "other"]
    provision: str = Field(default="", max_length=50)
    certificate: str = Field(default="", max_length=64, description="certificate id, for failed_provision")
    firmware: str = Field(default="", max_length=100, description="firmware version, for support_expired")
    report: str = Field(default="", max_length=100, description="vulnerability report id")
    detail: str = Field(default="", max_length=4000)


def actor_name(user) -> str:
    """The name a timeline or record shows for who acted: the username, or "system" for host commands."""
    return "system" if user is None else user.get_username()


# --- roles ----------------------------------------------------------------------------------------------------

def _member(user) -> Member | None:
    return role_of(user)


def is_regulator(user) -> bool:
    member = _member(user)
    return member is not None and member.role == Member.Role.REGULATOR and member.organisation is not None


def regulator_member(user) -> Member:
    member = _member(user)
    if member is None or member.role != Member.Role.REGULATOR or member.organisation is None:
        raise RegistryError(403, "only regulators can do this")
    return member


def _visible(user, objects: QuerySet, vendor_field: str, refusal: str) -> QuerySet:
    """`objects` as this user may read them: regulators and admins all, vendor members those whose `vendor_field`
    is their organisation; anyone else is refused (403) with `refusal`."""
    member = _member(user)
    if member is not None and member.role in (Member.Role.REGULATOR, Member.Role.ADMIN):
        return objects
    if member is not None and member.role == Member.Role.VENDOR and member.organisation is not None:
        return objects.filter(**{vendor_field: member.organisation})
    raise RegistryError(403, refusal)


def visible_cases(user) -> QuerySet[Case]:
    """Cases this user may read: regulators and admins all, vendor members their own organisation's."""
    return _visible(user, Case.objects.select_related("product__vendor", "regulator", "firmware", "certificate"),
                    "product__vendor", "cases are open to regulators and to the vendor concerned")


def case_for(user, case_id: int) -> Case:
    """One case the user may read, else 404 (another vendor's case looks the same as a missing one)."""
    found = visible_cases(user).filter(pk=case_id).first()
    if found is None:
        raise RegistryError(404, f"no case {case_id}")
    return found


def visible_incidents(user) -> QuerySet[Incident]:
    """Incidents this user may read: regulators and admins all, vendors those attributed to their products."""
    # distinct: an incident attributed to two of the vendor's products would otherwise be listed twice
    return _visible(user, Incident.objects.prefetch_related("attributions__product__vendor"),
                    "attributions__product__vendor",
                    "incidents are open to regulators and to the vendors they are attributed to").distinct()


def incident_for(user, incident_id: str) -> Incident:
    found = visible_incidents(user).filter(incident_id=incident_id).first()
    if found is None:
        raise RegistryError(404, f"no incident {incident_id}")
    return found


# --- products -------------------------------------------------------------------------------------------------

def product_by_id(product_id: int) -> Product:
    found = Product.objects.select_related("vendor").filter(pk=product_id).first()
    if found is None:
        raise RegistryError(404, f"no product {product_id}")
    return found


def product_by_name(reference: str) -> Product:
    """A product by "VENDOR/MODEL" (either name may itself contain slashes)."""
    for cut in range(len(reference)):
        if reference[cut] != "/":
            continue
        found = (Product.objects.select_related("vendor")
                 .filter(vendor__name=reference[:cut], model=reference[cut + 1:]).first())
        if found is not None:
            return found
    if "/" not in reference:
        raise RegistryError(400, f"{reference!r}: name the product as \"VENDOR/MODEL\"")
    raise RegistryError(404, f"no product {reference!r} in the registry")


# --- cases ----------------------------------------------------------------------------------------------------

def _event(case: Case, kind: str, user, text: str = "", at: dt.datetime | None = None) -> None:
    CaseEvent.objects.create(case=case, at=at or timezone.now(), kind=kind, actor=actor_name(user),
                             text=text)


def open_case(user, product: Product, summary: str, grounds: list[GroundIn], firmware_version: str = "",
              cert_id: str = "", today: dt.date | None = None) -> Case:
    """Open a case against a product with typed grounds, each checked against the registry's records."""
    member = regulator_member(user)
    summary = summary.strip()
    if not summary:
        raise RegistryError(400, "say in a sentence what the case is about (summary)")
    if not grounds:
        raise RegistryError(400, "a case needs at least one ground")
    if len(grounds) > MAX_GROUNDS:
        raise RegistryError(400, f"at most {MAX_GROUNDS} grounds per case")
    firmware = ground_checks.firmware_of(product, firmware_version) if firmware_version else None
    certificate = ground_checks.certificate_of(product, cert_id) if cert_id else None
    checked = [ground_checks.check(product, g, today) for g in grounds]
    now = timezone.now()
    with _atomic():
        case = Case.objects.create(product=product, firmware=firmware, certificate=certificate,
                                   regulator=member.organisation, summary=summary[:4000], opened=now,
                                   opened_by=user)
        for ground in checked:
            ground.case = case
            ground.save()
        _event(case, "opened", user, summary, now)
        audit.record(user, "case.open", case, {
            "product": product.pk, "firmware": firmware.pk if firmware else None,
            "certificate": certificate.cert_id if certificate else None,
            "grounds": [{"kind": g.kind, "provision": g.provision, "report": g.report_ref} for g in checked]})
    return case


def _regulated_case(user, case_id: int) -> Case:
    regulator_member(user)
    return case_for(user, case_id)


def notify_vendor(user, case_id: int, note: str = "") -> Case:
    case = _regulated_case(user, case_id)
    if case.stage != Case.Stage.OPENED:
        raise RegistryError(409, f"case {case.pk} is past notification (stage: {case.get_stage_display()})")
    with _atomic():
        case.stage, case.notified = Case.Stage.NOTIFIED, timezone.now()
        case.save(update_fields=["stage", "notified"])
        _event(case, "notified", user, note.strip()[:4000], case.notified)
        audit.record(user, "case.notify", case, {"note": note.strip()[:4000]})
    return case


def respond(user, case_id: int, text: str) -> Case:
    """The vendor's answer to a case it was notified of; members of that vendor only."""
    case = case_for(user, case_id)
    member = _member(user)
    if member is None or member.role != Member.Role.VENDOR:
        raise RegistryError(403, "only the vendor concerned can respond to a case")
    text = text.strip()
    if not text:
        raise RegistryError(400, "the response is empty")
    if case.stage not in (Case.Stage.NOTIFIED, Case.Stage.RESPONDED):
        raise RegistryError(409, "a response can be posted after the vendor is notified and before the outcome")
    with _atomic():
        case.stage, case.responded = Case.Stage.RESPONDED, timezone.now()
        case.response = (case.response + "\n\n" if case.response else "") + text[:10000]
        case.response = case.response[-10000:]
        case.save(update_fields=["stage", "responded", "response"])
        _event(case, "response", user, text[:10000], case.responded)
        audit.record(user, "case.respond", case, {"chars": len(text)})
    return case


def parse_fine(amount: str | float | Decimal | None, currency: str) -> tuple[Decimal, str]:
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise RegistryError(400, f"fine amount {amount!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value > MAX_FINE:
        raise RegistryError(400, "a fine needs a positive amount")
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise RegistryError(400, "a fine needs a three-letter currency code such as EUR")
    return value, currency


def record_outcome(user, case_id: int, outcome: str, reasons: str, fine_amount=None, fine_currency: str = "") -> Case:
    """The regulator's decision; a fine needs an amount and a currency, other outcomes must not carry one."""
    case = _regulated_case(user, case_id)
    if outcome not in Case.Outcome.values:
        raise RegistryError(400, f"unknown outcome {outcome!r}; choose one of {', '.join(Case.Outcome.values)}")
    if case.stage in (Case.Stage.DECIDED, Case.Stage.CLOSED):
        raise RegistryError(409, f"case {case.pk} already has an outcome")
    if case.stage == Case.Stage.OPENED:
        raise RegistryError(409, "notify the vendor before recording an outcome")
    reasons = reasons.strip()
    if not reasons:
        raise RegistryError(400, "give the reasons for the outcome")
    amount, currency = None, ""
    if outcome == Case.Outcome.FINE:
        amount, currency = parse_fine(fine_amount, fine_currency)
    elif fine_amount not in (None, ""):
        raise RegistryError(400, "only a fine carries an amount")
    with _atomic():
        case.stage, case.decided, case.outcome = Case.Stage.DECIDED, timezone.now(), outcome
        case.fine_amount, case.fine_currency, case.outcome_reasons = amount, currency, reasons[:10000]
        case.save(update_fields=["stage", "decided", "outcome", "fine_amount", "fine_currency", "outcome_reasons"])
        label = case.get_outcome_display() + (f" of {amount} {currency}" if amount is not None else "")
        _event(case, "outcome", user, f"{label}: {reasons[:10000]}", case.decided)
        audit.record(user, "case.outcome", case, {"outcome": outcome, "fine_amount": str(amount) if amount else None,
                                                  "fine_currency": currency})
    return case


def close_case(user, case_id: int) -> Case:
    case = _regulated_case(user, case_id)
    if case.stage != Case.Stage.DECIDED:
        raise RegistryError(409, "record the outcome before closing the case" if case.stage != Case.Stage.CLOSED
                            else f"case {case.pk} is already closed")
    with _atomic():
        case.stage, case.closed = Case.Stage.CLOSED, timezone.now()
        case.save(update_fields=["stage", "closed"])
        _event(case, "closed", user, "", case.closed)
        audit.record(user, "case.close", case, {})
    return case


# --- incidents ------------------------------------------------------------------------------------------------

def parse_incident(raw: bytes):
    """An incident file of `iotmark incident` (JSON), read within limits; RegistryError(400/413) otherwise."""
    from iotmark.mitigate.incidents import Incident as IncidentFile
    from iotmark.mitigate.untrusted import BadInput, parse_json

    if len(raw) > MAX_INCIDENT_BYTES:
        raise RegistryError(413, f"incident file is larger than {MAX_INCIDENT_BYTES // (1024 * 1024)} MiB")
    try:
        data = parse_json(raw)
        return IncidentFile.model_validate(data)
    except BadInput as exc:
        raise RegistryError(400, f"not an incident file: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise RegistryError(400, f"not an incident file: {where}: {first['msg']}") from None


def check_devices(devices: int) -> int:
    from iotmark.registry.enforcement.third_party_loss import MAX_DEVICES

    if isinstance(devices, bool) or not isinstance(devices, int) or not 1 <= devices <= MAX_DEVICES:
        raise RegistryError(400, f"the number of affected devices must be a whole number from 1 to {MAX_DEVICES}")
    return devices


def import_incident(actor, raw: bytes, product: Product, devices: int) -> tuple[Incident, Attribution]:
    """Store an incident file and attribute it to a product model with its affected device count. `actor` is a
    regulator user, or None for the host command line. Importing the same incident again only adds the
    attribution (a different document under the same id is refused)."""
    if actor is not None:
        regulator_member(actor)
    devices = check_devices(devices)
    parsed = parse_incident(raw)
    text = raw.decode("utf-8")
    existing = Incident.objects.filter(incident_id=parsed.id).first()
    if existing is not None and existing.document != text:
        raise RegistryError(409, f"a different incident with id {parsed.id} is already imported")
    with _atomic():
        incident = existing or Incident.objects.create(
            incident_id=parsed.id, title=parsed.title[:500], playbook=parsed.playbook[:64],
            cra_category=parsed.cra_category, opened_at=parsed.opened_at, aware_at=parsed.aware_at, document=text,
            imported=timezone.now(), imported_by=actor_name(actor))
        if existing is None:
            audit.record(actor, "incident.import", incident, {"incident": parsed.id, "playbook": parsed.playbook})
        attribution = _attribute(actor, incident, product, devices)
    return incident, attribution


def _attribute(actor, incident: Incident, product: Product, devices: int) -> Attribution:
    from iotmark.registry.enforcement.third_party_loss import estimate

    if Attribution.objects.filter(incident=incident, product=product).exists():
        raise RegistryError(409, f"{incident.incident_id} is already attributed to {product}")
    result = estimate(incident.playbook, devices)
    attribution = Attribution.objects.create(
        incident=incident, product=product, devices=devices, loss_mean=result["mean"], loss_p90=result["p90"],
        currency=result["currency"], estimate=result, attributed=timezone.now(),
        attributed_by=actor_name(actor))
    audit.record(actor, "incident.attribute", attribution, {
        "incident": incident.incident_id, "product": product.pk, "devices": devices,
        "loss_mean": result["mean"], "loss_p90": result["p90"]})
    return attribution


def attribute(user, incident_id: str, product: Product, devices: int) -> Attribution:
    regulator_member(user)
    devices = check_devices(devices)
    incident = incident_for(user, incident_id)
    with _atomic():
        return _attribute(user, incident, product, devices)


def unattribute(user, incident_id: str, product_id: int) -> None:
    regulator_member(user)
    incident = incident_for(user, incident_id)
    found = incident.attributions.filter(product_id=product_id).first()
    if found is None:
        raise RegistryError(404, f"{incident_id} is not attributed to product {product_id}")
    with _atomic():
        audit.record(user, "incident.unattribute", found, {"incident": incident_id, "product": product_id,
                                                           "devices": found.devices})
        found.delete()
