"""The grounds a regulator may open a case on, checked against what the registry holds, and the choices offered
for a product: failed provisions in its certificates' stored assessments, certified firmware whose declared
support has ended, vulnerability reports whose CRA deadline passed unsent (from the market app)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iotmark.registry.enforcement.models import Ground
from iotmark.registry.models import Certificate, FirmwareVersion, Product
from iotmark.registry.services import RegistryError

if TYPE_CHECKING:
    from iotmark.registry.enforcement.services import GroundIn


@dataclass(frozen=True)
class Choice:
    """One ground the registry's own records support, offered to the regulator."""

    kind: str
    label: str
    provision: str = ""
    certificate: str = ""
    firmware: str = ""
    report: str = ""

    @property
    def value(self) -> str:
        return "|".join((self.kind, self.provision, self.certificate, self.firmware, self.report))


def firmware_of(product: Product, version: str) -> FirmwareVersion:
    found = FirmwareVersion.objects.filter(product=product, version=version).first()
    if found is None:
        raise RegistryError(400, f"{product} has no firmware version {version!r} in the registry")
    return found


def certificate_of(product: Product, cert_id: str) -> Certificate:
    found = Certificate.objects.filter(firmware__product=product, cert_id=cert_id).first()
    if found is None:
        raise RegistryError(400, f"certificate {cert_id!r} is not one of {product}'s certificates")
    return found


def failed_provisions(certificate: Certificate) -> list[str]:
    """Catalog ids whose verdict is FAIL in the assessment stored with the certificate."""
    try:
        verdicts = json.loads(certificate.assessment).get("verdicts", [])
    except (ValueError, AttributeError):
        return []
    return sorted({v["provision"] for v in verdicts if isinstance(v, dict) and v.get("verdict") == "FAIL"
                   and isinstance(v.get("provision"), str)}, key=_provision_order)


def _provision_order(provision: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in provision.replace("-", ".").split("."))


def expired_support(product: Product, today: dt.date) -> list[FirmwareVersion]:
    """Certified firmware versions of a listed product whose declared security-update period has ended."""
    return list(FirmwareVersion.objects.filter(product=product, support_until__lt=today, certificates__isnull=False)
                .distinct().order_by("version"))


def missed_deadlines(product: Product, now: dt.datetime) -> list[tuple[str, str]]:
    """(report id, label) of the product's vulnerability reports with a CRA deadline passed unsent; the market
    app keeps those reports, and this offers none while it has no such records."""
    try:
        from iotmark.registry.enforcement.market_reports import overdue_reports
    except ImportError:
        return []
    return overdue_reports(product, now)


def choices(product: Product, today: dt.date | None = None) -> list[Choice]:
    """Every ground the registry's records support for this product, in a stable order."""
    today = today or dt.date.today()
    found: list[Choice] = []
    for cert in Certificate.objects.filter(firmware__product=product).select_related("firmware").order_by("issued"):
        for provision in failed_provisions(cert):
            found.append(Choice("failed_provision", f"Provision {provision} failed in certificate {cert.cert_id} "
                                                    f"(firmware {cert.firmware.version})",
                                provision=provision, certificate=cert.cert_id))
    for firmware in expired_support(product, today):
        found.append(Choice("support_expired", f"Firmware {firmware.version}: security updates ended on "
                                               f"{firmware.support_until.isoformat()}", firmware=firmware.version))
    now = dt.datetime.combine(today, dt.time(23, 59, 59), tzinfo=dt.timezone.utc)
    for report, label in missed_deadlines(product, now):
        found.append(Choice("missed_reporting_deadline", label, report=report))
    return found


def check(product: Product, ground: GroundIn, today: dt.date | None = None) -> Ground:
    """An unsaved Ground when the registry's records support it, else RegistryError(400) saying why not."""
    today = today or dt.date.today()
    detail = ground.detail.strip()[:4000]
    if ground.kind == "failed_provision":
        if not ground.provision or not ground.certificate:
            raise RegistryError(400, "a failed_provision ground names the provision and the certificate")
        cert = certificate_of(product, ground.certificate)
        if ground.provision not in failed_provisions(cert):
            raise RegistryError(400, f"provision {ground.provision} did not fail in certificate {cert.cert_id}'s "
                                     "assessment")
        return Ground(kind=ground.kind, provision=ground.provision, certificate=cert, firmware=cert.firmware,
                      detail=detail)
    if ground.kind == "support_expired":
        if not ground.firmware:
            raise RegistryError(400, "a support_expired ground names the firmware version")
        firmware = firmware_of(product, ground.firmware)
        if firmware not in expired_support(product, today):
            raise RegistryError(400, f"firmware {firmware.version} is not a certified version whose declared "
                                     "support has ended")
        return Ground(kind=ground.kind, firmware=firmware, detail=detail)
    if ground.kind == "missed_reporting_deadline":
        now = dt.datetime.combine(today, dt.time(23, 59, 59), tzinfo=dt.timezone.utc)
        overdue = dict(missed_deadlines(product, now))
        if ground.report not in overdue:
            raise RegistryError(400, f"no vulnerability report {ground.report!r} of {product} has a missed "
                                     "reporting deadline")
        return Ground(kind=ground.kind, report_ref=ground.report, detail=detail or overdue[ground.report])
    if not detail:
        raise RegistryError(400, "an 'other' ground needs a description")
    return Ground(kind=ground.kind, detail=detail)
