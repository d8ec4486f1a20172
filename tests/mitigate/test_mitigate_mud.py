"""MUD files: generated from declarations, validated against the real YANG modules, errors at exact paths."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotmark.mitigate.mud import Endpoint, build_mud, mud_from_declaration
from iotmark.mitigate.untrusted import BadInput, parse_json
from iotmark.mitigate.yang import validate_mud
from iotmark.model import Declaration, Target

STAMP = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def declaration(**answers) -> Declaration:
    target = Target(vendor="Northwind Devices", model="SmartPlug P1", firmware_version="1.4.2",
                    device_class="consumer-low", description="Wi-Fi smart plug")
    return Declaration(target=target, support_period_end=dt.date(2030, 6, 30), answers=answers,
                       vulnerability_disclosure={"policy_url": "https://northwind.example/security"})


ENDPOINTS = [{"peer": "cloud.northwind.example", "protocol": "tcp", "port": 443},
             {"peer": "pool.ntp.org", "protocol": "udp", "port": 123},
             {"peer": "local-networks", "protocol": "tcp", "port": 80, "initiated": "to-device"}]


def sample_mud() -> dict:
    decl = declaration(network_endpoints=ENDPOINTS, mud_url="https://northwind.example/mud/p1.json")
    return mud_from_declaration(decl, today=dt.date(2025, 3, 1), last_update=STAMP)


def test_declared_endpoints_become_a_valid_mud_file():
    mud = sample_mud()
    assert validate_mud(mud) == []
    top = mud["ietf-mud:mud"]
    assert top["mud-url"] == "https://northwind.example/mud/p1.json"
    assert top["last-update"] == "2025-03-01T12:00:00+00:00"
    assert top["is-supported"] is True
    assert top["mfg-name"] == "Northwind Devices"
    assert "firmware-rev" not in top  # the URL does not name the firmware version
    assert top["from-device-policy"] == {"access-lists": {"access-list": [{"name": "from-ipv4-smartplug-p1"}]}}
    acl = mud["ietf-access-control-list:acls"]["acl"][0]
    assert [ace["name"] for ace in acl["aces"]["ace"]] == [
        "ep0-tcp-443-frdev", "ep1-tcp-80-frdev", "ep2-udp-123-frdev"]  # sorted by peer
    assert acl["aces"]["ace"][0]["matches"] == {
        "ipv4": {"protocol": 6, "ietf-acldns:dst-dnsname": "cloud.northwind.example"},
        "tcp": {"destination-port": {"operator": "eq", "port": 443}, "ietf-mud:direction-initiated": "from-device"}}
    assert acl["aces"]["ace"][1]["matches"]["ietf-mud:mud"] == {"local-networks": [None]}


def test_unsupported_device_says_so():
    decl = declaration(mud_url="https://northwind.example/mud/p1-1.4.2.json")
    mud = mud_from_declaration(decl, today=dt.date(2031, 1, 1), last_update=STAMP)
    assert mud["ietf-mud:mud"]["is-supported"] is False
    assert mud["ietf-mud:mud"]["firmware-rev"] == "1.4.2"  # URL is per firmware, so RFC 8520 allows it
    assert validate_mud(mud) == []


def test_ipv6_and_network_peers_get_their_own_acls():
    mud = build_mud(mud_url="https://x.example/m.json", manufacturer="X", model="Cam",
                    endpoints=[Endpoint("2001:db8::/64", "tcp", 8883), Endpoint("192.0.2.7", "udp", 5683)],
                    last_update=STAMP)
    assert validate_mud(mud) == []
    names = [a["name"] for a in mud["ietf-access-control-list:acls"]["acl"]]
    assert names == ["from-ipv4-cam", "to-ipv4-cam", "from-ipv6-cam", "to-ipv6-cam"]
    to_v6 = mud["ietf-access-control-list:acls"]["acl"][3]["aces"]["ace"][0]["matches"]["ipv6"]
    assert to_v6 == {"protocol": 6, "source-ipv6-network": "2001:db8::/64"}


def test_bad_declared_endpoint_is_refused():
    with pytest.raises(BadInput, match="port must be 1-65535"):
        mud_from_declaration(declaration(network_endpoints=[{"peer": "a.example", "protocol": "tcp", "port": 0}],
                                         mud_url="https://a.example/m.json"))
    with pytest.raises(BadInput, match="not a DNS name"):
        Endpoint("bad name!", "tcp", 1)


def test_no_mud_url_is_an_error():
    with pytest.raises(BadInput, match="no MUD URL"):
        mud_from_declaration(declaration())


@pytest.mark.parametrize(("mutate", "path", "message"), [
    (lambda m: m["ietf-mud:mud"].update({"cache-validity": 500}), "/ietf-mud:mud/cache-validity",
     "invalid-type: not in range"),
    (lambda m: m["ietf-mud:mud"].pop("mud-url"), "/ietf-mud:mud", "missing-data: expected 'mud-url'"),
    (lambda m: m["ietf-mud:mud"].update({"colour": "red"}), "/ietf-mud:mud/colour",
     "member not defined by the MUD YANG modules"),
    (lambda m: m["ietf-mud:mud"].update({"mud-version": "one"}), "/ietf-mud:mud/mud-version",
     "wrong JSON type: expected uint8 value"),
    (lambda m: m["ietf-access-control-list:acls"]["acl"][0]["aces"]["ace"][0]["matches"]["tcp"]
     ["destination-port"].update({"port": 70000}),
     "/ietf-access-control-list:acls/acl/0/aces/ace/0/matches/tcp/destination-port/port",
     "invalid-type: not in range"),
    (lambda m: m["ietf-mud:mud"]["from-device-policy"]["access-lists"]["access-list"][0].update({"name": "nope"}),
     "/ietf-mud:mud/from-device-policy/access-lists/access-list/0/name", "instance-required"),
    (lambda m: m["ietf-access-control-list:acls"]["acl"][0].update({"type": "ipv9-acl-type"}),
     "/ietf-access-control-list:acls/acl/0/type",
     "invalid-type: 'ietf-access-control-list:ipv9-acl-type' not derived from 'ietf-access-control-list:acl-base'"),
])
def test_broken_mud_reports_exact_path(mutate, path, message):
    mud = copy.deepcopy(sample_mud())
    mutate(mud)
    errors = validate_mud(mud)
    assert [(e.path, e.message) for e in errors] == [(path, message)]


def test_not_a_mud_file():
    assert [e.as_dict() for e in validate_mud([1, 2])] == [{"path": "/", "message": "a MUD file is a JSON object"}]
    assert validate_mud({"ietf-access-control-list:acls": {}})[0].path == "/ietf-mud:mud"


def test_deep_json_is_refused_before_validation():
    with pytest.raises(BadInput, match="nested deeper than 48 levels"):
        parse_json(b"[" * 100 + b"]" * 100)
    with pytest.raises(BadInput, match="nested deeper"):
        parse_json(b"[" * 100000)
    with pytest.raises(BadInput, match="not UTF-8"):
        parse_json(b'{"a": "\xff"}')


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=12), kids, max_size=3),
                    max_leaves=12))
def test_arbitrary_json_never_crashes_the_validator(value):
    mud = {"ietf-mud:mud": value} if isinstance(value, dict) else value
    errors = validate_mud(json.loads(json.dumps(mud)))
    assert all(e.path.startswith("/") and e.message for e in errors)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["ietf-mud:mud", "ietf-access-control-list:acls"]),
       st.sampled_from(["mud-url", "acl", "is-supported", "cache-validity", "systeminfo"]),
       st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)))
def test_mutated_mud_files_fail_or_pass_cleanly(section, key, value):
    mud = copy.deepcopy(sample_mud())
    mud[section][key] = value
    errors = validate_mud(mud)
    assert all(e.path.startswith("/") for e in errors)
