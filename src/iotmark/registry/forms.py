"""Forms of the core pages: API tokens, certificate upload, revocation."""

from __future__ import annotations

from django import forms

from iotmark.registry.services import MAX_ASSESSMENT_BYTES, MAX_BUNDLE_BYTES, MAX_CERTIFICATE_BYTES


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, label="What is this token for?",
                           help_text="For example: our upload script")


class TokenRevokeForm(forms.Form):
    token = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


def _text_of(upload, limit: int, what: str) -> str:
    if upload.size > limit:
        raise forms.ValidationError(f"the {what} file is larger than {limit // 1024} KiB")
    try:
        return upload.read().decode("utf-8")
    except UnicodeDecodeError:
        raise forms.ValidationError(f"the {what} file is not UTF-8 text (expected the JSON file iotmark wrote)")


class UploadForm(forms.Form):
    certificate = forms.FileField(label="Certificate file (certificate.json from iotmark certify)")
    assessment = forms.FileField(label="Assessment file (assessment.json it was issued for)")
    bundle = forms.FileField(label="Evidence bundle (bundle.json the assessment was made from; optional, shown "
                                   "in the public report)", required=False)

    def clean_certificate(self) -> str:
        return _text_of(self.cleaned_data["certificate"], MAX_CERTIFICATE_BYTES, "certificate")

    def clean_assessment(self) -> str:
        return _text_of(self.cleaned_data["assessment"], MAX_ASSESSMENT_BYTES, "assessment")

    def clean_bundle(self) -> str:
        upload = self.cleaned_data.get("bundle")
        return _text_of(upload, MAX_BUNDLE_BYTES, "evidence bundle") if upload else ""


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=1000, label="Reason (shown to everyone who checks this label)",
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": "Please say why the certificate is revoked; buyers who "
                                                         "check the label read this reason.",
                                             "max_length": "Please keep the reason to at most 1000 characters."})
