"""`iotmark mitigate ...` (and the top-level `mud`, `detect`): MUD files, flow checks, detection, containment.

Module-level imports are typer and the standard library only; each command imports its stage lazily.
Bad input is reported as one line `error: FILE: what was wrong` with exit code 2.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, List, NoReturn, Optional

import typer

log = logging.getLogger(__name__)

app = typer.Typer(help="Mitigate: MUD profiles, flow conformance, botnet detection, containment.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
mud_app = typer.Typer(help="Manufacturer Usage Description files (RFC 8520).", no_args_is_help=True,
                      pretty_exceptions_enable=False)
flows_app = typer.Typer(help="Flows from captures and Zeek logs, checked against MUD policies.",
                        no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(mud_app, name="mud")
app.add_typer(flows_app, name="flows")


def _fail(source: Path | str, message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {source}: {message}", err=True)
    raise typer.Exit(code)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _write(out: Optional[Path], data: bytes) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            out.write_bytes(data)
        except OSError as exc:
            _fail(out, f"cannot write: {exc.strerror or exc}")


# --- mud ------------------------------------------------------------------------------------------------------

@mud_app.command("generate")
def mud_generate(
    declaration: Optional[Path] = typer.Option(None, "--declaration", "-d", help="Vendor declaration (YAML)."),
    capture: Optional[Path] = typer.Option(None, "--pcap", help="Capture (pcap/pcapng) of the device's traffic."),
    device: Optional[str] = typer.Option(None, "--device", help="The device's address in the capture."),
    mud_url: Optional[str] = typer.Option(None, "--mud-url", help="https URL the MUD file will be served at."),
    manufacturer: Optional[str] = typer.Option(None, "--manufacturer", help="Without a declaration: maker name."),
    model: Optional[str] = typer.Option(None, "--model", help="Without a declaration: model name."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Generate a MUD file from a declaration and/or the flows a device made in a capture."""
    from iotmark.mitigate.mud import build_mud, endpoints_from_flows, mud_from_declaration
    from iotmark.mitigate.untrusted import BadInput
    from iotmark.mitigate.yang import validate_mud

    if declaration is None and capture is None:
        _fail("mud generate", "give --declaration and/or --pcap with --device")
    if capture is not None and not device:
        _fail(capture, "--device ADDRESS is needed to know whose flows to profile")
    observed = []
    if capture is not None:
        from iotmark.mitigate.flows import flows_from_capture

        try:
            result = flows_from_capture(capture)
            observed = endpoints_from_flows(result.flows, device or "", result.names)
        except BadInput as exc:
            _fail(capture, str(exc))
    try:
        if declaration is not None:
            decl = _load_declaration(declaration)
            mud = mud_from_declaration(decl, mud_url=mud_url, extra_endpoints=observed)
        else:
            if not (mud_url and manufacturer and model):
                _fail(capture or "mud generate", "without a declaration give --mud-url, --manufacturer and --model")
            mud = build_mud(mud_url=mud_url or "", endpoints=observed, manufacturer=manufacturer or "",
                            model=model or "")
    except BadInput as exc:
        _fail(declaration or capture or "mud generate", str(exc))
    errors = validate_mud(mud)
    if errors:  # our own output must conform; say so rather than write a bad file
        _fail("generated MUD", f"{errors[0].path}: {errors[0].message}", code=1)
    _write(out, (json.dumps(mud, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _load_declaration(path: Path) -> Any:
    from iotmark.mitigate.untrusted import BadInput, read_limited

    import yaml
    from pydantic import ValidationError

    from iotmark.model import Declaration

    try:
        data = yaml.safe_load(read_limited(path, 1024 * 1024))
        return Declaration.model_validate(data)
    except BadInput as exc:
        _fail(path, str(exc))
    except yaml.YAMLError as exc:
        _fail(path, f"invalid YAML: {str(exc).splitlines()[0]}")
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(path, f"not a declaration: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")


@mud_app.command("validate")
def mud_validate(
    files: List[Path] = typer.Argument(..., help="MUD files (JSON)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    workers: int = typer.Option(1, "--workers", min=1, help="Validate on this many Dask worker processes."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                            help="Address of a Dask scheduler to validate on instead."),
) -> None:
    """Validate MUD files against the RFC 8520 YANG modules; exit 1 if any is invalid."""
    from iotmark.mitigate.scale import validate_files

    for path in files:
        if not path.is_file():
            _fail(path, "no such file")
    results = validate_files([str(p) for p in files], workers=workers, scheduler=scheduler)
    for item in results:
        if "missing" in item:
            _fail(item["file"], item["missing"])
    if as_json:
        _emit_json(results)
    else:
        for item in results:
            if item["valid"]:
                typer.echo(f"{item['file']}: valid")
            for err in item["errors"]:
                typer.echo(f"{item['file']}: invalid at {err['path']}: {err['message']}")
    raise typer.Exit(0 if all(r["valid"] for r in results) else 1)


@mud_app.command("sign")
def mud_sign(
    file: Path = typer.Argument(..., help="MUD file to sign."),
    cert: Path = typer.Option(..., "--cert", help="Signer certificate (PEM)."),
    key: Path = typer.Option(..., "--key", help="Signer private key (PEM, unencrypted)."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Signature file (default FILE.p7s)."),
) -> None:
    """Write a CMS detached signature (DER) of a MUD file, as RFC 8520 section 13 describes."""
    from iotmark.mitigate.untrusted import BadInput, read_limited

    try:
        content = read_limited(file, 1024 * 1024)
    except BadInput as exc:
        _fail(file, str(exc))
    signature = _sign_bytes(content, cert, key, file)
    target = out or file.with_name(file.name + ".p7s")
    _write(target, signature)
    typer.echo(f"signed {file} -> {target}", err=True)


@mud_app.command("verify")
def mud_verify(
    file: Path = typer.Argument(..., help="MUD file."),
    signature: Path = typer.Argument(..., help="Its detached CMS signature (DER)."),
    ca: Path = typer.Option(..., "--ca", help="Trusted CA certificate(s), PEM."),
) -> None:
    """Verify a MUD file's detached signature against trusted CA certificates; exit 1 if it does not verify."""
    result = _verify_file(file, signature, ca, 1024 * 1024)
    typer.echo(f"{file}: signature good, signed by {result.signer} ({result.digest})")


def _sign_bytes(content: bytes, cert: Path, key: Path, where: Any) -> bytes:
    """A CMS detached signature (DER) of `content` by the PEM certificate and key, or a one-line error."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from iotmark.mitigate.sign import load_certificates, sign_detached
    from iotmark.mitigate.untrusted import BadInput, read_limited

    try:
        certificate = load_certificates(read_limited(cert, 256 * 1024))[0]
        private = load_pem_private_key(read_limited(key, 256 * 1024), password=None)
        return sign_detached(content, certificate, private)  # type: ignore[arg-type]
    except BadInput as exc:
        _fail(where, str(exc))
    except (ValueError, TypeError, IndexError) as exc:
        _fail(where, f"cannot sign: {exc}")


def _verify_file(file: Path, signature: Path, ca: Path, max_bytes: int) -> Any:
    """The verified signature of `file` under the trusted CAs; a one-line error (exit 1 if it does not verify)."""
    from iotmark.mitigate.sign import MAX_SIGNATURE_BYTES, SignatureInvalid, load_certificates, verify_detached
    from iotmark.mitigate.untrusted import BadInput, read_limited

    try:
        content = read_limited(file, max_bytes)
        sig = read_limited(signature, MAX_SIGNATURE_BYTES)
        trusted = load_certificates(read_limited(ca, 1024 * 1024))
    except BadInput as exc:
        _fail(file, str(exc))
    except ValueError as exc:
        _fail(ca, f"cannot read certificates: {exc}")
    try:
        return verify_detached(content, sig, trusted)
    except SignatureInvalid as exc:
        _fail(signature, f"signature invalid: {exc}", code=1)


# --- flows ----------------------------------------------------------------------------------------------------

def _flows_for(source: Path) -> Any:
    """Flows and DNS names of a capture, or of a Zeek conn.log (no DNS names) by its name."""
    from iotmark.mitigate.flows import CaptureFlows, DnsNames, flows_from_capture, read_conn_log
    from iotmark.mitigate.pcap import ReadStats

    if not source.is_file():
        _fail(source, "no such file")
    if source.name.startswith("conn") and source.suffix in (".log", ".json", ""):
        return CaptureFlows(list(read_conn_log(source)), DnsNames(), ReadStats())
    return flows_from_capture(source)


def _valid_mud(mud_file: Path) -> Any:
    """A MUD file that loads and conforms to the YANG modules, or a one-line error."""
    from iotmark.mitigate.mud import load_mud
    from iotmark.mitigate.untrusted import BadInput
    from iotmark.mitigate.yang import validate_mud

    try:
        mud = load_mud(mud_file)
    except BadInput as exc:
        _fail(mud_file, str(exc))
    errors = validate_mud(mud)
    if errors:
        _fail(mud_file, f"not a valid MUD file: {errors[0].path}: {errors[0].message}")
    return mud


@mud_app.command("check")
def mud_check(
    mud_file: Path = typer.Argument(..., help="The device's MUD file."),
    source: Path = typer.Argument(..., help="Capture (pcap/pcapng) or Zeek conn.log of the device's traffic."),
    device: str = typer.Option(..., "--device", help="The device's address."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check a device's flows against its MUD policy; exit 1 if any flow violates it."""
    from iotmark.mitigate.conformance import check_flows
    from iotmark.mitigate.policy import compile_policy
    from iotmark.mitigate.untrusted import BadInput

    mud = _valid_mud(mud_file)
    try:
        policy = compile_policy(mud)
        result = _flows_for(source)
    except BadInput as exc:
        _fail(source, str(exc))
    violations = check_flows(policy, device, result.flows, result.names)
    report = {"mud": str(mud_file), "source": str(source), "device": device,
              "flows": sum(1 for f in result.flows if device in (f.src, f.dst)),
              "truncated": result.stats.truncated, "violations": [v.as_dict() for v in violations]}
    if as_json:
        _emit_json(report)
    else:
        for v in violations:
            f = v.flow
            names = f" ({', '.join(v.peer_names)})" if v.peer_names else ""
            typer.echo(f"{f.src}:{f.sport} -> {f.dst}:{f.dport}/{f.proto}{names}: {v.reason}")
        typer.echo(f"{len(violations)} violation(s) in {report['flows']} flow(s) of {device}")
    raise typer.Exit(1 if violations else 0)


flows_app.command("check")(mud_check)


@flows_app.command("show")
def flows_show(source: Path = typer.Argument(..., help="Capture (pcap/pcapng) or Zeek conn.log.")) -> None:
    """Print the flows of a capture or conn.log as JSON lines."""
    from iotmark.mitigate.untrusted import BadInput

    try:
        result = _flows_for(source)
    except BadInput as exc:
        _fail(source, str(exc))
    for flow in result.flows:
        sys.stdout.write(json.dumps(flow.as_dict()) + "\n")
    if result.stats.truncated:
        typer.echo(f"warning: {source}: {result.stats.reason}", err=True)


@flows_app.command("folder")
def flows_folder(
    folder: Path = typer.Argument(..., help="Folder of captures (pcap/pcapng)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Analyse on this many Dask worker processes."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                            help="Address of a Dask scheduler to analyse on instead."),
) -> None:
    """Flows of every capture in a folder as one JSON list, in file-name order."""
    from iotmark.mitigate.scale import analyse_captures, captures_in

    if not folder.is_dir():
        _fail(folder, "no such folder")
    results = analyse_captures(captures_in(folder), workers=workers, scheduler=scheduler)
    _emit_json(results)
    for item in results:
        if "error" in item:
            typer.echo(f"warning: {item['source']}: {item['error']}", err=True)


# --- detect ---------------------------------------------------------------------------------------------------

@app.command("detect")
def detect_command(
    capture: Path = typer.Argument(..., help="Capture (pcap/pcapng) to analyse."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Find hosts behaving like botnet members (Mirai scanning, brute force, beaconing, floods)."""
    from iotmark.mitigate.detect import detect
    from iotmark.mitigate.flows import packets_from_capture
    from iotmark.mitigate.pcap import ReadStats
    from iotmark.mitigate.untrusted import BadInput

    if not capture.is_file():
        _fail(capture, "no such file")
    stats = ReadStats()
    try:
        hosts = detect(packets_from_capture(capture, stats))
    except BadInput as exc:
        _fail(capture, str(exc))
    if as_json:
        _emit_json({"capture": str(capture), "frames": stats.frames, "truncated": stats.truncated, "hosts": hosts})
        return
    for host in hosts:
        typer.echo(f"{host['address']}: {host['verdict']} ({host['confidence']}): {', '.join(host['behaviours'])}")
    typer.echo(f"{len(hosts)} host(s) flagged in {stats.frames} frame(s)")


# --- contain --------------------------------------------------------------------------------------------------

@app.command("contain")
def contain_command(
    device: List[str] = typer.Option(..., "--device",
                                     help="The device's address, IPv4 or IPv6 (repeat to give both)."),
    mud_file: Optional[Path] = typer.Option(None, "--mud", help="Quarantine to this MUD file's permitted flows."),
    capture: Optional[Path] = typer.Option(None, "--pcap", help="Capture whose DNS answers resolve MUD names."),
    resolve: List[str] = typer.Option([], "--resolve", help="NAME=ADDRESS for a MUD DNS name (repeatable)."),
    block_telnet: bool = typer.Option(False, "--block-telnet", help="Instead: drop 23/2323 and rate-limit."),
    apply: bool = typer.Option(False, "--apply", help="Load the ruleset with nft (needs root)."),
    netns: Optional[str] = typer.Option(None, "--netns", help="Network namespace to load it in."),
) -> None:
    """Print (or apply) nftables rules containing a device: MUD quarantine or telnet block."""
    from iotmark.mitigate.contain import apply_ruleset, bot_block_ruleset, quarantine_ruleset
    from iotmark.mitigate.untrusted import BadInput

    try:
        if block_telnet:
            ruleset = bot_block_ruleset(device)
        elif mud_file is not None:
            from iotmark.mitigate.mud import load_mud
            from iotmark.mitigate.policy import compile_policy
            from iotmark.mitigate.yang import validate_mud

            mud = load_mud(mud_file)
            errors = validate_mud(mud)
            if errors:
                _fail(mud_file, f"not a valid MUD file: {errors[0].path}: {errors[0].message}")
            names: dict[str, list[str]] = {}
            if capture is not None:
                from iotmark.mitigate.flows import flows_from_capture

                for address, seen in flows_from_capture(capture).names.seen.items():
                    for name in seen:
                        names.setdefault(name, []).append(address)
            for item in resolve:
                name, _, address = item.partition("=")
                if not address:
                    _fail(item, "--resolve takes NAME=ADDRESS")
                names.setdefault(name, []).append(address)
            ruleset = quarantine_ruleset(compile_policy(mud), device, names)
        else:
            _fail("contain", "give --mud FILE (quarantine) or --block-telnet")
    except BadInput as exc:
        _fail(mud_file or capture or ", ".join(device), str(exc))
    if not apply:
        sys.stdout.write(ruleset)
        return
    try:
        apply_ruleset(ruleset, netns)
    except (RuntimeError, OSError) as exc:
        _fail(netns or "nft", str(exc))
    typer.echo(f"ruleset loaded for {device}", err=True)


# --- incident -------------------------------------------------------------------------------------------------

incident_app = typer.Typer(help="Incident response by playbook (NIST SP 800-61r3) with EU CRA Art. 14 deadlines.",
                           no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(incident_app, name="incident")


def _when(value: Optional[str], option: str) -> Any:
    """An ISO 8601 time from an option (UTC when it has no offset), or None."""
    import datetime as dt

    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        _fail(option, f"{value!r} is not an ISO 8601 time (e.g. 2026-10-01T08:00:00+00:00)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _store() -> Any:
    from iotmark.mitigate.incidents import IncidentStore

    return IncidentStore()


def _load_incident(incident_id: str) -> Any:
    from iotmark.mitigate.untrusted import BadInput

    store = _store()
    try:
        return store, store.load(incident_id)
    except BadInput as exc:
        _fail(incident_id, str(exc))


@incident_app.command("playbooks")
def incident_playbooks(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the incident playbooks with their tasks, owners and CSF 2.0 functions."""
    from iotmark.mitigate.incidents import load_playbooks

    books = load_playbooks()
    if as_json:
        _emit_json([b.model_dump(mode="json") for b in books.values()])
        return
    for book in books.values():
        typer.echo(f"{book.id}: {book.title} [{book.cra_category}]")
        for task in book.tasks:
            typer.echo(f"  {task.id:<12} {task.csf.value:<9} {task.owner:<22} {task.title}")


@incident_app.command("open")
def incident_open(
    playbook: str = typer.Option(..., "--playbook", "-p", help="Playbook id (see `incident playbooks`)."),
    title: str = typer.Option(..., "--title", help="Short title of the incident."),
    from_detection: Optional[Path] = typer.Option(None, "--from-detection", help="`iotmark detect --json` output."),
    aware_at: Optional[str] = typer.Option(None, "--aware-at", help="When the manufacturer became aware (ISO 8601)."),
    member_state: List[str] = typer.Option([], "--member-state", help="Member State the product is sold in."),
    as_json: bool = typer.Option(False, "--json", help="Print the incident as JSON."),
) -> None:
    """Open an incident from a playbook; its CRA deadlines run from the time of awareness."""
    from iotmark.mitigate.incidents import hosts_from_detection, load_detection, open_incident
    from iotmark.mitigate.untrusted import BadInput

    detection = None
    if from_detection is not None:
        try:
            detection = load_detection(from_detection)
            hosts_from_detection(detection)
        except BadInput as exc:
            _fail(from_detection, str(exc))
    try:
        incident = open_incident(playbook, title, aware_at=_when(aware_at, "--aware-at"), detection=detection,
                                 member_states=member_state)
    except BadInput as exc:
        _fail(playbook, str(exc))
    _store().save(incident)
    if as_json:
        _emit_json(incident.model_dump(mode="json"))
    else:
        typer.echo(incident.id)


@incident_app.command("list")
def incident_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List incidents with open tasks and overdue CRA reports."""
    from iotmark.mitigate.incidents import deadlines
    from iotmark.mitigate.untrusted import BadInput

    store = _store()
    try:
        incidents = store.all()
    except BadInput as exc:
        _fail(store.folder, str(exc))
    rows = []
    for inc in incidents:
        overdue = [d.stage for d in deadlines(inc) if d.overdue]
        rows.append({"id": inc.id, "title": inc.title, "playbook": inc.playbook, "status": inc.status,
                     "open_tasks": sum(1 for t in inc.tasks if not t.done), "overdue": overdue,
                     "closed_at": inc.closure.model_dump(mode="json")["closed_at"] if inc.closure else None})
    if as_json:
        _emit_json(rows)
        return
    for row in rows:
        late = f"  OVERDUE: {', '.join(row['overdue'])}" if row["overdue"] else ""
        closed = f" {row['closed_at']}" if row["closed_at"] else ""
        typer.echo(f"{row['id']}  {row['status']}{closed}  {row['playbook']}  {row['open_tasks']} open task(s)  "
                   f"{row['title']}{late}")


@incident_app.command("show")
def incident_show(
    incident_id: str = typer.Argument(..., help="Incident id."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show an incident: tasks and owners, CRA deadlines (with overdue flags) and its timeline."""
    from iotmark.mitigate.incidents import deadlines

    _, inc = _load_incident(incident_id)
    dues = deadlines(inc)
    if as_json:
        _emit_json({**inc.model_dump(mode="json"), "deadlines": [d.model_dump(mode="json") for d in dues]})
        return
    typer.echo(f"{inc.id}: {inc.title} ({inc.playbook}, {inc.status})")
    typer.echo("CRA reporting:")
    for d in dues:
        state = (f"sent {d.submitted_at.isoformat()}" if d.submitted_at else "OVERDUE" if d.overdue else "due")
        typer.echo(f"  {d.stage:<14} {d.article:<14} {d.due.isoformat() if d.due else '-':<26} {state}  ({d.basis})")
    typer.echo("Tasks:")
    for t in inc.tasks:
        typer.echo(f"  [{'x' if t.done else ' '}] {t.id:<12} {t.csf.value:<9} {t.owner:<22} {t.title}")
    typer.echo("Timeline:")
    for e in inc.timeline:
        typer.echo(f"  {e.at.isoformat()}  {e.event}" + (f": {e.detail}" if e.detail else ""))
    if inc.closure is not None:
        done = inc.closure
        typer.echo(f"Closed {done.closed_at.isoformat()}" + (f" (forced: {done.reason})" if done.forced else ""))
        typer.echo(f"  Lessons learned: {done.lessons}")
        for item in done.improvements:
            typer.echo(f"  Improvement ({item.owner}): {item.action}")
        for item in done.open_at_close:
            typer.echo(f"  Still open at close: {item}")


@incident_app.command("close")
def incident_close(
    incident_id: str = typer.Argument(..., help="Incident id."),
    lessons: str = typer.Option(..., "--lessons", help="Lessons learned from the response (Recover/Improve)."),
    improvement: List[str] = typer.Option([], "--improvement",
                                          help="OWNER: ACTION, an improvement and the team owning it (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Close although tasks or CRA reports are open."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why a forced close is justified."),
) -> None:
    """Close an incident with lessons learned and owned improvements; refused while mandatory tasks or
    due CRA reports are open, unless --force --reason."""
    from iotmark.mitigate.incidents import close_incident, parse_improvement
    from iotmark.mitigate.untrusted import BadInput

    store, inc = _load_incident(incident_id)
    try:
        close_incident(inc, lessons, [parse_improvement(text) for text in improvement], force=force, reason=reason)
    except BadInput as exc:
        _fail(incident_id, str(exc))
    store.save(inc)
    typer.echo(f"{inc.id}: closed" + (f" (forced, {len(inc.closure.open_at_close)} open)" if inc.closure.forced else ""))


@incident_app.command("task")
def incident_task(
    incident_id: str = typer.Argument(..., help="Incident id."),
    task_id: str = typer.Argument(..., help="Task id."),
    done: bool = typer.Option(False, "--done", help="Mark the task done."),
) -> None:
    """Mark a task of an incident done (recorded on the timeline)."""
    from iotmark.mitigate.incidents import complete_task
    from iotmark.mitigate.untrusted import BadInput

    if not done:
        _fail(task_id, "say what to do with the task: --done")
    store, inc = _load_incident(incident_id)
    try:
        complete_task(inc, task_id)
    except BadInput as exc:
        _fail(incident_id, str(exc))
    store.save(inc)
    typer.echo(f"{inc.id}: {task_id} done")


@incident_app.command("measure")
def incident_measure(
    incident_id: str = typer.Argument(..., help="Incident id."),
    at: Optional[str] = typer.Option(None, "--at", help="When the measure became available (ISO 8601; default now)."),
    detail: str = typer.Option("", "--detail", help="What the measure is (e.g. firmware 2.4.1)."),
) -> None:
    """Record that a corrective or mitigating measure is available (starts the 14-day final report clock)."""
    from iotmark.mitigate.incidents import record_corrective_measure

    store, inc = _load_incident(incident_id)
    record_corrective_measure(inc, _when(at, "--at"), detail)
    store.save(inc)
    typer.echo(f"{inc.id}: corrective measure recorded")


@incident_app.command("report")
def incident_report(
    incident_id: str = typer.Argument(..., help="Incident id."),
    stage: str = typer.Option(..., "--stage", help="early-warning | notification | final"),
    fmt: str = typer.Option("json", "--format", help="json | markdown"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Write a CRA Art. 14 report stage (JSON or Markdown) and record it as sent on the incident."""
    from iotmark.mitigate.incidents import cra_report, report_markdown
    from iotmark.mitigate.untrusted import BadInput

    if fmt not in ("json", "markdown"):
        _fail(fmt, "--format must be json or markdown")
    store, inc = _load_incident(incident_id)
    try:
        report = cra_report(inc, stage)
    except BadInput as exc:
        _fail(incident_id, str(exc))
    text = report_markdown(report) if fmt == "markdown" else json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    _write(out, text.encode("utf-8"))
    store.save(inc)


# --- share ----------------------------------------------------------------------------------------------------

share_app = typer.Typer(help="Share detections, indicators and incidents as STIX 2.1 over TAXII 2.1.",
                        no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(share_app, name="share")


def _detection_file(path: Path) -> Any:
    from iotmark.mitigate.incidents import hosts_from_detection, load_detection
    from iotmark.mitigate.untrusted import BadInput

    try:
        report = load_detection(path)
        hosts_from_detection(report)
    except BadInput as exc:
        _fail(path, str(exc))
    return report


@share_app.command("export")
def share_export(
    detections: List[Path] = typer.Option([], "--detections", help="`iotmark detect --json` output (repeatable)."),
    incident: List[str] = typer.Option([], "--incident", help="Incident id (repeatable)."),
    indicator: List[str] = typer.Option([], "--indicator", help="IP, domain, URL or SHA-256 (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Export detections, incidents and indicators as one STIX 2.1 bundle."""
    from iotmark.mitigate.share import ShareError, detection_objects, incident_objects, indicator as make_indicator
    from iotmark.mitigate.share import make_bundle

    if not (detections or incident or indicator):
        _fail("share export", "give --detections, --incident or --indicator")
    objects: list[Any] = []
    for path in detections:
        objects += detection_objects(_detection_file(path))
    for incident_id in incident:
        objects += incident_objects(_load_incident(incident_id)[1])
    for value in indicator:
        try:
            objects.append(make_indicator(value, name=f"Indicator {value}"))
        except ShareError as exc:
            _fail(value, str(exc))
    _write(out, (make_bundle(objects).serialize(pretty=True) + "\n").encode("utf-8"))


def _taxii_options() -> Any:
    return (typer.Option(..., "--url", help="TAXII 2.1 API root URL."),
            typer.Option(..., "--collection", help="Collection id or title."),
            typer.Option(None, "--user", envvar="IOTMARK_TAXII_USER", help="User (or IOTMARK_TAXII_USER)."),
            typer.Option(None, "--password", envvar="IOTMARK_TAXII_PASSWORD",
                         help="Password (or IOTMARK_TAXII_PASSWORD)."))


_URL, _COLLECTION, _USER, _PASSWORD = _taxii_options()


@share_app.command("publish")
def share_publish(
    bundle: Path = typer.Argument(..., help="STIX 2.1 bundle (from `share export`)."),
    url: str = _URL, collection: str = _COLLECTION, user: Optional[str] = _USER, password: Optional[str] = _PASSWORD,
) -> None:
    """Publish a bundle's objects to a TAXII 2.1 collection; exit 1 if the server refuses any."""
    from iotmark.mitigate.share import ShareError, load_bundle, publish
    from iotmark.mitigate.untrusted import BadInput, read_limited

    try:
        data = load_bundle(read_limited(bundle, 64 * 1024 * 1024))
    except BadInput as exc:
        _fail(bundle, str(exc))
    try:
        status = publish(data, url, collection, user, password)
    except ShareError as exc:
        _fail(url, str(exc))
    typer.echo(f"{status['success']} of {status['total']} object(s) added to {collection} ({status['status']})")
    raise typer.Exit(1 if status["failure"] else 0)


@share_app.command("fetch")
def share_fetch(
    url: str = _URL, collection: str = _COLLECTION, user: Optional[str] = _USER, password: Optional[str] = _PASSWORD,
    added_after: Optional[str] = typer.Option(None, "--added-after", help="Only objects added after this time."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Fetch a TAXII 2.1 collection's objects as one STIX 2.1 bundle."""
    from iotmark.mitigate.share import ShareError, fetch

    try:
        bundle = fetch(url, collection, user, password, added_after)
    except ShareError as exc:
        _fail(url, str(exc))
    _write(out, (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


@share_app.command("notice")
def notice_command(
    manufacturer: str = typer.Option(..., "--manufacturer", help="Who issues the notice."),
    affected: List[str] = typer.Option(..., "--affected", help="MODEL=FIRMWARE[,FIRMWARE...] (repeatable)."),
    summary: str = typer.Option(..., "--summary", help="One or two sentences on what happened."),
    detections: Optional[Path] = typer.Option(None, "--detections", help="`iotmark detect --json` output."),
    indicator: List[str] = typer.Option([], "--indicator", help="IP, domain, URL or SHA-256 (repeatable)."),
    mud_file: Optional[Path] = typer.Option(None, "--mud", help="The model's MUD file, to enforce."),
    device: List[str] = typer.Option([], "--device", help="Device address to give containment rules for."),
    resolve: List[str] = typer.Option([], "--resolve", help="NAME=ADDRESS for a MUD DNS name (repeatable)."),
    fmt: str = typer.Option("json", "--format", help="json | markdown (stdout)."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="Write FILE (JSON) and FILE's .md twin."),
    sign_key: Optional[Path] = typer.Option(None, "--sign", help="Sign the JSON notice with this PEM private key "
                                            "(CMS detached, written to FILE.p7s; needs --cert and --output)."),
    sign_cert: Optional[Path] = typer.Option(None, "--cert", help="The signer's certificate (PEM)."),
) -> None:
    """The manufacturer → network-operator notice: affected models, indicators, MUD and containment rules."""
    from iotmark.mitigate.notice import build_notice, notice_markdown, parse_affected
    from iotmark.mitigate.untrusted import BadInput

    if fmt not in ("json", "markdown"):
        _fail(fmt, "--format must be json or markdown")
    if (sign_key is None) != (sign_cert is None) or (sign_key is not None and out is None):
        _fail("notice", "signing needs --sign KEY, --cert CERT and --output FILE together")
    report = _detection_file(detections) if detections is not None else None
    mud = _valid_mud(mud_file) if mud_file is not None else None
    names: dict[str, list[str]] = {}
    for item in resolve:
        name, _, address = item.partition("=")
        if not address:
            _fail(item, "--resolve takes NAME=ADDRESS")
        names.setdefault(name, []).append(address)
    try:
        notice = build_notice(manufacturer=manufacturer, affected=parse_affected(affected), summary=summary,
                              detection=report, indicators=indicator, mud=mud, devices=device, resolved=names)
    except BadInput as exc:
        _fail(mud_file or detections or "notice", str(exc))
    as_json = json.dumps(notice, indent=2, ensure_ascii=False) + "\n"
    if out is not None:
        content = as_json.encode("utf-8")
        signature = _sign_bytes(content, sign_cert, sign_key, "notice") if sign_key and sign_cert else None
        _write(out, content)
        _write(out.with_suffix(".md"), notice_markdown(notice).encode("utf-8"))
        written = f"{out} and {out.with_suffix('.md')}"
        if signature is not None:
            _write(out.with_name(out.name + ".p7s"), signature)
            written += f", signed in {out.name}.p7s"
        typer.echo(f"notice written to {written}", err=True)
        return
    _write(None, (as_json if fmt == "json" else notice_markdown(notice)).encode("utf-8"))


@share_app.command("notice-verify")
def notice_verify(
    notice: Path = typer.Argument(..., help="The notice (JSON) as received."),
    signature: Path = typer.Argument(..., help="Its detached CMS signature (DER, FILE.p7s)."),
    ca: Path = typer.Option(..., "--ca", help="Trusted CA certificate(s) of the manufacturer, PEM."),
) -> None:
    """Verify a manufacturer's notice against its detached signature; exit 1 if it does not verify."""
    from iotmark.mitigate.untrusted import BadInput, parse_json, read_limited

    result = _verify_file(notice, signature, ca, 16 * 1024 * 1024)
    try:
        body = parse_json(read_limited(notice, 16 * 1024 * 1024))
    except BadInput as exc:
        _fail(notice, f"signature good but not a notice: {exc}", code=1)
    issuer = body.get("manufacturer") if isinstance(body, dict) else None
    typer.echo(f"{notice}: signature good, signed by {result.signer} ({result.digest}); notice from {issuer}")
