"""`iotmark scan device ADDRESS`: probe a running device and write its evidence bundle; `iotmark lab up|down`:
the insecure-device lab in a network namespace, to try the probe on safely.

Only typer and the standard library are imported at module level, so `iotmark --version` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Probe a running device over the network.", no_args_is_help=True)
lab_app = typer.Typer(help="An insecure device (or its hardened twin) in a network namespace, to try the probe on.",
                      no_args_is_help=True)


@app.callback()
def _probe() -> None:
    """Probe a running device over the network (only the address given ever receives traffic)."""


def parse_ports(spec: str) -> list[int] | None:
    """"all" → None (every port); "22,80,8000-8100" → the listed ports. Raises ValueError on bad input."""
    if spec.strip().lower() in ("all", "-", "1-65535"):
        return None
    ports: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        start, end = int(low), int(high) if sep else int(low)
        if not (1 <= start <= end <= 65535):
            raise ValueError(f"port range {part!r} is outside 1-65535")
        ports.update(range(start, end + 1))
    return sorted(ports)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command("device")
def scan_device(
    address: str = typer.Argument(..., help="IP address (or host name, resolved once) of the device to probe."),
    ports: str = typer.Option("all", "--ports", help='TCP ports: "all" or a list like "22,80,8000-8100".'),
    rate: float = typer.Option(20000.0, "--rate", min=1.0, help="New connections per second at most."),
    concurrency: int = typer.Option(256, "--concurrency", min=1, max=4096, help="Open connections at most."),
    credentials: Optional[Path] = typer.Option(None, "--credentials",
                                               help="user:password list to try (default: the shared default list)."),
    budget: int = typer.Option(10, "--budget", min=0, max=1000, help="Login attempts per service."),
    udp: bool = typer.Option(True, "--udp/--no-udp", help="Also ask the common IoT UDP services."),
    deadline: float = typer.Option(900.0, "--deadline", min=5.0, help="Seconds for the whole probe."),
    target: Optional[Path] = typer.Option(None, "--target", help="target.yaml describing the device."),
    out: Path = typer.Option(Path("probe-scan"), "--out", help="Folder for bundle.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary and findings as JSON."),
) -> None:
    """Discover services, then test telnet, SSH, TLS, HTTP, MQTT, CoAP, UPnP, FTP/TFTP and SNMP."""
    import asyncio

    from iotmark.collect.probe.engine import ProbeError, probe_async, to_bundle
    from iotmark.collect.probe.session import ProbeOptions
    from iotmark.inputs import InputError, load_model
    from iotmark.model import Target

    try:
        port_list = parse_ports(ports)
    except ValueError as exc:
        _fail(f"--ports: {exc}")
    if credentials is not None and not credentials.is_file():
        _fail(f"--credentials: {credentials} is not a file")
    try:
        the_target = load_model(target, Target, max_bytes=1024 * 1024) if target else None
    except InputError as exc:
        _fail(str(exc))
    options = ProbeOptions(ports=port_list, udp=udp, concurrency=concurrency, rate=rate, credentials=credentials,
                           credential_budget=budget, deadline=deadline)
    try:
        if as_json:
            result = asyncio.run(probe_async(address, options))
        else:
            from rich.console import Console

            with Console(stderr=True).status(f"probing {address} ..."):
                result = asyncio.run(probe_async(address, options))
    except ProbeError as exc:
        _fail(str(exc))
    bundle = to_bundle(result, the_target)
    out.mkdir(parents=True, exist_ok=True)
    digest = bundle.save(out / "bundle.json")
    failed = [f for f in bundle.findings if f.outcome == "fail"]
    if as_json:
        summary = {"address": result.address, "bundle": str(out / "bundle.json"), "digest": digest,
                   "seconds": round(result.seconds, 2), "peak_connections": result.peak_connections,
                   "services": [s.observed() for s in result.services],
                   "findings": [f.model_dump(mode="json") for f in bundle.findings]}
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        return
    _render(bundle.findings)
    typer.echo(f"{len(result.services)} services, {len(failed)} failed checks in {result.seconds:.1f}s; "
               f"wrote {out / 'bundle.json'} ({digest[:12]})")


def _render(findings: list) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    table = Table("outcome", "severity", "check", "port", "detail")
    for f in sorted(findings, key=lambda f: (f.outcome != "fail", order[f.severity], f.evidence.port or 0)):
        table.add_row(f.outcome, f.severity, f.check, str(f.evidence.port or ""), f.detail[:100])
    Console().print(table)


@lab_app.command("up")
def lab_up(
    hardened: bool = typer.Option(False, "--hardened", help="The hardened twin: same services, strong auth, TLS 1.3."),
    timeout: float = typer.Option(30.0, "--timeout", min=1.0, help="Seconds to wait for the daemons' ports."),
) -> None:
    """Start the lab device (needs root); the last line printed is its address. Returns a lab already up."""
    from iotmark.collect.probe.labctl import LabError
    from iotmark.collect.probe.labctl import lab_up as start

    try:
        device, started = start(hardened=hardened, timeout=timeout)
    except LabError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.code) from None
    kind = "hardened twin" if hardened else "insecure device"
    state = "started" if started else "already up"
    typer.echo(f"lab {kind} {state} in network namespace {device.namespace}, files in {device.workdir}", err=True)
    typer.echo(f"ports: {','.join(str(p) for p in sorted(device.ports))}; probe it with "
               f"`iotmark scan device {device.address}`; remove it with `iotmark lab down`", err=True)
    typer.echo(device.address)


@lab_app.command("down")
def lab_down() -> None:
    """Stop the lab's daemons and remove its namespaces, interfaces, files and state (safe to repeat)."""
    from iotmark.collect.probe.labctl import LabError
    from iotmark.collect.probe.labctl import lab_down as remove

    try:
        removed = remove()
    except LabError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.code) from None
    typer.echo(f"removed {', '.join(removed)}" if removed else "no lab was up")
