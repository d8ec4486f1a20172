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
EN3 = f"{EN}@3.1.1"


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


# ---------------------------------------------------------------- ETSI EN 303 645 V3 (etsi-en-303-645@3.1.1)

# Annex B Table B.1 status forms used by the V3 sources: M/R, optionally with C (n), F (x) or C F (n, x).
V3_STATUS = r"(M|R)( C \(\d+\)| F \([a-z]{1,2}\)| C F \(\d+, [a-z]{1,2}\))?"


@pytest.fixture(scope="module")
def en3() -> catalog.Standard:
    return catalog.load_standard(EN3)


def test_en3_has_78_provisions_36_mandatory_42_recommended(en3):
    assert len(en3.provisions) == 78
    assert sum(p.mandatory for p in en3.provisions) == 36
    assert sum(not p.mandatory for p in en3.provisions) == 42


def test_en3_status_counts_as_table_b1_gives_them(en3):
    kinds = Counter(p.status.split(" (")[0] for p in en3.provisions)
    assert kinds == {"M": 11, "M C": 3, "M C F": 1, "M F": 21, "R": 21, "R C": 5, "R F": 16}


def test_en3_statuses_use_the_table_b1_pattern(en3):
    import re

    for p in en3.provisions:
        assert re.fullmatch(V3_STATUS, p.status), (p.id, p.status)
        assert p.mandatory == p.status.startswith("M"), p.id


def test_en3_provision_ids_by_clause(en3):
    ids = en3.ids()
    assert ids[0] == "5.0-1" and ids[-1] == "6-8"
    per_clause = Counter(pid.split("-")[0] for pid in ids)
    assert per_clause == {
        "5.0": 1, "5.1": 6, "5.2": 3, "5.3": 19, "5.4": 4, "5.5": 8, "5.6": 10,
        "5.7": 2, "5.8": 3, "5.9": 3, "5.10": 1, "5.11": 4, "5.12": 3, "5.13": 2, "6": 9,
    }
    split = {"5.1-2A", "5.3-4A", "5.3-4B", "5.3-6A", "5.3-6B", "5.3-15A", "5.3-15B", "5.6-4A", "5.6-4B",
             "5.13-1A", "5.13-1B", "6-3A", "6-3B"}
    assert split <= set(ids)
    assert not {"4-1", "5.3-4", "5.3-6", "5.13-1", "6-3"} & set(ids)


def test_en3_examples_of_status(en3):
    assert en3.provision("5.0-1").status == "M"
    assert en3.provision("5.1-1").status == "M F (a)"
    assert en3.provision("5.1-2A").status == "R"
    assert en3.provision("5.1-5").status == "M C F (14, e)"
    assert en3.provision("5.3-2").status == "M C (15)"
    assert en3.provision("5.3-8").status == "M C (12)"
    assert en3.provision("5.3-14").status == "R C (3)"
    assert en3.provision("5.5-8").status == "M C (16)"
    assert en3.provision("5.11-1").status == "M"
    assert en3.provision("6-7").status == "R F (aa)"


def test_en3_conditions_keep_table_numbers_and_resolve(en3):
    assert [c.number for c in en3.conditions] == [3, 12, 14, 15, 16]
    numbers = {c.key: c.number for c in en3.conditions}
    for p in en3.provisions:
        has_c = " C " in f" {p.status} "
        assert p.conditional == has_c, p.id
        if has_c:
            assert f"({numbers[p.condition]}" in p.status, p.id
            assert p.id in next(c for c in en3.conditions if c.key == p.condition).provisions
    assert sum(p.conditional for p in en3.provisions) == 9
    assert sorted(pid for c in en3.conditions for pid in c.provisions) == sorted(
        p.id for p in en3.provisions if p.conditional
    )


