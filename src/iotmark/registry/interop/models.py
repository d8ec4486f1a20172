"""Label records of other registries, kept apart from this registry's own certificates."""

from __future__ import annotations

from django.db import models


class RecordSource(models.Model):
    """Another registry (mirrored over its API) or a named file import, with the sync position reached."""

    name = models.CharField(max_length=300, unique=True, help_text="origin URL of a mirrored registry, or an import name")
    slug = models.SlugField(max_length=100, unique=True, help_text="the source's part of /records/<source>/<id>")
    mirrored = models.BooleanField(default=False, help_text="fetched over the network (not a file import)")
    last_modified = models.DateTimeField(null=True, blank=True,
                                         help_text="newest `modified` seen; the next `--since auto` starts here")
    last_synced = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ExternalRecord(models.Model):
    """One CTA-2120 record published by another registry, stored as received (validated against our schema)."""

    source = models.ForeignKey(RecordSource, on_delete=models.PROTECT, related_name="records")
    qr_code_url = models.CharField(max_length=2048)
    product_name = models.CharField(max_length=300)
    manufacturer_name = models.CharField(max_length=300)
    record = models.JSONField()
    modified = models.DateTimeField(help_text="the record's own `modified` as the source published it")
    fetched = models.DateTimeField(help_text="when this registry last stored a new version of it")
    withdrawn = models.DateTimeField(null=True, blank=True,
                                     help_text="when the source stopped vouching for it (revoked or expired)")
    withdrawn_reason = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["manufacturer_name", "product_name", "id"]
        constraints = [models.UniqueConstraint(fields=["source", "qr_code_url"], name="external_record_unique_per_source")]

    def __str__(self) -> str:
        return f"{self.manufacturer_name} {self.product_name} ({self.source.name})"
