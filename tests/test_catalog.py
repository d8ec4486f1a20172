"""The standards catalog: exact contents of the shipped data and the loader's checks on bad data."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from iotmark import catalog
from iotmark.catalog import CatalogError, loader
from iotmark.model import DeviceClass

EN = "etsi-en-303-645"


@pytest.fixture(scope="module")
def en() -> catalog.Standard:
    return catalog.load_standard(EN)


# ---------------------------------------------------------------- ETSI EN 303 645 + TS 103 701


def test_en_has_68_provisions_33_mandatory_35_recommended(en):
    assert len(en.provisions) == 68
    assert sum(p.mandatory for p in en.provisions) == 33
    assert sum(not p.mandatory for p in en.provisions) == 35


def test_en_provision_ids_start_with_4_1_and_end_with_6_5(en):
    ids = en.ids()
    assert ids[0] == "4-1" and ids[1] == "5.1-1" and ids[-1] == "6-5"
    assert sum(pid.startswith("5.3-") for pid in ids) == 16
    assert sum(pid.startswith("6-") for pid in ids) == 5


def test_en_derived_status_counts(en):
    kinds = Counter(p.status.split(" (")[0] for p in en.provisions)
    assert kinds == {"M": 23, "M C": 10, "R": 29, "R C": 6}


def test_en_status_number_points_at_own_condition(en):
    numbers = {c.key: c.number for c in en.conditions}
    assert len(en.conditions) == 12
    for p in en.provisions:
        if p.conditional:
            assert p.status.endswith(f"({numbers[p.condition]})"), p.id
            assert p.id in next(c for c in en.conditions if c.key == p.condition).provisions
        else:
            assert p.status in {"M", "R"} and p.condition is None
        assert p.mandatory == p.status.startswith("M")


def test_en_statuses_are_marked_unverified(en):
    assert all(p.verified_status is False for p in en.provisions)


def test_en_examples_of_status(en):
    assert en.provision("5.1-1").status == "M C (1)"
    assert en.provision("5.1-5").status == "M C (4)"
    assert en.provision("5.3-2").status == "M C (4)"
    assert en.provision("5.3-13").status == "M"
    assert en.provision("5.3-1").status == "R"
    assert en.provision("6-4").status == "R C (11)"


def test_ts_103_701_has_109_test_cases_of_three_kinds(en):
    kinds = Counter(tc.kind for p in en.provisions for tc in p.test_cases)
    assert en.test_case_count() == 109
    assert kinds == {"conceptual": 62, "functional": 46, "conceptual/functional": 1}
    assert en.provision("5.3-10").test_cases[0].kind == "conceptual/functional"


def test_every_provision_has_a_test_case_named_after_it(en):
    for p in en.provisions:
        assert p.test_cases, p.id
        assert all(tc.id.startswith(f"{p.id}-") for tc in p.test_cases), p.id


def test_ts_103_701_has_29_ixit_documents_all_referenced(en):
    ids = [x.id for x in en.ixit]
    assert len(ids) == 29
    assert ids[0] == "1-AuthMech" and ids[-1] == "29-InpVal"
    used = {x for p in en.provisions for tc in p.test_cases for x in tc.ixit}
    assert used == set(ids)


def test_provision_lookup_accepts_qualified_ids(en):
    assert en.provision(f"{EN}:5.2-1").id == "5.2-1"


def test_unknown_provision_is_a_catalog_error(en):
    with pytest.raises(CatalogError, match=r"has no provision '9\.9-9'"):
        en.provision("9.9-9")


# ---------------------------------------------------------------- other standards


def test_nist_8259a_has_six_capabilities():
    std = catalog.load_standard("nistir-8259a")
    assert [p.title for p in std.provisions] == [
        "Device Identification",
        "Device Configuration",
        "Data Protection",
        "Logical Access to Interfaces",
        "Software Update",
        "Cybersecurity State Awareness",
    ]


def test_nist_8259b_has_four_capabilities():
    std = catalog.load_standard("nistir-8259b")
    assert [p.title for p in std.provisions] == [
        "Documentation",
        "Information and Query Reception",
        "Information Dissemination",
        "Education and Awareness",
    ]


def test_nist_8425_has_six_technical_and_four_non_technical():
    std = catalog.load_standard("nistir-8425")
    assert Counter(p.category for p in std.provisions) == {"technical": 6, "non-technical": 4}


def test_cra_annex_i_has_14_part_i_and_8_part_ii_items():
    std = catalog.load_standard("cra-annex-i")
    part_i = [p.id for p in std.provisions if p.category == "part-i"]
    part_ii = [p.id for p in std.provisions if p.category == "part-ii"]
    assert part_i == ["I(1)"] + [f"I(2)({c})" for c in "abcdefghijklm"]
    assert part_ii == [f"II({n})" for n in range(1, 9)]
    assert {p.status for p in std.provisions} == {"essential"}


def test_uk_psti_has_three_requirements():
    std = catalog.load_standard("uk-psti")
    assert std.ids() == ["1", "2", "3"]
    assert all(p.mandatory and p.status == "required" for p in std.provisions)


def test_owasp_iot_top10_2018_names_as_published():
    std = catalog.load_standard("owasp-iot-top10")
    assert std.version == "2018"
    assert std.ids() == [f"I{n}" for n in range(1, 11)]
    assert std.provision("I1").title == "Weak, Guessable, or Hardcoded Passwords"
    assert std.provision("I10").title == "Lack of Physical Hardening"


def test_owasp_isvs_sections_add_up_to_169_requirements():
    std = catalog.load_standard("owasp-isvs")
    assert std.version == "1.0"
    assert len(std.provisions) == 23
    assert sum(p.requirements or 0 for p in std.provisions) == 169
    chapters = {c.id: c.counts for c in std.categories}
    assert [chapters[c]["requirements"] for c in ("V1", "V2", "V3", "V4", "V5")] == [44, 29, 44, 39, 13]
    assert sum(c["L1"] for c in chapters.values()) == 79
    assert sum(c["L2"] for c in chapters.values()) == 143
    assert sum(c["L3"] for c in chapters.values()) == 168
    for chapter in std.categories:
        in_chapter = [p for p in std.provisions if p.category == chapter.id]
        assert sum(p.requirements or 0 for p in in_chapter) == chapter.counts["requirements"]


def test_singapore_cls_has_four_levels():
    std = catalog.load_standard("sg-cls")
    assert std.ids() == ["L1", "L2", "L3", "L4"]


def test_catalog_lists_nine_standards():
    assert [s.id for s in catalog.list_standards()] == [
        "cra-annex-i",
        EN,
        "nistir-8259a",
        "nistir-8259b",
        "nistir-8425",
        "owasp-iot-top10",
        "owasp-isvs",
        "sg-cls",
        "uk-psti",
    ]


# ---------------------------------------------------------------- references and errors


def test_version_ref_selects_that_version():
    std = catalog.load_standard(f"{EN}@2.1.1")
    assert (std.id, std.version) == (EN, "2.1.1")
    assert std is catalog.load_standard(EN)


def test_unknown_standard_error_lists_known_ones():
    with pytest.raises(CatalogError, match=r"^unknown standard 'nope'; known: cra-annex-i \(2024/2847\), etsi-en-303-645 \(2\.1\.1\)"):
        catalog.load_standard("nope")


def test_unknown_version_error_lists_known_versions():
    with pytest.raises(CatalogError, match=r"^unknown version '3\.1\.1' of standard 'etsi-en-303-645'; known: 2\.1\.1$"):
        catalog.load_standard(f"{EN}@3.1.1")


def test_catalog_as_json_matches_the_cli_contract():
    data = catalog.catalog_as_json(EN)
    json.dumps(data)  # plain JSON data
    assert (data["id"], data["version"]) == (EN, "2.1.1")
    assert data["title"].startswith("ETSI EN 303 645")
    first = data["provisions"][1]
    assert {"id", "status", "title", "description", "mandatory", "conditional", "condition", "test_cases"} <= set(first)
    assert first["id"] == "5.1-1" and first["test_cases"][0] == {"id": "5.1-1-1", "kind": "conceptual", "ixit": ["1-AuthMech"]}
    assert data["counts"] == {"provisions": 68, "mandatory": 33, "recommended": 35, "conditional": 16, "test_cases": 109, "ixit": 29}


# ---------------------------------------------------------------- mappings


def test_every_mapping_endpoint_exists():
    for m in catalog.load_mappings():
        for end in (m.from_, m.to):
            sid, pid = end.split(":", 1)
            assert catalog.load_standard(sid).has(pid), end


def test_every_en_provision_maps_to_a_standard_other_than_sg_cls(en):
    for pid in en.ids():
        others = {m.to.split(":")[0] for m in catalog.related(pid)} - {EN, "sg-cls"}
        assert others, pid


def test_every_en_mandatory_provision_maps_to_sg_cls_level_2(en):
    level2 = catalog.map_provisions(EN, en.ids(mandatory=True), "sg-cls")
    assert all("L2" in targets for targets in level2.values())


def test_psti_deemed_compliance_routes_are_the_only_verified_mappings():
    verified = {(m.from_, m.to, m.relation) for m in catalog.load_mappings() if m.verified}
    assert verified == {
        (f"{EN}:5.1-1", "uk-psti:1", "equivalent"),
        (f"{EN}:5.1-2", "uk-psti:1", "equivalent"),
        (f"{EN}:5.2-1", "uk-psti:2", "equivalent"),
    }


def test_unverified_mappings_say_they_are_iotmark_analysis():
    assert {m.source for m in catalog.load_mappings() if not m.verified} == {"iotmark analysis"}


def test_psti_paragraph_1_needs_both_password_provisions():
    assert catalog.fully_covered(EN, ["5.1-1", "5.2-1"], "uk-psti") == ["2"]
    assert catalog.fully_covered(EN, ["5.1-1", "5.1-2", "5.2-1", "5.3-13"], "uk-psti") == ["1", "2"]


def test_map_provisions_returns_every_requested_id():
    assert catalog.map_provisions(EN, ["5.1-1", "5.9-2"], "uk-psti") == {"5.1-1": ["1"], "5.9-2": []}
    assert catalog.map_provisions(EN, ["5.3-13"], "uk-psti", relations=["equivalent"]) == {"5.3-13": []}


def test_related_works_in_both_directions():
    into_psti_1 = {m.from_ for m in catalog.related("uk-psti:1")}
    assert into_psti_1 == {f"{EN}:5.1-1", f"{EN}:5.1-2"}
    assert any(m.to == "uk-psti:1" for m in catalog.related("5.1-1"))


def test_mapping_alias_from_round_trips():
    m = catalog.load_mappings()[0]
    assert m.model_dump(by_alias=True)["from"] == m.from_


# ---------------------------------------------------------------- levels and device classes


def test_levels_are_one_to_four_with_cumulative_requirements(en):
    levels = catalog.load_levels()
    assert [(lv.level, lv.name) for lv in levels] == [(1, "Baseline"), (2, "Mandatory"), (3, "Comprehensive"), (4, "Tested")]
    required = catalog.level_provisions()
    for lower, higher in zip(levels, levels[1:]):
        assert set(required[lower.level]) <= set(required[higher.level])
        assert set(lower.evidence) <= set(higher.evidence)
    assert set(required[1]) <= set(en.ids(mandatory=True))
    assert required[2] == en.ids(mandatory=True)
    assert required[3] == required[4] == en.ids()


def test_level_evidence_grows_to_probe():
    assert [lv.evidence for lv in catalog.load_levels()] == [
        ["declaration"],
        ["declaration", "sbom"],
        ["declaration", "sbom", "firmware"],
        ["declaration", "sbom", "firmware", "probe"],
    ]


def test_provision_levels_follow_the_ladder(en):
    assert en.provision("5.1-1").levels == [1, 2, 3, 4]
    assert en.provision("5.1-3").levels == [2, 3, 4]
    assert en.provision("5.3-1").levels == [3, 4]


def test_device_classes_are_valid_and_their_levels_exist():
    classes = catalog.load_device_classes()
    levels = {lv.level: lv for lv in catalog.load_levels()}
    assert set(classes) >= {
        "consumer-low", "consumer-general", "camera-speaker-internet", "home-gateway",
        "smart-lock", "smart-meter", "medical-home", "industrial-gateway",
    }
    for dc in classes.values():
        assert isinstance(dc, DeviceClass)
        assert dc.minimum_level in levels
        assert set(levels[dc.minimum_level].evidence) <= set(dc.required_evidence), dc.id


def test_device_class_minimum_levels_and_tiers():
    got = {k: (v.tier, v.minimum_level) for k, v in catalog.load_device_classes().items()}
    assert got["consumer-low"] == ("low", 1)
    assert got["consumer-general"] == ("moderate", 2)
    assert got["camera-speaker-internet"] == ("high", 3)
    assert got["home-gateway"] == ("high", 3)
    for critical in ("smart-lock", "smart-meter", "medical-home", "industrial-gateway"):
        assert got[critical] == ("critical", 4)


def test_higher_tiers_get_shorter_certificates():
    order = ["low", "moderate", "high", "critical"]
    days = {}
    for dc in catalog.load_device_classes().values():
        days.setdefault(dc.tier, set()).add(dc.certificate_validity_days)
    longest = [max(days[t]) for t in order]
    shortest = [min(days[t]) for t in order]
    assert all(shortest[i] > longest[i + 1] for i in range(3))


def test_unknown_device_class_lists_known_ids():
    with pytest.raises(CatalogError, match=r"^unknown device class 'toaster'; known: camera-speaker-internet, "):
        catalog.device_class("toaster")


# ---------------------------------------------------------------- checks on bad data


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A writable copy of the catalog data that the loader reads instead of the package's."""
    src = Path(str(loader._data_dir()))
    dst = tmp_path / "data"
    shutil.copytree(src, dst)
    monkeypatch.setattr(loader, "_data_dir", lambda: dst)
    loader._clear_caches()
    yield dst
    loader._clear_caches()


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_duplicate_provision_id_names_file_and_id(data_copy):
    _edit(data_copy / "uk-psti.yaml", lambda d: d["provisions"].append(dict(d["provisions"][0])))
    with pytest.raises(CatalogError, match=r"^catalog file uk-psti\.yaml: duplicate provision id\(s\): 1$"):
        catalog.list_standards()


