"""Specification of the SBOM collector: CycloneDX 1.4-1.6 and SPDX 2.3 in, components and findings out."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotmark.collect import sbom as sbom_module
from iotmark.collect.sbom import SbomError, SbomResult, collect_sbom
from iotmark.model import Component
from iotmark.vulns import Advisory, AffectedRange, VulnDB

VULN_PROVISIONS = ["etsi-en-303-645:5.2-3", "etsi-en-303-645:5.3-8", "cra-annex-i:I(2)(a)", "owasp-iot-top10:I5"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("IOTMARK_HOME", str(tmp_path / "iotmark-home"))


@pytest.fixture(scope="module")
def db() -> VulnDB:
    """A small, fixed advisory set so expected findings do not move when the shipped data grows."""
    return VulnDB([
        Advisory(id="CVE-2020-25681", component="dnsmasq", affected=[AffectedRange(fixed="2.83")],
                 severity="high", cvss=8.1, summary="Heap overflow in DNSSEC sorting.", verified=True),
        Advisory(id="CVE-2014-0160", component="openssl", affected=[AffectedRange(introduced="1.0.1", fixed="1.0.1g")],
                 severity="high", cvss=7.5, summary="Heartbleed.", known_exploited=True, verified=True),
        Advisory(id="CVE-2022-0778", component="openssl",
                 affected=[AffectedRange(introduced="1.1.0", fixed="1.1.1n")],
                 severity="high", cvss=7.5, summary="Infinite loop in BN_mod_sqrt.", verified=True),
        Advisory(id="CVE-2022-48174", component="busybox", affected=[AffectedRange(fixed="1.35.0")],
                 severity="critical", cvss=9.8, summary="Stack overflow in ash.", verified=True),
    ])


# ---------------------------------------------------------------- documents


def cdx_component(name, version=None, ref=None, purl=None, cpe=None, children=None, ctype="library"):
    comp = {"type": ctype, "name": name}
    if ref:
        comp["bom-ref"] = ref
    if version is not None:
        comp["version"] = version
    if purl:
        comp["purl"] = purl
    if cpe:
        comp["cpe"] = cpe
    if children is not None:
        comp["components"] = children
    return comp


DEB_SSL = "pkg:deb/debian/libssl1.1@1.1.1m-0+deb11u1?arch=armhf&upstream=openssl&distro=debian-11"


def router_components() -> list[dict]:
    """The software of a small router: nested rootfs, a distro library, an unversioned and an odd entry."""
    return [
        cdx_component("busybox", "1.31.1", "busybox", purl="pkg:generic/busybox@1.31.1",
                      cpe="cpe:2.3:a:busybox:busybox:1.31.1:*:*:*:*:*:*:*"),
        cdx_component("dnsmasq", "2.78", "dnsmasq", cpe="cpe:2.3:a:thekelleys:dnsmasq:2.78:*:*:*:*:*:*:*"),
        cdx_component("rootfs", "2024.1", "rootfs", ctype="application", children=[
            cdx_component("libssl1.1", "1.1.1m-0+deb11u1", "libssl", purl=DEB_SSL),
            cdx_component("legacy", "1", "legacy", ctype="application", children=[
                cdx_component("openssl", "1.0.1f", "openssl-legacy", purl="pkg:generic/openssl@1.0.1f"),
            ]),
            cdx_component("zlib", None, "zlib"),
        ]),
        cdx_component("acme-cloud-agent", "3.2.1", "agent", purl="pkg:generic/acme/acme-cloud-agent@3.2.1"),
        cdx_component("vendor-blob", "latest", "blob"),
    ]


def cyclonedx(spec: str, components: list[dict]) -> dict:
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2024-05-01T10:00:00Z",
            "tools": {"components": [{"type": "application", "name": "syft", "version": "1.4.1"}]},
            "component": {"type": "firmware", "name": "acme-router-fw", "version": "1.2.0", "bom-ref": "fw"},
            "supplier": {"name": "Acme Devices"},
        },
        "components": components,
        "dependencies": [{"ref": "fw", "dependsOn": ["busybox", "dnsmasq"]}],
    }


def spdx_package(spdxid, name, version=None, purl=None, cpe=None, supplier="Organization: Acme Devices"):
    pkg = {"SPDXID": spdxid, "name": name, "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
           "supplier": supplier, "licenseConcluded": "NOASSERTION", "copyrightText": "NOASSERTION"}
    if version is not None:
        pkg["versionInfo"] = version
    refs = []
    if purl:
        refs.append({"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl})
    if cpe:
        refs.append({"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe})
    if refs:
        pkg["externalRefs"] = refs
    return pkg


def spdx(packages: list[dict], version: str = "SPDX-2.3") -> dict:
    return {
        "spdxVersion": version,
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "acme-router-fw-1.2.0",
        "documentNamespace": "https://acme.example/spdx/acme-router-fw-1.2.0-5d1c",
        "creationInfo": {"created": "2024-05-01T10:00:00Z", "creators": ["Tool: syft-1.4.1"]},
        "packages": packages,
        "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                           "relatedSpdxElement": "SPDXRef-Package-busybox"}],
    }


def router_packages() -> list[dict]:
    return [
        spdx_package("SPDXRef-Package-busybox", "busybox", "1.31.1", purl="pkg:generic/busybox@1.31.1"),
        spdx_package("SPDXRef-Package-dnsmasq", "dnsmasq", "2.78",
                     cpe="cpe:2.3:a:thekelleys:dnsmasq:2.78:*:*:*:*:*:*:*"),
        spdx_package("SPDXRef-Package-libssl", "libssl1.1", "1.1.1m-0+deb11u1", purl=DEB_SSL,
                     supplier="Organization: Debian"),
        spdx_package("SPDXRef-Package-openssl", "openssl", "1.0.1f", purl="pkg:generic/openssl@1.0.1f",
                     supplier="NOASSERTION"),
        spdx_package("SPDXRef-Package-zlib", "zlib"),
        spdx_package("SPDXRef-Package-agent", "acme-cloud-agent", "3.2.1"),
        spdx_package("SPDXRef-Package-blob", "vendor-blob", "latest"),
    ]


def write(tmp_path: Path, doc, name: str = "sbom.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return path


def summary(result: SbomResult) -> list[tuple]:
    return [(f.check, f.outcome, f.severity, f.component, tuple(f.cve), f.evidence.path, f.confidence)
            for f in result.findings]


# ---------------------------------------------------------------- CycloneDX


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_cyclonedx_components_are_listed_depth_first_including_nested(tmp_path, db, spec):
    result = collect_sbom(write(tmp_path, cyclonedx(spec, router_components())), db)
    assert result.format == f"CycloneDX {spec}"
    assert result.components == [
        Component(name="busybox", version="1.31.1", purl="pkg:generic/busybox@1.31.1",
                  cpe="cpe:2.3:a:busybox:busybox:1.31.1:*:*:*:*:*:*:*"),
        Component(name="dnsmasq", version="2.78", cpe="cpe:2.3:a:thekelleys:dnsmasq:2.78:*:*:*:*:*:*:*"),
        Component(name="rootfs", version="2024.1"),
        Component(name="libssl1.1", version="1.1.1m-0+deb11u1", purl=DEB_SSL),
        Component(name="legacy", version="1"),
        Component(name="openssl", version="1.0.1f", purl="pkg:generic/openssl@1.0.1f"),
        Component(name="zlib"),
        Component(name="acme-cloud-agent", version="3.2.1", purl="pkg:generic/acme/acme-cloud-agent@3.2.1"),
        Component(name="vendor-blob", version="latest"),
    ]


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_cyclonedx_findings_are_exact(tmp_path, db, spec):
    result = collect_sbom(write(tmp_path, cyclonedx(spec, router_components())), db)
    assert summary(result) == [
        ("sbom.component.known_vulnerability", "fail", "critical", "busybox", ("CVE-2022-48174",), "busybox", 1.0),
        ("sbom.component.known_vulnerability", "fail", "high", "dnsmasq", ("CVE-2020-25681",), "dnsmasq", 1.0),
        ("sbom.component.known_vulnerability", "fail", "high", "libssl1.1", ("CVE-2022-0778",), "libssl", 0.6),
        # Heartbleed is rated high but known exploited, so it is raised to critical.
        ("sbom.component.known_vulnerability", "fail", "critical", "openssl", ("CVE-2014-0160",), "openssl-legacy",
         1.0),
        ("sbom.components.inventory", "pass", "info", None, (), None, 1.0),
        ("sbom.component.unversioned", "not_tested", "info", None, (), None, 1.0),
    ]


def test_vulnerability_finding_carries_evidence_provisions_and_detail(tmp_path, db):
    result = collect_sbom(write(tmp_path, cyclonedx("1.5", router_components()), "router.cdx.json"), db)
    finding = next(f for f in result.findings if f.component == "dnsmasq")
    assert finding.title == "dnsmasq 2.78 has CVE-2020-25681"
    assert (finding.kind, finding.assessment) == ("sbom", "functional")
    assert finding.provisions == VULN_PROVISIONS
    assert finding.evidence.model_dump(exclude_none=True) == {
        "source": "router.cdx.json", "path": "dnsmasq", "excerpt": "dnsmasq@2.78"}
    assert finding.detail == "Heap overflow in DNSSEC sorting. Affected versions: < 2.83."


def test_distribution_package_finding_says_fix_may_be_backported(tmp_path, db):
    result = collect_sbom(write(tmp_path, cyclonedx("1.5", router_components())), db)
    finding = next(f for f in result.findings if f.component == "libssl1.1")
    assert finding.title == "libssl1.1 1.1.1m-0+deb11u1 has CVE-2022-0778"
    assert "back-ported" in finding.detail and finding.confidence == 0.6


def test_known_exploited_finding_says_so(tmp_path, db):
    result = collect_sbom(write(tmp_path, cyclonedx("1.5", router_components())), db)
    finding = next(f for f in result.findings if "CVE-2014-0160" in f.cve)
    assert "exploited in the wild" in finding.detail


def test_inventory_and_unversioned_findings_describe_the_sbom(tmp_path, db):
    result = collect_sbom(write(tmp_path, cyclonedx("1.5", router_components())), db)
    inventory = next(f for f in result.findings if f.check == "sbom.components.inventory")
    assert (inventory.title, inventory.provisions) == ("SBOM lists 9 components", ["cra-annex-i:II(1)"])
    unversioned = next(f for f in result.findings if f.check == "sbom.component.unversioned")
    assert unversioned.title == "2 components could not be checked for known vulnerabilities"
    assert unversioned.detail == ("Without a usable version these components cannot be matched: "
                                  "zlib (zlib): no version; vendor-blob (blob): version 'latest' could not be read")


def test_source_pins_the_file_by_digest(tmp_path, db):
    path = write(tmp_path, cyclonedx("1.6", router_components()), "fw.cdx.json")
    result = collect_sbom(path, db)
    assert (result.source.kind, result.source.name) == ("sbom", "fw.cdx.json")
    assert result.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.source.tool.startswith("iotmark ")


def test_clean_sbom_gets_a_no_known_vulnerability_pass(tmp_path, db):
    doc = cyclonedx("1.5", [cdx_component("dnsmasq", "2.90", "dnsmasq"), cdx_component("busybox", "1.36.1", "bb")])
    result = collect_sbom(write(tmp_path, doc), db)
    assert [(f.check, f.outcome) for f in result.findings] == [
        ("sbom.components.inventory", "pass"), ("sbom.components.no_known_vulnerability", "pass")]
    passed = result.findings[1]
    assert passed.title == "None of the 2 versioned components has a known vulnerability"
    assert passed.provisions == ["etsi-en-303-645:5.2-3", "cra-annex-i:I(2)(a)"]


def test_unversioned_components_never_earn_a_pass(tmp_path, db):
    doc = cyclonedx("1.5", [cdx_component("dnsmasq", None, "dnsmasq"), cdx_component("busybox", "", "bb")])
    result = collect_sbom(write(tmp_path, doc), db)
    assert [(f.check, f.outcome) for f in result.findings] == [
        ("sbom.components.inventory", "pass"), ("sbom.component.unversioned", "not_tested")]


def test_empty_sbom_is_not_an_inventory(tmp_path, db):
    result = collect_sbom(write(tmp_path, cyclonedx("1.5", [])), db)
    assert [(f.check, f.outcome, f.severity, f.title) for f in result.findings] == [
        ("sbom.components.inventory", "fail", "medium", "SBOM lists no components")]


def test_components_without_bom_ref_are_located_by_json_path(tmp_path, db):
    doc = cyclonedx("1.5", [cdx_component("box", "1", children=[cdx_component("dnsmasq", "2.80")])])
    result = collect_sbom(write(tmp_path, doc), db)
    assert result.findings[0].evidence.path == "components[0].components[0]"


def test_default_database_is_the_shipped_data(tmp_path):
    result = collect_sbom(write(tmp_path, cyclonedx("1.5", [cdx_component("dnsmasq", "2.78", "dnsmasq")])))
    cves = {c for f in result.findings for c in f.cve}
    assert {f"CVE-2020-2568{i}" for i in range(1, 8)} <= cves


# ---------------------------------------------------------------- SPDX


def test_spdx_packages_become_components(tmp_path, db):
    result = collect_sbom(write(tmp_path, spdx(router_packages()), "fw.spdx.json"), db)
    assert result.format == "SPDX-2.3"
    assert result.components == [
        Component(name="busybox", version="1.31.1", purl="pkg:generic/busybox@1.31.1", supplier="Acme Devices"),
        Component(name="dnsmasq", version="2.78", cpe="cpe:2.3:a:thekelleys:dnsmasq:2.78:*:*:*:*:*:*:*",
                  supplier="Acme Devices"),
        Component(name="libssl1.1", version="1.1.1m-0+deb11u1", purl=DEB_SSL, supplier="Debian"),
        Component(name="openssl", version="1.0.1f", purl="pkg:generic/openssl@1.0.1f"),
        Component(name="zlib", supplier="Acme Devices"),
        Component(name="acme-cloud-agent", version="3.2.1", supplier="Acme Devices"),
        Component(name="vendor-blob", version="latest", supplier="Acme Devices"),
    ]


def test_spdx_findings_are_exact(tmp_path, db):
    result = collect_sbom(write(tmp_path, spdx(router_packages())), db)
    assert summary(result) == [
        ("sbom.component.known_vulnerability", "fail", "critical", "busybox", ("CVE-2022-48174",),
         "SPDXRef-Package-busybox", 1.0),
        ("sbom.component.known_vulnerability", "fail", "high", "dnsmasq", ("CVE-2020-25681",),
         "SPDXRef-Package-dnsmasq", 1.0),
        ("sbom.component.known_vulnerability", "fail", "high", "libssl1.1", ("CVE-2022-0778",),
         "SPDXRef-Package-libssl", 0.6),
        ("sbom.component.known_vulnerability", "fail", "critical", "openssl", ("CVE-2014-0160",),
         "SPDXRef-Package-openssl", 1.0),
        ("sbom.components.inventory", "pass", "info", None, (), None, 1.0),
        ("sbom.component.unversioned", "not_tested", "info", None, (), None, 1.0),
    ]


def test_spdx_22_style_package_manager_category_is_accepted(tmp_path, db):
    pkg = spdx_package("SPDXRef-a", "thing", "2.78")
    pkg["externalRefs"] = [{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl",
                            "referenceLocator": "pkg:generic/dnsmasq@2.78"}]
    result = collect_sbom(write(tmp_path, spdx([pkg])), db)
    assert result.components[0].purl == "pkg:generic/dnsmasq@2.78"
    assert result.findings[0].cve == ["CVE-2020-25681"]


# ---------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    "doc, message",
    [
        ('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [', r"sbom.json: not valid JSON \("),
        ("[1, 2]", r"sbom.json: top level: expected a JSON object"),
        ({"hello": "world"}, r"sbom.json: bomFormat/spdxVersion: expected a CycloneDX \(bomFormat\) or SPDX"),
        ({"bomFormat": "SWID", "specVersion": "1.5"}, r"sbom.json: bomFormat: expected 'CycloneDX', got 'SWID'"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.3", "components": []},
         r"sbom.json: specVersion: expected one of 1.4, 1.5, 1.6, got '1.3'"),
        ({"bomFormat": "CycloneDX", "components": []}, r"sbom.json: specVersion: expected one of .* got None"),
        (spdx([], version="SPDX-2.2"), r"sbom.json: spdxVersion: expected SPDX-2.3, got 'SPDX-2.2'"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": {"name": "x"}},
         r"sbom.json: components: expected a list, got dict"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "a"}, {"version": "1"}]},
         r"sbom.json: components\[1\].name: expected a non-empty string"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.5",
          "components": [{"name": "a", "components": [{"name": "  "}]}]},
         r"sbom.json: components\[0\].components\[0\].name: expected a non-empty string"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "a", "version": 2}]},
         r"sbom.json: components\[0\].version: expected a string, got int"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": ["busybox"]},
         r"sbom.json: components\[0\]: expected a component object"),
        (spdx([{"SPDXID": "SPDXRef-x"}]), r"sbom.json: packages\[0\].name: expected a non-empty string"),
        (spdx([{"name": "x", "externalRefs": "pkg:generic/x"}]),
         r"sbom.json: packages\[0\].externalRefs: expected a list, got str"),
    ],
)
def test_malformed_sboms_raise_one_clear_line(tmp_path, db, doc, message):
    with pytest.raises(SbomError, match=message) as info:
        collect_sbom(write(tmp_path, doc), db)
    assert "\n" not in str(info.value)


def test_sbom_error_is_a_value_error():
    assert issubclass(SbomError, ValueError)


def test_deeply_nested_components_are_refused(tmp_path, db):
    component = cdx_component("leaf", "1.0")
    for i in range(40):
        component = cdx_component(f"level{i}", "1.0", children=[component])
    with pytest.raises(SbomError, match=r"sbom.json: JSON nested too deeply; expected at most 64 levels"):
        collect_sbom(write(tmp_path, cyclonedx("1.5", [component])), db)


def test_pathologically_deep_json_is_refused(tmp_path, db):
    with pytest.raises(SbomError, match="nested too deeply"):
        collect_sbom(write(tmp_path, '{"a":' * 100000 + "1" + "}" * 100000), db)


def test_oversized_file_is_refused_before_parsing(tmp_path, db, monkeypatch):
    monkeypatch.setattr(sbom_module, "MAX_SBOM_BYTES", 64)
    with pytest.raises(SbomError, match=r"sbom.json: file is \d+ bytes; the limit is 64"):
        collect_sbom(write(tmp_path, cyclonedx("1.5", router_components())), db)


def test_too_many_components_are_refused(tmp_path, db, monkeypatch):
    monkeypatch.setattr(sbom_module, "MAX_COMPONENTS", 3)
    doc = cyclonedx("1.5", [cdx_component(f"c{i}", "1.0") for i in range(4)])
    with pytest.raises(SbomError, match=r"sbom.json: components: more than 3 components"):
        collect_sbom(write(tmp_path, doc), db)
    with pytest.raises(SbomError, match=r"sbom.json: packages: more than 3 packages"):
        collect_sbom(write(tmp_path, spdx([spdx_package(f"SPDXRef-{i}", f"p{i}") for i in range(4)])), db)


def test_binary_file_is_refused(tmp_path, db):
    path = tmp_path / "firmware.bin"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe")
    with pytest.raises(SbomError, match="firmware.bin: not UTF-8 text"):
        collect_sbom(path, db)


def test_missing_file_is_reported(tmp_path, db):
    with pytest.raises(SbomError, match="absent.json: file not found"):
        collect_sbom(tmp_path / "absent.json", db)


def test_malformed_purl_and_cpe_do_not_stop_the_scan(tmp_path, db):
    doc = cyclonedx("1.5", [cdx_component("dnsmasq", "2.78", "d", purl="pkg:", cpe="cpe:2.3:broken")])
    result = collect_sbom(write(tmp_path, doc), db)
    assert result.findings[0].cve == ["CVE-2020-25681"]


# ---------------------------------------------------------------- fuzzing

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_field_values = st.one_of(
    _json, st.sampled_from(["1.0", "2.78", "latest", "", "pkg:generic/x@1", "pkg:", "cpe:2.3:a:b:c:1:*:*:*:*:*:*:*",
                            "1.1.1n-0+deb11u4", "-r1", "0:", "v", "::"]))
_cdx_component = st.recursive(
    st.dictionaries(st.sampled_from(["name", "version", "purl", "cpe", "bom-ref", "supplier", "type"]), _field_values,
                    max_size=6),
    lambda children: st.builds(lambda d, c: {**d, "components": c},
                               st.dictionaries(st.sampled_from(["name", "version", "purl"]), _field_values),
                               st.lists(children, max_size=3)),
    max_leaves=10,
)
_documents = st.one_of(
    _json,
    st.builds(lambda spec, comps: {"bomFormat": "CycloneDX", "specVersion": spec, "components": comps},
              st.sampled_from(["1.4", "1.5", "1.6", "1.3", 1.5]), st.one_of(st.lists(_cdx_component, max_size=5), _json)),
    st.builds(lambda ver, pkgs: {"spdxVersion": ver, "packages": pkgs},
              st.sampled_from(["SPDX-2.3", "SPDX-2.2"]),
              st.one_of(st.lists(st.dictionaries(
                  st.sampled_from(["name", "versionInfo", "SPDXID", "externalRefs", "supplier"]),
                  st.one_of(_field_values, st.lists(st.dictionaries(
                      st.sampled_from(["referenceCategory", "referenceType", "referenceLocator"]),
                      st.one_of(_field_values, st.sampled_from(["PACKAGE-MANAGER", "SECURITY", "purl", "cpe23Type"])),
                  ), max_size=3))), max_size=5), _json)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_documents)
def test_loader_raises_nothing_but_sbom_error_on_any_json(db, doc):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        try:
            result = collect_sbom(path, db)
        except SbomError as exc:
            assert "\n" not in str(exc)
        else:
            assert isinstance(result, SbomResult)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_loader_raises_nothing_but_sbom_error_on_any_bytes(db, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.json"
        path.write_bytes(data)
        try:
            collect_sbom(path, db)
        except SbomError:
            pass


_names = st.sampled_from(["dnsmasq", "openssl", "libssl1.1", "busybox", "linux", "zlib", "x"]) | st.text(min_size=1)
_versions = st.sampled_from(["2.78", "1.0.1f", "1.1.1m-0+deb11u1", "5.10.0-21-amd64", "1.31.1", "0:", "-r1", "latest",
                             "v", "1.0 beta"]) | st.text(max_size=12)
_identifiers = st.none() | st.sampled_from([
    "pkg:generic/dnsmasq@2.78", "pkg:deb/debian/libssl1.1@1.1.1m-0+deb11u1?upstream=openssl", "pkg:", "pkg:x/",
    "cpe:2.3:a:thekelleys:dnsmasq:2.78:*:*:*:*:*:*:*", "cpe:2.3:a", "cpe:/a:openssl:openssl:1.0.1f"]) | st.text(max_size=30)
_good_component = st.builds(
    lambda name, version, purl, cpe: {k: v for k, v in
                                      {"type": "library", "name": name, "version": version, "purl": purl,
                                       "cpe": cpe}.items() if v is not None},
    _names.filter(lambda s: s.strip()), st.none() | _versions, _identifiers, _identifiers)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_good_component, max_size=8))
def test_well_formed_components_always_yield_an_inventory(db, components):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.json"
        path.write_text(json.dumps(cyclonedx("1.6", components)), encoding="utf-8")
        result = collect_sbom(path, db)
    assert len(result.components) == len(components)
    inventory = [f for f in result.findings if f.check == "sbom.components.inventory"]
    assert len(inventory) == 1 and inventory[0].outcome == ("pass" if components else "fail")
    assert not any(f.outcome == "pass" and f.check != "sbom.components.inventory" for f in result.findings) or not any(
        f.outcome == "fail" and f.check == "sbom.component.known_vulnerability" for f in result.findings)
