"""The upload form (CSRF-protected like every Django form post)."""

from __future__ import annotations

from django import forms

from iotmark.registry.programme_site.archive import MAX_ARCHIVE_BYTES


class UploadForm(forms.Form):
    archive = forms.FileField(
        label="Workspace archive",
        help_text=f"A .tar.gz or .zip of your programme folder (organisation.yaml, assessments/, ...), at most "
                  f"{MAX_ARCHIVE_BYTES // (1024 * 1024)} MiB.")

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        if archive.size > MAX_ARCHIVE_BYTES:
            raise forms.ValidationError(f"upload refused: the archive is {archive.size} bytes; the limit is "
                                        f"{MAX_ARCHIVE_BYTES // (1024 * 1024)} MiB")
        return archive
