"""Run untrusted extraction in a throw-away sandbox and make its output safe to read.

The worker runs in new user, network and PID namespaces (``unshare``) with resource limits
(file size, open files, CPU, address space, no core dumps); a watchdog in this process enforces
the wall-clock timeout, total size and file count by killing the whole namespace. Afterwards
``sanitise_tree`` removes device nodes, fifos, sockets and hard links shared with files outside
the tree, and strips set-id bits. Analysers open files through ``resolve_inside`` so a symlink
is resolved as if the extracted root were ``/`` and never leads out of it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_NAMESPACES = ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"]
_ADDRESS_SPACE = 8 * 1024**3
_OPEN_FILES = 4096
_MAX_SYMLINK_HOPS = 40


@dataclass
class SandboxRun:
    """How the sandboxed process ended."""

    returncode: int | None
    isolation: str
    limit_hit: str = ""
    stderr_tail: str = ""


@dataclass
class TreeUsage:
    """Size of an extracted tree, counting entries without following links."""

    files: int = 0
    bytes: int = 0


@functools.cache
def user_namespaces_available() -> bool:
    """True when this host lets us create the namespaces the sandbox uses."""
    try:
        proc = subprocess.run([*_NAMESPACES, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def measure_tree(root: Path, stop_after_files: int | None = None) -> TreeUsage:
    """Count entries and regular-file bytes under root (no link following)."""
    usage = TreeUsage()
    stack = [root]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                usage.files += 1
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        usage.bytes += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
        if stop_after_files is not None and usage.files > stop_after_files:
            break
    return usage


def _limit_resources(max_file_bytes: int, cpu_seconds: int) -> None:
    # Runs in the child between fork and exec; inherited by unshare, the worker and extractors.
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (_OPEN_FILES, _OPEN_FILES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (_ADDRESS_SPACE, _ADDRESS_SPACE))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_sandboxed(job: dict[str, object], work_dir: Path, *, timeout_s: float, max_total_bytes: int,
                  max_files: int) -> SandboxRun:
    """Run the extraction worker on ``job`` confined to ``work_dir``; never outlives timeout_s."""
    worker_dir = work_dir / "worker"
    (worker_dir / "tmp").mkdir(parents=True, exist_ok=True)
    job_file = worker_dir / "job.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    package_root = Path(__file__).resolve().parents[3]
    argv = [sys.executable, "-I", "-c",
            f"import sys; sys.path.insert(0, {str(package_root)!r}); "
            "from iotmark.collect.firmware._extract_worker import main; sys.exit(main())",
            str(job_file)]
    isolation = "user, network and PID namespaces"
    if user_namespaces_available():
        argv = [*_NAMESPACES, *argv]
    else:
        isolation = "resource limits only (user namespaces unavailable)"
        log.warning("user namespaces unavailable; extracting with resource limits only")
    # extractors installed with the package (jefferson, ubireader) live next to the interpreter
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
    env = {"PATH": path, "HOME": str(worker_dir), "LANG": "C.UTF-8",
           "TMPDIR": str(worker_dir / "tmp"), "PYTHONDONTWRITEBYTECODE": "1"}
    stderr_path = worker_dir / "stderr.log"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            argv, cwd=worker_dir, env=env, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
            start_new_session=True,
            preexec_fn=functools.partial(_limit_resources, max_total_bytes, int(timeout_s) + 10),
        )
        limit_hit = _watch(proc, work_dir / "extract", timeout_s, max_total_bytes, max_files)
    return SandboxRun(proc.returncode, isolation, limit_hit, _tail(stderr_path))


def _watch(proc: subprocess.Popen[bytes], tree: Path, timeout_s: float, max_bytes: int, max_files: int) -> str:
    """Poll until the worker exits; kill it at the first limit crossed and say which."""
    deadline = time.monotonic() + timeout_s
    interval = 0.1
    while True:
        try:
            proc.wait(timeout=interval)
            return ""
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline:
            _kill_group(proc)
            return f"timeout of {timeout_s:g} s reached"
        started = time.monotonic()
        usage = measure_tree(tree, stop_after_files=max_files)
        if usage.files > max_files:
            _kill_group(proc)
            return f"file count limit {max_files} reached"
        if usage.bytes > max_bytes:
            _kill_group(proc)
            return f"total size limit {max_bytes} bytes reached"
        # keep the watchdog's own cost a small share of the run on big trees
        interval = min(2.0, max(0.1, 5 * (time.monotonic() - started)))


def _tail(path: Path, size: int = 2000) -> str:
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - size))
        return fh.read().decode("utf-8", "replace")


@dataclass
class SanitiseReport:
    """What sanitising removed or changed, as paths relative to the tree."""

    removed_special: list[str] = field(default_factory=list)
    removed_hardlinks: list[str] = field(default_factory=list)
    setid_stripped: dict[str, str] = field(default_factory=dict)
    usage: TreeUsage = field(default_factory=TreeUsage)


def sanitise_tree(root: Path) -> SanitiseReport:
    """Make an extracted tree safe to read: regular files, directories and symlinks only.

    Device nodes, fifos and sockets are deleted; regular files hard-linked to something outside
    the tree are deleted; set-uid/set-gid bits are stripped (recorded with the original mode);
    directories become traversable so the tree can be analysed and deleted. Symlinks stay.
    """
    report = SanitiseReport()
    links: dict[tuple[int, int], list[Path]] = {}
    for path, st in _walk_lstat(root):
        rel = str(path.relative_to(root))
        mode = st.st_mode
        report.usage.files += 1
        if stat.S_ISDIR(mode):
            if mode & 0o700 != 0o700:
                os.chmod(path, (mode & 0o777) | 0o700)
        elif stat.S_ISREG(mode):
            report.usage.bytes += st.st_size
            if mode & (stat.S_ISUID | stat.S_ISGID):
                report.setid_stripped[rel] = oct(stat.S_IMODE(mode))
                os.chmod(path, stat.S_IMODE(mode) & 0o777)
            elif not mode & stat.S_IRUSR:
                os.chmod(path, stat.S_IMODE(mode) | stat.S_IRUSR)
            if st.st_nlink > 1:
                links.setdefault((st.st_dev, st.st_ino), []).append(path)
        elif not stat.S_ISLNK(mode):
            path.unlink()
            report.removed_special.append(rel)
    for paths in links.values():
        if paths[0].lstat().st_nlink > len(paths):
            # another name for this inode lives outside the tree: never read or keep it
            for path in paths:
                path.unlink()
                report.removed_hardlinks.append(str(path.relative_to(root)))
    return report


def _walk_lstat(root: Path):
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            if not os.lstat(directory).st_mode & stat.S_IXUSR:
                os.chmod(directory, 0o700)
            entries = list(os.scandir(directory))
        except OSError as exc:
            log.warning("cannot read %s: %s", directory, exc)
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield path, st
            if stat.S_ISDIR(st.st_mode):
                stack.append(path)


def resolve_inside(root: Path, rel: str | Path) -> Path | None:
    """Resolve ``rel`` inside ``root`` as if root were ``/``; None if it leaves root or loops.

    Absolute symlinks in a firmware tree mean the device's root, so ``/bin/sh`` resolves to
    ``root/bin/sh``; ``..`` never climbs above root. The result is the final path, which may be
    any file type; callers check it is a regular file before opening it.
    """
    parts = [p for p in Path(rel).parts if p not in ("/", "")]
    resolved: list[str] = []
    hops = 0
    while parts:
        name = parts.pop(0)
        if name == ".":
            continue
        if name == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, name)
        try:
            st = os.lstat(candidate)
        except OSError:
            return None if parts else candidate
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > _MAX_SYMLINK_HOPS:
                return None
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in Path(target).parts if p not in ("/", "")] + parts
            continue
        resolved.append(name)
    return root.joinpath(*resolved)
