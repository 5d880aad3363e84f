"""Seasonal deviation for the context detector: the recent window against one period back.

The dominant period is found causally from the autocorrelation of the last ``buffer`` values
seen, recomputed every ``every`` values learned: the highest local peak of the autocorrelation
past its first zero crossing, at lags up to a third of the buffer, if it reaches ``min_acf``
(otherwise there is no period and the signal is off). With a period P, the statistic at t is
the root mean square of ``x[j] - x[j - P]`` over the last ``window`` points, in units of the
same root mean square over the whole buffer (computed with the period), so a missing daily
peak, a changed daily shape or a noisier stretch inside the usual range stand out. Its
likelihood against its own last ``history`` values (deviation at least ``min_sd``) is what
the context detector combines. Everything learned is the buffer, the count, the period, its
scale and the statistic's history, so batches learn exactly what one-point calls learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiot.models.base import Array, State
from aiot.models.levelshift import log_tail, tail, window_stats

__all__ = ["SeasonalDeviation", "append_tail", "find_period"]

MIN_LAG = 4
WARM = 100
"""Statistics needed since the period was found (or moved by more than ``MOVE``) to score."""
MOVE = 0.1


def append_tail(past: Array, new: Array, k: int) -> Array:
    """The last ``k`` items of ``past`` followed by ``new``."""
    out: Array = tail(np.concatenate([past, new]), k)
    return out


def find_period(x: Array, min_acf: float) -> int:
    """The lag of the highest autocorrelation peak past the first zero crossing, or 0."""
    n = len(x)
    y = x - x.mean()
    if n < 3 * MIN_LAG or not np.any(y):
        return 0
    spectrum = np.fft.rfft(y, 2 * n)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2)[: n // 3 + 2]
    acf = acf / acf[0]
    below = np.flatnonzero(acf < 0)
    if not len(below):
        return 0
    lags = np.arange(max(int(below[0]), MIN_LAG), len(acf) - 1)
    peaks = lags[(acf[lags] >= acf[lags - 1]) & (acf[lags] > acf[lags + 1])]
    if not len(peaks):
        return 0
    best = int(peaks[np.argmax(acf[peaks])])
    return best if acf[best] >= min_acf else 0


def _windowed_ms(seq: Array, n_new: int, period: int, window: int) -> Array:
    """Mean of (seq[j] - seq[j - period])**2 over the last ``window`` j up to each new point.

    Summed term by term in a fixed order, so batches give what one-point calls give; 0 where
    the window does not yet reach a full period back.
    """
    first = len(seq) - n_new
    total = np.zeros(n_new)
    if first - window + 1 - period < 0:
        ok = np.arange(first, len(seq)) - window + 1 - period >= 0
    else:
        ok = np.ones(n_new, dtype=bool)
    for lag in range(window - 1, -1, -1):
        idx = np.arange(first - lag, len(seq) - lag)
        back = np.clip(idx - period, 0, None)
        diff = np.where(ok, seq[np.clip(idx, 0, None)] - seq[back], 0.0)
        total = total + diff * diff
    return total / window


@dataclass
class SeasonalDeviation:
    """Period, scale and statistic history of the seasonal deviation (see the module doc)."""

    window: int = 12
    every: int = 256
    buffer: int = 2048
    min_acf: float = 0.3
    history: int = 1000
    min_sd: float = 0.3

    def __post_init__(self) -> None:
        self.n = 0
        self.period = 0
        self.scale = 0.0
        self.values: Array = np.zeros(0)
        self.hist: Array = np.zeros(0)

    def _refit(self) -> None:
        old, self.period = self.period, find_period(self.values, self.min_acf)
        if not self.period or abs(self.period - old) > MOVE * old:
            self.hist = self.hist[:0]
        self.scale = 0.0
        if self.period:
            d = self.values[self.period :] - self.values[: -self.period]
            self.scale = float(np.sqrt(np.mean(d * d)))

    def _stat(self, x: Array) -> Array:
        if not self.period or self.scale <= 0:
            return np.zeros(len(x))
        seq = np.concatenate([self.values, x])
        return np.sqrt(_windowed_ms(seq, len(x), self.period, self.window)) / self.scale

    def _likelihood(self, stat: Array) -> Array:
        mean, var = window_stats(self.hist, stat, self.history)
        warm = len(self.hist) + np.arange(len(stat)) >= WARM
        sd = np.maximum(np.sqrt(var), self.min_sd)
        out: Array = np.where(warm & (stat > 0), log_tail(stat, mean, sd), 0.0)
        return out

    def run(self, x: Array, learn: bool) -> Array:
        """Likelihood of the seasonal deviation of each of ``x``; learn them if ``learn``."""
        if not learn:
            return self._likelihood(self._stat(x))
        parts = []
        cuts = np.flatnonzero((self.n + np.arange(1, len(x) + 1)) % self.every == 0) + 1
        for seg in np.split(x, cuts):
            stat = self._stat(seg)
            parts.append(self._likelihood(stat))
            if self.period:
                self.hist = append_tail(self.hist, stat, self.history)
            self.values = append_tail(self.values, seg, self.buffer)
            self.n += len(seg)
            if len(seg) and self.n % self.every == 0:
                self._refit()
        return np.concatenate(parts)

    def state_dict(self) -> State:
        """Count, period, scale, value buffer and statistic history, prefixed ``season_``."""
        return {
            "season_n": self.n,
            "season_period": self.period,
            "season_scale": self.scale,
            "season_values": self.values.copy(),
            "season_hist": self.hist.copy(),
        }

    def load_state_dict(self, state: State) -> None:
        """Restore what ``state_dict`` wrote."""
        self.n, self.period = int(state["season_n"]), int(state["season_period"])
        self.scale = float(state["season_scale"])
        self.values = np.asarray(state["season_values"], dtype=np.float64).copy()
        self.hist = np.asarray(state["season_hist"], dtype=np.float64).copy()
