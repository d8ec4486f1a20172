"""Many scenarios at once: per-scenario results, the portfolio total, roll-ups by device class and vendor.

Iterations are cut into blocks of `BLOCK`; a task simulates every scenario over a range of blocks and returns
mergeable summaries (histograms, moments), never the draws, so memory stays flat and tasks can run on Dask
workers. Because each block has its own seeded streams, the result is the same for any number of workers.
Correlation between scenarios is induced on ranks (Iman-Conover): each scenario's draws are reordered to follow
correlated normal scores, which keeps every scenario's own distribution exactly as simulated.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from iotmark.risk.histogram import LossHistogram, Moments
from iotmark.risk.ontology import Scenario
from iotmark.risk.simulate import BLOCK, ScenarioSampler, Streams

log = logging.getLogger(__name__)

GROUPINGS = ("device_class", "vendor")
# Values held at once when correlated scenarios must be reordered together (scenarios x chunk).
CORRELATED_VALUES = 1 << 22


@dataclass
class PortfolioSummary:
    """Mergeable results of some blocks: each scenario, its nodes, the total and the roll-ups."""

    scenarios: list[LossHistogram]
    nodes: list[dict[str, Moments]]
    total: LossHistogram = field(default_factory=LossHistogram)
    groups: dict[str, dict[str, LossHistogram]] = field(default_factory=dict)

    @classmethod
    def empty(cls, count: int) -> "PortfolioSummary":
        return cls([LossHistogram() for _ in range(count)], [{} for _ in range(count)])

    def merge(self, other: "PortfolioSummary") -> None:
        for mine, theirs in zip(self.scenarios, other.scenarios):
            mine.merge(theirs)
        for mine_nodes, their_nodes in zip(self.nodes, other.nodes):
            for name, moments in their_nodes.items():
                mine_nodes.setdefault(name, Moments()).merge(moments)
        self.total.merge(other.total)
        for grouping, members in other.groups.items():
            for key, hist in members.items():
                self.groups.setdefault(grouping, {}).setdefault(key, LossHistogram()).merge(hist)


def correlation_factor(correlation: float | list[list[float]], count: int) -> np.ndarray | None:
    """A matrix L with L @ L.T equal to the requested correlation matrix, or None for independent scenarios."""
    if isinstance(correlation, (int, float)):
        if correlation == 0 or count < 2:
            return None
        matrix = np.full((count, count), float(correlation))
        np.fill_diagonal(matrix, 1.0)
    else:
        matrix = np.asarray(correlation, dtype=np.float64)
        if not np.allclose(matrix, matrix.T) or not np.allclose(np.diag(matrix), 1.0):
            raise ValueError("portfolio.correlation: expected a symmetric matrix with ones on the diagonal")
    values, vectors = np.linalg.eigh(matrix)
    if values.min() < -1e-9:
        raise ValueError("portfolio.correlation: the matrix is not a valid correlation matrix "
                         "(not positive semi-definite)")
    # The eigen form also handles singular matrices (e.g. correlation 1), where Cholesky fails.
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def _reorder_by_ranks(draws: list[np.ndarray], factor: np.ndarray, rng: np.random.Generator) -> None:
    """Iman-Conover: permute each scenario's draws in place so their ranks follow correlated normal scores."""
    scores = rng.standard_normal((draws[0].size, factor.shape[1])) @ factor.T
    for j, values in enumerate(draws):
        order = np.argsort(scores[:, j], kind="stable")
        ranked = np.sort(values)
        values[order] = ranked


