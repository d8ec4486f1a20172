"""What vendor members change about their own organisation: the disclosure contact, products, firmware support
periods and vulnerability / severe-incident reports. Every change is written with an audit entry in the same
transaction. Objects of another organisation are reported as not found (404), never as forbidden."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from iotmark.inputs import describe_validation_error
from iotmark.registry import audit
from iotmark.registry.market.models import (
    SevereIncidentReport,
    SupportPeriodChange,
    VendorProfile,
    VulnerabilityReport,
)
from iotmark.registry.models import Certificate, FirmwareVersion, Member, Organisation, Product
from iotmark.registry.services import RegistryError, role_of

CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,19}$")
# Clocks on two machines differ a little; a report "sent" a few minutes in the future is still plausible.
CLOCK_SKEW = dt.timedelta(minutes=10)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProfileIn(_Input):
    disclosure_email: str = Field(default="", max_length=254)
    disclosure_url: str = Field(default="", max_length=500)
    security_txt_url: str = Field(default="", max_length=500)

    @field_validator("disclosure_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("not an e-mail address")
        return value

    @field_validator("disclosure_url", "security_txt_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if value and not re.fullmatch(r"https://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an https:// address")
        return value


class ProductIn(_Input):
    model: str = Field(min_length=1, max_length=200)
    device_class: str = Field(min_length=1, max_length=100)


class FirmwareIn(_Input):
    version: str = Field(min_length=1, max_length=100)
    support_until: dt.date | None = None
    reason: str = Field(default="", max_length=1000)


class ClockIn(_Input):
    product_id: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=300)
    received: dt.datetime
    fixed: dt.datetime | None = None
    early_warning_sent: dt.datetime | None = None
    notification_sent: dt.datetime | None = None
    final_report_sent: dt.datetime | None = None

    @field_validator("received", "fixed", "early_warning_sent", "notification_sent", "final_report_sent")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        if value is not None and value > timezone.now() + CLOCK_SKEW:
            raise ValueError("is in the future")
        return value

    @model_validator(mode="after")
    def _order(self):
        for name in ("fixed", "early_warning_sent", "notification_sent", "final_report_sent"):
            value = getattr(self, name)
            if value is not None and value < self.received:
                raise ValueError(f"{name} is before the vendor became aware ({self.received.isoformat()})")
        return self


class VulnerabilityIn(ClockIn):
    severity: Literal["critical", "high", "medium", "low"]
    cve_id: str = Field(default="", max_length=30)
    actively_exploited: bool = False

    @field_validator("cve_id")
    @classmethod
    def _cve(cls, value: str) -> str:
        value = value.upper()
        if value and not CVE_ID.fullmatch(value):
            raise ValueError("not a CVE id (CVE-YYYY-NNNN)")
        return value


class IncidentIn(ClockIn):
    pass


def parse(model: type[BaseModel], data: dict, what: str):
    """Validated input, or RegistryError(400) with the first problem in one line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(400, describe_validation_error(what, exc)) from None


def vendor_of(user) -> Organisation:
    """The vendor organisation the user acts for; 403 for anyone who is not a vendor member."""
    member = role_of(user)
    if member is None or member.role != Member.Role.VENDOR or member.organisation is None:
        raise RegistryError(403, "only members of a vendor organisation can change vendor data")
    return member.organisation


def own_product(org: Organisation, product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id, vendor=org).first()
    if product is None:
        raise RegistryError(404, f"no product {product_id} of {org.name}")
    return product


def profile_of(org: Organisation) -> VendorProfile:
    return VendorProfile.objects.filter(organisation=org).first() or VendorProfile(organisation=org)


def update_profile(user, data: dict) -> VendorProfile:
    org = vendor_of(user)
    values = parse(ProfileIn, data, "profile")
    with transaction.atomic():
        profile = profile_of(org)
        for name, value in values.model_dump().items():
            setattr(profile, name, value)
        profile.save()
        audit.record(user, "vendor.profile.update", profile, values.model_dump())
    return profile


