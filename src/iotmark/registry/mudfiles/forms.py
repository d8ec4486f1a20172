"""Forms of the vendor MUD page (CSRF-protected, server-rendered)."""

from __future__ import annotations

from django import forms

from iotmark.registry.models import Organisation, Product


class MudUploadForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), empty_label=None,
                                     help_text="the product whose devices emit this MUD URL")
    mud_file = forms.FileField(label="MUD file (JSON)")
    signature = forms.FileField(label="Signature (.p7s, DER, optional)", required=False,
                                help_text="a detached CMS signature of exactly this file")

    def __init__(self, vendor: Organisation, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(vendor=vendor).order_by("model")


class SignerForm(forms.Form):
    certificate = forms.FileField(label="Signer CA certificate (PEM)",
                                  help_text="the CA certificate that issued your MUD signing certificate, "
                                            "or a self-signed signing certificate")
