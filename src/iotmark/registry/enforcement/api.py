"""JSON API of the enforcement app: a django-ninja Router mounted on the registry's API at /api/v1/.

Cases and incidents need a bearer token of a regulator (everything) or a vendor member (its own cases and the
incidents attributed to its products; other vendors' objects answer 404). The public record needs no token.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from iotmark.registry.api import ERRORS, TokenAuth
from iotmark.registry.enforcement import grounds as ground_checks
from iotmark.registry.enforcement import public, services
from iotmark.registry.enforcement.models import Attribution, Case, Incident
from iotmark.registry.enforcement.third_party_loss import MAX_DEVICES
from iotmark.registry.models import Organisation
from iotmark.registry.services import RegistryError

router = Router(tags=["enforcement"])


class GroundOut(Schema):
    kind: str
    provision: str | None = None
    certificate: str | None = None
    firmware_version: str | None = None
    report: str | None = None
    detail: str | None = None


class EventOut(Schema):
    at: dt.datetime
    kind: str
    actor: str
    text: str


class CaseOut(Schema):
    id: int
    vendor: str
    vendor_id: int
    product: str
    product_id: int
    firmware_version: str | None
    certificate: str | None
    regulator: str
    summary: str
    stage: str
    status: Literal["open", "closed"]
    opened: dt.datetime
    notified: dt.datetime | None
    responded: dt.datetime | None
    response: str
    outcome: str | None
    fine_amount: Decimal | None
    fine_currency: str | None
    outcome_reasons: str
    decided: dt.datetime | None
    closed: dt.datetime | None
    grounds: list[GroundOut]
    timeline: list[EventOut]


class CaseIn(Schema):
    product: int = Field(description="registry product id")
    summary: str = Field(min_length=1, max_length=4000)
    grounds: list[services.GroundIn] = Field(min_length=1, max_length=services.MAX_GROUNDS)
    firmware_version: str = Field(default="", max_length=100)
    certificate: str = Field(default="", max_length=64)


class NoteIn(Schema):
    note: str = Field(default="", max_length=4000)


class ResponseIn(Schema):
    text: str = Field(min_length=1, max_length=10000)


class OutcomeIn(Schema):
    outcome: Literal[tuple(Case.Outcome.values)]  # type: ignore[valid-type]
    reasons: str = Field(min_length=1, max_length=10000)
    fine_amount: Decimal | None = Field(default=None, gt=0, max_digits=16, decimal_places=2)
    fine_currency: str = Field(default="", max_length=3)


class AttributionIn(Schema):
    product: int
    devices: int = Field(ge=1, le=MAX_DEVICES)


class IncidentIn(AttributionIn):
    incident: str = Field(description="the incident JSON written by `iotmark incident`, verbatim")


class AttributionOut(Schema):
    vendor: str
    product: str
    product_id: int
    devices: int
    loss_mean: float
    loss_p90: float
    currency: str
    estimate: dict[str, Any]


class IncidentOut(Schema):
    id: str
    title: str
    playbook: str
    cra_category: str
    opened: dt.datetime
    aware: dt.datetime
    attributions: list[AttributionOut]


def case_out(case: Case) -> CaseOut:
    grounds = [GroundOut(kind=g.kind, provision=g.provision or None,
                         certificate=g.certificate.cert_id if g.certificate else None,
                         firmware_version=g.firmware.version if g.firmware else None,
                         report=g.report_ref or None, detail=g.detail or None)
               for g in case.grounds.select_related("certificate", "firmware")]
    return CaseOut(
        id=case.pk, vendor=case.product.vendor.name, vendor_id=case.product.vendor_id, product=case.product.model,
        product_id=case.product_id, firmware_version=case.firmware.version if case.firmware else None,
        certificate=case.certificate.cert_id if case.certificate else None, regulator=case.regulator.name,
        summary=case.summary, stage=case.stage, status="closed" if case.is_closed else "open", opened=case.opened,
        notified=case.notified, responded=case.responded, response=case.response, outcome=case.outcome or None,
        fine_amount=case.fine_amount, fine_currency=case.fine_currency or None,
        outcome_reasons=case.outcome_reasons, decided=case.decided, closed=case.closed, grounds=grounds,
        timeline=[EventOut(at=e.at, kind=e.kind, actor=e.actor, text=e.text) for e in case.events.all()])


def incident_out(user, incident: Incident) -> IncidentOut:
    attributions = incident.attributions.select_related("product__vendor")
    member = services.role_of(user)
    if member is not None and member.role == "vendor":
        attributions = attributions.filter(product__vendor=member.organisation)
    return IncidentOut(id=incident.incident_id, title=incident.title, playbook=incident.playbook,
                       cra_category=incident.cra_category, opened=incident.opened_at, aware=incident.aware_at,
                       attributions=[attribution_out(a) for a in attributions])


def attribution_out(a: Attribution) -> AttributionOut:
    return AttributionOut(vendor=a.product.vendor.name, product=a.product.model, product_id=a.product_id,
                          devices=a.devices, loss_mean=a.loss_mean, loss_p90=a.loss_p90, currency=a.currency,
                          estimate=a.estimate)


def _case_id(case_id: int) -> int:
    if not 0 < case_id < 2**63:
        raise RegistryError(404, f"no case {case_id}")
    return case_id


@router.get("/cases", auth=TokenAuth(), response={200: list[CaseOut], **ERRORS}, url_name="enforcement-api-cases",
            summary="Cases: all for regulators, the vendor's own for vendor members")
def list_cases(request: HttpRequest, stage: str = "", vendor: int | None = None):
    found = services.visible_cases(request.auth)
    if stage:
        found = found.filter(stage=stage)
    if vendor is not None:
        found = found.filter(product__vendor_id=vendor)
    return [case_out(c) for c in found.prefetch_related("events")[:500]]


@router.post("/cases", auth=TokenAuth(), response={201: CaseOut, **ERRORS}, url_name="enforcement-api-case-open",
             summary="Open a case against a product with typed grounds (regulators)")
def open_case(request: HttpRequest, body: CaseIn):
    services.regulator_member(request.auth)
    product = services.product_by_id(body.product)
    case = services.open_case(request.auth, product, body.summary, body.grounds, body.firmware_version,
                              body.certificate)
    return Status(201, case_out(case))


@router.get("/cases/grounds", auth=TokenAuth(), response={200: list[ground_checks.Choice], **ERRORS},
            url_name="enforcement-api-ground-choices",
            summary="The grounds the registry's records support for a product (regulators)")
def ground_choices(request: HttpRequest, product: int | None = None):
    services.regulator_member(request.auth)
    if product is None:
        raise RegistryError(400, "name the product: /api/v1/cases/grounds?product=ID")
    return ground_checks.choices(services.product_by_id(product))


@router.get("/cases/{case_id}", auth=TokenAuth(), response={200: CaseOut, **ERRORS}, url_name="enforcement-api-case",
            summary="One case with its grounds and timeline")
def get_case(request: HttpRequest, case_id: int):
    return case_out(services.case_for(request.auth, _case_id(case_id)))


@router.post("/cases/{case_id}/notify", auth=TokenAuth(), response={200: CaseOut, **ERRORS},
             url_name="enforcement-api-case-notify", summary="Record that the vendor was notified (regulators)")
def notify(request: HttpRequest, case_id: int, body: NoteIn):
    services.regulator_member(request.auth)
    return case_out(services.notify_vendor(request.auth, _case_id(case_id), body.note))


@router.post("/cases/{case_id}/response", auth=TokenAuth(), response={200: CaseOut, **ERRORS},
             url_name="enforcement-api-case-respond", summary="The vendor's response (members of that vendor)")
def respond(request: HttpRequest, case_id: int, body: ResponseIn):
    return case_out(services.respond(request.auth, _case_id(case_id), body.text))


@router.post("/cases/{case_id}/outcome", auth=TokenAuth(), response={200: CaseOut, **ERRORS},
             url_name="enforcement-api-case-outcome", summary="Record the outcome (regulators)")
def outcome(request: HttpRequest, case_id: int, body: OutcomeIn):
    services.regulator_member(request.auth)
    return case_out(services.record_outcome(request.auth, _case_id(case_id), body.outcome, body.reasons,
                                            body.fine_amount, body.fine_currency))


@router.post("/cases/{case_id}/close", auth=TokenAuth(), response={200: CaseOut, **ERRORS},
             url_name="enforcement-api-case-close", summary="Close a decided case; it is then published (regulators)")
def close(request: HttpRequest, case_id: int):
    services.regulator_member(request.auth)
    return case_out(services.close_case(request.auth, _case_id(case_id)))


@router.get("/incidents", auth=TokenAuth(), response={200: list[IncidentOut], **ERRORS},
            url_name="enforcement-api-incidents",
            summary="Incidents: all for regulators, those attributed to the vendor's products for vendor members")
def list_incidents(request: HttpRequest):
    return [incident_out(request.auth, i) for i in services.visible_incidents(request.auth)[:500]]


@router.post("/incidents", auth=TokenAuth(), response={201: IncidentOut, **ERRORS},
             url_name="enforcement-api-incident-import",
             summary="Import an incident file and attribute it to a product with its affected devices (regulators)")
def import_incident(request: HttpRequest, body: IncidentIn):
    services.regulator_member(request.auth)
    product = services.product_by_id(body.product)
    incident, _ = services.import_incident(request.auth, body.incident.encode("utf-8"), product, body.devices)
    return Status(201, incident_out(request.auth, incident))


@router.get("/incidents/{incident_id}", auth=TokenAuth(), response={200: IncidentOut, **ERRORS},
            url_name="enforcement-api-incident", summary="One incident with its attributions and loss estimates")
def get_incident(request: HttpRequest, incident_id: str):
    return incident_out(request.auth, services.incident_for(request.auth, incident_id[:64]))


@router.post("/incidents/{incident_id}/attributions", auth=TokenAuth(), response={201: IncidentOut, **ERRORS},
             url_name="enforcement-api-incident-attribute", summary="Attribute an incident to a product (regulators)")
def attribute(request: HttpRequest, incident_id: str, body: AttributionIn):
    services.regulator_member(request.auth)
    product = services.product_by_id(body.product)
    services.attribute(request.auth, incident_id[:64], product, body.devices)
    return Status(201, incident_out(request.auth, services.incident_for(request.auth, incident_id[:64])))


@router.delete("/incidents/{incident_id}/attributions/{product_id}", auth=TokenAuth(),
               response={200: IncidentOut, **ERRORS}, url_name="enforcement-api-incident-unattribute",
               summary="Remove an incident's attribution to a product (regulators)")
def unattribute(request: HttpRequest, incident_id: str, product_id: int):
    services.regulator_member(request.auth)
    services.unattribute(request.auth, incident_id[:64], product_id)
    return incident_out(request.auth, services.incident_for(request.auth, incident_id[:64]))


class CountsOut(Schema):
    incidents: int
    open_cases: int
    closed_cases: int
    third_party_loss_eur: float


class RecordOut(Schema):
    vendor: str
    vendor_id: int
    counts: CountsOut
    publication_rule: str
    cases: list[dict[str, Any]]
    incidents: list[dict[str, Any]]


@router.get("/vendors/{org_id}/record", auth=None, response={200: RecordOut, **ERRORS}, url_name="enforcement-api-vendor-record",
            summary="A vendor's public enforcement record: closed cases in full, open cases in brief, incidents")
def vendor_record(request: HttpRequest, org_id: int):
    org = Organisation.objects.filter(pk=org_id, kind=Organisation.Kind.VENDOR).first() if 0 < org_id < 2**63 else None
    if org is None:
        raise RegistryError(404, f"no vendor {org_id}")
    return public.vendor_record(org)
