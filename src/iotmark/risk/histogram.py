"""Streaming summaries of simulated losses, so memory stays flat at any iteration count.

`Moments` keeps count, mean, sum of squared deviations (merged with Chan's formula), min and max.
`LossHistogram` adds a log-linear histogram: the bin of a non-negative float is the top bits of its IEEE-754
representation (exponent plus `MANTISSA_BITS` of mantissa), so bins are ~0.4% wide at every scale, the index
costs one shift, and histograms of separate chunks or workers merge by addition. Quantiles interpolate within a
bin, so their error is far below the Monte-Carlo error of any practical run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MANTISSA_BITS = 8
_SHIFT = 52 - MANTISSA_BITS
# Positive values below this share one bin; exact zeros (no loss that year) are counted apart.
FLOOR = 1e-6


def bin_of(value: float) -> int:
    """Histogram bin index of a non-negative value."""
    return int(np.float64(max(value, FLOOR)).view(np.int64)) >> _SHIFT


def bin_low_edge(index: np.ndarray | int) -> np.ndarray:
    """Smallest value that falls in bin `index`."""
    return (np.asarray(index, dtype=np.int64) << _SHIFT).view(np.float64)


_FLOOR_BIN = bin_of(FLOOR)


@dataclass
class Moments:
    """Count, mean, M2 (sum of squared deviations), min and max of a stream; mergeable."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, x: np.ndarray) -> tuple[float, float] | None:
        """Add a chunk; returns the chunk's (min, max), or None for an empty chunk."""
        if x.size == 0:
            return None
        # Four passes and no temporary array: sum, sum of squares, min, max. The squared-sum form of M2 only
        # loses precision when the spread is tiny next to the mean, which per-chunk Chan merging keeps harmless.
        total = float(x.sum())
        mean = total / x.size
        m2 = max(float(np.einsum("i,i->", x, x)) - total * mean, 0.0)  # einsum: no BLAS thread pool
        low, high = float(x.min()), float(x.max())
        self._combine(x.size, mean, m2, low, high)
        return low, high

    def merge(self, other: "Moments") -> None:
        if other.n:
            self._combine(other.n, other.mean, other.m2, other.low, other.high)

    def _combine(self, n: int, mean: float, m2: float, low: float, high: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.low = min(self.low, low)
        self.high = max(self.high, high)

    @property
    def sd(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0

    def summary(self) -> dict[str, float]:
        return {"mean": self.mean, "sd": self.sd, "min": self.low, "max": self.high}


@dataclass
class LossHistogram(Moments):
    """Moments plus zero count and a log-linear histogram of the positive values."""

    zeros: int = 0
    offset: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, x: np.ndarray) -> tuple[float, float] | None:  # type: ignore[override]
        """Add a chunk of non-negative, finite values; returns the chunk's (min, max)."""
        extremes = super().add(x)
        if extremes is None:
            return None
        if not math.isfinite(self.high) or self.low < 0:
            raise ValueError("simulated losses must be finite and non-negative; check the input distributions")
        positives = int(np.count_nonzero(x))
        chunk_zeros = x.size - positives
        self.zeros += chunk_zeros
        if not positives:
            return extremes
        lo = max(bin_of(extremes[0]), _FLOOR_BIN)
        hi = bin_of(extremes[1])
        index = x.view(np.int64) >> _SHIFT
        np.maximum(index, lo, out=index)  # zeros and tiny values land in the lowest bin ...
        index -= lo
        counts = np.bincount(index, minlength=hi - lo + 1)
        counts[0] -= chunk_zeros  # ... and the zeros are taken out again
        self._add_counts(lo, counts)
        return extremes

    def merge(self, other: "LossHistogram") -> None:  # type: ignore[override]
        super().merge(other)
        self.zeros += other.zeros
        if other.counts.size:
            self._add_counts(other.offset, other.counts)

    def _add_counts(self, offset: int, counts: np.ndarray) -> None:
        if not self.counts.size:
            self.offset, self.counts = offset, counts.astype(np.int64, copy=True)
            return
        lo = min(self.offset, offset)
        hi = max(self.offset + self.counts.size, offset + counts.size)
        if (lo, hi) != (self.offset, self.offset + self.counts.size):
            grown = np.zeros(hi - lo, dtype=np.int64)
            grown[self.offset - lo:self.offset - lo + self.counts.size] = self.counts
            self.offset, self.counts = lo, grown
        self.counts[offset - self.offset:offset - self.offset + counts.size] += counts

    def _edges(self) -> tuple[np.ndarray, np.ndarray]:
        index = np.arange(self.offset, self.offset + self.counts.size + 1, dtype=np.int64)
        edges = bin_low_edge(index)
        edges[0] = max(min(edges[0], self.low), 0.0) if self.offset == _FLOOR_BIN else edges[0]
        return edges[:-1], edges[1:]

    def quantiles(self, levels: list[float]) -> list[float]:
        """Values below which the given fractions of the sample fall (linear within a bin)."""
        if not self.n:
            return [math.nan for _ in levels]
        cum = np.cumsum(self.counts)
        lows, highs = self._edges()
        out = []
        for q in levels:
            rank = q * self.n - self.zeros
            if rank <= 0 or not self.counts.size:
                out.append(0.0 if self.zeros else self.low)
                continue
            i = min(int(np.searchsorted(cum, rank, side="left")), self.counts.size - 1)
            before = cum[i] - self.counts[i]
            frac = (rank - before) / self.counts[i] if self.counts[i] else 0.0
            value = lows[i] + frac * (highs[i] - lows[i])
            out.append(float(min(max(value, self.low), self.high)))
        return out

    def exceedance(self, losses: list[float]) -> list[float]:
        """P(annual loss > x) for each x, the loss exceedance curve."""
        if not self.n:
            return [math.nan for _ in losses]
        lows, highs = self._edges()
        above = np.cumsum(self.counts[::-1])[::-1]  # count in bin i and above
        out = []
        for x in losses:
            if x < 0:
                out.append(1.0)
                continue
            if x >= self.high:
                out.append(0.0)
                continue
            i = int(np.searchsorted(lows, x, side="right")) - 1
            if i < 0:
                out.append(float((self.n - self.zeros) / self.n) if x >= 0 else 1.0)
                continue
            width = highs[i] - lows[i]
            inside = self.counts[i] * (1 - (x - lows[i]) / width) if width > 0 else 0.0
            rest = above[i + 1] if i + 1 < above.size else 0
            out.append(float((rest + inside) / self.n))
        return out

    def tail_mean(self, level: float) -> float:
        """Expected shortfall: the mean loss in the worst (1 - level) of years, from bin midpoints."""
        if not self.n or not self.counts.size:
            return 0.0
        threshold = self.quantiles([level])[0]
        lows, highs = self._edges()
        mids = (lows + highs) / 2
        keep = highs > threshold
        weights = self.counts[keep].astype(np.float64)
        if not weights.sum():
            return threshold
        return float(np.dot(weights, np.clip(mids[keep], threshold, self.high)) / weights.sum())