def simulate_blocks(scenarios: Sequence[Scenario], seed: int, iterations: int, blocks: range,
                    correlation: float | list[list[float]] = 0.0) -> PortfolioSummary:
    """Simulate every scenario over the given blocks of iterations (one Dask task, or the whole run serially)."""
    summary = PortfolioSummary.empty(len(scenarios))
    factor = correlation_factor(correlation, len(scenarios))
    sums = _summed_groups(scenarios)
    held = len(scenarios) if factor is not None else len(sums) + 1
    # Per-node streams make draws independent of the chunk size, so it can shrink to bound memory; with
    # correlation the reordering works per chunk, so there it is a fixed function of the scenario count.
    chunk = max(1024, min(BLOCK, CORRELATED_VALUES // held))
    for block in blocks:
        size = min(BLOCK, iterations - block * BLOCK)
        if size <= 0:
            break
        samplers = [ScenarioSampler(s, seed, block, summary.nodes[i]) for i, s in enumerate(scenarios)]
        mixing = Streams(seed, "portfolio.correlation", block)("ranks")
        for offset in range(0, size, chunk):
            _simulate_chunk(samplers, min(chunk, size - offset), factor, mixing, summary, sums)
    _copy_single_member_groups(scenarios, summary)
    return summary


def _group_members(scenarios: Sequence[Scenario]) -> dict[tuple[str, str], list[int]]:
    """Scenario indexes of each group: the total, each device class, each vendor."""
    members: dict[tuple[str, str], list[int]] = {}
    for i, scenario in enumerate(scenarios):
        members.setdefault(("total", ""), []).append(i)
        for grouping in GROUPINGS:
            members.setdefault((grouping, getattr(scenario, grouping) or "(unspecified)"), []).append(i)
    return members


def _summed_groups(scenarios: Sequence[Scenario]) -> dict[tuple[str, str], list[int]]:
    """Groups with two or more scenarios, which need their draws summed per iteration."""
    return {key: index for key, index in _group_members(scenarios).items() if len(index) > 1}


MAX_THREADS = 8


def _copy_single_member_groups(scenarios: Sequence[Scenario], summary: PortfolioSummary) -> None:
    """A group of one scenario has exactly that scenario's distribution: copy it rather than re-summing draws."""
    for (grouping, key), index in _group_members(scenarios).items():
        if len(index) == 1:
            target = LossHistogram()
            target.merge(summary.scenarios[index[0]])
            if grouping == "total":
                summary.total = target
            else:
                summary.groups.setdefault(grouping, {})[key] = target


def _simulate_chunk(samplers: list[ScenarioSampler], n: int, factor: np.ndarray | None, mixing: np.random.Generator,
                    summary: PortfolioSummary, sums: dict[tuple[str, str], list[int]]) -> None:
    buffers = {key: np.zeros(n) for key in sums}
    where: dict[int, list[np.ndarray]] = {}
    for key, index in sums.items():
        for i in index:
            where.setdefault(i, []).append(buffers[key])

    def add(i: int, draws: np.ndarray) -> None:
        summary.scenarios[i].add(draws)
        for buffer in where.get(i, ()):
            np.add(buffer, draws, out=buffer)

    if factor is None:
        for i, sampler in enumerate(samplers):  # one scenario's chunk in memory at a time
            add(i, sampler.draw(n))
    else:
        draws = [sampler.draw(n) for sampler in samplers]
        _reorder_by_ranks(draws, factor, mixing)
        for i, values in enumerate(draws):
            add(i, values)
    for (grouping, key), values in buffers.items():
        if grouping == "total":
            summary.total.add(values)
        else:
            summary.groups.setdefault(grouping, {}).setdefault(key, LossHistogram()).add(values)


def run_portfolio(scenarios: Sequence[Scenario], iterations: int, seed: int,
                  correlation: float | list[list[float]] = 0.0, workers: int = 0, scheduler: str | None = None,
                  progress: Callable[[int, int], None] | None = None, threads: int | None = None) -> PortfolioSummary:
    """Simulate a portfolio in this process (on `threads` threads, default one per core up to MAX_THREADS), or on
    Dask (`workers` local processes or a `scheduler` address). The result does not depend on either."""
    n_blocks = math.ceil(iterations / BLOCK)
    if workers <= 1 and scheduler is None:
        return _run_in_threads(scenarios, iterations, seed, correlation, n_blocks, progress, threads)
    return _run_on_dask(scenarios, iterations, seed, correlation, workers, scheduler, n_blocks, progress)


def _run_in_threads(scenarios: Sequence[Scenario], iterations: int, seed: int,
                    correlation: float | list[list[float]], n_blocks: int,
                    progress: Callable[[int, int], None] | None, threads: int | None) -> PortfolioSummary:
    """Blocks on a few threads of this process: NumPy releases the GIL while it draws, each block has its own
    generators, and summaries are merged in block order, so the result is the same as one block after another."""
    threads = max(1, min(threads or os.cpu_count() or 1, MAX_THREADS, n_blocks))
    summary = PortfolioSummary.empty(len(scenarios))
    merged = 0

    def merge_oldest(pending: deque) -> None:
        nonlocal merged
        summary.merge(pending.popleft().result())
        merged += 1
        if progress:
            progress(merged, n_blocks)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        for block in range(n_blocks):
            pending.append(pool.submit(simulate_blocks, scenarios, seed, iterations, range(block, block + 1),
                                       correlation))
            while len(pending) > 2 * threads:  # a bounded number of blocks in flight keeps memory flat
                merge_oldest(pending)
        while pending:
            merge_oldest(pending)
    return summary


def local_cluster(workers: int):
    """A local Dask cluster of `workers` single-threaded processes, tuned for simulation."""
    import dask
    from dask.distributed import LocalCluster

    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand every freed simulation
    # array back to the kernel: measured here, a block then takes ~40% longer than in a plain process.
    # Dask's one-thread BLAS settings stay (two workers on two cores must not oversubscribe them).
    environ = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        # Shutdown chatter from the workers is not the user's business; real failures surface as exceptions.
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.CRITICAL)


def _run_on_dask(scenarios: Sequence[Scenario], iterations: int, seed: int, correlation: float | list[list[float]],
                 workers: int, scheduler: str | None, n_blocks: int,
                 progress: Callable[[int, int], None] | None) -> PortfolioSummary:
    from dask.distributed import Client, as_completed

    cluster = local_cluster(workers) if scheduler is None else None
    client = Client(cluster if cluster is not None else scheduler)
    try:
        width = max(1, len(client.scheduler_info()["workers"]))
        # A few tasks per worker balance load without shipping many result summaries back.
        per_task = max(1, math.ceil(n_blocks / (width * 2)))
        ranges = [range(b, min(b + per_task, n_blocks)) for b in range(0, n_blocks, per_task)]
        shared = client.scatter(list(scenarios), broadcast=True)
        futures = [client.submit(simulate_blocks, shared, seed, iterations, r, correlation, pure=False) for r in ranges]
        done = 0
        for future in as_completed(futures):
            done += len(ranges[futures.index(future)])
            if progress:
                progress(done, n_blocks)
        parts = client.gather(futures)  # merged in block order so results do not depend on finishing order
        summary = PortfolioSummary.empty(len(scenarios))
        for part in parts:
            summary.merge(part)
        log.info("simulated %d blocks on %d Dask workers", n_blocks, width)
        return summary
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
