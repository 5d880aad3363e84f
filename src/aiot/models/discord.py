"""Streaming matrix-profile discords: how far the latest subsequence is from its nearest past one.

The newest ``m`` values are compared, z-normalised, with every earlier subsequence in the last
``window`` values (stumpy's MASS distance profile); subsequences overlapping the query are
excluded. A subsequence unlike anything seen recently is a discord. The score is the nearest
distance over its maximum, 2·√m, so it lies in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from aiot.models.base import Array, BaseDetector, State
from aiot.models.buffer import Ring

__all__ = ["MatrixProfileDiscord"]


class MatrixProfileDiscord(BaseDetector):
    """Left matrix-profile value of the newest subsequence of length ``m``."""

    name = "discord"
    summary = "streaming matrix-profile discords (z-normalised nearest-neighbour distance, stumpy)"
    bounded = True

    def __init__(self, m: int = 32, window: int = 1024) -> None:
        self.m = m
        self.window = window
        self._values = Ring(window)

    def _score(self, x: Array) -> float:
        if len(self._values) < 3 * self.m:
            return 0.0
        import stumpy

        series = np.concatenate([self._values.last(self.window - 1)[:, 0], x[:1]])
        query = series[-self.m :]
        # Subsequences that start within m of the query overlap it: trivial matches.
        history = series[: -self.m - 1]
        profile = np.asarray(stumpy.mass(query, history), dtype=np.float64)
        best = float(np.nanmin(profile)) if np.isfinite(profile).any() else 0.0
        return min(1.0, best / (2.0 * math.sqrt(self.m)))

    def _learn(self, x: Array) -> None:
        self._values.push(x[:1])

    def state_dict(self) -> State:
        """The last ``window`` values."""
        return self._values.state("values")

    def load_state_dict(self, state: State) -> None:
        """Restore the last ``window`` values."""
        self._values.load(state, "values")