def test_en3_features_are_a_to_aa_and_resolve(en3):
    letters = [f.letter for f in en3.features]
    assert letters == [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["aa"]
    for p in en3.provisions:
        marked = p.status.split("(")[-1].rstrip(")").split(", ")[-1] if " F" in p.status else None
        assert p.features == ([marked] if marked else []), p.id
        for letter in p.features:
            assert p.id in next(f for f in en3.features if f.letter == letter).provisions
    assert sum(bool(p.features) for p in en3.provisions) == 38
    assert all(f.provisions for f in en3.features)


def test_en3_is_secondary_sourced_and_has_no_test_cases(en3):
    assert en3.verified is False
    assert all(p.verified_status is False for p in en3.provisions)
    assert en3.test_case_count() == 0 and en3.ixit == []
    ruuvi = en3.sources[0]
    assert (ruuvi.repo, ruuvi.path, ruuvi.commit) == (
        "ruuvi/ruuvi.gateway_esp.c", "cra/303645/ICS_Ruuvi_Gateway.md", "9120ed3360f1c16fec5d618b264652ed8713dd00",
    )
    assert any("TS 103 701" in n for n in en3.notes)


def test_en3_has_descriptions_of_its_own(en3):
    for p in en3.provisions:
        assert p.title and p.description, p.id
        assert "shall" not in p.description and "should" not in p.description, p.id


def test_en3_gets_no_levels_and_no_mappings(en3):
    assert all(p.levels == [] for p in en3.provisions)
    with pytest.raises(CatalogError, match=r"defined for etsi-en-303-645@2\.1\.1 only"):
        catalog.load_levels(EN3)
    v2_levels = catalog.level_provisions(EN)
    assert v2_levels[2] == catalog.load_standard(EN).ids(mandatory=True)


def test_en3_catalog_json_counts():
    data = catalog.catalog_as_json(EN3)
    json.dumps(data)
    assert (data["id"], data["version"]) == (EN, "3.1.1")
    assert data["counts"] == {"provisions": 78, "mandatory": 36, "recommended": 42, "conditional": 9, "test_cases": 0, "ixit": 0}
    assert data["provisions"][6]["id"] == "5.1-5" and data["provisions"][6]["features"] == ["e"]


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


def test_catalog_lists_nine_standards_in_ten_versions():
    assert [s.id for s in catalog.list_standards()] == [
        "cra-annex-i",
        EN,
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
    v3 = catalog.load_standard(EN3)
    assert (v3.id, v3.version) == (EN, "3.1.1")


def test_bare_en_id_stays_on_the_default_2_1_1_although_3_1_1_is_newer():
    assert catalog.load_standard(EN).version == "2.1.1"
    assert catalog.load_standard(EN).default and not catalog.load_standard(EN3).default
    assert [s.version for s in catalog.list_standards() if s.id == EN] == ["2.1.1", "3.1.1"]
    assert catalog.catalog_as_json(EN)["version"] == "2.1.1"


def test_unknown_standard_error_lists_known_ones():
    with pytest.raises(CatalogError, match=r"^unknown standard 'nope'; known: cra-annex-i \(2024/2847\), etsi-en-303-645 \(2\.1\.1, 3\.1\.1\), "):
        catalog.load_standard("nope")


def test_unknown_version_error_lists_known_versions():
    with pytest.raises(CatalogError, match=r"^unknown version '3\.1\.2' of standard 'etsi-en-303-645'; known: 2\.1\.1, 3\.1\.1$"):
        catalog.load_standard(f"{EN}@3.1.2")


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


def test_two_default_versions_are_rejected(data_copy):
    _edit(data_copy / "etsi-en-303-645@3.1.1.yaml", lambda d: d.update(default=True))
    with pytest.raises(CatalogError, match=r"standard 'etsi-en-303-645' has more than one default version: "):
        catalog.list_standards()


def test_without_a_default_the_newest_version_wins(data_copy):
    _edit(data_copy / "etsi-en-303-645.yaml", lambda d: d.update(default=False))
    _edit(data_copy / "levels.yaml", lambda d: d["levels"][0].update(provisions=["5.1-1"]))
    assert catalog.load_standard(EN).version == "3.1.1"


def test_unknown_feature_letter_is_rejected(data_copy):
    def change(d):
        d["provisions"][1]["features"] = ["zz"]
    _edit(data_copy / "etsi-en-303-645@3.1.1.yaml", change)
    with pytest.raises(CatalogError, match=r"^catalog file etsi-en-303-645@3\.1\.1\.yaml: provision '5\.1-1': unknown feature\(s\) zz$"):
        catalog.list_standards()


def test_versioned_file_name_must_match_its_version(data_copy):
    (data_copy / "etsi-en-303-645@3.1.1.yaml").rename(data_copy / "etsi-en-303-645@9.9.yaml")
    with pytest.raises(CatalogError, match=r"^catalog file etsi-en-303-645@9\.9\.yaml: standard id 'etsi-en-303-645' does not match"):
        catalog.list_standards()


def test_a_cold_catalog_loaded_by_many_threads_at_once_gives_every_thread_the_same_classes():
    """Servers answer concurrent requests in threads; the first load must happen once, not race."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from iotmark.catalog import loader

    loader._clear_caches()
    start = threading.Barrier(8)

    def load(_):
        start.wait()
        return sorted(loader.load_device_classes())

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(load, range(8)))
    assert all(r == results[0] for r in results) and "consumer-low" in results[0]
