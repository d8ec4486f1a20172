"""Programme pages and the summary API show the programme library's own numbers for the stored workspace, and
only to members of that vendor (and admins)."""

from __future__ import annotations

import datetime as dt
import html
import re
import tempfile
from pathlib import Path

import pytest
from conftest import AS_OF, EXAMPLE
from django.template.defaultfilters import floatformat

from iotmark.programme.champions import champion_gaps
from iotmark.programme.pentests import pentest_status
from iotmark.programme.samm import latest_scores, maturity_gaps, maturity_trends, unit_scores
from iotmark.programme.training import follow_through_flags
from iotmark.programme.workspace import load_workspace
from iotmark.registry.programme_site.summary import live_facts

DAY = dt.date.fromisoformat(AS_OF)


@pytest.fixture
def workspace():
    return load_workspace(EXAMPLE)


def _cells(page: str, table_id: str, attribute: str) -> dict[str, list[str]]:
    """Row attribute value -> the text of its cells, from a table of the page."""
    table = page[page.index(f'id="{table_id}"'):]
    table = table[:table.index("</table>")]
    rows = {}
    for key, body in re.findall(rf'<tr {attribute}="([^"]+)"[^>]*>(.*?)</tr>', table, re.S):
        rows[key] = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
    return rows


def test_overview_shows_the_library_maturity_per_unit_with_its_change(logged_in, stored, workspace):
    page = logged_in.get(f"/programme?as_of={AS_OF}").content.decode()
    rows = _cells(page, "units", "data-unit")
    latest = latest_scores(workspace, "samm-v2")
    trends = {t.unit: t for t in maturity_trends(workspace, "samm-v2")}
    assert set(rows) == {"home", "industrial", "medical"}
    for unit, cells in rows.items():
        assert cells[1] == latest[unit].date.isoformat()
        assert cells[2] == floatformat(latest[unit].overall, 2)
        assert cells[3].startswith(f"{trends[unit].change['overall']:+.2f}")


def test_overview_lists_the_library_champion_gaps_training_flags_and_pentests(logged_in, stored, workspace):
    page = html.unescape(logged_in.get(f"/programme?as_of={AS_OF}").content.decode())
    gaps = champion_gaps(workspace, DAY)
    assert gaps, "the example workspace is expected to have champion gaps"
    for gap in gaps:
        assert gap.detail in page
    facts, _ = live_facts(stored.organisation)
    flags = follow_through_flags(workspace, facts, DAY)
    assert flags, "the example's pentest findings are expected to flag a completed course"
    for flag in flags:
        assert f"{flag.course}</strong> in {flag.unit}" in page
    for status in pentest_status(workspace, DAY):
        assert f"<td>{status.engagement}</td><td>{status.firm}</td>" in page
        assert f'<td class="num">{status.findings}</td>' in page
    for gap in maturity_gaps(workspace, DAY)[0]:
        assert f"{gap.practice} {gap.name}" in page


def test_summary_api_gives_the_library_results(client, vendor, stored, workspace):
    response = client.get(f"/api/v1/programme/summary?as_of={AS_OF}", **vendor.headers)
    assert response.status_code == 200
    body = response.json()
    facts, note = live_facts(stored.organisation)

    def dumped(items):
        return [i.model_dump(mode="json") for i in items]

    assert body["version"] == 1 and body["as_of"] == AS_OF and body["vendor"] == "Northwind Devices"
    assert {m["unit"]: m["overall"] for m in body["maturity"]} == \
        {u: s.overall for u, s in latest_scores(workspace, "samm-v2").items()}
    assert body["champion_gaps"] == dumped(champion_gaps(workspace, DAY))
    assert body["pentests"] == dumped(pentest_status(workspace, DAY))
    assert body["maturity_gaps"] == dumped(maturity_gaps(workspace, DAY)[0])
    assert body["training_flags"] == dumped(follow_through_flags(workspace, facts, DAY))
    assert body["kpis_available"] is (facts is not None)
    if facts is None:
        assert body["scorecards"] == [] and body["kpis_note"] == note


@pytest.mark.parametrize("with_certificate", [False, True])
def test_kpis_equal_the_library_for_the_registry_facts(request, client, vendor, logged_in, stored, workspace,
                                                       with_certificate):
    from iotmark.programme.kpis import compute_kpis

    if with_certificate:
        request.getfixturevalue("uploaded")
    facts, note = live_facts(stored.organisation)
    if facts is None:
        pytest.skip(f"KPIs need the registry's facts: {note}")
    assert [p.model for p in facts.products] == (["SmartPlug P1"] if with_certificate else [])
    cards = compute_kpis(workspace, facts, DAY)
    body = client.get(f"/api/v1/programme/summary?as_of={AS_OF}", **vendor.headers).json()
    assert body["scorecards"] == [c.model_dump(mode="json") for c in cards]
    page = logged_in.get(f"/programme/kpis?as_of={AS_OF}").content.decode()
    for card in cards:
        section = page[page.index(f'data-scope="{card.scope}" data-id="{card.id}"', page.index("scorecard")):]
        shown = "no data" if card.security_score is None else floatformat(card.security_score, 1)
        assert f'<span class="score">{shown}</span>' in section[:section.index("</h3>") + 5]


def test_kpi_page_says_why_when_the_registry_has_no_facts(logged_in, stored):
    facts, note = live_facts(stored.organisation)
    if facts is not None:
        pytest.skip("this registry computes facts; the missing-facts wording does not show")
    page = html.unescape(logged_in.get("/programme/kpis").content.decode())
    assert f"Not available: {note}." in page


