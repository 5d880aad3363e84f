"""Context novelty: how many recent patterns of quantised values were never seen before.

Each value is quantised into ``bins`` levels of the range seen so far (several resolutions at
once). For every order k in ``orders`` the last k levels form a context; the raw score is the
share of contexts that are new, remembered in hashed bit tables of ``2**table_bits`` bits
(the idea of CAD OSE, the contextual anomaly detector). That raw score, averaged over the last
``short`` points, is compared with its own last ``history`` values and the Gaussian tail gives a
likelihood, log-scaled to [0, 1] as Numenta's HTM detector does. A value outside everything
seen so far (by ``margin`` of the range) scores 1. A second likelihood catches level shifts
inside the range: the mean of the last ``shift_short`` values against the mean of the
``shift_long`` values before them, in units of their deviation, averaged over
``shift_smooth`` points and compared with its last ``shift_history`` values (deviation at least
``shift_min_sd``); it enters the maximum scaled by ``shift_weight`` (0 turns it off). A third
catches changes of daily shape or noise inside the range (``aiot.models.seasonal``): the last
``season_window`` values against the same phase one period back, the period found from the
autocorrelation of the last ``season_buffer`` values (peak at least ``season_min_acf``), with
the same likelihood step; it enters scaled by ``season_weight``. After a score of ``alarm`` or
more the next ``rest`` scores are damped by ``damp``, so one event raises one early alarm.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aiot.models.base import Array, BaseDetector, State, as_matrix
from aiot.models.levelshift import (
    log_tail,
    mean_shift,
    moving_mean,
    prefix_sums,
    tail,
    window_stats,
)
from aiot.models.params import Range, Spec
from aiot.models.seasonal import SeasonalDeviation, append_tail

__all__ = ["ContextNovelty"]

_PRIME = 1_000_003
Ints = npt.NDArray[np.int64]
_FLOATS = ("smooth", "c1", "c2", "shift_raw", "shift_hist")


class ContextNovelty(BaseDetector):
    """Share of never-seen quantised contexts, as an anomaly likelihood, plus range breaks."""

    name = "context"
    summary = "novelty of quantised value contexts (CAD-style), anomaly likelihood, rest period"
    bounded = True
    check_params: ClassVar[dict[str, Any]] = {
        "history": 300,
        "table_bits": 14,
        "shift_long": 200,
        "shift_history": 300,
        "season_buffer": 1024,
    }
    ranges: ClassVar[dict[str, Spec]] = {
        "bins": Range(2, 64, items=4),
        "orders": Range(1, 32, items=12),
        "short": Range(2, 10_000),
        "history": Range(2, 100_000),
        "min_sd": Range(1e-6, 1e6, integer=False),  # divides
        "margin": Range(0.0, 1e3, integer=False),
        "alarm": Range(0.0, 1.0, integer=False),
        "rest": Range(0, 1_000_000),
        "damp": Range(0.0, 1.0, integer=False),
        "table_bits": Range(8, 22),  # bins × orders tables of 2^table_bits bits
        "shift_short": Range(1, 10_000),
        "shift_long": Range(1, 100_000),
        "shift_smooth": Range(1, 1_000),
        "shift_history": Range(2, 100_000),
        "shift_min_sd": Range(1e-6, 1e6, integer=False),
        "shift_weight": Range(0.0, 1.0, integer=False),
        "season_window": Range(1, 10_000),
        "season_buffer": Range(16, 100_000),
        "season_min_acf": Range(-1.0, 1.0, integer=False),
        "season_weight": Range(0.0, 1.0, integer=False),
    }

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
        shift_short: int = 10,
        shift_long: int = 4000,
        shift_smooth: int = 3,
        shift_history: int = 1000,
        shift_min_sd: float = 0.3,
        shift_weight: float = 0.85,
        season_window: int = 24,
        season_buffer: int = 4096,
        season_min_acf: float = 0.3,
        season_weight: float = 0.85,
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
        self.shift_short = shift_short
        self.shift_long = shift_long
        self.shift_smooth = shift_smooth
        self.shift_history = shift_history
        self.shift_min_sd = shift_min_sd
        self.shift_weight = shift_weight
        self.season_window = season_window
        self.season_buffer = season_buffer
        self.season_min_acf = season_min_acf
        self.season_weight = season_weight
        self._season = SeasonalDeviation(
            season_window, 256, season_buffer, season_min_acf, shift_history, shift_min_sd
        )
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
        self._ref = math.nan
        self._c1: Array = np.zeros(1)
        self._c2: Array = np.zeros(1)
        self._shift_raw: Array = np.zeros(0)
        self._shift_hist: Array = np.zeros(0)

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
        mean, var = window_stats(self._smooth, smooth, self.history)
        return log_tail(smooth, mean, np.maximum(np.sqrt(var), self.min_sd)), smooth

    def _shift(self, x: Array, span: Array) -> tuple[Array, Array, Array, float, Array, Array]:
        """Likelihood of the mean shift (short against long window), its raw and smoothed."""
        ref = self._ref if math.isfinite(self._ref) else float(x[0])
        c1 = prefix_sums(self._c1, x - ref)
        c2 = prefix_sums(self._c2, (x - ref) ** 2)
        raw = mean_shift(c1, c2, len(x), span, (self.shift_short, self.shift_long))
        smooth = moving_mean(self._shift_raw, raw, self.shift_smooth)
        mean, var = window_stats(self._shift_hist, smooth, self.shift_history)
        sd = np.maximum(np.sqrt(var), self.shift_min_sd)
        return log_tail(smooth, mean, sd), raw, smooth, ref, c1, c2

    def _run(self, xs: Any, learn: bool) -> Array:
        x = self._check(as_matrix(xs))[:, 0]
        lo, hi, spatial = self._ranges(x)
        counts = self._novelty_counts(x, lo, hi, learn)
        likelihood, smooth = self._likelihood(counts)
        shift, shift_raw, shift_smooth, ref, c1, c2 = self._shift(x, hi - lo)
        raw = np.maximum(np.maximum(likelihood, spatial), self.shift_weight * shift)
        if self.season_weight > 0:
            raw = np.maximum(raw, self.season_weight * self._season.run(x, learn))
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
            self._counts = tail(np.concatenate([self._counts, counts]), self.short - 1)
            self._smooth = append_tail(self._smooth, smooth, self.history)
            keep = self.shift_short + self.shift_long + 1
            self._ref, self._c1, self._c2 = ref, tail(c1, keep), tail(c2, keep)
            self._shift_raw = append_tail(self._shift_raw, shift_raw, self.shift_smooth - 1)
            self._shift_hist = append_tail(self._shift_hist, shift_smooth, self.shift_history)
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
        """Range, recent symbols, context bit tables, novelty, shift and seasonal state."""
        return {
            "n": self._n,
            "lo": self._lo,
            "hi": self._hi,
            "quiet": self._quiet,
            "symbols": self._symbols.copy(),
            "seen": self._seen.copy(),
            "counts": self._counts.copy(),
            "smooth": self._smooth.copy(),
            "ref": self._ref,
            "c1": self._c1.copy(),
            "c2": self._c2.copy(),
            "shift_raw": self._shift_raw.copy(),
            "shift_hist": self._shift_hist.copy(),
        } | self._season.state_dict()

    def load_state_dict(self, state: State) -> None:
        """Restore everything ``state_dict`` wrote."""
        self._n, self._quiet = int(state["n"]), int(state["quiet"])
        self._lo, self._hi = float(state["lo"]), float(state["hi"])
        self._symbols = np.asarray(state["symbols"], dtype=np.int64).copy()
        self._seen = np.asarray(state["seen"], dtype=np.uint8).copy()
        self._counts = np.asarray(state["counts"], dtype=np.int64).copy()
        self._ref = float(state["ref"])
        floats = [np.asarray(state[k], dtype=np.float64).copy() for k in _FLOATS]
        self._smooth, self._c1, self._c2, self._shift_raw, self._shift_hist = floats
        self._season.load_state_dict(state)
