"""The conformance verdict cache gives exactly the verdicts of the plain rule walk."""

from __future__ import annotations

import random

from iotmark.mitigate.conformance import ConformanceChecker
from iotmark.mitigate.flows import DnsNames, Flow
from iotmark.mitigate.mud import Endpoint, build_mud
from iotmark.mitigate.policy import compile_policy

DEVICE = "192.168.1.50"
ENDPOINTS = [Endpoint("cloud.example.com", "tcp", 443), Endpoint("api.example.com", "tcp", 8883),
             Endpoint("pool.ntp.org", "udp", 123), Endpoint("203.0.113.0/24", "tcp", 443),
             Endpoint("2001:db8::/32", "tcp", 443), Endpoint("local-networks", "tcp", 80, "to-device"),
             Endpoint("local-networks", "udp", 5353), Endpoint("198.51.100.7", "udp", 3478)]
PEERS = ["93.184.216.1", "93.184.216.2", "93.184.216.3", "203.0.113.9", "198.51.100.7", "192.168.1.7",
         "2001:db8::5", "2001:db9::5", "185.1.1.9", "224.0.0.251", "not-an-address", DEVICE]
PORTS = [-1, 0, 22, 53, 79, 80, 81, 123, 442, 443, 444, 3478, 5353, 8883, 40000, 65535, 65536, 70000]


def policy():
    mud = build_mud(mud_url="https://example.com/mud.json", endpoints=ENDPOINTS, manufacturer="Example",
                    model="Plug", systeminfo="plug")
    compiled = compile_policy(mud)
    # A port range and a negated port, so the port classes have to respect both.
    from dataclasses import replace
    compiled.from_device.insert(0, replace(compiled.from_device[0], ace="range", accept=False,
                                           peer_port=(1000, 2000, False), peer_net=None, peer_dns=None))
    compiled.to_device.append(replace(compiled.to_device[0], ace="neq", peer_port=(22, 22, True), peer_net=None,
                                      peer_dns=None))
    return compiled


def random_flows(rng: random.Random, count: int) -> list[Flow]:
    flows = []
    for _ in range(count):
        peer = rng.choice(PEERS)
        src, dst = (DEVICE, peer) if rng.random() < 0.6 else (peer, DEVICE)
        if rng.random() < 0.05:
            src = "10.9.9.9"
        ports = PORTS + [rng.randrange(0, 65536), rng.randrange(999, 2002)]
        at = rng.uniform(0, 100)
        flows.append(Flow(src, dst, rng.choice((6, 17, 1, 58)), rng.choice(ports), rng.choice(ports), at, at + 1,
                          1, 60, rng.choice((0, 0, 1, 3)), 60))
    return flows


def key(v):
    return None if v is None else (v.flow, v.initiated, v.reason, v.peer_names)


def test_cached_verdicts_equal_the_rule_walk():
    rng = random.Random(1234)
    names = DnsNames()
    for address, name, ts in [("93.184.216.1", "cloud.example.com", 10.0), ("93.184.216.1", "api.example.com", 60.0),
                              ("93.184.216.2", "api.example.com", 0.0), ("93.184.216.3", "pool.ntp.org", 50.0),
                              ("2001:db8::5", "cloud.example.com", 30.0)]:
        names.learn(address, name, ts)
    compiled = policy()
    cached = ConformanceChecker(compiled, DEVICE, names)
    plain = ConformanceChecker(compiled, DEVICE, names)
    flows = random_flows(rng, 20_000)
    for i, flow in enumerate(flows):
        if i == 10_000:  # names learned mid-run must not be hidden by earlier cached verdicts
            names.learn("93.184.216.3", "cloud.example.com", 20.0)
            names.learn("185.1.1.9", "api.example.com", 5.0)
        assert key(cached.check(flow)) == key(plain.check_uncached(flow)), flow
    assert cached._verdicts  # the cache was used


def test_cache_is_bounded(monkeypatch):
    import iotmark.mitigate.conformance as conformance

    monkeypatch.setattr(conformance, "MAX_CACHED_VERDICTS", 5)
    checker = ConformanceChecker(policy(), DEVICE, DnsNames())
    for flow in random_flows(random.Random(5), 500):
        checker.check(flow)
    assert len(checker._verdicts) <= 5


def test_check_all_gives_the_rule_walks_violations_in_order():
    """check_all (what `iotmark mud check` runs) keeps its lookups across the whole list: same verdicts, same
    order, as the plain rule walk flow by flow."""
    names = DnsNames()
    names.learn("93.184.216.1", "cloud.example.com", 10.0)
    names.learn("2001:db8::5", "cloud.example.com", 30.0)
    compiled = policy()
    flows = random_flows(random.Random(99), 20_000)
    plain = ConformanceChecker(compiled, DEVICE, names)
    expected = [key(v) for f in flows if (v := plain.check_uncached(f)) is not None]
    found = ConformanceChecker(compiled, DEVICE, names).check_all(flows)
    assert [key(v) for v in found] == expected and 1000 < len(expected) < len(flows)
