"""Django forms of the vendor pages (CSRF-protected); the checks themselves are in vendor_records."""

from __future__ import annotations

from django import forms

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"})


def device_class_choices() -> list[tuple[str, str]]:
    from iotmark.catalog.loader import load_device_classes

    return [(cid, cls.name) for cid, cls in load_device_classes().items()]


class ProfileForm(forms.Form):
    disclosure_email = forms.EmailField(required=False, label="E-mail for security reports")
    disclosure_url = forms.URLField(required=False, max_length=500, assume_scheme="https", label="Web page for security reports (https)")
    security_txt_url = forms.URLField(required=False, max_length=500, assume_scheme="https", label="security.txt address (https)")


class ProductForm(forms.Form):
    model = forms.CharField(max_length=200, label="Model name")
    device_class = forms.ChoiceField(choices=device_class_choices, label="Kind of device")


class DeviceClassForm(forms.Form):
    device_class = forms.ChoiceField(choices=device_class_choices, label="Kind of device")


class FirmwareForm(forms.Form):
    version = forms.CharField(max_length=100, label="Firmware version")
    support_until = forms.DateField(required=False, label="Security updates until",
                                    widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=1000, required=False, label="Reason (needed to end support earlier)")


class IncidentForm(forms.Form):
    product_id = forms.TypedChoiceField(coerce=int, label="Product")
    title = forms.CharField(max_length=300)
    received = forms.DateTimeField(label="When you became aware (UTC)", widget=DATETIME)
    fixed = forms.DateTimeField(required=False, label="When a fix or mitigation was available (UTC)", widget=DATETIME)
    early_warning_sent = forms.DateTimeField(required=False, label="Early warning sent (UTC)", widget=DATETIME)
    notification_sent = forms.DateTimeField(required=False, label="Notification sent (UTC)", widget=DATETIME)
    final_report_sent = forms.DateTimeField(required=False, label="Final report sent (UTC)", widget=DATETIME)

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_id"].choices = [(p.pk, p.model) for p in products]


class VulnerabilityForm(IncidentForm):
    severity = forms.ChoiceField(choices=[(s, s) for s in ("critical", "high", "medium", "low")])
    cve_id = forms.CharField(max_length=30, required=False, label="CVE id (optional)")
    actively_exploited = forms.BooleanField(required=False, label="Actively exploited")
