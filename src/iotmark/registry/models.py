"""Registry records: who takes part, what they make, which keys sign, and the certificates they signed."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Organisation(models.Model):
    class Kind(models.TextChoices):
        VENDOR = "vendor", "Vendor"
        LAB = "lab", "Test lab"
        REGULATOR = "regulator", "Regulator"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Member(models.Model):
    """A user's role in the registry and the organisation they act for (none for admins)."""

    class Role(models.TextChoices):
        LAB = "lab", "Lab assessor"
        VENDOR = "vendor", "Vendor member"
        REGULATOR = "regulator", "Regulator"
        ADMIN = "admin", "Administrator"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    role = models.CharField(max_length=20, choices=Role.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="members")

    def __str__(self) -> str:
        return f"{self.user} as {self.role}"


class ApiToken(models.Model):
    """A bearer token for the API; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="first characters, to tell tokens apart")
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Product(models.Model):
    vendor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="products",
                               limit_choices_to={"kind": Organisation.Kind.VENDOR})
    model = models.CharField(max_length=200)
    device_class = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "model"], name="product_unique_per_vendor")]

    def __str__(self) -> str:
        return f"{self.vendor.name} {self.model}"


class FirmwareVersion(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="firmware_versions")
    version = models.CharField(max_length=100)
    hardware_version = models.CharField(max_length=100, blank=True)
    support_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "version"], name="firmware_unique_per_product")]

    def __str__(self) -> str:
        return f"{self.product} {self.version}"


class IssuerKey(models.Model):
    """A lab's Ed25519 public key; certificates signed by it are accepted only while it is trusted."""

    key_id = models.CharField(max_length=16, unique=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="issuer_keys",
                                     limit_choices_to={"kind": Organisation.Kind.LAB})
    public_key_pem = models.TextField()
    trusted = models.BooleanField(default=True)
    added = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key_id} ({self.organisation.name})"


class Certificate(models.Model):
    """A certificate as the lab signed it (document, byte for byte) with its fields copied out for queries."""

    cert_id = models.CharField(max_length=64, unique=True)
    firmware = models.ForeignKey(FirmwareVersion, on_delete=models.PROTECT, related_name="certificates")
    issuer_key = models.ForeignKey(IssuerKey, on_delete=models.PROTECT, related_name="certificates")
    issuer = models.CharField(max_length=200)
    device_class = models.CharField(max_length=100)
    standard = models.CharField(max_length=100)
    standard_version = models.CharField(max_length=50)
    level = models.PositiveSmallIntegerField()
    level_name = models.CharField(max_length=100)
    meets_class = models.BooleanField()
    issued = models.DateField()
    expires = models.DateField()
    summary = models.JSONField(default=list, blank=True)
    assessment_digest = models.CharField(max_length=64)
    document = models.TextField(help_text="the signed certificate JSON exactly as uploaded")
    assessment = models.TextField(help_text="the assessment JSON the certificate's digest names")
    bundle = models.TextField(blank=True, default="",
                              help_text="the evidence bundle the assessment names by digest, when the lab shared it")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    related_name="uploaded_certificates")
    uploaded = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.cert_id


class Revocation(models.Model):
    certificate = models.OneToOneField(Certificate, on_delete=models.PROTECT, related_name="revocation")
    reason = models.CharField(max_length=1000)
    date = models.DateField()
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.certificate.cert_id} revoked on {self.date}"


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit entry."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are append-only: they cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only: they cannot be deleted")


class AuditEntry(models.Model):
    """One state change, append-only. Each entry's hash covers its fields and the previous entry's hash, so
    editing, deleting or reordering any entry breaks the chain (`iotmark registry audit verify` finds where).
    `prev_hash` is unique: two writers can never both extend the same entry."""

    created = models.DateTimeField()
    actor = models.CharField(max_length=150, help_text="username, or 'system' for host commands")
    action = models.CharField(max_length=100, help_text="dotted verb, e.g. certificate.upload")
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"audit entry #{self.pk} is append-only: it cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"audit entry #{self.pk} is append-only: it cannot be deleted")

    def __str__(self) -> str:
        return f"#{self.pk} {self.created:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"


class IdempotentRequest(models.Model):
    """The answer to an API request sent with an Idempotency-Key, stored in the same transaction as what the
    request changed, so a client that retries after a crash gets the same answer instead of a second change."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    body_sha256 = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user})"
