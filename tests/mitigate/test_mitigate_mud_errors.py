"""MUD validation reports every error of a file at its exact path, and the memoised schema checks agree with
plain yangson on valid and broken files alike."""

from __future__ import annotations

import copy
import json
import random

import pytest
from typer.testing import CliRunner

from iotmark.cli import app
from iotmark.mitigate.mud import Endpoint, build_mud
from iotmark.mitigate.yang import first_error, validate_mud

from test_mitigate_mud import STAMP, sample_mud

ACLS = "/ietf-access-control-list:acls/acl"


def three_places_broken() -> dict:
    mud = sample_mud()
    top = mud["ietf-mud:mud"]
    top["cache-validity"] = 500
    top["colour"] = "red"
    top.pop("mud-url")
    top["to-device-policy"]["access-lists"]["access-list"][0]["name"] = "nope"
    acl = mud["ietf-access-control-list:acls"]["acl"]
    acl[0]["aces"]["ace"][0]["matches"]["tcp"]["destination-port"]["port"] = 70000
    acl[0]["aces"]["ace"][2]["matches"]["ipv6"] = {}
    acl[1]["aces"]["ace"][1].pop("name")
    return mud


def test_every_independent_mistake_is_reported_at_its_path():
    errors = [(e.path, e.message) for e in validate_mud(three_places_broken())]
    assert errors == [
        ("/ietf-mud:mud/colour", "member not defined by the MUD YANG modules"),
        ("/ietf-mud:mud", "missing-data: expected 'mud-url'"),
        ("/ietf-mud:mud/cache-validity", "invalid-type: not in range"),
        ("/ietf-mud:mud/to-device-policy/access-lists/access-list/0/name", "instance-required"),
        (f"{ACLS}/0/aces/ace/0/matches/tcp/destination-port/port", "invalid-type: not in range"),
        (f"{ACLS}/0/aces/ace/2/matches/ipv6", "config member-not-allowed"),
        (f"{ACLS}/1/aces/ace/1", "list-key-missing: name"),
    ]


def test_paths_after_a_dropped_list_entry_keep_their_original_index():
    mud = sample_mud()
    aces = mud["ietf-access-control-list:acls"]["acl"][0]["aces"]["ace"]
    aces[0].pop("name")  # the whole entry is dropped from the working copy
    aces[1]["matches"]["tcp"]["source-port"]["port"] = -1
    aces[2]["matches"]["udp"]["destination-port"]["operator"] = "about"
    errors = [(e.path, e.message) for e in validate_mud(mud)]
    assert errors == [
        (f"{ACLS}/0/aces/ace/0", "list-key-missing: name"),
        (f"{ACLS}/0/aces/ace/1/matches/tcp/source-port/port", "invalid-type: not in range"),
        (f"{ACLS}/0/aces/ace/2/matches/udp/destination-port/operator", "invalid-type: expected operator(enumeration)"),
    ]


def test_follow_on_errors_of_removed_nodes_are_not_reported():
    mud = sample_mud()
    mud["ietf-access-control-list:acls"]["acl"][0]["aces"]["ace"][0]["matches"]["tcp"]["destination-port"][
        "port"] = "https"
    # Removing the bad mandatory `port` leaves destination-port incomplete; that is not a second mistake.
    assert [(e.path, e.message) for e in validate_mud(mud)] == [
        (f"{ACLS}/0/aces/ace/0/matches/tcp/destination-port/port", "wrong JSON type: expected uint16 value")]


def test_a_repeated_key_names_the_repeating_entry_and_later_errors_still_count():
    mud = sample_mud()
    aces = mud["ietf-access-control-list:acls"]["acl"][0]["aces"]["ace"]
    aces[1]["name"] = aces[0]["name"]
    aces[2]["matches"]["udp"]["destination-port"]["port"] = 99999
    assert [(e.path, e.message) for e in validate_mud(mud)] == [
        (f"{ACLS}/0/aces/ace/1", "non-unique-key: 'ep0-tcp-443-frdev'"),
        (f"{ACLS}/0/aces/ace/2/matches/udp/destination-port/port", "invalid-type: not in range"),
    ]


def test_errors_are_capped_and_the_loop_ends():
    mud = sample_mud()
    mud["ietf-mud:mud"].update({f"extra-{i}": i for i in range(80)})
    errors = validate_mud(mud, max_errors=50)
    assert len(errors) == 51
    assert len({e.path for e in errors[:50]}) == 50
    assert errors[0].path == "/ietf-mud:mud/extra-0"
    assert (errors[-1].path, errors[-1].message) == ("/", "listing stopped at 50 errors; the file may hold more errors")


def test_exactly_the_cap_is_not_called_stopped():
    mud = sample_mud()
    mud["ietf-mud:mud"].update({f"extra-{i}": i for i in range(3)})
    assert [e.message for e in validate_mud(mud, max_errors=3)] == ["member not defined by the MUD YANG modules"] * 3


def test_valid_files_still_have_no_errors():
    assert validate_mud(sample_mud()) == []
    assert validate_mud(generated_muds(12)[5]) == []


