"""Botnet detection on captures built here: a Mirai-like bot, a plain scanner, a beacon, floods, water torture."""

from __future__ import annotations

import ipaddress
import json
import random

import pytest
from mitigate_traffic import DNS, DNSQR, GRE, IP, TCP, UDP, _eth, plug_traffic, tcp_session, write
from typer.testing import CliRunner

from iotmark.mitigate.cli import app
from iotmark.mitigate.detect import detect, load_thresholds
from iotmark.mitigate.flows import packets_from_capture

BOT, SCANNER, BEACON, SYNF, UDPF, GREF, ACKF, TORTURE = (f"10.0.0.{n}" for n in (66, 67, 68, 70, 71, 72, 73, 74))
VICTIM = "192.0.2.1"


def bot_traffic() -> list:
    rng = random.Random(8)
    frames = []
    t = 2000.0
    for i in range(40):  # Mirai: raw SYNs whose sequence number is the target address
        dst = str(ipaddress.IPv4Address(rng.randrange(0x0B000000, 0xDF000000)))
        port = 2323 if i % 10 == 0 else 23
        frames.append(_eth(IP(src=BOT, dst=dst) / TCP(sport=40000 + i, dport=port, flags="S",
                                                       seq=int(ipaddress.IPv4Address(dst))), t + i * 0.01))
    for i in range(10):  # then logs in to a found device, one dictionary entry per connection
        frames += tcp_session(BOT, "10.0.0.7", 41000 + i, 23, 2010.0 + i, b"admin\r\nxc3511\r\n")
    for i in range(30):  # a plain scanner: same ports, random sequence numbers
        dst = f"198.18.{i}.{i + 1}"
        frames.append(_eth(IP(src=SCANNER, dst=dst) / TCP(sport=50000 + i, dport=23, flags="S",
                                                           seq=rng.randrange(2**32)), 2100.0 + i * 0.01))
    for i in range(8):  # C2 check-in every minute, with a little jitter
        frames += tcp_session(BEACON, "198.51.100.77", 42000 + i, 6667, 3000.0 + 60 * i + rng.uniform(-0.5, 0.5))
    for i in range(600):
        frames.append(_eth(IP(src=SYNF, dst=VICTIM) / TCP(sport=1024 + i, dport=80, flags="S"), 4000.0 + i * 0.001))
        frames.append(_eth(IP(src=UDPF, dst=VICTIM) / UDP(sport=1024 + i, dport=9) / (b"x" * 64), 4000 + i * 0.001))
        frames.append(_eth(IP(src=ACKF, dst=VICTIM) / TCP(sport=1024 + i, dport=80, flags="A"), 4000 + i * 0.001))
    for i in range(300):
        frames.append(_eth(IP(src=GREF, dst=VICTIM) / GRE() / IP(src="1.2.3.4", dst="5.6.7.8") / UDP(),
                           4000 + i * 0.002))
    for i in range(60):
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        q = IP(src=TORTURE, dst="10.0.0.1") / UDP(sport=30000 + i, dport=53) / DNS(
            id=i, rd=1, qd=DNSQR(qname=f"{label}.victim.example"))
        frames.append(_eth(q, 5000 + i * 0.05))
    return sorted(frames + plug_traffic(), key=lambda f: float(f.time))


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    return write(bot_traffic(), tmp_path_factory.mktemp("bots") / "bots.pcapng", "pcapng")


@pytest.fixture(scope="module")
def verdicts(capture):
    return {h["address"]: h for h in detect(packets_from_capture(capture))}


def test_only_misbehaving_hosts_are_flagged(verdicts):
    assert sorted(verdicts) == sorted([BOT, SCANNER, BEACON, SYNF, UDPF, GREF, ACKF, TORTURE])


def test_mirai_bot_scans_with_its_fingerprint_and_brute_forces(verdicts):
    bot = verdicts[BOT]
    assert bot["verdict"] == "botnet"
    assert bot["behaviours"] == ["brute_force", "mirai_fingerprint", "telnet_scan"]
    evidence = {e["kind"]: e for e in bot["evidence"]}
    assert evidence["mirai_fingerprint"]["evidence"] == {"syns_with_seq_equal_to_destination": 40, "scan_syns": 50}
    assert evidence["mirai_fingerprint"]["confidence"] == 0.99
    assert evidence["telnet_scan"]["evidence"]["destinations"] == 41  # 40 probed plus the one logged in to
    assert evidence["brute_force"]["evidence"] == {"target": "10.0.0.7", "port": 23, "connections_with_data": 10}


def test_plain_scanner_has_no_mirai_fingerprint(verdicts):
    assert verdicts[SCANNER]["behaviours"] == ["telnet_scan"]
    # 30 targets is 1.5 x the threshold of 20: 0.6 + 0.35 * 0.5, below the 0.8 a botnet verdict needs.
    assert verdicts[SCANNER]["evidence"][0]["confidence"] == 0.77
    assert verdicts[SCANNER]["verdict"] == "suspicious"


def test_regular_check_ins_are_beaconing(verdicts):
    beacon = verdicts[BEACON]
    assert beacon["verdict"] == "suspicious"
    ev = beacon["evidence"][0]
    assert (ev["kind"], ev["evidence"]["target"], ev["evidence"]["port"], ev["evidence"]["connections"]) == (
        "c2_beaconing", "198.51.100.77", 6667, 8)


@pytest.mark.parametrize(("host", "kind", "packets"), [(SYNF, "syn_flood", 600), (UDPF, "udp_flood", 600),
                                                       (ACKF, "ack_flood", 600), (GREF, "gre_flood", 300)])
def test_floods_name_their_target(verdicts, host, kind, packets):
    assert verdicts[host]["behaviours"] == [kind]
    ev = verdicts[host]["evidence"][0]["evidence"]
    assert (ev["target"], ev["packets"]) == (VICTIM, packets)
    assert verdicts[host]["verdict"] == "botnet"


def test_random_subdomains_are_water_torture(verdicts):
    ev = verdicts[TORTURE]["evidence"][0]
    assert ev["kind"] == "dns_water_torture"
    assert (ev["evidence"]["domain"], ev["evidence"]["queries"], ev["evidence"]["distinct_names"]) == (
        "victim.example", 60, 60)


def test_thresholds_are_data(capture):
    thresholds = load_thresholds()
    thresholds["telnet_scan"]["min_destinations"] = 50
    hosts = {h["address"]: h for h in detect(packets_from_capture(capture), thresholds)}
    assert SCANNER not in hosts
    assert "telnet_scan" not in hosts[BOT]["behaviours"]


def test_detect_cli_contract(capture, tmp_path):
    result = CliRunner().invoke(app, ["detect", str(capture), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert {h["address"] for h in report["hosts"]} == {BOT, SCANNER, BEACON, SYNF, UDPF, GREF, ACKF, TORTURE}
    assert set(report["hosts"][0]) == {"address", "verdict", "confidence", "behaviours", "evidence"}
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    bad = CliRunner().invoke(app, ["detect", str(empty)])
    assert bad.exit_code == 2
    assert bad.stderr == f"error: {empty}: not a capture: file shorter than a capture header\n"
