"""Vectorised Monte-Carlo evaluation of one FAIR scenario.

Random streams: every (scenario, node, block of `BLOCK` iterations) has its own `numpy.random.Generator`, seeded
from the root seed through `SeedSequence` with a spawn key made from the scenario's name, the node's name and
the block number. So scenarios never share a stream; results do not depend on how blocks are split into chunks
or spread over workers; and two runs that share a scenario name and seed (before/after a control) see the same
threat draws, which makes their difference precise (common random numbers).
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

from iotmark.risk.histogram import LossHistogram, Moments
from iotmark.risk.ontology import PROBABILITY_NODES, Loss, Scenario

BLOCK = 1 << 16


def _key(text: str) -> tuple[int, int]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


class Streams:
    """The generators of one scenario in one block, one per node, created on first use."""

    def __init__(self, seed: int, scenario: str, block: int):
        self._prefix = (*_key(scenario), block)
        self._seed = seed
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, node: str) -> np.random.Generator:
        rng = self._cache.get(node)
        if rng is None:
            sequence = np.random.SeedSequence(self._seed, spawn_key=(*self._prefix, *_key(node)))
            rng = self._cache[node] = np.random.Generator(np.random.PCG64(sequence))
        return rng


class ScenarioSampler:
    """Draws annual losses of one scenario, chunk after chunk, within one block; optionally records node moments."""

    def __init__(self, scenario: Scenario, seed: int, block: int, nodes: dict[str, Moments] | None = None):
        self.scenario = scenario
        self.rng = Streams(seed, scenario.name, block)
        self.nodes = nodes

    def draw(self, n: int) -> np.ndarray:
        """Annual loss for the next `n` iterations."""
        s = self.scenario
        lef = self._lef(n)
        if s.events == "rate":
            loss = lef
            loss *= self._magnitude(n)
        else:
            counts = self.rng("events").poisson(lef)
            self._record("loss_events", counts.astype(np.float64))
            per_event = self._magnitude(int(counts.sum()), bernoulli=True)
            loss = np.bincount(np.repeat(np.arange(n), counts), weights=per_event, minlength=n)
        return loss

    def _record(self, node: str, values: np.ndarray) -> None:
        if self.nodes is not None:
            self.nodes.setdefault(node, Moments()).add(values)

    def _factor(self, node: str, dist) -> Callable[[int], np.ndarray]:
        """A drawing function for one input node, clipped to the values the node can take."""
        lo, hi = dist.bounds()
        top = 1.0 if node in PROBABILITY_NODES else np.inf

        def draw(n: int) -> np.ndarray:
            x = dist.draw(self.rng(node), n)
            if lo < 0 or hi > top:  # only unbounded or out-of-range inputs pay for clipping
                np.clip(x, 0.0, top, out=x)
            self._record(node, x)
            return x

        return draw

    def _lef(self, n: int) -> np.ndarray:
        s = self.scenario
        if s.loss_event_frequency is not None:
            return self._factor("loss_event_frequency", s.loss_event_frequency)(n)
        if s.threat_event_frequency is not None:
            tef = self._factor("threat_event_frequency", s.threat_event_frequency)(n)
        else:
            tef = self._factor("contact_frequency", s.contact_frequency)(n)
            tef *= self._factor("probability_of_action", s.probability_of_action)(n)
            self._record("threat_event_frequency", tef)
        if s.vulnerability is not None:
            tef *= self._factor("vulnerability", s.vulnerability)(n)
        else:
            capability = self._factor("threat_capability", s.threat_capability)(n)
            strength = self._factor("resistance_strength", s.resistance_strength)(n)
            # Each iteration's threat either overcomes the resistance or not; the mean of this is P(TC > RS).
            vulnerable = capability > strength
            self._record("vulnerability", vulnerable.astype(np.float64))
            tef *= vulnerable
        self._record("loss_event_frequency", tef)
        return tef

    def _loss(self, node: str, loss: Loss, n: int) -> np.ndarray:
        if loss.distribution is not None:
            return self._factor(node, loss.distribution)(n)
        total = np.zeros(n)
        for form, dist in loss.forms.given().items():  # type: ignore[union-attr]
            total += self._factor(f"{node}.{form}", dist)(n)
        self._record(node, total)
        return total

    def _magnitude(self, n: int, bernoulli: bool = False) -> np.ndarray:
        """Loss per event; with `bernoulli` each event draws whether secondary stakeholders react."""
        s = self.scenario
        if s.loss_magnitude is not None:
            return self._factor("loss_magnitude", s.loss_magnitude)(n)
        total = self._loss("primary_loss", s.primary_loss, n)  # type: ignore[arg-type]
        if s.secondary_loss is not None:
            share = self._factor("secondary_loss.frequency", s.secondary_loss.frequency)(n)
            secondary = self._loss("secondary_loss.magnitude", s.secondary_loss.magnitude, n)
            if bernoulli:
                secondary *= self.rng("secondary_loss.occurs").random(n) < share
            else:
                secondary *= share
            total += secondary
            self._record("loss_magnitude", total)
        return total


def sample(scenario: Scenario, iterations: int, seed: int) -> np.ndarray:
    """All annual-loss draws of a scenario in memory (for small runs and tests; `simulate` keeps memory flat)."""
    parts = []
    for block, start in enumerate(range(0, iterations, BLOCK)):
        parts.append(ScenarioSampler(scenario, seed, block).draw(min(BLOCK, iterations - start)))
    return np.concatenate(parts) if parts else np.zeros(0)


def simulate(scenario: Scenario, iterations: int, seed: int, chunk: int = BLOCK,
             nodes: dict[str, Moments] | None = None) -> LossHistogram:
    """Summary of `iterations` annual losses, drawn `chunk` at a time (memory flat, result independent of chunk)."""
    result = LossHistogram()
    for block, start in enumerate(range(0, iterations, BLOCK)):
        sampler = ScenarioSampler(scenario, seed, block, nodes)
        size = min(BLOCK, iterations - start)
        for offset in range(0, size, chunk):
            result.add(sampler.draw(min(chunk, size - offset)))
    return result


def analytic_mean(scenario: Scenario) -> float | None:
    """Exact expected annual loss where it follows from the inputs' means (independent factors, no clipping)."""
    def mean(node: str, dist) -> float | None:
        lo, hi = dist.bounds()
        if lo < 0 or hi > (1.0 if node in PROBABILITY_NODES else np.inf):
            return None
        return dist.mean()

    def loss(node: str, value: Loss) -> float | None:
        if value.distribution is not None:
            return mean(node, value.distribution)
        parts = [mean(f"{node}.{form}", d) for form, d in value.forms.given().items()]  # type: ignore[union-attr]
        return None if None in parts else sum(parts)  # type: ignore[arg-type]

    s = scenario
    if s.loss_event_frequency is not None:
        lef = mean("loss_event_frequency", s.loss_event_frequency)
    elif s.threat_capability is not None:
        return None  # P(TC > RS) needs an integral; see the tests for that check
    else:
        tef = (mean("threat_event_frequency", s.threat_event_frequency) if s.threat_event_frequency is not None
               else _product(mean("contact_frequency", s.contact_frequency),
                             mean("probability_of_action", s.probability_of_action)))
        lef = _product(tef, mean("vulnerability", s.vulnerability))
    if s.loss_magnitude is not None:
        lm = mean("loss_magnitude", s.loss_magnitude)
    else:
        lm = loss("primary_loss", s.primary_loss)  # type: ignore[arg-type]
        if s.secondary_loss is not None and lm is not None:
            extra = _product(mean("secondary_loss.frequency", s.secondary_loss.frequency),
                             loss("secondary_loss.magnitude", s.secondary_loss.magnitude))
            lm = None if extra is None else lm + extra
    return _product(lef, lm)


def _product(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a * b

