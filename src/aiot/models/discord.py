"""Streaming matrix-profile discords: how far the latest subsequence is from its nearest past one.

The newest ``m`` values are compared, z-normalised, with every earlier subsequence in the last
``window`` values (the MASS distance profile, computed here with NumPy as stumpy's
``mass`` does); subsequences overlapping the query are
excluded. A subsequence unlike anything seen recently is a discord. The score is the nearest
distance over its maximum, 2·√m, so it lies in [0, 1].
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from aiot.models.base import Array, BaseDetector, State
from aiot.models.buffer import Ring
from aiot.models.params import Range, Spec

__all__ = ["MatrixProfileDiscord"]


def _nearest(query: Array, history: Array) -> float:
    """Smallest z-normalised Euclidean distance from ``query`` to a subsequence of ``history``."""
    m = len(query)
    subs = np.lib.stride_tricks.sliding_window_view(history, m)
    mu, sd = subs.mean(axis=1), subs.std(axis=1)
    q_sd = float(query.std())
    flat = sd < 1e-8
    if q_sd < 1e-8:  # a flat query matches flat subsequences exactly, others at √m
        return 0.0 if flat.any() else math.sqrt(m)
    corr = ((subs - mu[:, None]) @ (query - query.mean())) / (m * np.where(flat, 1.0, sd) * q_sd)
    dist = np.sqrt(np.clip(2 * m * (1 - corr), 0.0, None))
    return float(np.where(flat, math.sqrt(m), dist).min())


class MatrixProfileDiscord(BaseDetector):
    """Left matrix-profile value of the newest subsequence of length ``m``."""

    name = "discord"
    summary = "streaming matrix-profile discords (z-normalised nearest-neighbour distance, MASS)"
    bounded = True
    check_params: ClassVar[dict[str, Any]] = {"m": 16, "window": 256}
    ranges: ClassVar[dict[str, Spec]] = {
        "m": Range(2, 512),
        "window": Range(8, 16_384),  # each point is compared with every window position
    }

    def __init__(self, m: int = 32, window: int = 1024) -> None:
        self.m = m
        self.window = window
        self._values = Ring(window)

    def _score(self, x: Array) -> float:
        if len(self._values) < 3 * self.m:
            return 0.0
        series = np.concatenate([self._values.last(self.window - 1)[:, 0], x[:1]])
        query = series[-self.m :]
        # Subsequences that start within m of the query overlap it: trivial matches.
        history = series[: -self.m - 1]
        return min(1.0, _nearest(query, history) / (2.0 * math.sqrt(self.m)))

    def _learn(self, x: Array) -> None:
        self._values.push(x[:1])

    def state_dict(self) -> State:
        """The last ``window`` values."""
        return self._values.state("values")

    def load_state_dict(self, state: State) -> None:
        """Restore the last ``window`` values."""
        self._values.load(state, "values")
