"""Half-Space Trees (Tan, Ting & Liu 2011), the streaming forest river ships, in NumPy.

Each tree halves a randomly shifted copy of the unit cube down to ``height`` levels. Points
are counted in the cells they fall in during one window; the previous window's counts are the
reference profile, and a point is anomalous when it lands in cells that held few points.
Features are scaled with the range seen during the first window. The trees follow from
``seed``, so the learned state is only arrays of counts.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from aiot.models.base import Array, BaseDetector, State
from aiot.models.buffer import Ring
from aiot.models.params import SEED, Range, Spec

__all__ = ["HalfSpaceTrees"]


def _build(n_trees: int, height: int, dims: int, seed: int) -> tuple[Array, Array]:
    """Split feature and value of every internal node, heap-ordered, per tree."""
    rng = np.random.default_rng(seed)
    internal = 2**height - 1
    feat = np.zeros((n_trees, internal), dtype=np.int64)
    split = np.zeros((n_trees, internal))
    for t in range(n_trees):
        s = rng.uniform(size=dims)
        span = 2 * np.maximum(s, 1 - s)
        ranges = {0: (s - span, s + span)}
        for q in range(internal):
            lo, hi = ranges.pop(q)
            f = int(rng.integers(dims))
            mid = (lo[f] + hi[f]) / 2
            feat[t, q], split[t, q] = f, mid
            left_hi, right_lo = hi.copy(), lo.copy()
            left_hi[f], right_lo[f] = mid, mid
            ranges[2 * q + 1], ranges[2 * q + 2] = (lo, left_hi), (right_lo, hi)
    return feat.astype(np.float64), split


class HalfSpaceTrees(BaseDetector):
    """Half-Space Trees over the last ``shingle`` rows; score in [0, 1], high = anomalous."""

    name = "hst"
    summary = "Half-Space Trees (streaming mass estimation over random half-space cells)"
    multivariate = True
    bounded = True
    ranges: ClassVar[dict[str, Spec]] = {
        "n_trees": Range(1, 200),
        "height": Range(1, 12),  # each tree keeps 2^(height+1) cells twice
        "window_size": Range(1, 100_000),
        "shingle": Range(1, 1_000),
        "seed": SEED,
    }

    def __init__(
        self, n_trees: int = 25, height: int = 8, window_size: int = 250, shingle: int = 1,
        seed: int = 42,
    ) -> None:  # fmt: skip
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.shingle = shingle
        self.seed = seed
        self._dims = 0
        self._reset(0)

    def _reset(self, width: int) -> None:
        self._dims = width * self.shingle
        nodes = 2 ** (self.height + 1) - 1 if width else 0
        self._ref: Array = np.zeros((self.n_trees, nodes))
        self._latest: Array = np.zeros((self.n_trees, nodes))
        self._lo: Array = np.full(self._dims, np.inf)
        self._hi: Array = np.full(self._dims, -np.inf)
        self._rows = Ring(self.shingle, max(width, 1))
        self._n = 0
        if width:
            feat, self._split = _build(self.n_trees, self.height, self._dims, self.seed)
            self._feat = feat.astype(np.int64)

    def _features(self, x: Array) -> Array | None:
        if len(self._rows) < self.shingle - 1:
            return None
        past = self._rows.last(self.shingle - 1).ravel() if self.shingle > 1 else x[:0]
        return np.concatenate([past, x])

    def _paths(self, z: Array) -> npt.NDArray[np.int64]:
        span = np.where(self._hi > self._lo, self._hi - self._lo, 1.0)
        unit = np.clip((z - self._lo) / span, 0.0, 1.0)
        trees = np.arange(self.n_trees)
        q = np.zeros(self.n_trees, dtype=np.int64)
        path = [q]
        for _ in range(self.height):
            right = unit[self._feat[trees, q]] >= self._split[trees, q]
            q = 2 * q + 1 + right
            path.append(q)
        return np.stack(path, axis=1)

    def _score(self, x: Array) -> float:
        z = self._features(x) if self._dims else None
        if z is None or self._n < 2 * self.window_size:
            return 0.0
        mass = np.take_along_axis(self._ref, self._paths(z), axis=1)
        small = mass < 0.1 * self.window_size
        stop = np.where(small.any(axis=1), small.argmax(axis=1), self.height)
        depth = np.arange(self.height + 1)
        used = depth[None, :] <= stop[:, None]
        total = float(np.sum(mass * 2.0**depth * used))
        top = self.n_trees * self.window_size * (2.0 ** (self.height + 1) - 1)
        return 1.0 - total / top

    def _learn(self, x: Array) -> None:
        if not self._dims:
            self._reset(len(x))
        z = self._features(x)
        self._rows.push(x)
        if z is None:
            return
        if self._n < self.window_size:
            self._lo, self._hi = np.minimum(self._lo, z), np.maximum(self._hi, z)
        else:
            np.add.at(self._latest, (np.arange(self.n_trees)[:, None], self._paths(z)), 1.0)
        self._n += 1
        if self._n % self.window_size == 0 and self._n > self.window_size:
            self._ref, self._latest = self._latest, np.zeros_like(self._latest)

    def state_dict(self) -> State:
        """Reference and latest masses, feature range, recent rows and count."""
        return {
            "dims": self._dims, "n": self._n, "ref": self._ref.copy(),
            "latest": self._latest.copy(), "lo": self._lo.copy(), "hi": self._hi.copy(),
            **self._rows.state("rows"),
        }  # fmt: skip

    def load_state_dict(self, state: State) -> None:
        """Restore masses and ranges; the trees are rebuilt from ``seed``."""
        dims = int(state["dims"])
        self._reset(dims // self.shingle)
        self._n = int(state["n"])
        self._ref = np.asarray(state["ref"], dtype=np.float64).copy()
        self._latest = np.asarray(state["latest"], dtype=np.float64).copy()
        self._lo = np.asarray(state["lo"], dtype=np.float64).copy()
        self._hi = np.asarray(state["hi"], dtype=np.float64).copy()
        self._rows.load(state, "rows")