def test_maturity_page_shows_every_practice_score_of_each_unit(logged_in, stored, workspace):
    page = logged_in.get("/programme/maturity?model=iot-practices").content.decode()
    for unit in ("home", "industrial", "medical"):
        scores = unit_scores(workspace, "iot-practices", unit)
        section = page[page.index(f'id="unit-{unit}"'):]
        section = section[:section.index("</section>")]
        rows = _cells(section.replace("<table>", '<table id="t">'), "t", "data-practice")
        for i, practice in enumerate(scores[-1].practices):
            assert rows[practice.practice][2:2 + len(scores)] == [floatformat(s.practices[i].score, 2) for s in scores]
        assert f"chart.png?unit={unit}&amp;model=iot-practices&amp;version=1" in section


def test_radar_chart_is_a_png_drawn_once_per_version(logged_in, stored):
    from django.core.cache import cache

    cache.clear()
    first = logged_in.get("/programme/maturity/chart.png?unit=home&version=1")
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n")
    key = f"programme-radar:{stored.pk}:{stored.digest[:16]}:samm-v2:home"
    assert cache.get(key) == first.content
    cache.set(key, b"\x89PNG cached", 60)  # a second request must come from the cache, not a new drawing
    assert logged_in.get("/programme/maturity/chart.png?unit=home&version=1").content == b"\x89PNG cached"
    cache.clear()


@pytest.mark.parametrize("query", ["unit=moon", "unit=../x", "unit=home&model=cmmi", "unit=home&version=7"])
def test_radar_chart_of_something_that_is_not_there(logged_in, stored, query):
    response = logged_in.get(f"/programme/maturity/chart.png?{query}")
    assert response.status_code in (400, 404) and b"Traceback" not in response.content


def test_a_bad_as_of_date_is_one_line_400(logged_in, client, vendor, stored):
    page = logged_in.get("/programme?as_of=2026-13-45")
    assert page.status_code == 400
    assert "as_of &#x27;2026-13-45&#x27;: expected a date YYYY-MM-DD" in page.content.decode()
    api = client.get("/api/v1/programme/summary?as_of=yesterday", **vendor.headers)
    assert api.status_code == 400 and api.json()["detail"].startswith("as_of 'yesterday'")


def test_another_vendor_cannot_reach_the_programme(client, other_vendor, stored):
    client.force_login(other_vendor.user)
    org = stored.organisation.pk
    own = client.get("/programme")
    assert own.status_code == 200 and b"No programme has been uploaded yet" in own.content
    assert b"Northwind" not in own.content
    for url in (f"/programme?vendor={org}", f"/programme/maturity?vendor={org}", f"/programme/kpis?vendor={org}",
                f"/programme/workspace.tar.gz?vendor={org}", f"/programme/maturity/chart.png?unit=home&vendor={org}"):
        assert client.get(url).status_code == 404, url
    api = client.get(f"/api/v1/programme/summary?vendor={org}", **other_vendor.headers)
    assert api.status_code == 404


@pytest.mark.parametrize("role", ["regulator", "assessor"])
def test_other_roles_get_404(request, client, stored, role):
    person = request.getfixturevalue(role)
    client.force_login(person.user)
    org = stored.organisation.pk
    assert client.get(f"/programme?vendor={org}").status_code == 404
    assert client.get(f"/programme/workspace.tar.gz?vendor={org}").status_code == 404
    assert client.get(f"/api/v1/programme/summary?vendor={org}", **person.headers).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, stored):
    for url in ("/programme", "/programme/maturity", "/programme/kpis", "/programme/upload",
                "/programme/workspace.tar.gz"):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"] and "next=" in response["Location"]
    assert client.get("/api/v1/programme/summary").status_code == 401


def test_admin_chooses_an_organisation_and_reads_but_does_not_upload(client, admin, stored, example_archive):
    client.force_login(admin.user)
    org = stored.organisation.pk
    chooser = client.get("/programme").content.decode()
    assert f'href="/programme?vendor={org}">Northwind Devices</a>' in chooser
    page = client.get(f"/programme?vendor={org}&as_of={AS_OF}")
    assert page.status_code == 200 and b"Security programme of Northwind Devices GmbH" in page.content
    assert f"/programme/maturity?vendor={org}" in page.content.decode()
    assert client.get(f"/programme/workspace.tar.gz?vendor={org}").status_code == 200
    assert client.get(f"/api/v1/programme/summary?vendor={org}", **admin.headers).status_code == 200
    assert client.get("/api/v1/programme/summary", **admin.headers).status_code == 400
    assert client.get("/programme/upload").status_code == 403
    assert client.get("/programme?vendor=999999").status_code == 404


def test_board_report_is_the_library_report_for_the_registry_facts(logged_in, stored, uploaded, workspace):
    from iotmark.programme.board import build_board

    facts, note = live_facts(stored.organisation)
    if facts is None:
        pytest.skip(f"the board report needs the registry's facts: {note}")
    response = logged_in.get(f"/programme/board?as_of={AS_OF}")
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    with tempfile.TemporaryDirectory() as folder:  # the library reads facts from a file
        facts_file = Path(folder) / "facts.json"
        facts_file.write_text(facts.model_dump_json(), encoding="utf-8")
        expected = build_board(EXAMPLE, facts_file, as_of=DAY)
    assert expected.organisation in page
    for label, value in expected.summary.items():
        assert label in page and value in page
