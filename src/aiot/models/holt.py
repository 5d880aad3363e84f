"""EWMA / Holt-Winters residual detector: how far a value lands from the one-step forecast.

Level, trend and (with ``season`` > 0) additive seasonal components are smoothed
exponentially; the score is the absolute forecast error over an exponentially weighted mean
absolute error, so it reads as "errors larger than usual". With ``beta = gamma = 0`` it is a
plain EWMA detector.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.models.base import Array, BaseDetector, State
from aiot.models.params import Range, Spec

__all__ = ["HoltWinters"]


class HoltWinters(BaseDetector):
    """Score = |x - Holt-Winters forecast| / running mean absolute forecast error."""

    name = "holt"
    summary = "EWMA / Holt-Winters one-step forecast residual over its running scale"
    ranges: ClassVar[dict[str, Spec]] = {
        "alpha": Range(0.0, 1.0, integer=False),
        "beta": Range(0.0, 1.0, integer=False),
        "gamma": Range(0.0, 1.0, integer=False),
        "season": Range(0, 100_000),
        "error_alpha": Range(0.0, 1.0, integer=False),
        "warmup": Range(0, 1_000_000),
    }

    def __init__(
        self,
        alpha: float = 0.3,
        beta: float = 0.01,
        gamma: float = 0.1,
        season: int = 0,
        error_alpha: float = 0.02,
        warmup: int = 16,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.season = season
        self.error_alpha = error_alpha
        self.warmup = warmup
        self._level = 0.0
        self._trend = 0.0
        self._seasonal: Array = np.zeros(max(season, 1))
        self._scale = 0.0
        self._n = 0

    def _forecast(self) -> float:
        seasonal = self._seasonal[self._n % len(self._seasonal)] if self.season > 0 else 0.0
        return self._level + self._trend + float(seasonal)

    def _score(self, x: Array) -> float:
        if self._n < self.warmup:
            return 0.0
        err = abs(float(x[0]) - self._forecast())
        return err / max(self._scale, 1e-9 * (1.0 + abs(self._level)))

    def _learn(self, x: Array) -> None:
        value = float(x[0])
        if self._n == 0:
            self._level = value
            self._n = 1
            return
        err = abs(value - self._forecast())
        self._scale += self.error_alpha * (err - self._scale) if self._n > 1 else err
        slot = self._n % len(self._seasonal)
        seasonal = float(self._seasonal[slot]) if self.season > 0 else 0.0
        level = self.alpha * (value - seasonal) + (1 - self.alpha) * (self._level + self._trend)
        self._trend = self.beta * (level - self._level) + (1 - self.beta) * self._trend
        if self.season > 0:
            self._seasonal[slot] = self.gamma * (value - level) + (1 - self.gamma) * seasonal
        self._level = level
        self._n += 1

    def state_dict(self) -> State:
        """Level, trend, seasonal profile, error scale and count."""
        return {
            "level": self._level,
            "trend": self._trend,
            "seasonal": self._seasonal.copy(),
            "scale": self._scale,
            "n": self._n,
        }

    def load_state_dict(self, state: State) -> None:
        """Restore level, trend, seasonal profile, error scale and count."""
        self._level = float(state["level"])
        self._trend = float(state["trend"])
        self._seasonal = np.asarray(state["seasonal"], dtype=np.float64).copy()
        self._scale = float(state["scale"])
        self._n = int(state["n"])
