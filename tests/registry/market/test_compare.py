"""Compare: plain-language topics from the stored assessment, support time left, clear 4xx on bad requests."""

from __future__ import annotations

import datetime as dt
import json

from iotmark.registry.market.compare import buyer_topics, updates_left


def test_every_provision_of_the_standard_belongs_to_exactly_one_buyer_topic():
    from iotmark.catalog.loader import load_standard

    ids = [p for t in buyer_topics() for p in t.provisions]
    assert sorted(ids) == sorted(p.id for p in load_standard("etsi-en-303-645").provisions)
    assert len(ids) == len(set(ids))


def test_time_left_reads_in_years_and_months():
    today = dt.date(2026, 11, 28)
    assert updates_left(dt.date(2030, 1, 31), today) == "3 years and 2 months left (until 2030-01-31)"
    assert updates_left(dt.date(2027, 11, 28), today) == "1 year left (until 2027-11-28)"
    assert updates_left(dt.date(2026, 12, 10), today) == "less than a month left (until 2026-12-10)"
    assert updates_left(dt.date(2026, 1, 1), today) == "ended on 2026-01-01"
    assert updates_left(None, today) == "not stated"


def test_compare_groups_the_real_assessment_into_topics(uploaded, seeded, client):
    other = client.get("/api/v1/products", {"sort": "name"}).json()["results"][0]["id"]
    body = client.get("/api/v1/compare", {"c": [uploaded.cert_id, other]}).json()
    assert [p["id"] for p in body] == [uploaded.cert_id, other]
    verdicts = {v["provision"]: v["verdict"] for v in json.loads(uploaded.assessment)["verdicts"]}
    failed = {p for p, v in verdicts.items() if v == "FAIL"}
    first = body[0]
    assert first["vendor"] == "Northwind Devices" and first["status"] == "valid"
    topic_of = {p: t.name for t in buyer_topics() for p in t.provisions}
    assert {t["topic"] for t in first["missing"]} == {topic_of[p] for p in failed}
    assert sum(t["failed"] for t in first["missing"]) == len(failed)
    assert sum(t["passed"] for t in first["protected"]) == sum(v == "PASS" for v in verdicts.values())
    assert first["updates_left"].endswith("(until 2030-06-30)")


def test_compare_page_shows_both_products_in_plain_words(uploaded, seeded, client):
    other = next(r for r in client.get("/api/v1/products", {"sort": "newest"}).json()["results"]
                 if r["id"] != uploaded.cert_id)
    html = client.get("/compare", {"c": [uploaded.cert_id, other["id"]]}).content.decode()
    assert "Northwind Devices SmartPlug P1" in html and other["model"] in html
    assert "Security updates" in html and "Missing" in html


def test_compare_refuses_one_five_duplicate_unknown_and_overlong_ids(uploaded, seeded, client):
    ids = [r["id"] for r in client.get("/api/v1/products", {"page_size": "5"}).json()["results"]]
    cases = [([ids[0]], 400, "between 2 and 4"), (ids[:5], 400, "between 2 and 4"), ([ids[0], ids[0]], 400, "twice"),
             ([ids[0], "iotm-nope"], 404, "iotm-nope"), ([ids[0], "x" * 65], 400, "at most 64")]
    for c, status, words in cases:
        api = client.get("/api/v1/compare", {"c": c})
        assert api.status_code == status and words in api.json()["detail"]
        page = client.get("/compare", {"c": c})
        assert page.status_code == status and words in page.content.decode()
