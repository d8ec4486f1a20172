"""Specification of iotmark.vulns: version order, names, range matching, shipped data, OSV/NVD import."""

from __future__ import annotations

import json
import re
import zipfile
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from iotmark.model import Component
from iotmark.vulns import (
    Advisory,
    AffectedRange,
    VersionError,
    VulnDB,
    VulnImportError,
    canonical_name,
    compare_versions,
    identify,
    import_files,
    parse_cpe,
    parse_purl,
    parse_version,
    split_distro_version,
    user_data_dir,
)
from iotmark.vulns import importers
from iotmark.vulns.cvss import cvss3_base_score, severity_for_score

DNSPOOQ = [f"CVE-2020-2568{i}" for i in range(1, 8)]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own IOTMARK_HOME, so user imports never leak between tests."""
    home = tmp_path / "iotmark-home"
    monkeypatch.setenv("IOTMARK_HOME", str(home))
    return home


# ---------------------------------------------------------------- version order


@pytest.mark.parametrize(
    "lower, higher",
    [
        ("1.0.2", "1.0.2k"),  # OpenSSL patch letters come after the bare release
        ("1.0.2k", "1.0.2u"),
        ("1.0.2u", "1.0.3"),
        ("1.0.2u", "1.0.2za"),  # premium-support letters continue after z
        ("1.0.2za", "1.0.2zd"),
        ("1.0.2-beta1", "1.0.2"),
        ("1.0.2beta3", "1.0.2a"),
        ("1.1.0l", "1.1.1"),
        ("v1.1.1v", "v1.1.1w"),
        ("1.1.1w", "3.0.0"),
        ("2.4.0-rc1", "2.4.0"),
        ("2.4.0rc1", "2.4.0rc2"),
        ("2.4.0-alpha", "2.4.0-beta"),
        ("2.4.0-beta2", "2.4.0-rc1"),
        ("2.4.0-dev", "2.4.0-alpha1"),
        ("0.94.14rc21", "0.94.14"),
        ("8.9", "8.9p1"),  # OpenSSH portable releases follow the OpenBSD release
        ("8.9p1", "8.9p2"),
        ("8.9p2", "9.0"),
        ("9.3p1", "9.3p2"),
        ("4.3p2", "4.4p1"),
        ("2.9", "2.85"),  # numeric, not decimal: dnsmasq 2.85 is newer than 2.9
        ("2.78", "2.83"),
        ("2016.73", "2016.74"),
        ("2019.78", "2020.81"),
        ("1.2.11", "1.2.11.1"),
        ("1.2.11.1", "1.2.12"),
        ("1.2.12", "1.2.13"),
        ("4.9.337", "4.14.1"),
        ("4.14.180", "4.19.1"),
        ("1.36.0", "1.36.1"),
        ("7_68_0", "7_69_0"),  # curl tag style
        ("curl-7_69_0", "8.4.0"),
        ("5.10.0", "5.10.0-21-amd64"),
        ("5.10.0-21-amd64", "5.10.1"),
        ("0:2.0", "1:1.0"),  # epoch first
        ("2.6.22", "3.2.83"),
        ("1.0", "1.0.0.1"),
    ],
)
def test_versions_order_as_embedded_projects_release_them(lower, higher):
    assert compare_versions(lower, higher) == -1
    assert compare_versions(higher, lower) == 1
    assert parse_version(lower) < parse_version(higher)


@pytest.mark.parametrize(
    "a, b",
    [
        ("1.2", "1.2.0"),
        ("1.2.0.0", "1.2"),
        ("v1.1.1w", "1.1.1w"),
        ("OpenSSL_1_0_2k", "1.0.2k"),
        ("curl-7_69_0", "7.69.0"),
        ("dropbear-2019.78", "2019.78"),
        ("8.9P1", "8.9p1"),
        ("1.0.2-beta1", "1.0.2beta1"),
        ("2.4.0-rc1", "2.4.0rc1"),
        ("1.0.2alpha1", "1.0.2a1"),
        ("  1.36.1 ", "1.36.1"),
    ],
)
def test_equivalent_spellings_compare_equal(a, b):
    assert compare_versions(a, b) == 0
    assert parse_version(a) == parse_version(b)
    assert hash(parse_version(a)) == hash(parse_version(b))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("latest", "does not start with a number"),
        ("unknown", "does not start with a number"),
        ("-1.0", "does not start with a number"),
        ("1.0 beta", "contains ' '"),
        ("1/2", "contains '/'"),
        ("1:2:3", "not an epoch"),
        ("1" * 200, "longer than 128"),
        ("1a" * 33, "more than 64 components"),
    ],
)
def test_unparseable_versions_raise_a_clear_version_error(text, message):
    with pytest.raises(VersionError, match=re.escape(message)):
        parse_version(text)


def test_version_error_is_a_value_error():
    assert issubclass(VersionError, ValueError)


def test_sorting_real_openssl_releases():
    shuffled = ["1.1.1", "1.0.2u", "1.0.2", "3.0.0-alpha1", "1.0.2za", "1.1.1w", "3.0.0", "1.0.1g", "1.0.2k"]
    assert sorted(shuffled, key=parse_version) == [
        "1.0.1g", "1.0.2", "1.0.2k", "1.0.2u", "1.0.2za", "1.1.1", "1.1.1w", "3.0.0-alpha1", "3.0.0",
    ]


_WORDS = ["a", "b", "k", "p", "u", "z", "zd", "rc", "beta", "alpha", "dev", "pre", "post", "amd", "deb", "git", "r"]
_versions = st.builds(
    lambda first, rest: str(first) + "".join(sep + tok for sep, tok in rest),
    st.integers(0, 40),
    st.lists(
        st.tuples(
            st.sampled_from(["", ".", "-", "_", "+", "~"]),
            st.one_of(st.integers(0, 40).map(str), st.sampled_from(_WORDS)),
        ),
        max_size=6,
    ),
).filter(lambda s: len(s) <= 128)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


@settings(max_examples=300, deadline=None)
@given(_versions, _versions)
def test_order_is_antisymmetric_and_consistent_with_equality(a, b):
    ab, ba = compare_versions(a, b), compare_versions(b, a)
    assert ab == -ba
    assert compare_versions(a, a) == 0
    if ab == 0:
        assert parse_version(a) == parse_version(b)
        assert hash(parse_version(a)) == hash(parse_version(b))


@settings(max_examples=300, deadline=None)
@given(_versions, _versions, _versions)
def test_order_is_transitive(a, b, c):
    if compare_versions(a, b) <= 0 and compare_versions(b, c) <= 0:
        assert compare_versions(a, c) <= 0
    if compare_versions(a, b) < 0 and compare_versions(b, c) <= 0:
        assert compare_versions(a, c) < 0


@settings(max_examples=100, deadline=None)
@given(st.lists(_versions, min_size=2, max_size=12))
def test_sorted_versions_are_pairwise_ordered(items):
    ordered = sorted(items, key=parse_version)
    for i in range(len(ordered)):
        for j in range(i + 1, len(ordered)):
            assert compare_versions(ordered[i], ordered[j]) <= 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parsing_arbitrary_text_raises_only_version_error(text):
    try:
        parse_version(text)
    except VersionError:
        pass


@pytest.mark.parametrize(
    "version, purl_type, kernel, expected",
    [
        ("1.1.1n-0+deb11u4", "deb", False, ("1.1.1n", True)),
        ("1:2.85-1", "deb", False, ("2.85", True)),
        ("1.1.1k-5.el8", "rpm", False, ("1.1.1k", True)),
        ("1.36.1-r15", "apk", False, ("1.36.1", True)),
        ("1.1.1n-0+deb11u4", None, False, ("1.1.1n", True)),
        ("1.2.11.dfsg-2", None, False, ("1.2.11", True)),
        ("2.85", "deb", False, ("2.85", False)),
        ("2.4.0-rc1", None, False, ("2.4.0-rc1", False)),
        ("5.10.0-21-amd64", None, True, ("5.10.0", True)),
        ("6.1.0-rc3", None, True, ("6.1.0-rc3", False)),
        ("4.14.180", None, True, ("4.14.180", False)),
    ],
)
def test_distribution_revisions_are_stripped_for_matching(version, purl_type, kernel, expected):
    assert split_distro_version(version, purl_type, kernel=kernel) == expected


# ---------------------------------------------------------------- names, purl, CPE


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("linux", "linux_kernel"),
        ("linux-kernel", "linux_kernel"),
        ("kernel", "linux_kernel"),
        ("Linux_Kernel", "linux_kernel"),
        ("openssh-server", "openssh"),
        ("openssh-client", "openssh"),
        ("openssh", "openssh"),
        ("libssl1.1", "openssl"),
        ("libssl3", "openssl"),
        ("dnsmasq-full", "dnsmasq"),
        ("libcurl4", "curl"),
        ("zlib1g", "zlib"),
        ("mini-httpd", "mini_httpd"),
        ("Some Vendor Lib", "some-vendor-lib"),
        ("pkg:generic/busybox@1.31.1", "busybox"),
        ("cpe:2.3:a:thekelleys:dnsmasq:2.78:*:*:*:*:*:*:*", "dnsmasq"),
    ],
)
def test_names_map_to_canonical_component_ids(name, canonical):
    assert canonical_name(name) == canonical


def test_purl_is_parsed_into_its_parts():
    purl = parse_purl("pkg:deb/debian/openssl@1.1.1n-0+deb11u4?arch=amd64&distro=debian-11")
    assert (purl.type, purl.namespace, purl.name, purl.version) == ("deb", "debian", "openssl", "1.1.1n-0+deb11u4")
    assert purl.qualifiers == {"arch": "amd64", "distro": "debian-11"}


def test_purl_percent_encoding_is_decoded():
    purl = parse_purl("pkg:npm/%40angular/core@1.0.0#lib/x")
    assert (purl.namespace, purl.name, purl.version, purl.subpath) == ("@angular", "core", "1.0.0", "lib/x")


@pytest.mark.parametrize("text", ["busybox@1.0", "pkg:", "pkg:busybox", "pkg:/@1.0", "cpe:2.3:a:x:y:1"])
def test_malformed_purls_raise_value_error(text):
    with pytest.raises(ValueError):
        parse_purl(text)


def test_generic_purl_identifies_component_and_version():
    ident = identify("", purl="pkg:generic/busybox@1.31.1")
    assert (ident.name, ident.version, ident.distro) == ("busybox", "1.31.1", False)


def test_debian_purl_gives_upstream_version_and_marks_distro():
    ident = identify("openssl", purl="pkg:deb/debian/openssl@1.1.1n-0+deb11u4")
    assert (ident.name, ident.version, ident.raw_version, ident.distro) == (
        "openssl", "1.1.1n", "1.1.1n-0+deb11u4", True)


def test_upstream_qualifier_names_the_source_package():
    ident = identify("libssl1.1", "1.1.1n-0+deb11u4", purl="pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u4?upstream=openssl")
    assert (ident.name, ident.version) == ("openssl", "1.1.1n")


def test_cpe_update_field_joins_the_version():
    cpe = parse_cpe("cpe:2.3:a:openbsd:openssh:8.2:p1:*:*:*:*:*:*")
    assert (cpe.part, cpe.vendor, cpe.product, cpe.version) == ("a", "openbsd", "openssh", "8.2p1")
    ident = identify("sshd", cpe="cpe:2.3:a:openbsd:openssh:8.2:p1:*:*:*:*:*:*")
    assert (ident.name, ident.version) == ("openssh", "8.2p1")


def test_cpe_escapes_and_wildcards():
    cpe = parse_cpe(r"cpe:2.3:a:acme\:labs:web\.server:*:*:*:*:*:*:*:*")
    assert (cpe.vendor, cpe.product, cpe.version) == ("acme:labs", "web.server", None)


def test_cpe_22_uri_is_accepted():
    cpe = parse_cpe("cpe:/a:thekelleys:dnsmasq:2.78")
    assert (cpe.vendor, cpe.product, cpe.version) == ("thekelleys", "dnsmasq", "2.78")


def test_kernel_cpe_maps_to_linux_kernel():
    ident = identify("", cpe="cpe:2.3:o:linux:linux_kernel:5.10.0:*:*:*:*:*:*:*")
    assert (ident.name, ident.version) == ("linux_kernel", "5.10.0")


@pytest.mark.parametrize("text", ["cpe:2.3:a:openbsd:openssh", "cpe:2.3:x:a:b:1:*:*:*:*:*:*:*", "openssh:8.2"])
def test_malformed_cpes_raise_value_error(text):
    with pytest.raises(ValueError):
        parse_cpe(text)


def test_malformed_purl_and_cpe_fall_back_to_the_name():
    ident = identify("dnsmasq", "2.78", purl="not a purl", cpe="cpe:broken")
    assert (ident.name, ident.version) == ("dnsmasq", "2.78")


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    "version, inside",
    [("0.9", False), ("1.0-rc1", False), ("1.0", True), ("1.5", True), ("2.0-rc1", True), ("1.9.9", True),
     ("2.0", False), ("2.0.1", False)],
)
def test_introduced_is_inclusive_and_fixed_exclusive(version, inside):
    assert AffectedRange(introduced="1.0", fixed="2.0").contains(parse_version(version)) is inside


@pytest.mark.parametrize("version, inside", [("1.4.45", False), ("1.4.46", True), ("1.4.63", True), ("1.4.64", False)])
def test_last_affected_is_inclusive(version, inside):
    rng = AffectedRange(introduced="1.4.46", last_affected="1.4.63")
    assert rng.contains(parse_version(version)) is inside


def test_introduced_zero_covers_every_earlier_version():
    assert AffectedRange(introduced="0", fixed="2.83").contains(parse_version("0.1"))


def test_open_range_covers_every_later_version():
    rng = AffectedRange(introduced="3.0")
    assert rng.contains(parse_version("99.0")) and not rng.contains(parse_version("2.9"))


def test_range_with_both_ends_is_rejected():
    with pytest.raises(ValidationError, match="either fixed or last_affected"):
        AffectedRange(introduced="1.0", fixed="2.0", last_affected="1.9")


def test_range_with_unparseable_version_is_rejected():
    with pytest.raises(ValidationError, match="fixed"):
        AffectedRange(introduced="1.0", fixed="soon")


def test_exact_versions_match_only_themselves():
    adv = Advisory(id="CVE-2013-0230", component="miniupnpd", versions=["1.0"], severity="high")
    assert adv.affects("1.0") and adv.affects("1.0.0") and not adv.affects("1.0.1")


def test_advisory_needs_ranges_or_versions():
    with pytest.raises(ValidationError, match="needs affected ranges or versions"):
        Advisory(id="CVE-2000-0001", component="x", severity="low")


def test_regresshion_ranges_match_openssh_portable_versions():
    adv = next(a for a in VulnDB.load() if a.id == "CVE-2024-6387")
    expected = {"4.3p2": True, "4.4p1": False, "8.4p1": False, "8.5p1": True, "9.7p1": True, "9.8p1": False}
    assert {v: adv.affects(v) for v in expected} == expected


def test_describe_affected_reads_as_ranges():
    adv = Advisory(id="CVE-2024-6387", component="openssh", severity="high",
                   affected=[AffectedRange(fixed="4.4p1"), AffectedRange(introduced="8.5p1", fixed="9.8p1")],
                   versions=["9.8"])
    assert adv.describe_affected() == "< 4.4p1; >= 8.5p1, < 9.8p1; exactly 9.8"


# ---------------------------------------------------------------- shipped data


def _shipped_entries() -> list[dict]:
    text = resources.files("iotmark.vulns").joinpath("data/embedded.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["advisories"]


def test_shipped_data_loads_and_every_entry_validates():
    entries = _shipped_entries()
    db = VulnDB.load()
    assert len(db) == len(entries) >= 40
    for entry in entries:
        Advisory.model_validate(entry)


def test_shipped_entries_are_cited_and_summarised_in_one_line():
    canonical = set(yaml.safe_load(
        resources.files("iotmark.vulns").joinpath("data/components.yaml").read_text(encoding="utf-8")))
    seen = set()
    for entry in _shipped_entries():
        assert re.fullmatch(r"CVE-\d{4}-\d{4,}", entry["id"])
        assert (entry["id"], entry["component"]) not in seen
        seen.add((entry["id"], entry["component"]))
        assert entry["component"] in canonical
        assert f"https://nvd.nist.gov/vuln/detail/{entry['id']}" in entry["references"]
        assert "\n" not in entry["summary"] and 20 <= len(entry["summary"]) <= 200
        assert entry["severity"] in ("critical", "high", "medium", "low")
        assert isinstance(entry["known_exploited"], bool) and isinstance(entry["verified"], bool)
        if entry["verified"]:
            assert entry.get("verified_from")


def test_shipped_data_records_its_source():
    assert {a.source for a in VulnDB.load()} == {"embedded.yaml"}


def test_dnsmasq_2_78_has_every_dnspooq_cve():
    found = {a.id for a in VulnDB.load().match("dnsmasq", "2.78")}
    assert set(DNSPOOQ) <= found


@pytest.mark.parametrize("version", ["2.83", "2.90"])
def test_fixed_dnsmasq_has_none_of_the_dnspooq_cves(version):
    found = {a.id for a in VulnDB.load().match("dnsmasq", version)}
    assert not found & set(DNSPOOQ)


def test_dnsmasq_2_90_has_no_shipped_advisory():
    assert VulnDB.load().match("dnsmasq", "2.90") == []


def test_heartbleed_matches_only_its_openssl_versions():
    db = VulnDB.load()
    assert "CVE-2014-0160" in {a.id for a in db.match("openssl", "1.0.1f")}
    assert "CVE-2014-0160" not in {a.id for a in db.match("openssl", "1.0.1g")}
    assert "CVE-2014-0160" not in {a.id for a in db.match("openssl", "1.0.0t")}


def test_match_accepts_purl_and_cpe_names():
    db = VulnDB.load()
    assert {a.id for a in db.match("pkg:generic/busybox@1.33.1", "1.33.1")} >= {"CVE-2021-42386"}
    assert "CVE-2024-6387" in {a.id for a in db.match("cpe:2.3:a:openbsd:openssh:9.6:p1:*:*:*:*:*:*", "9.6p1")}


def test_match_component_uses_purl_version_when_version_is_missing():
    db = VulnDB.load()
    found = db.match_component(Component(name="libssl1.1", purl="pkg:deb/debian/libssl1.1@1.0.1f-1?upstream=openssl"))
    assert "CVE-2014-0160" in {a.id for a in found}


def test_component_without_version_matches_nothing():
    assert VulnDB.load().match_component(Component(name="dnsmasq")) == []


def test_match_raises_version_error_on_unreadable_version():
    with pytest.raises(VersionError):
        VulnDB.load().match("dnsmasq", "latest")


def test_matches_are_ordered_by_severity():
    found = VulnDB.load().match("dnsmasq", "2.77")
    ranks = [{"critical": 4, "high": 3, "medium": 2, "low": 1}[a.severity] for a in found]
    assert ranks == sorted(ranks, reverse=True)


# ---------------------------------------------------------------- user data location


def test_user_data_dir_follows_iotmark_home(isolated_home):
    assert user_data_dir() == isolated_home / "vulns"


def test_user_data_dir_defaults_to_dot_iotmark(monkeypatch, tmp_path):
    monkeypatch.delenv("IOTMARK_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_data_dir() == tmp_path / ".iotmark" / "vulns"


def test_extra_dirs_and_user_yaml_are_loaded(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "local.yaml").write_text(yaml.safe_dump({"advisories": [
        {"id": "CVE-2099-0001", "component": "acme-agent", "affected": [{"fixed": "2.0"}], "severity": "low"}]}))
    db = VulnDB.load(extra_dirs=[extra])
    assert [a.id for a in db.match("acme-agent", "1.0")] == ["CVE-2099-0001"]
    assert db.match("acme-agent", "1.0")[0].source == "local.yaml"


def test_broken_user_data_file_names_file_and_field(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "bad.yaml").write_text(yaml.safe_dump([{"id": "CVE-2099-0002", "component": "x", "severity": "dire",
                                                      "versions": ["1.0"]}]))
    with pytest.raises(ValueError, match=r"bad.yaml: advisories\[0\] \(CVE-2099-0002\) severity"):
        VulnDB.load(extra_dirs=[extra])


# ---------------------------------------------------------------- CVSS


@pytest.mark.parametrize(
    "vector, score",
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ],
)
def test_cvss3_base_scores_match_the_specification(vector, score):
    assert cvss3_base_score(vector) == score


def test_incomplete_or_other_cvss_vectors_give_no_score():
    assert cvss3_base_score("CVSS:3.1/AV:N/AC:L") is None
    assert cvss3_base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") is None
    assert severity_for_score(9.0) == "critical" and severity_for_score(3.9) == "low"


# ---------------------------------------------------------------- OSV import


def osv_record(rid="OSV-2021-1234", **changes) -> dict:
    record = {
        "schema_version": "1.6.0",
        "id": rid,
        "modified": "2024-01-02T03:04:05Z",
        "published": "2021-06-01T00:00:00Z",
        "aliases": ["CVE-2021-99991"],
        "summary": "Heap overflow in foo_parse_header",
        "details": "A crafted header overflows a heap buffer.\nMore text.",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "OSS-Fuzz", "name": "libfoo", "purl": "pkg:generic/libfoo"},
            "ranges": [
                {"type": "GIT", "repo": "https://github.com/example/libfoo",
                 "events": [{"introduced": "3f1d0c2"}, {"fixed": "9ab42e1"}]},
                {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.4.2"}]},
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.0.0"}, {"last_affected": "2.1.0"}]},
            ],
            "versions": ["1.4.1", "2.0.0"],
            "ecosystem_specific": {"severity": "HIGH"},
        }],
        "references": [{"type": "ADVISORY", "url": "https://example.org/advisories/libfoo-1"},
                       {"type": "FIX", "url": "https://github.com/example/libfoo/commit/9ab42e1"}],
    }
    record.update(changes)
    return record


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_osv_record_is_imported_with_ranges_severity_and_git_ranges_counted(tmp_path):
    result = import_files([write_json(tmp_path / "OSV-2021-1234.json", osv_record())])
    (entry,) = result.files
    assert (entry.format, entry.records, entry.imported, entry.skipped, entry.skipped_git_ranges) == ("osv", 1, 1, 0, 1)
    (adv,) = [a for a in VulnDB.load() if a.component == "libfoo"]
    assert (adv.id, adv.cves, adv.severity, adv.cvss, adv.ecosystem) == (
        "OSV-2021-1234", ["CVE-2021-99991"], "critical", 9.8, "OSS-Fuzz")
    assert adv.summary == "Heap overflow in foo_parse_header"
    assert adv.source == "OSV-2021-1234.json"


@pytest.mark.parametrize("version, hit", [("1.4.1", True), ("1.4.2", False), ("2.0.0", True), ("2.1.0", True),
                                          ("2.1.1", False)])
def test_imported_osv_ranges_match_at_their_boundaries(tmp_path, version, hit):
    import_files([write_json(tmp_path / "rec.json", osv_record())])
    assert bool(VulnDB.load().match("libfoo", version)) is hit


def test_osv_list_directory_and_zip_exports_are_imported(tmp_path):
    listing = write_json(tmp_path / "list.json", [osv_record("OSV-1"), osv_record("OSV-2")])
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    write_json(folder / "a.json", osv_record("OSV-3"))
    write_json(folder / "sub" / "b.json", osv_record("OSV-4"))
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("OSV-5.json", json.dumps(osv_record("OSV-5")))
        zf.writestr("README.txt", "not data")
    result = import_files([listing, folder, archive])
    assert [(f.format, f.records, f.imported) for f in result.files] == [("osv", 2, 2), ("osv", 2, 2), ("osv", 1, 1)]
    assert result.stored == 5 and result.imported == 5
    assert sorted(a.id for a in VulnDB.load().match("libfoo", "1.0")) == ["OSV-1", "OSV-2", "OSV-3", "OSV-4", "OSV-5"]


def test_reimport_is_idempotent(tmp_path, isolated_home):
    source = write_json(tmp_path / "rec.json", osv_record())
    first = import_files([source])
    store = isolated_home / "vulns" / "advisories.json"
    before = store.read_bytes()
    second = import_files([source])
    assert store.read_bytes() == before
    assert first.stored == second.stored == 1


def test_newer_record_replaces_the_stored_one(tmp_path):
    import_files([write_json(tmp_path / "old.json", osv_record())])
    newer = osv_record(affected=[{"package": {"ecosystem": "OSS-Fuzz", "name": "libfoo"},
                                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}])
    result = import_files([write_json(tmp_path / "new.json", newer)])
    assert result.stored == 1
    assert not VulnDB.load().match("libfoo", "1.4.1")


def test_import_to_explicit_destination(tmp_path):
    dest = tmp_path / "store"
    result = import_files([write_json(tmp_path / "rec.json", osv_record())], dest=dest)
    assert result.dest == str(dest) and (dest / "advisories.json").is_file()
    assert not user_data_dir().exists()
    assert VulnDB.load(extra_dirs=[dest]).match("libfoo", "1.0")


def test_withdrawn_and_unusable_osv_entries_are_skipped_with_reasons(tmp_path):
    withdrawn = osv_record("OSV-W", withdrawn="2024-01-01T00:00:00Z")
    only_git = osv_record("OSV-G", affected=[{"package": {"ecosystem": "OSS-Fuzz", "name": "libbar"},
                                              "ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "0"}]}]}])
    bad_version = osv_record("OSV-B", affected=[{"package": {"ecosystem": "Go", "name": "example.com/x"},
                                                 "ranges": [{"type": "SEMVER",
                                                             "events": [{"introduced": "0"}, {"fixed": "n/a"}]}]}])
    result = import_files([write_json(tmp_path / "mixed.json", [withdrawn, only_git, bad_version])])
    (entry,) = result.files
    assert (entry.records, entry.imported, entry.skipped_git_ranges) == (3, 0, 1)
    assert entry.skipped_reasons == {"no usable ranges": 2, "unparseable version": 1, "withdrawn": 1}


def test_distribution_osv_data_decides_for_distribution_packages(tmp_path):
    debian = {
        "id": "DEBIAN-CVE-2022-0778", "aliases": ["CVE-2022-0778"], "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1k-1+deb11u2"}]}]}],
    }
    import_files([write_json(tmp_path / "debian.json", debian)])
    db = VulnDB.load()

    def cves(version: str, purl: str | None) -> set[str]:
        return {c for a in db.match_component(Component(name="libssl1.1", version=version, purl=purl)) for c in a.cves}

    deb = "pkg:deb/debian/libssl1.1@{}?upstream=openssl"
    assert "CVE-2022-0778" in cves("1.1.1k-1+deb11u1", deb.format("1.1.1k-1+deb11u1"))
    # Debian back-ported the fix: its data overrides the upstream range that still covers 1.1.1k.
    assert "CVE-2022-0778" not in cves("1.1.1k-1+deb11u2", deb.format("1.1.1k-1+deb11u2"))
    # The same upstream version outside Debian is still affected (shipped upstream range).
    assert "CVE-2022-0778" in cves("1.1.1k", None)


# ---------------------------------------------------------------- NVD import


def nvd_document() -> dict:
    return {
        "resultsPerPage": 2, "startIndex": 0, "totalResults": 2, "format": "NVD_CVE", "version": "2.0",
        "timestamp": "2024-07-01T00:00:00.000",
        "vulnerabilities": [
            {"cve": {
                "id": "CVE-2099-1000", "sourceIdentifier": "cve@mitre.org", "vulnStatus": "Analyzed",
                "descriptions": [{"lang": "es", "value": "Desbordamiento"},
                                 {"lang": "en", "value": "Heap overflow in the web UI of examplefw before 2.86."}],
                "metrics": {"cvssMetricV31": [
                    {"source": "other@example.org", "type": "Secondary",
                     "cvssData": {"version": "3.1", "baseScore": 5.0, "baseSeverity": "MEDIUM"}},
                    {"source": "nvd@nist.gov", "type": "Primary",
                     "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                                  "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]},
                "cisaExploitAdd": "2024-01-01", "cisaVulnerabilityName": "Example overflow",
                "configurations": [
                    {"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [
                        {"vulnerable": True, "criteria": "cpe:2.3:a:thekelleys:dnsmasq:*:*:*:*:*:*:*:*",
                         "versionStartIncluding": "2.80", "versionEndExcluding": "2.86",
                         "matchCriteriaId": "00000000-0000-0000-0000-000000000001"},
                        {"vulnerable": True, "criteria": "cpe:2.3:a:thekelleys:dnsmasq:2.90:rc1:*:*:*:*:*:*",
                         "matchCriteriaId": "00000000-0000-0000-0000-000000000002"},
                        {"vulnerable": True, "criteria": "cpe:2.3:a:thekelleys:dnsmasq:*:*:*:*:*:*:*:*",
                         "versionStartExcluding": "3.0", "matchCriteriaId": "00000000-0000-0000-0000-000000000003"},
                    ]}]},
                    {"operator": "AND", "nodes": [
                        {"operator": "OR", "negate": False, "cpeMatch": [
                            {"vulnerable": True, "criteria": "cpe:2.3:o:acme:router_firmware:*:*:*:*:*:*:*:*",
                             "versionEndIncluding": "1.2.0", "matchCriteriaId": "00000000-0000-0000-0000-000000000004"}]},
                        {"operator": "OR", "negate": False, "cpeMatch": [
                            {"vulnerable": False, "criteria": "cpe:2.3:h:acme:router:-:*:*:*:*:*:*:*",
                             "matchCriteriaId": "00000000-0000-0000-0000-000000000005"}]},
                    ]},
                ],
                "references": [{"url": "https://example.org/a", "source": "cve@mitre.org"},
                               {"url": "https://example.org/a", "source": "af854a3a-2127-422b-91ae-364da2661108"}],
            }},
            {"cve": {
                "id": "CVE-2099-1001", "vulnStatus": "Analyzed",
                "descriptions": [{"lang": "en", "value": "Old issue rated with CVSS v2 only."}],
                "metrics": {"cvssMetricV2": [{"source": "nvd@nist.gov", "type": "Primary",
                                              "cvssData": {"version": "2.0", "baseScore": 7.5},
                                              "baseSeverity": "HIGH"}]},
                "configurations": [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [
                    {"vulnerable": True, "criteria": "cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*",
                     "versionEndIncluding": "7.50.0"}]}]}],
                "references": [],
            }},
        ],
    }


def test_nvd_document_is_imported_per_component(tmp_path):
    result = import_files([write_json(tmp_path / "nvdcve-2.0-2099.json", nvd_document())])
    (entry,) = result.files
    assert (entry.format, entry.records, entry.imported) == ("nvd", 2, 3)
    assert entry.skipped_reasons == {"versionStartExcluding": 1}
    db = VulnDB.load()
    (dns,) = [a for a in db if a.id == "CVE-2099-1000" and a.component == "dnsmasq"]
    assert (dns.severity, dns.cvss, dns.known_exploited, dns.references) == (
        "critical", 9.8, True, ["https://example.org/a"])
    assert dns.summary == "Heap overflow in the web UI of examplefw before 2.86."
    assert [r.describe() for r in dns.affected] == [">= 2.80, < 2.86"] and dns.versions == ["2.90rc1"]
    (curl,) = [a for a in db if a.id == "CVE-2099-1001"]
    assert (curl.component, curl.severity, curl.cvss, curl.known_exploited) == ("curl", "high", 7.5, False)


@pytest.mark.parametrize(
    "name, version, hit",
    [("dnsmasq", "2.79", False), ("dnsmasq", "2.80", True), ("dnsmasq", "2.85", True), ("dnsmasq", "2.86", False),
     ("dnsmasq", "2.90rc1", True), ("dnsmasq", "2.90", False),
     ("router_firmware", "1.2.0", True), ("router_firmware", "1.2.1", False),
     ("libcurl", "7.50.0", True), ("curl", "7.50.1", False)],
)
def test_imported_nvd_cpe_ranges_match_at_their_boundaries(tmp_path, name, version, hit):
    import_files([write_json(tmp_path / "nvd.json", nvd_document())])
    found = {a.id for a in VulnDB.load().match(name, version)}
    assert ("CVE-2099-1000" in found or "CVE-2099-1001" in found) is hit


def test_single_nvd_cve_item_is_imported(tmp_path):
    item = nvd_document()["vulnerabilities"][1]["cve"]
    result = import_files([write_json(tmp_path / "CVE-2099-1001.json", item)])
    assert (result.files[0].format, result.files[0].imported) == ("nvd", 1)


def test_rejected_nvd_records_are_skipped(tmp_path):
    doc = nvd_document()
    doc["vulnerabilities"][1]["cve"]["vulnStatus"] = "Rejected"
    result = import_files([write_json(tmp_path / "nvd.json", doc)])
    assert result.files[0].skipped_reasons == {"rejected": 1, "versionStartExcluding": 1}


# ---------------------------------------------------------------- malformed imports


def test_invalid_json_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"id": "OSV-1", "affected": [', encoding="utf-8")
    with pytest.raises(VulnImportError, match=r"broken.json: not valid JSON \(.* line 1"):
        import_files([bad])


def test_osv_record_without_id_names_the_field(tmp_path):
    rec = osv_record()
    rec["id"] = 42
    with pytest.raises(VulnImportError, match=r"rec.json: id: expected a non-empty string"):
        import_files([write_json(tmp_path / "rec.json", rec)])


def test_osv_affected_of_wrong_type_names_the_field(tmp_path):
    with pytest.raises(VulnImportError, match=r"rec.json \(OSV-2021-1234\): affected: expected a list"):
        import_files([write_json(tmp_path / "rec.json", osv_record(affected={"package": "x"}))])


def test_nvd_item_without_cve_id_names_the_path(tmp_path):
    doc = nvd_document()
    del doc["vulnerabilities"][1]["cve"]["id"]
    with pytest.raises(VulnImportError, match=r"nvd.json: vulnerabilities\[1\]: cve.id: expected a non-empty string"):
        import_files([write_json(tmp_path / "nvd.json", doc)])


def test_nvd_cpe_match_with_bad_bound_names_the_field(tmp_path):
    doc = nvd_document()
    doc["vulnerabilities"][1]["cve"]["configurations"][0]["nodes"][0]["cpeMatch"][0]["versionEndIncluding"] = 7
    with pytest.raises(VulnImportError, match=r"cpeMatch\[0\]: versionEndIncluding: expected a string"):
        import_files([write_json(tmp_path / "nvd.json", doc)])


def test_unknown_document_format_is_refused(tmp_path):
    with pytest.raises(VulnImportError, match=r"other.json: not an OSV record or an NVD CVE API 2.0 response"):
        import_files([write_json(tmp_path / "other.json", {"hello": "world"})])


def test_deeply_nested_json_is_refused(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    with pytest.raises(VulnImportError, match="deep.json: JSON nested deeper than 64 levels"):
        import_files([deep])
    moderately = tmp_path / "moderate.json"
    moderately.write_text("[" * 80 + "]" * 80, encoding="utf-8")
    with pytest.raises(VulnImportError, match="moderate.json: JSON nested deeper than 64 levels"):
        import_files([moderately])


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "MAX_IMPORT_BYTES", 100)
    big = write_json(tmp_path / "big.json", [osv_record()])
    with pytest.raises(VulnImportError, match=r"big.json: \d+ bytes is over the 512 MiB import limit"):
        import_files([big])


def test_missing_input_is_refused(tmp_path):
    with pytest.raises(VulnImportError, match="nothing.json: no such file or directory"):
        import_files([tmp_path / "nothing.json"])


def test_failed_import_leaves_the_store_unchanged(tmp_path, isolated_home):
    import_files([write_json(tmp_path / "good.json", osv_record())])
    store = isolated_home / "vulns" / "advisories.json"
    before = store.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(VulnImportError):
        import_files([write_json(tmp_path / "other.json", osv_record("OSV-9")), bad])
    assert store.read_bytes() == before


def test_record_id_that_is_not_an_identifier_names_the_field(tmp_path):
    with pytest.raises(VulnImportError, match=r"rec.json \(not an id!\): id: String should match pattern"):
        import_files([write_json(tmp_path / "rec.json", osv_record("not an id!"))])


@settings(max_examples=500, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "affected", "package", "name", "ecosystem", "ranges", "type", "events", "introduced",
                         "fixed", "versions", "vulnerabilities", "cve", "configurations", "nodes", "cpeMatch",
                         "criteria", "vulnerable", "severity", "aliases", "summary"]), c, max_size=5),
    max_leaves=25))
def test_import_of_arbitrary_json_raises_only_vuln_import_error(doc):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        try:
            import_files([path], dest=Path(tmp) / "store")
        except VulnImportError as exc:
            assert "\n" not in str(exc)


def test_import_result_reads_as_one_line_per_file(tmp_path):
    result = import_files([write_json(tmp_path / "rec.json", osv_record())], dest=tmp_path / "store")
    assert str(result) == (f"{tmp_path / 'rec.json'}: osv, 1 records, 1 advisories, skipped: 1 git ranges\n"
                           f"{tmp_path / 'store'}: 1 advisories stored")


def test_broken_store_is_reported_as_an_import_error(isolated_home):
    store = isolated_home / "vulns"
    store.mkdir(parents=True)
    (store / "advisories.json").write_text('{"advisories": [{"id": "CVE-2099-1"}]}', encoding="utf-8")
    with pytest.raises(VulnImportError, match=r"advisories.json: advisories\[0\] \(CVE-2099-1\) component: Field required"):
        VulnDB.load()
