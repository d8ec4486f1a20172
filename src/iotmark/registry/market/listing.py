"""Keeps the search table (CertificateListing) in step with the core tables. Core writes go through model
save(), so post_save handlers registered in MarketConfig.ready() refresh the affected rows; bulk writes (the
seed) build their listings themselves with `listing_for`."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from iotmark.registry.market.models import CertificateListing
from iotmark.registry.models import Certificate, FirmwareVersion, Organisation, Product, Revocation


def search_text(vendor_name: str, model: str, firmware_version: str) -> str:
    return f"{vendor_name} {model} {firmware_version}".lower()[:520]


def listing_for(cert: Certificate, firmware: FirmwareVersion, product: Product, vendor: Organisation,
                revoked: bool = False) -> CertificateListing:
    """An unsaved listing row for a certificate (the caller passes the related rows it already holds)."""
    return CertificateListing(
        certificate=cert, cert_id=cert.cert_id, vendor=vendor, vendor_name=vendor.name, product=product,
        model=product.model, firmware_version=firmware.version, device_class=cert.device_class, level=cert.level,
        level_name=cert.level_name, meets_class=cert.meets_class, issued=cert.issued, expires=cert.expires,
        support_until=firmware.support_until, revoked=revoked,
        search_text=search_text(vendor.name, product.model, firmware.version))


def refresh_certificate(cert: Certificate) -> None:
    firmware = FirmwareVersion.objects.select_related("product__vendor").get(pk=cert.firmware_id)
    revoked = Revocation.objects.filter(certificate_id=cert.pk).exists()
    row = listing_for(cert, firmware, firmware.product, firmware.product.vendor, revoked)
    row.save()


COPIED_FIELDS = ["vendor_name", "model", "firmware_version", "support_until", "search_text"]


def _refresh_rows(rows) -> None:
    updated = []
    for row in rows:
        fw = row.certificate.firmware
        updated.append(listing_for(row.certificate, fw, fw.product, fw.product.vendor, row.revoked))
    CertificateListing.objects.bulk_update(updated, COPIED_FIELDS, batch_size=1000)


def _certificate_saved(sender, instance: Certificate, raw: bool = False, **kwargs) -> None:
    if not raw:
        refresh_certificate(instance)


def _revocation_changed(sender, instance: Revocation, raw: bool = False, **kwargs) -> None:
    if not raw:
        revoked = kwargs.get("signal") is post_save
        CertificateListing.objects.filter(certificate_id=instance.certificate_id).update(revoked=revoked)


def _related_saved(field: str):
    def handler(sender, instance, raw: bool = False, **kwargs) -> None:
        if not raw:
            rows = (CertificateListing.objects.filter(**{field: instance.pk})
                    .select_related("certificate__firmware__product__vendor"))
            _refresh_rows(rows)
    return handler


_firmware_saved = _related_saved("certificate__firmware")
_product_saved = _related_saved("product")
_organisation_saved = _related_saved("vendor")


def connect() -> None:
    """Register the handlers (called once from MarketConfig.ready)."""
    post_save.connect(_certificate_saved, sender=Certificate, dispatch_uid="market.listing.certificate")
    post_save.connect(_revocation_changed, sender=Revocation, dispatch_uid="market.listing.revocation.save")
    post_delete.connect(_revocation_changed, sender=Revocation, dispatch_uid="market.listing.revocation.delete")
    post_save.connect(_firmware_saved, sender=FirmwareVersion, dispatch_uid="market.listing.firmware")
    post_save.connect(_product_saved, sender=Product, dispatch_uid="market.listing.product")
    post_save.connect(_organisation_saved, sender=Organisation, dispatch_uid="market.listing.organisation")
