"""`iotmark lab up|down`: the insecure-device lab (lab.py) for users, with what it made recorded on disk.

One lab of each kind (weak, hardened) per `$IOTMARK_HOME`. Its namespace and veth names derive from that
folder, so two homes never collide and `lab down` can find them even when the state file is damaged.
The state file (`$IOTMARK_HOME/lab/<kind>.json`) is written before anything is created and again once
the lab runs, so an interrupted `lab up` leaves enough behind for `lab down` to remove it all.
`lab up` while that kind is already up returns the running lab; a stale state (namespace gone) is
cleaned up first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from iotmark.collect.probe.lab import LabDevice, lab_unavailable, new_lab, run_lab, stop_lab

log = logging.getLogger(__name__)
KINDS = ("weak", "hardened")
WORK_PREFIX = "iotmark-lab-"


class LabError(Exception):
    """The lab cannot be brought up; one line for the user. `code` 2 means the machine lacks something."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def lab_home() -> Path:
    """`$IOTMARK_HOME/lab`: the state files and (when reachable by the daemons' users) the work folders."""
    from iotmark.workflows import iotmark_home

    return iotmark_home() / "lab"


def lab_names(kind: str, home: Path | None = None) -> tuple[str, str]:
    """(namespace, host-side veth) of the `kind` lab of this home; fixed, so `lab down` can always find them."""
    tag = hashlib.sha256(str((home or lab_home()).resolve()).encode()).hexdigest()[:6]
    return f"iotmark-lab-{tag}-{kind[0]}", f"iotl{tag}{kind[0]}"


def _state_path(kind: str) -> Path:
    return lab_home() / f"{kind}.json"


def _world_searchable(folder: Path) -> bool:
    """True when every folder from / down to `folder` lets other users pass (the FTP and login users must)."""
    for part in [folder, *folder.parents]:
        if part.exists() and not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def _work_folder(kind: str) -> Path:
    """`$IOTMARK_HOME/lab/<kind>`, or a fresh folder under the temp dir when the daemons could not reach it."""
    home = lab_home()
    if _world_searchable(home.parent):
        folder = home / kind
        folder.mkdir(parents=True, exist_ok=True)
    else:
        log.info("%s is private to its owner; the lab's files go to the temp folder", home.parent)
        folder = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{kind}-"))
    folder.chmod(0o755)
    return folder


def _save(device: LabDevice, complete: bool) -> None:
    data: dict[str, Any] = {"namespace": device.namespace, "host_veth": device.host_veth, "address": device.address,
            "host_address": device.host_address, "hardened": device.hardened, "workdir": str(device.workdir),
            "ports": sorted(device.ports), "pids": device.pids, "complete": complete}
    if complete:  # until then `lab down` assumes everything this lab's names point at is its own
        data["made"] = device.made
    path = _state_path("hardened" if device.hardened else "weak")
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)


def _load(kind: str) -> dict[str, Any] | None:
    """The state of the `kind` lab, {} when its file is unreadable, None when there is none."""
    path = _state_path(kind)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.warning("lab state %s is unreadable (%s); removing the lab by its names", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _device_from_state(kind: str, data: dict[str, Any]) -> LabDevice:
    """The lab a (possibly partial) state describes; what the state does not say is assumed made."""
    namespace, veth = lab_names(kind)
    return LabDevice(namespace=str(data.get("namespace") or namespace), host_veth=str(data.get("host_veth") or veth),
                     host_address=str(data.get("host_address", "")), address=str(data.get("address", "")),
                     hardened=kind == "hardened", workdir=Path(data.get("workdir") or lab_home() / kind),
                     ports=set(data.get("ports", [])), pids=list(data.get("pids", [])),
                     made=list(data.get("made", ["netns", "veth", "workdir"])))


def _namespace_exists(namespace: str) -> bool:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return namespace in {line.split()[0] for line in out.splitlines() if line.strip()}


def _remove(kind: str, device: LabDevice) -> None:
    """Tear down one lab: processes, namespace, veth, its work folder (only one this code names), state file."""
    stop_lab(device)
    workdir = device.workdir
    ours = workdir.parent == lab_home() or (workdir.parent == Path(tempfile.gettempdir())
                                            and workdir.name.startswith(WORK_PREFIX))
    if "workdir" in device.made and ours:
        shutil.rmtree(workdir, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        _state_path(kind).unlink()
    _state_path(kind).with_suffix(".tmp").unlink(missing_ok=True)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP during `lab up` unwind like Ctrl-C, so the rollback runs."""
    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def lab_up(hardened: bool = False, timeout: float = 30.0) -> tuple[LabDevice, bool]:
    """Start the lab of this kind, or find it running: (device, started now). Raises LabError."""
    reason = lab_unavailable()
    if reason:
        raise LabError(reason, code=2)
    kind = "hardened" if hardened else "weak"
    lab_home().mkdir(parents=True, exist_ok=True)
    state = _load(kind)
    if state is not None:
        device = _device_from_state(kind, state)
        if state.get("complete") and device.address and _namespace_exists(device.namespace):
            return device, False
        log.info("removing the remains of an earlier %s lab (%s)", kind, device.namespace)
        _remove(kind, device)
    namespace, veth = lab_names(kind)
    if _namespace_exists(namespace):
        raise LabError(f"network namespace {namespace} exists but no lab state records it; "
                       f"remove it with `ip netns del {namespace}` and run `iotmark lab up` again")
    device = new_lab(Path(lab_home() / kind), hardened=hardened, namespace=namespace, host_veth=veth)
    _save(device, complete=False)  # before anything exists, so an interrupted start can still be undone
    try:
        with _signals_raise():
            device.workdir = _work_folder(kind)
            device.made.append("workdir")
            _save(device, complete=False)
            run_lab(device, timeout)
            _save(device, complete=True)
    except BaseException as exc:
        _remove(kind, device)
        if isinstance(exc, Exception):
            raise LabError(f"the lab did not start and was removed again: {str(exc).splitlines()[0]}") from exc
        raise
    return device, True


def lab_down() -> list[str]:
    """Remove every lab of this home (idempotent); returns the namespaces removed."""
    removed = []
    for kind in KINDS:
        state = _load(kind)
        namespace, _ = lab_names(kind)
        if state is None and not _namespace_exists(namespace):
            continue
        if os.geteuid() != 0:
            raise LabError("removing the lab needs root (it deletes network namespaces)", code=2)
        device = _device_from_state(kind, state or {})
        _remove(kind, device)
        removed.append(device.namespace)
    return removed
