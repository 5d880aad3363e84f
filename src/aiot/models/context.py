"""Context novelty: how many recent patterns of quantised values were never seen before.

Each value is quantised into ``bins`` levels of the range seen so far (several resolutions at
once). For every order k in ``orders`` the last k levels form a context; the raw score is the
share of contexts that are new, remembered in hashed bit tables of ``2**table_bits`` bits
(the idea of CAD OSE, the contextual anomaly detector). That raw score, averaged over the last
``short`` points, is compared with its own last ``history`` values and the Gaussian tail gives a
likelihood, log-scaled to [0, 1] as Numenta's HTM detector does. A value outside everything
seen so far (by ``margin`` of the range) scores 1. After a score of ``alarm`` or more the next
``rest`` scores are damped by ``damp``, so one event raises one early alarm instead of a burst.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from aiot.models.base import Array, BaseDetector, State, as_matrix

__all__ = ["ContextNovelty"]

_PRIME = 1_000_003
_LOG_FLOOR = math.log(1e-10)
Ints = npt.NDArray[np.int64]


def _window_stats(past: Array, new: Array, size: int) -> tuple[Array, Array]:
    """Mean and variance of the ``size`` values before each of ``new`` (past then new)."""
    seq = np.concatenate([past, new])
    c1 = np.concatenate([[0.0], np.cumsum(seq)])
    c2 = np.concatenate([[0.0], np.cumsum(seq * seq)])
    end = np.arange(len(past), len(seq))
    start = np.maximum(0, end - size)
    count = np.maximum(end - start, 1)
    mean = (c1[end] - c1[start]) / count
    var = np.maximum((c2[end] - c2[start]) / count - mean * mean, 0.0)
    return mean, var


def _tail(a: Any, k: int) -> Any:
    """The last ``k`` items of ``a`` (none when ``k`` is 0)."""
    return a[max(0, len(a) - k) :] if k > 0 else a[:0]


class ContextNovelty(BaseDetector):
    """Share of never-seen quantised contexts, as an anomaly likelihood, plus range breaks."""

    name = "context"
    summary = "novelty of quantised value contexts (CAD-style), anomaly likelihood, rest period"
    bounded = True
    check_params: ClassVar[dict[str, Any]] = {"history": 300, "table_bits": 14}

    def __init__(
        self,
        bins: tuple[int, ...] | list[int] = (6, 10),
        orders: tuple[int, ...] | list[int] = (1, 2, 3, 4, 5, 6, 7),
        short: int = 10,
        history: int = 1000,
        min_sd: float = 0.03,
        margin: float = 0.01,
        alarm: float = 0.7,
        rest: int = 100,
        damp: float = 0.25,
        table_bits: int = 19,
    ) -> None:
        self.bins = list(bins)
        self.orders = list(orders)
        self.short = short
        self.history = history
        self.min_sd = min_sd
        self.margin = margin
        self.alarm = alarm
        self.rest = rest
        self.damp = damp
        self.table_bits = table_bits
        self._rows = len(self.bins) * len(self.orders)
        self._depth = max(self.orders) - 1
        self._n = 0
        self._lo = math.inf
        self._hi = -math.inf
        self._symbols: Ints = np.full((len(self.bins), self._depth), -1, dtype=np.int64)
        self._seen = np.zeros((self._rows, (1 << table_bits) // 8), dtype=np.uint8)
        self._counts: Ints = np.zeros(0, dtype=np.int64)
        self._smooth: Array = np.zeros(0)
        self._quiet = 0

    def _ranges(self, x: Array) -> tuple[Array, Array, Array]:
        """Running min and max including each value, and the range-break indicator."""
        lo = np.minimum.accumulate(np.concatenate([[self._lo], x]))
        hi = np.maximum.accumulate(np.concatenate([[self._hi], x]))
        span = np.where(np.isfinite(hi[:-1] - lo[:-1]), hi[:-1] - lo[:-1], 0.0)
        out = (x > hi[:-1] + self.margin * span) | (x < lo[:-1] - self.margin * span)
        out &= np.arange(len(x)) + self._n > 0
        return lo[1:], hi[1:], out.astype(np.float64)

    def _hashes(self, q: Ints, row: int) -> list[Ints]:
        """Hashed contexts of every order for one resolution (previous symbols first)."""
        seq = np.concatenate([self._symbols[row], q])
        size, mask = len(q), (1 << self.table_bits) - 1
        h, by_order = np.zeros(size, dtype=np.int64), {}
        for i in range(max(self.orders)):
            start = self._depth - i
            h = (h * _PRIME + seq[start : start + size] + 7) & mask
            by_order[i + 1] = h
        return [by_order[k] for k in self.orders]

    def _novel(self, h: Ints, table: npt.NDArray[np.uint8], learn: bool) -> Ints:
        """1 where a context is new: not in the table and not earlier in this batch."""
        first = np.unique(h, return_index=True)[1] if len(h) > 1 else np.zeros(1, np.int64)
        out = np.zeros(len(h), dtype=np.int64)
        bits = (table[h[first] >> 3] >> (h[first] & 7)) & 1
        out[first] = 1 - bits
        if learn:
            np.bitwise_or.at(table, h >> 3, (1 << (h & 7)).astype(np.uint8))
        return out

    def _novelty_counts(self, x: Array, lo: Array, hi: Array, learn: bool) -> Ints:
        counts = np.zeros(len(x), dtype=np.int64)
        span = np.maximum(hi - lo, 1e-12)
        for r, b in enumerate(self.bins):
            q = np.clip(np.floor((x - lo) / span * b).astype(np.int64), 0, b - 1)
            for j, h in enumerate(self._hashes(q, r)):
                counts += self._novel(h, self._seen[r * len(self.orders) + j], learn)
            if learn and self._depth:
                self._symbols[r] = np.concatenate([self._symbols[r], q])[-self._depth :]
        return counts

    def _likelihood(self, counts: Ints) -> tuple[Array, Array]:
        """Log-scaled tail of the short mean of novelty against its history, and that mean."""
        seq = np.concatenate([self._counts, counts])
        csum = np.concatenate([[0], np.cumsum(seq)])
        end = np.arange(len(self._counts), len(seq)) + 1
        start = np.maximum(0, end - self.short)
        smooth = (csum[end] - csum[start]) / ((end - start) * self._rows)
        mean, var = _window_stats(self._smooth, smooth, self.history)
        sd = np.maximum(np.sqrt(var), self.min_sd)
        tail = ndtr((smooth - mean) / sd)
        return np.clip(np.log(1.0000000001 - tail) / _LOG_FLOOR, 0.0, 1.0), smooth

    def _run(self, xs: Any, learn: bool) -> Array:
        x = self._check(as_matrix(xs))[:, 0]
        lo, hi, spatial = self._ranges(x)
        counts = self._novelty_counts(x, lo, hi, learn)
        likelihood, smooth = self._likelihood(counts)
        raw = np.maximum(likelihood, spatial)
        out, quiet = np.zeros(len(x)), self._quiet
        for i, r in enumerate(raw):
            if quiet > 0:
                out[i], quiet = r * self.damp, quiet - 1
                continue
            out[i] = r
            quiet = self.rest if r >= self.alarm else 0
        if learn:
            self._n += len(x)
            self._lo, self._hi, self._quiet = float(lo[-1]), float(hi[-1]), quiet
            self._counts = _tail(np.concatenate([self._counts, counts]), self.short - 1)
            self._smooth = _tail(np.concatenate([self._smooth, smooth]), self.history)
        return out

    def _score(self, x: Array) -> float:
        return float(self._run(x[None, :], learn=False)[0])

    def _learn(self, x: Array) -> None:
        self._run(x[None, :], learn=True)

    def learn_many(self, xs: Any) -> None:
        """Learn each row in order, in one vectorised pass."""
        self._run(xs, learn=True)

    def score_learn_many(self, xs: Any) -> Array:
        """Score each row, then learn it, in one vectorised pass."""
        return self._run(xs, learn=True)

    def state_dict(self) -> State:
        """Range, recent symbols, context bit tables, novelty and likelihood history."""
        return {
            "n": self._n,
            "lo": self._lo,
            "hi": self._hi,
            "quiet": self._quiet,
            "symbols": self._symbols.copy(),
            "seen": self._seen.copy(),
            "counts": self._counts.copy(),
            "smooth": self._smooth.copy(),
        }

    def load_state_dict(self, state: State) -> None:
        """Restore everything ``state_dict`` wrote."""
        self._n, self._quiet = int(state["n"]), int(state["quiet"])
        self._lo, self._hi = float(state["lo"]), float(state["hi"])
        self._symbols = np.asarray(state["symbols"], dtype=np.int64).copy()
        self._seen = np.asarray(state["seen"], dtype=np.uint8).copy()
        self._counts = np.asarray(state["counts"], dtype=np.int64).copy()
        self._smooth = np.asarray(state["smooth"], dtype=np.float64).copy()
