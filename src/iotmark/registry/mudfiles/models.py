"""MUD files vendors upload for their products, every version kept, and the certificates they sign them under."""

from django.conf import settings
from django.db import models

from iotmark.registry.models import Organisation, Product


class MudSigner(models.Model):
    """A certificate a vendor trusts for its MUD signatures: the CA that issued its signing certificate, or a
    self-signed signing certificate. Signatures are checked against these and nothing else."""

    vendor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="mud_signers")
    certificate_pem = models.TextField()
    subject = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the DER certificate")
    not_after = models.DateTimeField()
    added = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "fingerprint"], name="mud_signer_once_per_vendor")]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.subject}"


class MudFile(models.Model):
    """One uploaded version of a product's MUD file; the highest version of a product is the one served."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="mud_files")
    slug = models.SlugField(max_length=120, help_text="the product's name in its MUD URL")
    version = models.PositiveIntegerField()
    content = models.BinaryField(help_text="the MUD file exactly as uploaded")
    sha256 = models.CharField(max_length=64)
    signature = models.BinaryField(null=True, blank=True, help_text="detached CMS signature (DER), as uploaded")
    signed_by = models.CharField(max_length=500, blank=True)
    cache_validity_hours = models.PositiveSmallIntegerField()
    last_update = models.CharField(max_length=64, blank=True, help_text="the file's own last-update value")
    warnings = models.JSONField(default=list, blank=True)
    uploaded = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "version"], name="mud_version_once_per_product")]
        indexes = [models.Index(fields=["slug", "product"], name="mud_by_slug")]

    def __str__(self) -> str:
        return f"{self.product} MUD v{self.version}"
