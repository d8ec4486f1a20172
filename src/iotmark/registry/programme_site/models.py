"""A vendor organisation's programme workspace, kept as numbered versions (each the whole folder as JSON)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from iotmark.registry.models import Organisation


class WorkspaceVersion(models.Model):
    """One uploaded version of an organisation's programme workspace; never changed once stored."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="programme_versions")
    number = models.PositiveIntegerField(help_text="1 for the first upload of this organisation, then 2, 3, ...")
    files = models.JSONField(help_text="relative path -> file text")
    digest = models.CharField(max_length=64, help_text="SHA-256 over the sorted paths and contents")
    size = models.PositiveIntegerField(help_text="total bytes of the files")
    archive_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    uploader = models.CharField(max_length=150, help_text="username at upload time (kept if the user is removed)")
    uploaded = models.DateTimeField()

    class Meta:
        ordering = ["organisation", "-number"]
        constraints = [models.UniqueConstraint(fields=["organisation", "number"],
                                               name="programme_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.organisation.name} programme v{self.number}"
