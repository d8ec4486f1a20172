"""Containment with real nftables in network namespaces made here: device -- gateway -- server.

The gateway loads the generated ruleset; real TCP connections from the device show what passes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from iotmark.mitigate.contain import apply_ruleset, bot_block_ruleset, quarantine_ruleset
from iotmark.mitigate.mud import Endpoint, build_mud
from iotmark.mitigate.policy import compile_policy

PID = os.getpid() % 100000
DEV, GW, SRV = f"imd{PID}", f"img{PID}", f"ims{PID}"
DEV_IP, SRV_IP = "10.77.1.2", "10.77.2.2"
SERVER = """
import socket, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen()
    while True:
        c, _ = s.accept(); c.sendall(b"ok"); c.close()
for p in (8443, 23, 2323):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""
CLIENT = """
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.7); print(s.recv(2).decode())
except OSError:
    print("blocked")
"""


def sh(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    server = None
    try:
        for ns in (DEV, GW, SRV):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"vd{PID}", "netns", DEV, "type", "veth", "peer", "name", f"vgd{PID}", "netns", GW)
        sh("ip", "link", "add", f"vs{PID}", "netns", SRV, "type", "veth", "peer", "name", f"vgs{PID}", "netns", GW)
        for ns, dev, addr in ((DEV, f"vd{PID}", "10.77.1.2/24"), (GW, f"vgd{PID}", "10.77.1.1/24"),
                              (GW, f"vgs{PID}", "10.77.2.1/24"), (SRV, f"vs{PID}", "10.77.2.2/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", DEV, "route", "add", "default", "via", "10.77.1.1")
        sh("ip", "-n", SRV, "route", "add", "default", "via", "10.77.2.1")
        sh("ip", "netns", "exec", GW, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        server = subprocess.Popen(["ip", "netns", "exec", SRV, sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
                                  text=True)
        assert server.stdout.readline().strip() == "ready"
        yield
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        for ns in (DEV, GW, SRV):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def connect(port: int) -> str:
    run = subprocess.run(["ip", "netns", "exec", DEV, sys.executable, "-c", CLIENT, SRV_IP, str(port)],
                         capture_output=True, text=True, timeout=30)
    return run.stdout.strip()


def clear() -> None:
    subprocess.run(["ip", "netns", "exec", GW, "nft", "flush", "ruleset"], check=True, timeout=30)


def test_without_rules_everything_passes(lab):
    clear()
    assert [connect(p) for p in (8443, 23, 2323)] == ["ok", "ok", "ok"]


def test_quarantine_keeps_only_mud_flows(lab):
    mud = build_mud(mud_url="https://lab.example/m.json", manufacturer="Lab", model="Plug",
                    endpoints=[Endpoint("server.lab.example", "tcp", 8443)])
    ruleset = quarantine_ruleset(compile_policy(mud), DEV_IP, {"server.lab.example": [SRV_IP]})
    assert f"ip saddr {DEV_IP} ip daddr {{ {SRV_IP} }} meta l4proto 6 th dport 8443" in ruleset
    try:
        apply_ruleset(ruleset, GW)
        assert [connect(p) for p in (8443, 23, 2323)] == ["ok", "blocked", "blocked"]
        apply_ruleset(ruleset, GW)  # applying again replaces, it does not stack
        listing = subprocess.run(["ip", "netns", "exec", GW, "nft", "list", "table", "inet", "iotmark_quarantine"],
                                 capture_output=True, text=True, check=True, timeout=30).stdout
        assert listing.count('comment "quarantine"') == 2
    finally:
        clear()


def test_unresolved_name_blocks_its_flow(lab):
    mud = build_mud(mud_url="https://lab.example/m.json", manufacturer="Lab", model="Plug",
                    endpoints=[Endpoint("server.lab.example", "tcp", 8443)])
    try:
        apply_ruleset(quarantine_ruleset(compile_policy(mud), DEV_IP, {}), GW)
        assert connect(8443) == "blocked"
    finally:
        clear()


def test_bot_block_cuts_telnet_only(lab):
    try:
        apply_ruleset(bot_block_ruleset(DEV_IP), GW)
        assert [connect(p) for p in (8443, 23, 2323)] == ["ok", "blocked", "blocked"]
    finally:
        clear()


def test_nft_rejects_a_broken_ruleset(lab):
    with pytest.raises(RuntimeError, match="nft refused the ruleset"):
        apply_ruleset("table inet x { chain y { bogus } }", GW, check_only=True)


def test_contain_cli_prints_block_rules_and_refuses_bad_device():
    from typer.testing import CliRunner

    from iotmark.mitigate.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["contain", "--device", DEV_IP, "--block-telnet"])
    assert ok.exit_code == 0
    assert f"ip saddr {DEV_IP} tcp dport {{ 23, 2323 }} counter drop" in ok.stdout
    bad = runner.invoke(app, ["contain", "--device", "not-an-ip", "--block-telnet"])
    assert bad.exit_code == 2
    assert bad.stderr == "error: not-an-ip: device 'not-an-ip' is not an IP address\n"
