"""Robust rolling z-score: distance from the rolling median in units of the rolling MAD.

With ``season`` > 0 the value is first compared with the median of the values one, two, ...
``seasons`` periods earlier, so a daily cycle is not an anomaly; the z-score is then taken on
that seasonal residual.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.models.base import Array, BaseDetector, State
from aiot.models.buffer import Ring
from aiot.models.params import Range, Spec

__all__ = ["RobustZScore", "robust_z"]

_MAD_TO_SIGMA = 1.4826


def robust_z(value: float, history: Array) -> float:
    """|value - median| over a robust scale of ``history`` (MAD, else mean deviation)."""
    center = float(np.median(history))
    dev = np.abs(history - center)
    scale = _MAD_TO_SIGMA * float(np.median(dev))
    if scale <= 0.0:
        scale = 1.2533 * float(np.mean(dev))
    scale = max(scale, 1e-9 * (1.0 + abs(center)))
    return abs(value - center) / scale


class RobustZScore(BaseDetector):
    """Rolling median/MAD z-score of the value (or of its seasonal residual)."""

    name = "zscore"
    summary = "robust rolling z-score (median/MAD), optionally on a seasonal residual"
    ranges: ClassVar[dict[str, Spec]] = {
        "window": Range(2, 100_000),
        "season": Range(0, 100_000),
        "seasons": Range(1, 10),  # the raw ring keeps season × seasons values
        "min_points": Range(1, 100_000),
    }

    def __init__(
        self, window: int = 256, season: int = 0, seasons: int = 3, min_points: int = 16
    ) -> None:
        self.window = window
        self.season = season
        self.seasons = seasons
        self.min_points = min_points
        self._raw = Ring(max(1, season * seasons))
        self._resid = Ring(window)

    def _residual(self, value: float) -> float:
        if self.season <= 0 or self._raw.count < self.season:
            return value
        lags = self._raw.count - np.arange(self.season, self.season * self.seasons + 1, self.season)
        lags = lags[lags >= 0]
        past = self._raw.data[lags % self._raw.size, 0]
        return value - float(np.median(past))

    def _score(self, x: Array) -> float:
        if len(self._resid) < self.min_points:
            return 0.0
        return robust_z(self._residual(float(x[0])), self._resid.view()[:, 0])

    def _learn(self, x: Array) -> None:
        self._resid.push(np.array([self._residual(float(x[0]))]))
        self._raw.push(x[:1])

    def state_dict(self) -> State:
        """The raw and residual rings."""
        return {**self._raw.state("raw"), **self._resid.state("resid")}

    def load_state_dict(self, state: State) -> None:
        """Restore the raw and residual rings."""
        self._raw.load(state, "raw")
        self._resid.load(state, "resid")
