"""Storing and finding MUD files: who may upload for which product, the URL each product's file is served at,
new versions, and the vendor's registered signer certificates. Every change is audited in its transaction."""

from __future__ import annotations

import hashlib
import os

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from iotmark.registry import audit
from iotmark.registry.models import Member, Organisation, Product
from iotmark.registry.mudfiles.checks import MudRefused, check_upload
from iotmark.registry.mudfiles.models import MudFile, MudSigner
from iotmark.registry.services import RegistryError, role_of

MAX_SIGNER_PEM_BYTES = 64 * 1024
MAX_SIGNERS_PER_UPLOAD = 4


def vendor_of(user) -> Organisation:
    """The vendor organisation the user acts for; 403 for anyone who is not a vendor member."""
    member = role_of(user)
    if member is None or member.role != Member.Role.VENDOR or member.organisation is None:
        raise RegistryError(403, "only vendor members manage MUD files")
    return member.organisation


def products_of(user) -> list[Product]:
    """The user's vendor's products, by model name."""
    return list(Product.objects.filter(vendor=vendor_of(user)).order_by("model"))


def product_of(user, product_id: int) -> Product:
    """One of the user's own vendor's products; 404 for any other, so ids of others' products reveal nothing."""
    org = vendor_of(user)
    product = Product.objects.filter(pk=product_id, vendor=org).select_related("vendor").first()
    if product is None:
        raise RegistryError(404, "no such product among your organisation's products")
    return product


def registry_base(request) -> str:
    """The registry's public address: IOTMARK_REGISTRY_URL when set (the registry behind a proxy), else the
    address the request came to."""
    configured = os.environ.get("IOTMARK_REGISTRY_URL", "").strip()
    return (configured or request.build_absolute_uri("/")).rstrip("/")


def slug_for(product: Product) -> str:
    """The product's name in its MUD URL: kept once given; otherwise its model name as a slug, with its id added
    when another product of the vendor already has that slug."""
    existing = MudFile.objects.filter(product=product).values_list("slug", flat=True).first()
    if existing:
        return existing
    slug = slugify(product.model)[:100] or "product"
    if MudFile.objects.filter(product__vendor=product.vendor_id, slug=slug).exclude(product=product).exists():
        slug = f"{slug}-{product.pk}"
    return slug


def mud_url(base: str, product: Product) -> str:
    return f"{base}/mud/{product.vendor_id}/{slug_for(product)}.json"


def signature_url(base: str, product: Product) -> str:
    return f"{base}/mud/{product.vendor_id}/{slug_for(product)}.p7s"


def upload(user, product_id: int, content: bytes, signature: bytes | None, base: str) -> MudFile:
    """Check and store a new version of a product's MUD file; MudRefused (nothing stored) when a check fails."""
    product = product_of(user, product_id)
    anchors = list(MudSigner.objects.filter(vendor=product.vendor).values_list("certificate_pem", flat=True))
    checked = check_upload(content, signature, served_at=mud_url(base, product),
                           signature_url=signature_url(base, product), vendor_name=product.vendor.name,
                           model=product.model, anchors_pem=anchors)
    try:
        with transaction.atomic():
            # Lock the product row (PostgreSQL) so two uploads at once cannot take the same version number; on
            # SQLite writers are serialised, and the unique (product, version) catches anything else.
            Product.objects.select_for_update().filter(pk=product.pk).first()
            latest = MudFile.objects.filter(product=product).order_by("-version").values_list("version", flat=True)
            record = MudFile.objects.create(
                product=product, slug=slug_for(product), version=(latest.first() or 0) + 1, content=checked.content,
                sha256=checked.sha256, signature=checked.signature, signed_by=checked.signed_by,
                cache_validity_hours=checked.cache_validity_hours, last_update=checked.last_update,
                warnings=checked.warnings, uploaded_by=user)
            audit.record(user, "mud.upload", record, {"product": product.pk, "version": record.version,
                                                      "sha256": record.sha256, "signed_by": record.signed_by,
                                                      "warnings": len(record.warnings)})
    except IntegrityError:
        raise MudRefused(409, "another version of this product's MUD file was published at the same moment; "
                              "upload again") from None
    return record


def register_signers(user, pem: bytes) -> list[MudSigner]:
    """Register the PEM certificate(s) the vendor's MUD signatures must chain to; already registered ones are
    kept as they are."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    org = vendor_of(user)
    if len(pem) > MAX_SIGNER_PEM_BYTES:
        raise MudRefused(413, f"the certificate file is over {MAX_SIGNER_PEM_BYTES} bytes")
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise MudRefused(400, "not a PEM certificate: expected a file with -----BEGIN CERTIFICATE-----")
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise MudRefused(400, f"cannot read the certificate: {exc}") from None
    if len(certificates) > MAX_SIGNERS_PER_UPLOAD:
        raise MudRefused(400, f"{len(certificates)} certificates in one file; register at most "
                              f"{MAX_SIGNERS_PER_UPLOAD} at a time")
    added = []
    with transaction.atomic():
        for cert in certificates:
            der = cert.public_bytes(serialization.Encoding.DER)
            fingerprint = hashlib.sha256(der).hexdigest()
            signer, created = MudSigner.objects.get_or_create(
                vendor=org, fingerprint=fingerprint,
                defaults={"certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                          "subject": cert.subject.rfc4514_string()[:500], "not_after": cert.not_valid_after_utc,
                          "added_by": user})
            if created:
                audit.record(user, "mud.signer.add", signer, {"subject": signer.subject, "sha256": fingerprint})
            added.append(signer)
    return added


def latest(vendor_id: int, slug: str) -> MudFile | None:
    """The MUD file served at /mud/<vendor_id>/<slug>.json: the product's highest version."""
    return (MudFile.objects.filter(product__vendor_id=vendor_id, slug=slug).select_related("product__vendor")
            .order_by("-version").first())


def version_of(vendor_id: int, slug: str, version: int) -> MudFile | None:
    """One published version, served at /mud/<vendor_id>/<slug>/v<version>.json for as long as the registry runs."""
    return (MudFile.objects.filter(product__vendor_id=vendor_id, slug=slug, version=version)
            .select_related("product__vendor").first())


def versions(vendor_id: int, slug: str) -> list[MudFile]:
    """Every version of a product's MUD file, newest first, with who published it."""
    return list(MudFile.objects.filter(product__vendor_id=vendor_id, slug=slug)
                .select_related("product__vendor", "uploaded_by").defer("content", "signature").order_by("-version"))


def version_url(base: str, record: MudFile, suffix: str = "json") -> str:
    """The stable address of one version (`suffix` json or p7s); unlike the MUD URL it never changes content."""
    return f"{base}/mud/{record.product.vendor_id}/{record.slug}/v{record.version}.{suffix}"
