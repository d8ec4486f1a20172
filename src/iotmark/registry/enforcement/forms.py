"""Django forms of the enforcement pages (all posted with CSRF tokens)."""

from __future__ import annotations

from django import forms

from iotmark.registry.enforcement.models import Case
from iotmark.registry.enforcement.third_party_loss import MAX_DEVICES
from iotmark.registry.models import Organisation, Product


def _products():
    return Product.objects.select_related("vendor").filter(vendor__kind=Organisation.Kind.VENDOR).order_by(
        "vendor__name", "model")


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return f"{obj.vendor.name} / {obj.model}"


class ChooseProductForm(forms.Form):
    product = ProductChoiceField(queryset=_products(), label="Product the case is about")


class CaseForm(forms.Form):
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
                              label="What the case is about, in a sentence or two")
    firmware = forms.ChoiceField(required=False, label="Firmware version concerned (optional)")
    certificate = forms.ChoiceField(required=False, label="Certificate concerned (optional)")
    grounds = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                        label="Grounds the registry's records support")
    other = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                            label="Other ground (free text, optional)")

    def __init__(self, *args, product: Product, choices: list, **kwargs):
        super().__init__(*args, **kwargs)
        versions = product.firmware_versions.order_by("version")
        self.fields["firmware"].choices = [("", "(none)")] + [(f.version, f.version) for f in versions]
        certs = [c for f in versions for c in f.certificates.all()]
        self.fields["certificate"].choices = [("", "(none)")] + [
            (c.cert_id, f"{c.cert_id} (firmware {c.firmware.version})") for c in certs]
        self.fields["grounds"].choices = [(c.value, c.label) for c in choices]

    def clean(self):
        data = super().clean()
        if not data.get("grounds") and not (data.get("other") or "").strip():
            raise forms.ValidationError("Choose at least one ground or describe another one.")
        return data


class NotifyForm(forms.Form):
    note = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                           label="How and when the vendor was told (optional)")


class ResponseForm(forms.Form):
    text = forms.CharField(max_length=10000, widget=forms.Textarea(attrs={"rows": 5}), label="Your response")


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=Case.Outcome.choices)
    reasons = forms.CharField(max_length=10000, widget=forms.Textarea(attrs={"rows": 4}),
                              label="Reasons (published once the case is closed)")
    fine_amount = forms.DecimalField(required=False, min_value=0, max_digits=16, decimal_places=2,
                                     label="Fine amount (fines only)")
    fine_currency = forms.CharField(required=False, max_length=3, label="Currency (fines only, e.g. EUR)")


class AttributeForm(forms.Form):
    product = ProductChoiceField(queryset=_products(), label="Product model involved")
    devices = forms.IntegerField(min_value=1, max_value=MAX_DEVICES, label="Number of affected devices")


class IncidentImportForm(AttributeForm):
    file = forms.FileField(label="Incident file (JSON written by `iotmark incident`)")
