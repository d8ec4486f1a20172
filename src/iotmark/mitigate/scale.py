"""Scale-out of per-file work on Dask worker processes: MUD validation (and flow analysis) of many files.

Each worker process builds the YANG data model once (`yang.data_model` is a per-process cache) and
validates a contiguous chunk of the files, so results come back in the input order and equal the serial run.
"""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

log = logging.getLogger(__name__)


def validate_path(path: str) -> dict[str, Any]:
    """One file's result `{"file", "valid", "errors"}`; `{"file", "missing": message}` without YANG modules."""
    from iotmark.mitigate.mud import load_mud
    from iotmark.mitigate.untrusted import BadInput
    from iotmark.mitigate.yang import SchemaError, YangModulesMissing, validate_mud

    try:
        errors = validate_mud(load_mud(Path(path)))
    except BadInput as exc:
        errors = [SchemaError("/", str(exc))]
    except YangModulesMissing as exc:
        return {"file": path, "missing": str(exc)}
    return {"file": path, "valid": not errors, "errors": [e.as_dict() for e in errors]}


def validate_chunk(paths: Sequence[str]) -> list[dict[str, Any]]:
    """Results of a chunk of files, in order, stopping after a file whose YANG modules are missing."""
    out = []
    for path in paths:
        out.append(validate_path(path))
        if "missing" in out[-1]:
            break
    return out


def _chunks(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """`items` cut into at most `parts` contiguous, nearly equal chunks (input order kept)."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        chunks.append(list(items[start:end]))
        start = end
    return [c for c in chunks if c]


def map_chunks(func: Callable[[list[Any]], list[Any]], items: Sequence[Any], workers: int,
               scheduler: Optional[str] = None, chunks_per_worker: int = 4, always_dask: bool = False) -> list[Any]:
    """`func` over contiguous chunks of `items` on Dask, results concatenated in input order.

    Without `scheduler`, dask's "processes" scheduler with `workers` processes; with a scheduler address,
    the tasks go to that distributed cluster.
    """
    items = list(items)
    if not items:
        return []
    if workers <= 1 and scheduler is None and not always_dask:
        return func(items)
    import dask

    chunks = _chunks(items, max(1, workers) * chunks_per_worker)
    tasks = [dask.delayed(func, pure=True)(chunk) for chunk in chunks]
    if scheduler is not None:
        from distributed import Client

        with Client(scheduler, timeout="10s") as client:
            parts = client.compute(tasks, sync=True)
    else:
        # fork (where the platform has it) starts workers without re-importing anything, and they inherit
        # whatever per-process caches the parent already built (e.g. the YANG data model).
        context = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        # chunksize=1: the processes scheduler otherwise hands up to six ready tasks to one worker as a batch,
        # so our few coarse tasks (one per worker) all ran in one process, one after another.
        with dask.config.set({"multiprocessing.context": context}):
            parts = dask.compute(*tasks, scheduler="processes", num_workers=workers, chunksize=1)
    return [result for part in parts for result in part]


def validate_files(paths: Sequence[str], workers: int = 1, scheduler: Optional[str] = None,
                   always_dask: bool = False) -> list[dict[str, Any]]:
    """Validation results of MUD files, in input order, serial (one worker) or on Dask worker processes.

    The YANG data model is built here first (once), so forked workers inherit it; spawned or remote workers
    build it once each (`yang.data_model` is cached per process).
    """
    from iotmark.mitigate.yang import YangModulesMissing, data_model

    if scheduler is None and paths:
        try:
            data_model()
        except YangModulesMissing:
            pass  # reported per file, like the serial run
    return map_chunks(validate_chunk, list(paths), workers, scheduler, always_dask=always_dask)


CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")


def analyse_capture(path: str) -> dict[str, Any]:
    """Flows, DNS names and read statistics of one capture as plain data; `{"source", "error"}` if unreadable."""
    from iotmark.mitigate.flows import flows_from_capture
    from iotmark.mitigate.untrusted import BadInput

    try:
        result = flows_from_capture(Path(path))
    except BadInput as exc:
        return {"source": path, "error": str(exc)}
    names = {address: sorted(found) for address, found in sorted(result.names.seen.items())}
    return {"source": path, "frames": result.stats.frames, "truncated": result.stats.truncated,
            "reason": result.stats.reason, "flows": [f.as_dict() for f in result.flows], "names": names}


def analyse_chunk(items: Sequence[tuple[int, str]]) -> list[tuple[int, dict[str, Any]]]:
    """`analyse_capture` of each (position, path), keeping the position so results can be put back in order."""
    return [(position, analyse_capture(path)) for position, path in items]


def balanced_chunks(sizes: Sequence[int], parts: int) -> list[list[int]]:
    """Positions of `sizes` split into at most `parts` groups of nearly equal total size (largest first into
    the lightest group), each group in ascending position order."""
    groups: list[list[int]] = [[] for _ in range(max(1, min(parts, len(sizes))))]
    loads = [0] * len(groups)
    for position in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        lightest = loads.index(min(loads))
        groups[lightest].append(position)
        loads[lightest] += sizes[position]
    return [sorted(g) for g in groups if g]


def captures_in(folder: Path) -> list[str]:
    """The captures directly in `folder`, sorted by name."""
    return [str(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in CAPTURE_SUFFIXES]


def analyse_captures(paths: Sequence[str], workers: int = 1, scheduler: Optional[str] = None,
                     always_dask: bool = False) -> list[dict[str, Any]]:
    """`analyse_capture` of each capture, in input order, serial (one worker) or on Dask worker processes.

    One task per worker, the captures shared out by size so that one worker does not get all the big ones.
    """
    paths = list(paths)
    sizes = [_size(p) for p in paths]
    groups = balanced_chunks(sizes, max(1, workers)) if paths else []
    # Each group is one item, so map_chunks (one chunk per worker) hands every worker exactly one group.
    parts = map_chunks(_analyse_groups, [[(i, paths[i]) for i in g] for g in groups], workers, scheduler,
                       chunks_per_worker=1, always_dask=always_dask)
    return [result for _, result in sorted(parts, key=lambda pair: pair[0])]


def _analyse_groups(groups: Sequence[Sequence[tuple[int, str]]]) -> list[tuple[int, dict[str, Any]]]:
    return [pair for group in groups for pair in analyse_chunk(group)]


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # unreadable: analyse_capture reports it