def test_cli_json_lists_all_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(three_places_broken()), "utf-8")
    result = CliRunner().invoke(app, ["mud", "validate", str(bad), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report[0]["valid"] is False
    assert len(report[0]["errors"]) == 7
    assert report[0]["errors"][-1] == {"path": f"{ACLS}/1/aces/ace/1", "message": "list-key-missing: name"}


# --- the memoised checks agree with plain yangson -----------------------------------------------------------

def generated_muds(count: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    muds = []
    for i in range(count):
        endpoints = {Endpoint(f"svc{j}.v{i}.example", rng.choice(("tcp", "udp")), rng.randrange(1, 65535))
                     for j in range(rng.randrange(1, 5))}
        if i % 2:
            endpoints.add(Endpoint("2001:db8::/48", "tcp", 8883))
        if i % 3 == 0:
            endpoints.add(Endpoint("local-networks", "udp", 5353))
        muds.append(build_mud(mud_url=f"https://v{i}.example/m.json", endpoints=endpoints,
                              manufacturer=f"V{i}", model=f"M{i}", last_update=STAMP))
    return muds


def _aces(mud: dict) -> list[dict]:
    return [ace for acl in mud["ietf-access-control-list:acls"]["acl"] for ace in acl["aces"]["ace"]]


MUTATIONS = [
    lambda m, r: m["ietf-mud:mud"].update({"cache-validity": 500}),
    lambda m, r: m["ietf-mud:mud"].pop("mud-url"),
    lambda m, r: m["ietf-mud:mud"].update({"colour": "red"}),
    lambda m, r: m["ietf-mud:mud"].update({"mud-version": "one"}),
    lambda m, r: r.choice(_aces(m))["matches"].update({"eth": {}}),
    lambda m, r: r.choice(_aces(m))["matches"].update({"ipv6": {"protocol": 6}}),
    lambda m, r: r.choice(_aces(m))["matches"].update({"ipv4": {"protocol": 6}}),
    lambda m, r: r.choice(_aces(m)).pop("name"),
    lambda m, r: r.choice(_aces(m)).pop("actions"),
    lambda m, r: r.choice(m["ietf-access-control-list:acls"]["acl"]).update({"type": "eth-acl-type"}),
    lambda m, r: r.choice(m["ietf-access-control-list:acls"]["acl"]).update({"type": "ipv9-acl-type"}),
    lambda m, r: m["ietf-mud:mud"]["from-device-policy"]["access-lists"]["access-list"][0].update({"name": "x"}),
    lambda m, r: next(iter(r.choice(_aces(m))["matches"].get("tcp", {}).values()), {}).update({"port": 70000}),
    lambda m, r: r.choice(_aces(m))["matches"].pop("ipv4", None),
]


def broken_muds(count: int, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    bases = generated_muds(8) + [sample_mud()]
    out = []
    for _ in range(count):
        mud = copy.deepcopy(rng.choice(bases))
        for mutate in rng.sample(MUTATIONS, rng.randrange(1, 4)):
            mutate(mud, rng)
        out.append(mud)
    return out


def test_memoised_validation_equals_plain_yangson_on_many_files():
    # Interleaved so a memo kept from one document would show up as a wrong answer on the next.
    files = generated_muds(40) + broken_muds(120)
    random.Random(1).shuffle(files)
    invalid = 0
    for mud in files:
        plain = first_error(mud, memoised=False)
        assert first_error(mud) == plain
        invalid += plain is not None
    assert 60 < invalid < len(files)  # the comparison covered both outcomes in quantity


def test_when_condition_depends_on_the_whole_document_not_a_stale_memo():
    # RFC 8519's `when` reads every ACL's type: an ipv6 match is allowed as soon as any ACL is ipv6.
    ipv4_only = sample_mud()
    matches = _aces(ipv4_only)[0]["matches"]
    matches["ipv6"] = matches.pop("ipv4")
    with_ipv6 = copy.deepcopy(ipv4_only)
    with_ipv6["ietf-access-control-list:acls"]["acl"][1]["type"] = "ipv6-acl-type"
    for mud in (ipv4_only, with_ipv6, ipv4_only):
        assert first_error(mud) == first_error(mud, memoised=False)
    assert first_error(ipv4_only) is not None and first_error(with_ipv6) is None


@pytest.mark.parametrize("index", range(len(MUTATIONS)))
def test_each_mutation_alone_gives_the_same_first_error(index):
    mud = sample_mud()
    MUTATIONS[index](mud, random.Random(index))
    assert first_error(mud) == first_error(mud, memoised=False)


def test_time_budget_stops_the_listing_and_says_so():
    from iotmark.mitigate.yang_errors import collect_errors

    mud = sample_mud()
    mud["ietf-mud:mud"].update({f"extra-{i}": i for i in range(3)})
    found = collect_errors(mud, first_error, max_seconds=0)
    assert found == [("/ietf-mud:mud/extra-0", "member not defined by the MUD YANG modules"),
                     ("/", "listing stopped at 0 s; the file may hold more errors")]
