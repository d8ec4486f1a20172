"""Market records: a search table of certified products, vendor profiles, support-period changes, and the
vulnerability and incident reports vendors keep with their EU CRA reporting clocks."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from iotmark.registry.models import Certificate, FirmwareVersion, Organisation, Product


class CertificateListing(models.Model):
    """One row per registered certificate with what the public search filters and sorts on, copied from the core
    tables (kept in sync by the signal handlers in market.listing) so a search reads one indexed table."""

    certificate = models.OneToOneField(Certificate, on_delete=models.CASCADE, primary_key=True,
                                       related_name="listing")
    cert_id = models.CharField(max_length=64, unique=True)
    vendor = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    vendor_name = models.CharField(max_length=200)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=200)
    firmware_version = models.CharField(max_length=100)
    device_class = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField()
    level_name = models.CharField(max_length=100)
    meets_class = models.BooleanField()
    issued = models.DateField()
    expires = models.DateField()
    support_until = models.DateField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    search_text = models.CharField(max_length=520, help_text="lower-case vendor, model and firmware version")

    class Meta:
        indexes = [
            models.Index(fields=["vendor", "-level"], name="listing_vendor_level"),
            models.Index(fields=["device_class", "-level"], name="listing_class_level"),
            models.Index(fields=["-level", "-issued"], name="listing_level_issued"),
            models.Index(fields=["expires"], name="listing_expires"),
            models.Index(fields=["support_until"], name="listing_support"),
            models.Index(fields=["-issued"], name="listing_issued"),
            models.Index(fields=["vendor_name", "model"], name="listing_name"),
            models.Index(fields=["vendor", "vendor_name", "model", "firmware_version"], name="listing_vendor_name"),
        ]


class VendorProfile(models.Model):
    """How to reach a vendor about security problems, as the vendor states it."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="market_profile")
    disclosure_email = models.EmailField(blank=True)
    disclosure_url = models.URLField(max_length=500, blank=True)
    security_txt_url = models.URLField(max_length=500, blank=True)
    updated = models.DateTimeField(auto_now=True)


class SupportPeriodChange(models.Model):
    """A change of a firmware version's declared end of security updates, with the vendor's reason."""

    firmware = models.ForeignKey(FirmwareVersion, on_delete=models.CASCADE, related_name="support_changes")
    previous = models.DateField(null=True, blank=True)
    new = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed = models.DateTimeField(auto_now_add=True)


class CraClock(models.Model):
    """What the CRA Art. 14 reporting clocks run on: when the vendor became aware, when a fix was available, and
    when each of the three reports was sent."""

    vendor = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300)
    received = models.DateTimeField(help_text="when the vendor became aware")
    fixed = models.DateTimeField(null=True, blank=True, help_text="when a corrective measure was available")
    early_warning_sent = models.DateTimeField(null=True, blank=True)
    notification_sent = models.DateTimeField(null=True, blank=True)
    final_report_sent = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class VulnerabilityReport(CraClock):
    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    severity = models.CharField(max_length=10, choices=Severity.choices)
    cve_id = models.CharField(max_length=30, blank=True)
    actively_exploited = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["vendor", "received"], name="vulnreport_vendor_received")]


class SevereIncidentReport(CraClock):
    """A severe incident affecting the security of a product (CRA Art. 14(3)), as the vendor reports it."""

    class Meta:
        indexes = [models.Index(fields=["vendor", "received"], name="incidentreport_vendor_received")]