def test_invalid_field_names_file_and_entry(data_copy):
    _edit(data_copy / "uk-psti.yaml", lambda d: d["provisions"][1].update(mandatory="sometimes"))
    with pytest.raises(CatalogError, match=r"^catalog file uk-psti\.yaml: provisions\['2'\]\.mandatory: "):
        catalog.list_standards()


def test_mapping_to_missing_provision_names_the_entry(data_copy):
    _edit(data_copy / "mappings.yaml", lambda d: d["mappings"][0].update(to="uk-psti:9"))
    with pytest.raises(CatalogError, match=r"^catalog file mappings\.yaml: entry 0 \(etsi-en-303-645:4-1 -> uk-psti:9\): uk-psti .* has no provision '9'"):
        catalog.load_mappings()


def test_level_with_unknown_provision_is_rejected(data_copy):
    _edit(data_copy / "levels.yaml", lambda d: d["levels"][0]["provisions"].append("5.99-1"))
    with pytest.raises(CatalogError, match=r"^catalog file levels\.yaml: level 1 lists unknown provision\(s\) \['5\.99-1'\]"):
        catalog.load_standard(EN)


def test_device_class_with_missing_level_is_rejected(data_copy):
    _edit(data_copy / "device-classes.yaml", lambda d: d["device_classes"][0].update(minimum_level=7))
    with pytest.raises(CatalogError, match=r"^catalog file device-classes\.yaml: device class 'consumer-low': minimum_level 7"):
        catalog.load_device_classes()
