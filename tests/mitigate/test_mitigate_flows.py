"""Capture reading (pcap, pcapng, truncated, corrupt), DNS names, Zeek conn.log, and MUD conformance of flows."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import dpkt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitigate_traffic import CLOUD, NTP, PLUG, STRANGER, plug_traffic, write
from typer.testing import CliRunner

from iotmark.mitigate.cli import app
from iotmark.mitigate.conformance import check_flows
from iotmark.mitigate.flows import flows_from_capture, read_conn_log
from iotmark.mitigate.mud import Endpoint, build_mud
from iotmark.mitigate.pcap import CaptureReader
from iotmark.mitigate.policy import compile_policy
from iotmark.mitigate.untrusted import BadInput

PLUG_MUD = build_mud(mud_url="https://northwind.example/mud/p1.json", manufacturer="Northwind", model="P1",
                     endpoints=[Endpoint("cloud.northwind.example", "tcp", 443), Endpoint("pool.ntp.org", "udp", 123)])


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("caps")
    frames = plug_traffic()
    return {"pcap": write(frames, folder / "plug.pcap"), "pcapng": write(frames, folder / "plug.pcapng", "pcapng")}


def summary(flows) -> list[tuple]:
    return [(f.src, f.dst, f.proto, f.sport, f.dport, f.packets, f.resp_packets) for f in flows]


EXPECTED_FLOWS = [(PLUG, "10.0.0.1", 17, 40000, 53, 1, 1), (PLUG, CLOUD, 6, 50000, 443, 4, 2),
                  (PLUG, NTP, 17, 123, 123, 1, 0), (PLUG, STRANGER, 6, 50001, 23, 4, 2),
                  (CLOUD, PLUG, 6, 443, 8443, 4, 2)]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_capture_becomes_flows(captures, fmt):
    result = flows_from_capture(captures[fmt])
    assert summary(result.flows) == EXPECTED_FLOWS
    assert result.stats.frames == 21 and result.stats.truncated is False
    assert result.stats.formats == [fmt]


def test_dns_answers_name_addresses_through_cnames(captures):
    names = flows_from_capture(captures["pcap"]).names
    assert names.names_for(CLOUD) == {"cloud.northwind.example", "edge.cdn.example"}
    assert names.names_for(CLOUD, at=999.0) == set()  # not yet answered then
    assert names.names_for(NTP) == set()


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_reader_agrees_with_dpkt(captures, fmt):
    with captures[fmt].open("rb") as fh:
        reference = [(round(ts, 6), bytes(buf)) for ts, buf in
                     (dpkt.pcap.Reader(fh) if fmt == "pcap" else dpkt.pcapng.Reader(fh))]
    ours = [(round(f.ts, 6), f.data) for f in CaptureReader(captures[fmt])]
    assert ours == reference


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_truncated_capture_keeps_the_whole_frames(captures, fmt, tmp_path):
    data = captures[fmt].read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[:-30])
    reader = CaptureReader(cut)
    frames = list(reader)
    assert len(frames) == 20
    assert reader.stats.truncated is True
    assert "cut short" in reader.stats.reason


def test_corrupt_record_length_stops_reading(captures, tmp_path):
    data = bytearray(captures["pcap"].read_bytes())
    struct.pack_into("<I", data, 24 + 8, 0x7FFFFFFF)  # first record's captured length
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(data))
    reader = CaptureReader(bad)
    assert list(reader) == []
    assert reader.stats.reason == "frame 1 claims 2147483647 bytes (corrupt record)"


def test_not_a_capture_is_refused(tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(BadInput, match="unknown magic number"):
        list(CaptureReader(junk))


def test_frame_limit_is_enforced(captures):
    with pytest.raises(BadInput, match="more than 5 frames"):
        list(CaptureReader(captures["pcapng"], max_frames=5))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.sampled_from(["pcap", "pcapng"]), st.integers(min_value=0, max_value=2000))
def test_garbage_after_a_valid_start_is_handled(captures, tmp_path, tail, fmt, keep):
    data = captures[fmt].read_bytes()[:keep] + tail
    path = tmp_path / f"fuzz.{fmt}"
    path.write_bytes(data)
    try:
        result = flows_from_capture(path)
    except BadInput:
        return
    assert result.stats.frames >= 0


def test_policy_violations_are_the_unlisted_flows(captures):
    result = flows_from_capture(captures["pcapng"])
    violations = check_flows(compile_policy(PLUG_MUD), PLUG, result.flows, result.names)
    assert [(v.flow.dst, v.flow.dport, v.initiated, v.reason) for v in violations] == [
        (NTP, 123, "from-device", "from-device traffic no ACE permits it"),  # NTP by address, never resolved
        (STRANGER, 23, "from-device", "from-device traffic no ACE permits it"),
        (PLUG, 8443, "to-device", "to-device traffic no ACE permits it"),
    ]


def test_dns_name_not_resolved_in_capture_is_a_violation(captures):
    mud = build_mud(mud_url="https://n.example/m.json", manufacturer="N", model="P1",
                    endpoints=[Endpoint("other.northwind.example", "tcp", 443)])
    result = flows_from_capture(captures["pcap"])
    violations = check_flows(compile_policy(mud), PLUG, result.flows, result.names)
    assert (CLOUD, 443) in [(v.flow.dst, v.flow.dport) for v in violations]
    assert next(v for v in violations if v.flow.dport == 443).peer_names == ["cloud.northwind.example",
                                                                             "edge.cdn.example"]


def test_direction_initiated_is_enforced(captures):
    mud = build_mud(mud_url="https://n.example/m.json", manufacturer="N", model="P1",
                    endpoints=[Endpoint("cloud.northwind.example", "tcp", 443),
                               Endpoint(CLOUD, "tcp", 8443, "from-device")])
    result = flows_from_capture(captures["pcap"])
    violations = check_flows(compile_policy(mud), PLUG, result.flows, result.names)
    # The plug may open 8443 to the cloud, but the cloud opening 8443 on the plug is not allowed.
    assert (CLOUD, PLUG, 8443) in [(v.flow.src, v.flow.dst, v.flow.dport) for v in violations]


CONN_LOG = """#separator \\x09
#set_separator\t,
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tcount\tcount\tcount\tcount
1000.1\tC1\t10.0.0.5\t50000\t203.0.113.10\t443\ttcp\tssl\t0.05\t5\t2\tSF\t4\t165\t2\t82
1002.0\tC2\t10.0.0.5\t50001\t192.0.2.99\t23\ttcp\t-\t-\t-\t-\tS0\t1\t60\t0\t0
"""


def test_zeek_conn_log_reads_as_flows(tmp_path):
    log = tmp_path / "conn.log"
    log.write_text(CONN_LOG)
    flows = list(read_conn_log(log))
    assert summary(flows) == [(PLUG, CLOUD, 6, 50000, 443, 4, 2), (PLUG, STRANGER, 6, 50001, 23, 1, 0)]
    assert flows[0].last == pytest.approx(1000.15)


def test_zeek_json_lines_read_as_flows(tmp_path):
    log = tmp_path / "conn.json"
    log.write_text(json.dumps({"ts": 5.0, "id.orig_h": PLUG, "id.orig_p": 1, "id.resp_h": NTP, "id.resp_p": 123,
                               "proto": "udp", "orig_pkts": 1}) + "\n")
    assert summary(read_conn_log(log)) == [(PLUG, NTP, 17, 1, 123, 1, 0)]


@pytest.mark.parametrize(("text", "message"), [
    ("1\t2\n", "line 1: data before the #fields header (not a Zeek log?)"),
    ("#fields\tts\tid.orig_h\n1\t2\t3\n", "line 2: 3 columns where #fields names 2"),
    ("#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\nx\ta\t1\tb\t2\ttcp\n",
     "line 2: ts is not a number: 'x'"),
    ("#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n1\ta\t99999\tb\t2\ttcp\n",
     "line 2: port out of range"),
    ("{\"ts\": [\n", "line 1: invalid JSON record"),
])
def test_bad_conn_log_is_refused(tmp_path, text, message):
    log = tmp_path / "conn.log"
    log.write_text(text)
    with pytest.raises(BadInput) as err:
        list(read_conn_log(log))
    assert str(err.value) == message


def test_mud_check_cli_reports_violations(captures, tmp_path):
    mud = tmp_path / "p1.json"
    mud.write_text(json.dumps(PLUG_MUD))
    runner = CliRunner()
    result = runner.invoke(app, ["mud", "check", str(mud), str(captures["pcap"]), "--device", PLUG, "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["flows"] == 5
    assert [(v["flow"]["dst"], v["flow"]["dport"]) for v in report["violations"]] == [
        (NTP, 123), (STRANGER, 23), (PLUG, 8443)]
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"\x00" * 3)
    bad = runner.invoke(app, ["mud", "check", str(mud), str(junk), "--device", PLUG])
    assert bad.exit_code == 2
    assert bad.stderr == f"error: {junk}: not a capture: file shorter than a capture header\n"


def test_mud_generated_from_capture_covers_it(captures, tmp_path):
    runner = CliRunner()
    out = tmp_path / "observed.json"
    gen = runner.invoke(app, ["mud", "generate", "--pcap", str(captures["pcap"]), "--device", PLUG, "--mud-url",
                              "https://n.example/p1.json", "--manufacturer", "N", "--model", "P1", "-o", str(out)])
    assert gen.exit_code == 0, gen.output
    aces = [a["name"] for acl in json.loads(out.read_text())["ietf-access-control-list:acls"]["acl"]
            for a in acl["aces"]["ace"]]
    assert len(aces) == 10  # 5 endpoints (DNS, cloud by name, NTP and telnet by address, inbound 8443) x 2
    check = runner.invoke(app, ["mud", "check", str(out), str(captures["pcap"]), "--device", PLUG])
    assert check.exit_code == 0, check.output
    assert check.stdout.endswith("0 violation(s) in 5 flow(s) of 10.0.0.5\n")
