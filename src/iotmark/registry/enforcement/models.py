"""Enforcement records: regulators' non-compliance cases (grounds, timeline, outcome) and incidents attributed to
product models with the FAIR estimate of the loss they caused to third parties."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from iotmark.registry.models import Certificate, FirmwareVersion, Organisation, Product


class Case(models.Model):
    """A regulator's non-compliance case against one product model."""

    class Stage(models.TextChoices):
        OPENED = "opened", "Opened"
        NOTIFIED = "notified", "Vendor notified"
        RESPONDED = "responded", "Vendor responded"
        DECIDED = "decided", "Outcome recorded"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        NO_ACTION = "no_action", "No action"
        WARNING = "warning", "Warning"
        CORRECTIVE_ACTION_ORDERED = "corrective_action_ordered", "Corrective action ordered"
        FINE = "fine", "Fine"
        WITHDRAWAL_ORDERED = "withdrawal_ordered", "Withdrawal from the market ordered"
        RECALL_ORDERED = "recall_ordered", "Recall ordered"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="cases")
    firmware = models.ForeignKey(FirmwareVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    regulator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cases_opened",
                                  limit_choices_to={"kind": Organisation.Kind.REGULATOR})
    summary = models.TextField(max_length=4000)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.OPENED)
    opened = models.DateTimeField()
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    notified = models.DateTimeField(null=True, blank=True)
    response = models.TextField(max_length=10000, blank=True)
    responded = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, choices=Outcome.choices, blank=True)
    fine_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    fine_currency = models.CharField(max_length=3, blank=True)
    outcome_reasons = models.TextField(max_length=10000, blank=True)
    decided = models.DateTimeField(null=True, blank=True)
    closed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened", "-id"]

    def __str__(self) -> str:
        return f"case {self.pk} against {self.product}"

    @property
    def is_closed(self) -> bool:
        return self.stage == self.Stage.CLOSED


class Ground(models.Model):
    """One reason a case was opened, typed so the public record can say what kind of failure it was."""

    class Kind(models.TextChoices):
        FAILED_PROVISION = "failed_provision", "Failed a tested security requirement"
        SUPPORT_EXPIRED = "support_expired", "Security updates ended while still on sale"
        MISSED_REPORTING_DEADLINE = "missed_reporting_deadline", "Missed a legal deadline to report a vulnerability"
        OTHER = "other", "Other"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="grounds")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    provision = models.CharField(max_length=50, blank=True, help_text="catalog id, for failed_provision")
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    firmware = models.ForeignKey(FirmwareVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    report_ref = models.CharField(max_length=100, blank=True, help_text="the vulnerability report's id")
    detail = models.TextField(max_length=4000, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.provision or self.report_ref}".strip()


class CaseEvent(models.Model):
    """One step of a case's timeline, in the order it happened."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20)
    actor = models.CharField(max_length=150)
    text = models.TextField(max_length=10000, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Incident(models.Model):
    """An incident imported from `iotmark incident` (its JSON kept verbatim)."""

    incident_id = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=500)
    playbook = models.CharField(max_length=64)
    cra_category = models.CharField(max_length=64)
    opened_at = models.DateTimeField()
    aware_at = models.DateTimeField()
    document = models.TextField(help_text="the incident JSON exactly as imported")
    imported = models.DateTimeField()
    imported_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return self.incident_id


class Attribution(models.Model):
    """An incident attributed to one product model, with the affected device count and the FAIR estimate of the
    loss those devices caused to others (device owners and the targets of attacks)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attributions")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="attributions")
    devices = models.PositiveIntegerField()
    loss_mean = models.FloatField()
    loss_p90 = models.FloatField()
    currency = models.CharField(max_length=3, default="EUR")
    estimate = models.JSONField(help_text="inputs, assumptions and results of the FAIR run")
    attributed = models.DateTimeField()
    attributed_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["incident", "product"], name="attribution_once_per_product")]

    def __str__(self) -> str:
        return f"{self.incident} -> {self.product}"
