"""Missed CRA reporting deadlines from the market app's vulnerability reports as case grounds."""

from __future__ import annotations

import datetime as dt

import pytest

from iotmark.registry.enforcement.grounds import check, choices
from iotmark.registry.enforcement.services import GroundIn
from iotmark.registry.services import RegistryError

UTC = dt.timezone.utc


@pytest.fixture
def late_report(product):
    from iotmark.registry.market.models import VulnerabilityReport

    return VulnerabilityReport.objects.create(
        vendor=product.vendor, product=product, title="Telnet backdoor", severity="critical", actively_exploited=True,
        received=dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        notification_sent=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def test_an_unsent_early_warning_past_24_hours_is_offered_as_a_ground(product, late_report):
    offered = [c for c in choices(product, dt.date(2026, 3, 5)) if c.kind == "missed_reporting_deadline"]
    assert [(c.report, c.label) for c in offered] == [(
        f"vulnerability-{late_report.pk}",
        "Vulnerability report \"Telnet backdoor\" (received 2026-03-01): early-warning not sent on time")]
    ground = check(product, GroundIn(kind="missed_reporting_deadline", report=f"vulnerability-{late_report.pk}"),
                   today=dt.date(2026, 3, 5))
    assert ground.report_ref == f"vulnerability-{late_report.pk}" and "early-warning" in ground.detail


def test_a_report_sent_on_time_is_not_a_ground(product, late_report):
    late_report.early_warning_sent = dt.datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    late_report.save()
    assert [c for c in choices(product, dt.date(2026, 3, 5)) if c.kind == "missed_reporting_deadline"] == []
    with pytest.raises(RegistryError, match="has a missed reporting deadline"):
        check(product, GroundIn(kind="missed_reporting_deadline", report=f"vulnerability-{late_report.pk}"),
              today=dt.date(2026, 3, 5))
