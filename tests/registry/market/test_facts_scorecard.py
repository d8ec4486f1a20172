"""CRA clocks, the vendor scorecard and the registry-facts document on one vendor with 3 products (a real
uploaded certificate and seeded ones) and vulnerability reports with on-time, late and pending deadlines."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from statistics import median

import pytest
from django.utils import timezone

from iotmark.registry.market import vendor_records
from iotmark.registry.market.facts import vendor_facts
from iotmark.registry.market.scorecard import scorecard
from iotmark.registry.models import Certificate, FirmwareVersion, Organisation, Product

H, D = dt.timedelta(hours=1), dt.timedelta(days=1)


@dataclass
class World:
    org: Organisation
    now: dt.datetime
    reports: dict[str, object]


def _save(vendor, product, kind="vulnerability", **fields):
    data = {"product_id": product.pk, "title": fields.pop("title", "flaw"), **fields}
    if kind == "vulnerability":
        data.setdefault("severity", "high")
    return vendor_records.save_report(vendor.user, kind, data)


@pytest.fixture
def world(vendor) -> World:
    from iotmark.registry.market.seed import seed_certificates

    seed_certificates(4, vendors=["Northwind Devices"], rng_seed=3)
    org = Organisation.objects.get(name="Northwind Devices")
    plug = Product.objects.get(vendor=org, model="SmartPlug P1")
    now = timezone.now().replace(microsecond=0)
    t1, t2, t3, t4 = now - 30 * D, now - 2 * H, now - 10 * D, now - 40 * D
    reports = {
        # early warning and notification on time, final report 20 days after the fix: late
        "r1": _save(vendor, plug, title="r1", actively_exploited=True, received=t1, early_warning_sent=t1 + 10 * H,
                    notification_sent=t1 + 70 * H, fixed=t1 + 5 * D, final_report_sent=t1 + 25 * D),
        # aware two hours ago, nothing sent yet: pending
        "r2": _save(vendor, plug, title="r2", actively_exploited=True, received=t2),
        # no early warning (overdue), notification late, fixed a day ago: final report pending
        "r3": _save(vendor, plug, title="r3", actively_exploited=True, received=t3, notification_sent=t3 + 80 * H,
                    fixed=t3 + 9 * D),
        # not actively exploited: no CRA clock, fixed after 12 days
        "r4": _save(vendor, plug, title="r4", severity="low", received=t4, fixed=t4 + 12 * D),
    }
    return World(org, now, reports)


def test_the_vendor_has_three_products_one_real_and_two_seeded(world):
    assert Product.objects.filter(vendor=world.org).count() == 3
    assert Certificate.objects.filter(firmware__product__vendor=world.org).count() == 5


def test_cra_deadlines_in_the_facts_document(world):
    doc = vendor_facts(world.org, world.now)
    by_title = {world.reports[k].pk: k for k in world.reports}
    deadlines = {by_title[int(r["id"].split("-")[1])]: [(d["report"], d["on_time"]) for d in r["deadlines"]]
                 for r in doc["vulnerability_reports"]}
    assert deadlines == {
        "r1": [("early_warning", True), ("notification", True), ("final_report", False)],
        "r2": [("early_warning", None), ("notification", None)],
        "r3": [("early_warning", False), ("notification", False), ("final_report", None)],
        "r4": [],
    }
    r3 = next(r for r in doc["vulnerability_reports"] if r["id"] == f"vulnerability-{world.reports['r3'].pk}")
    t3 = world.now - 10 * D
    assert [d["due"] for d in r3["deadlines"]] == [
        (t3 + 24 * H).isoformat().replace("+00:00", "Z"), (t3 + 72 * H).isoformat().replace("+00:00", "Z"),
        (t3 + 23 * D).isoformat().replace("+00:00", "Z")]
    assert r3["deadlines"][0]["sent"] is None


def test_severe_incident_final_report_is_due_one_month_after_the_notification(world, vendor):
    plug = Product.objects.get(vendor=world.org, model="SmartPlug P1")
    aware = dt.datetime(2026, 1, 31, 8, 0, tzinfo=dt.timezone.utc)
    incident = _save(vendor, plug, kind="incident", title="cloud breach", received=aware,
                     early_warning_sent=aware + 5 * H, notification_sent=aware + 48 * H)
    from iotmark.registry.market.clocks import report_deadlines

    final_due = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)  # notified 2 Feb 08:00, plus one month
    before = [(d.report, d.due, d.on_time) for d in report_deadlines(incident, aware + 20 * D)]
    assert before == [("early_warning", aware + 24 * H, True), ("notification", aware + 72 * H, True),
                      ("final_report", final_due, None)]
    after = report_deadlines(incident, aware + 40 * D)[2]
    assert (after.on_time, after.overdue) == (False, True)


def test_scorecard_kpis_match_the_recorded_data(world):
    card = scorecard(world.org, world.now)
    today = world.now.date()
    products = Product.objects.filter(vendor=world.org)
    certified = {p.pk for p in products for c in Certificate.objects.filter(firmware__product=p)
                 if c.meets_class and c.issued <= today <= c.expires and not hasattr(c, "revocation")}
    years = []
    for p in products:
        ends = [f.support_until for f in FirmwareVersion.objects.filter(product=p) if f.support_until]
        issued = [c.issued for c in Certificate.objects.filter(firmware__product=p)]
        if ends and issued:
            years.append((max(ends) - min(issued)).days / 365.25)
    assert card.products == 3
    assert card.products_certified == len(certified)
    assert card.certified_share == round(len(certified) / 3, 2)
    assert card.median_support_years == round(median(years), 1)
    assert (card.vulnerability_reports, card.fixed_reports, card.median_fix_days) == (4, 3, 9.0)
    assert (card.reports_due, card.reports_on_time, card.on_time_share, card.overdue_reports) == (5, 2, 0.4, 1)
    assert card.enforcement is not None and card.enforcement.open_cases == 0 and card.enforcement.incidents == 0


def test_scorecard_page_and_api_show_the_same_numbers(world, client):
    body = client.get(f"/api/v1/vendors/{world.org.pk}/scorecard").json()
    assert (body["reports_on_time"], body["reports_due"], body["median_fix_days"]) == (2, 5, 9.0)
    html = client.get(f"/vendors/{world.org.pk}").content.decode()
    assert "2 of 5 (40%)" in html and "9.0 days" in html and "1 overdue now" in html


def test_scorecard_says_not_available_rather_than_zero_without_data(client):
    org = Organisation.objects.create(name="Quiet Things", kind="vendor")
    html = client.get(f"/vendors/{org.pk}").content.decode()
    assert html.count("not available") >= 3
    assert client.get("/vendors/987654").status_code == 404


def test_the_facts_document_lists_products_firmware_and_certificates(world, uploaded):
    doc = vendor_facts(world.org, world.now)
    assert doc["format"] == "iotmark-registry-facts/1" and doc["vendor"] == "Northwind Devices"
    plug = next(p for p in doc["products"] if p["model"] == "SmartPlug P1")
    assert plug["required_level"] == 1 and plug["firmware"] == [{"version": "1.4.2", "support_until": "2030-06-30"}]
    cert = plug["certificates"][0]
    stored = json.loads(uploaded.assessment)
    assert cert["id"] == uploaded.cert_id and cert["status"] == "valid"
    assert set(cert["failed_provisions"]) == {v["provision"] for v in stored["verdicts"] if v["verdict"] == "FAIL"}
    assert cert["open_findings"] == {k: stored["risk"]["failed_findings_by_severity"][k]
                                     for k in ("critical", "high", "medium", "low")}
    assert sum(len(p["certificates"]) for p in doc["products"]) == 5
    assert doc["incidents"] == [] and doc["cases"] == []


def test_the_facts_document_meets_the_agreed_schema(world):
    from importlib import resources

    import jsonschema

    schema_file = resources.files("iotmark.programme").joinpath("data/registry-facts.schema.json")
    if not schema_file.is_file():
        pytest.skip("programme's registry-facts schema is not in this checkout")
    jsonschema.validate(vendor_facts(world.org, world.now), json.loads(schema_file.read_text(encoding="utf-8")))


def test_overdue_reports_for_regulators_only(world, regulator, vendor, client):
    body = client.get("/api/v1/reports/overdue", **regulator.headers).json()
    assert [(r["title"], r["missing"]) for r in body] == [("r3", ["early_warning"])]
    assert client.get("/api/v1/reports/overdue", **vendor.headers).status_code == 403
    client.force_login(regulator.user)
    html = client.get("/reports/overdue").content.decode()
    assert "r3" in html and "Early warning" in html and "r1" not in html


def test_cli_writes_the_facts_file_and_lists_overdue_reports(world, tmp_path):
    from typer.testing import CliRunner

    from iotmark.registry.cli import registry_app

    out = tmp_path / "facts.json"
    result = CliRunner().invoke(registry_app, ["vendor", "facts", "--vendor", "Northwind Devices", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["products"] == vendor_facts(world.org, world.now)["products"]
    listed = CliRunner().invoke(registry_app, ["vendor", "overdue"])
    assert listed.exit_code == 0 and "| r3" not in listed.output and "'r3'" in listed.output
    assert "early warning" in listed.output
    missing = CliRunner().invoke(registry_app, ["vendor", "facts", "--vendor", "Nobody", "--out", str(out)])
    assert missing.exit_code == 1 and "no vendor named 'Nobody'" in missing.output
