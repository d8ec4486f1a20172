"""KPI computation on the Acme fixture (see conftest) as of 2026-06-30, values worked out by hand."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from iotmark.inputs import InputError
from iotmark.programme.kpis import compute_kpis, kpi_trends, quarter_ends
from iotmark.programme.registry_facts import load_facts
from iotmark.programme.workspace import load_workspace

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def cards(small_workspace, facts_file):
    return {(c.scope, c.id): c for c in compute_kpis(load_workspace(small_workspace), load_facts(facts_file), AS_OF)}


def values(card):
    return {v.kpi: (v.value, v.score) for v in card.kpis}


def test_unit_kpis_match_hand_computation(cards):
    """cam (Cam A, Cam B):
    certified: Cam A level 2 >= 2 in force; Cam B level 1 -> 1/2 = 0.5, score (0.5-0.5)/(1-0.5) = 0.
    open critical: C1 has 1; V1, V2 fixed before 06-30 -> 1, score (1-5)/(0-5) = 0.8.
    median days: V1 10 d, V2 40 d -> 25, score (25-120)/(30-120) = 1.06 -> clipped 1.
    support: horizon 2027-06-30; Cam A 2028-01-01 yes, Cam B 2026-09-01 no -> 0.5, score 0.
    CRA: early warning on time, notification a day late, final report not yet due -> 1/2, score 0.
    training: Cam B's certificate of 03-01 failed 5.1-1 after ann completed creds (01-20) -> flagged; bob late
    -> 0/2, score 0.
    security = 100 * (0.2*0.8 + 0.15*1) / 1.0 = 31.0."""
    card = cards[("unit", "cam")]
    assert values(card) == {"certified_at_required_level": (0.5, 0.0), "open_critical_findings": (1.0, 0.8),
                            "median_days_to_fix": (25.0, 1.0), "support_period_coverage": (0.5, 0.0),
                            "cra_reports_on_time": (0.5, 0.0), "training_follow_through": (0.0, 0.0)}
    assert card.security_score == 31.0


def test_kpis_without_data_are_left_out_of_the_score(cards):
    """lock (Lock L): revoked certificate -> 0/1 (score 0); no open critical -> 1; no fixes -> no data;
    support to 2030 -> 1; no CRA deadlines -> no data; cid on time, no later evidence -> 1/1, score 1.
    security = 100 * (0.25*0 + 0.2*1 + 0.15*1 + 0.1*1) / (0.25+0.2+0.15+0.1) = 45/0.7 = 64.29."""
    card = cards[("unit", "lock")]
    assert values(card)["median_days_to_fix"] == (None, None)
    assert values(card)["cra_reports_on_time"] == (None, None)
    assert values(card)["certified_at_required_level"] == (0.0, 0.0)
    assert card.weights_used == 0.7
    assert card.security_score == 64.29


def test_person_scope_uses_owned_products_and_own_training(cards):
    """ann owns Cam A: certified 1 (1), critical 1 (0.8), median 10 d (1), support 1 (1), CRA 1/2 (0),
    training on time but her unit is flagged (0) -> 100 * (0.25 + 0.16 + 0.15 + 0.15) = 71.0.
    bob owns nothing: only training (late, 0) counts -> 0.0. dan left before the date: no scorecard."""
    assert cards[("person", "ann")].security_score == 71.0
    assert cards[("person", "bob")].security_score == 0.0
    assert cards[("person", "bob")].weights_used == 0.1
    assert ("person", "dan") not in cards


def test_workspace_weights_change_the_score(small_workspace, facts_file):
    """Only open critical findings weighted: lock scores 100 * 1 = 100."""
    weights = {k: 0 for k in ("certified_at_required_level", "median_days_to_fix", "support_period_coverage",
                              "cra_reports_on_time", "training_follow_through")}
    (small_workspace / "kpi-weights.yaml").write_text(json.dumps(weights))
    cards = compute_kpis(load_workspace(small_workspace), load_facts(facts_file), AS_OF)
    assert next(c for c in cards if c.id == "lock").security_score == 100.0


def test_trend_recomputes_at_quarter_ends(small_workspace, facts_file):
    """On 2026-03-31 V1 (received 04-01) does not exist yet and Cam B's certificate (03-01) is in force."""
    assert quarter_ends(AS_OF, 3) == [dt.date(2025, 12, 31), dt.date(2026, 3, 31), dt.date(2026, 6, 30)]
    trends = kpi_trends(load_workspace(small_workspace), load_facts(facts_file), AS_OF, 3)
    cam = next(t for t in trends if t.id == "cam")
    march = next(p for p in cam.points if p.as_of == dt.date(2026, 3, 31))
    assert march.values["cra_reports_on_time"] is None
    assert march.values["median_days_to_fix"] is None
    december = cam.points[0]
    assert december.values["certified_at_required_level"] == 0.0  # nothing issued before 2026


def test_facts_about_another_vendor_are_refused(small_workspace, tmp_path, facts_document):
    path = tmp_path / "other.json"
    path.write_text(json.dumps(facts_document(vendor="Someone Else")))
    with pytest.raises(InputError, match="about 'Someone Else'"):
        compute_kpis(load_workspace(small_workspace), load_facts(path), AS_OF)


@pytest.mark.parametrize("change, expected", [
    ({"format": "something/2"}, "field format"),
    ({"products": [{"model": "X", "device_class": "c", "required_level": "two"}]}, "field products.0.required_level"),
    ({"vulnerability_reports": [{"id": "V", "product": "X", "severity": "urgent",
                                 "received": "2026-01-01T00:00:00Z"}]}, "field vulnerability_reports.0.severity"),
])
def test_malformed_facts_give_one_line_naming_the_field(tmp_path, facts_document, change, expected):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(facts_document(**change)))
    with pytest.raises(InputError) as err:
        load_facts(path)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_truncated_facts_json_is_one_line(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('{"format": "iotmark-registry-facts/1", "products": [')
    with pytest.raises(InputError, match="invalid JSON"):
        load_facts(path)