def _known_class(device_class: str) -> None:
    from iotmark.catalog.loader import load_device_classes

    classes = load_device_classes()
    if device_class not in classes:
        raise RegistryError(400, f"unknown device class {device_class!r}; choose one of {', '.join(classes)}")


def add_product(user, data: dict) -> Product:
    org = vendor_of(user)
    values = parse(ProductIn, data, "product")
    _known_class(values.device_class)
    if Product.objects.filter(vendor=org, model=values.model).exists():
        raise RegistryError(409, f"{org.name} already has a product named {values.model!r}")
    with transaction.atomic():
        product = Product.objects.create(vendor=org, model=values.model, device_class=values.device_class)
        audit.record(user, "vendor.product.add", product, values.model_dump())
    return product


def set_device_class(user, product_id: int, device_class: str) -> Product:
    product = own_product(vendor_of(user), product_id)
    _known_class(device_class)
    with transaction.atomic():
        previous, product.device_class = product.device_class, device_class
        product.save(update_fields=["device_class"])
        audit.record(user, "vendor.product.device_class", product, {"from": previous, "to": device_class})
    return product


def set_firmware(user, product_id: int, data: dict) -> FirmwareVersion:
    """Add a firmware version or change its declared end of support. Moving the end earlier (or removing it) for
    a version that holds a certificate needs a reason, which is kept with the change."""
    product = own_product(vendor_of(user), product_id)
    values = parse(FirmwareIn, data, "firmware")
    with transaction.atomic():
        firmware = FirmwareVersion.objects.select_for_update().filter(product=product, version=values.version).first()
        if firmware is None:
            firmware = FirmwareVersion.objects.create(product=product, version=values.version,
                                                      support_until=values.support_until)
            audit.record(user, "vendor.firmware.add", firmware,
                         {"product": product.pk, "version": values.version, "support_until": values.support_until})
            return firmware
        previous = firmware.support_until
        if previous == values.support_until:
            return firmware
        earlier = previous is not None and (values.support_until is None or values.support_until < previous)
        certified = Certificate.objects.filter(firmware=firmware).exists()
        if earlier and certified and not values.reason:
            raise RegistryError(400, f"firmware {values.version} is certified with security updates until "
                                     f"{previous.isoformat()}; give a reason to end support earlier")
        firmware.support_until = values.support_until
        firmware.save(update_fields=["support_until"])
        SupportPeriodChange.objects.create(firmware=firmware, previous=previous, new=values.support_until,
                                           reason=values.reason, changed_by=user)
        audit.record(user, "vendor.firmware.support", firmware,
                     {"from": previous, "to": values.support_until, "reason": values.reason, "certified": certified})
    return firmware


REPORT_KINDS = {"vulnerability": (VulnerabilityReport, VulnerabilityIn),
                "incident": (SevereIncidentReport, IncidentIn)}


def own_report(org: Organisation, kind: str, report_id: int):
    model = REPORT_KINDS[kind][0]
    report = model.objects.select_related("product").filter(pk=report_id, vendor=org).first()
    if report is None:
        raise RegistryError(404, f"no {kind} report {report_id} of {org.name}")
    return report


def save_report(user, kind: str, data: dict, report_id: int | None = None):
    """Create (report_id None) or replace the fields of a vulnerability or severe-incident report."""
    org = vendor_of(user)
    model, schema = REPORT_KINDS[kind]
    report = own_report(org, kind, report_id) if report_id is not None else model(vendor=org)
    values = parse(schema, data, f"{kind} report")
    product = own_product(org, values.product_id)
    fields = values.model_dump(exclude={"product_id"})
    with transaction.atomic():
        report.product = product
        for name, value in fields.items():
            setattr(report, name, value)
        report.save()
        audit.record(user, f"vendor.{kind}.{'update' if report_id else 'add'}", report,
                     {"product": product.pk, **fields})
    return report
