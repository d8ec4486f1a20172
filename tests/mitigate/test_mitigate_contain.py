"""Containment with real nftables in network namespaces made here: device -- gateway -- server.

Both links carry IPv4 and IPv6 (ULA addresses, no duplicate address detection). The gateway loads the
generated ruleset; real TCP connections and UDP datagrams from the device, over both families, show what passes.
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
DEV_IP6, SRV_IP6 = "fd00:77:1::2", "fd00:77:2::2"
SERVER = """
import socket, threading
def dual_stack(kind):
    s = socket.socket(socket.AF_INET6, kind); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s
def serve(port):
    s = dual_stack(socket.SOCK_STREAM); s.bind(("::", port)); s.listen()
    while True:
        c, _ = s.accept(); c.sendall(b"ok"); c.close()
def echo(port):
    s = dual_stack(socket.SOCK_DGRAM); s.bind(("::", port))
    while True:
        data, peer = s.recvfrom(64); s.sendto(data, peer)
for p in (8443, 23, 2323):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Thread(target=echo, args=(9999,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""
UDP_BURST = """
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM); s.settimeout(0.6)
for i in range(int(sys.argv[2])):
    s.sendto(b"x", (sys.argv[1], 9999)); time.sleep(0.002)
got = 0
try:
    while True:
        s.recv(64); got += 1
except OSError:
    pass
print(got)
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
        for ns, dev, addr, addr6 in ((DEV, f"vd{PID}", "10.77.1.2/24", f"{DEV_IP6}/64"),
                                     (GW, f"vgd{PID}", "10.77.1.1/24", "fd00:77:1::1/64"),
                                     (GW, f"vgs{PID}", "10.77.2.1/24", "fd00:77:2::1/64"),
                                     (SRV, f"vs{PID}", "10.77.2.2/24", f"{SRV_IP6}/64")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "-6", "addr", "add", addr6, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", DEV, "route", "add", "default", "via", "10.77.1.1")
        sh("ip", "-n", SRV, "route", "add", "default", "via", "10.77.2.1")
        sh("ip", "-n", DEV, "-6", "route", "add", "default", "via", "fd00:77:1::1")
        sh("ip", "-n", SRV, "-6", "route", "add", "default", "via", "fd00:77:2::1")
        sh("ip", "netns", "exec", GW, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "netns", "exec", GW, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        server = subprocess.Popen(["ip", "netns", "exec", SRV, sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
                                  text=True)
        assert server.stdout.readline().strip() == "ready"
        # The first IPv6 packets wait for neighbour discovery on both links; settle that before any test.
        assert any(connect(8443, SRV_IP6) == "ok" for _ in range(10)), "IPv6 lab link did not come up"
        yield
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        for ns in (DEV, GW, SRV):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def connect(port: int, server: str = SRV_IP) -> str:
    run = subprocess.run(["ip", "netns", "exec", DEV, sys.executable, "-c", CLIENT, server, str(port)],
                         capture_output=True, text=True, timeout=30)
    return run.stdout.strip()


def udp_echoes(server: str, count: int) -> int:
    """How many of `count` UDP datagrams sent quickly from the device come back from the server's echo."""
    run = subprocess.run(["ip", "netns", "exec", DEV, sys.executable, "-c", UDP_BURST, server, str(count)],
                         capture_output=True, text=True, timeout=30)
    return int(run.stdout.strip())


def clear() -> None:
    subprocess.run(["ip", "netns", "exec", GW, "nft", "flush", "ruleset"], check=True, timeout=30)


def test_without_rules_everything_passes(lab):
    clear()
    assert [connect(p) for p in (8443, 23, 2323)] == ["ok", "ok", "ok"]
    assert [connect(p, SRV_IP6) for p in (8443, 23, 2323)] == ["ok", "ok", "ok"]
    assert udp_echoes(SRV_IP6, 40) == 40


def test_quarantine_covers_ipv6_too(lab):
    # The MUD file permits 8443 to the server's IPv6 network and, over IPv4, to its name only.
    mud = build_mud(mud_url="https://lab.example/m.json", manufacturer="Lab", model="Plug",
                    endpoints=[Endpoint("server.lab.example", "tcp", 8443), Endpoint("fd00:77:2::/64", "tcp", 8443)])
    ruleset = quarantine_ruleset(compile_policy(mud), [DEV_IP, DEV_IP6], {"server.lab.example": [SRV_IP]})
    assert f"ip6 saddr {DEV_IP6} ip6 daddr fd00:77:2::/64 meta l4proto 6 th dport 8443" in ruleset
    try:
        apply_ruleset(ruleset, GW)
        assert [connect(p, SRV_IP6) for p in (8443, 23, 2323)] == ["ok", "blocked", "blocked"]
        assert [connect(p) for p in (8443, 23, 2323)] == ["ok", "blocked", "blocked"]
        assert udp_echoes(SRV_IP6, 5) == 0
    finally:
        clear()


def test_ipv6_address_of_a_device_with_only_ipv4_acls_is_fully_blocked(lab):
    mud = build_mud(mud_url="https://lab.example/m.json", manufacturer="Lab", model="Plug",
                    endpoints=[Endpoint("server.lab.example", "tcp", 8443)])
    ruleset = quarantine_ruleset(compile_policy(mud), [DEV_IP6, DEV_IP], {"server.lab.example": [SRV_IP, SRV_IP6]})
    assert f'ip6 saddr {DEV_IP6} counter drop comment "quarantine"' in ruleset
    try:
        apply_ruleset(ruleset, GW)
        assert connect(8443, SRV_IP6) == "blocked"  # an ipv4 ACL's name does not open the AAAA address
        assert connect(8443) == "ok"
    finally:
        clear()


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


def test_bot_block_cuts_telnet_over_ipv6(lab):
    try:
        apply_ruleset(bot_block_ruleset([DEV_IP, DEV_IP6]), GW)
        assert [connect(p, SRV_IP6) for p in (8443, 23, 2323)] == ["ok", "blocked", "blocked"]
        assert [connect(p) for p in (8443, 23, 2323)] == ["ok", "blocked", "blocked"]
    finally:
        clear()


@pytest.mark.parametrize("server", [SRV_IP, SRV_IP6])
def test_rate_limit_drops_a_burst_over_both_families(lab, server):
    try:
        apply_ruleset(bot_block_ruleset([DEV_IP, DEV_IP6], rate_per_second=5), GW)
        passed = udp_echoes(server, 60)  # ~0.15 s of sending: burst 5 plus about one more per 0.2 s
        assert 3 <= passed <= 15
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
    both = runner.invoke(app, ["contain", "--device", DEV_IP, "--device", DEV_IP6, "--block-telnet"])
    assert f"ip6 saddr {DEV_IP6} tcp dport {{ 23, 2323 }} counter drop" in both.stdout
    bad = runner.invoke(app, ["contain", "--device", "not-an-ip", "--block-telnet"])
    assert bad.exit_code == 2
    assert bad.stderr == "error: not-an-ip: device 'not-an-ip' is not an IP address\n"
