"""Isolation Forest over sliding windows, refitted on a bounded buffer of recent windows.

Each point is described by the last ``window`` rows (flattened). scikit-learn grows the
forest on the buffered windows every ``refit_every`` points; the trees are kept as plain
arrays and walked here, so the state saves and loads without pickling anything.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from aiot.models.base import Array, BaseDetector, State
from aiot.models.buffer import Ring
from aiot.models.params import SEED, Range, Spec

__all__ = ["WindowIsolationForest"]

_TREE_KEYS = ("left", "right", "feature", "threshold", "size")


def _avg_path(n: Array) -> Array:
    """Average path length of an unsuccessful search in a binary tree of ``n`` points."""
    n = np.asarray(n, dtype=np.float64)
    harmonic = np.log(np.maximum(n - 1, 1)) + 0.5772156649
    out = 2.0 * harmonic - 2.0 * (n - 1) / np.maximum(n, 1)
    return np.where(n > 2, out, np.where(n == 2, 1.0, 0.0))


class WindowIsolationForest(BaseDetector):
    """Isolation score (0.5 typical, toward 1 anomalous) of the latest window of rows."""

    name = "iforest"
    summary = "Isolation Forest over sliding windows, refitted on recent history"
    multivariate = True
    bounded = True
    check_params: ClassVar[dict[str, Any]] = {"n_trees": 10}
    ranges: ClassVar[dict[str, Spec]] = {
        "window": Range(1, 128),
        "buffer": Range(16, 4_096),  # buffered windows: buffer × window × keys floats
        "refit_every": Range(16, 100_000),  # a forest needs a few windows to grow on
        "n_trees": Range(1, 500),
        "seed": SEED,
    }

    def __init__(
        self, window: int = 8, buffer: int = 512, refit_every: int = 256, n_trees: int = 50,
        seed: int = 0,
    ) -> None:  # fmt: skip
        self.window = window
        self.buffer = buffer
        self.refit_every = refit_every
        self.n_trees = n_trees
        self.seed = seed
        self._width = 0
        self._n = 0
        self._rows = Ring(1)
        self._shingles = Ring(1)
        self._trees: dict[str, Array] = {k: np.zeros((0, 0)) for k in _TREE_KEYS}
        self._sample = 0

    def _setup(self, width: int) -> None:
        self._width = width
        self._rows = Ring(self.window, width)
        self._shingles = Ring(self.buffer, width * self.window)

    def _shingle(self, x: Array) -> Array | None:
        if len(self._rows) < self.window - 1:
            return None
        return np.concatenate([self._rows.last(self.window - 1).ravel(), x])

    def _fit(self) -> None:
        from sklearn.ensemble import IsolationForest

        data = self._shingles.view()
        forest = IsolationForest(
            n_estimators=self.n_trees, max_samples=min(256, len(data)), random_state=self.seed
        ).fit(data)
        nodes = 2 * int(forest.max_samples_) - 1  # the most a tree on that sample can hold
        arrays = {k: np.full((self.n_trees, nodes), -1.0) for k in _TREE_KEYS}
        for t, (est, feats) in enumerate(
            zip(forest.estimators_, forest.estimators_features_, strict=True)
        ):
            tree, count = est.tree_, est.tree_.node_count
            arrays["left"][t, :count] = tree.children_left
            arrays["right"][t, :count] = tree.children_right
            arrays["feature"][t, :count] = np.asarray(feats)[np.maximum(tree.feature, 0)]
            arrays["threshold"][t, :count] = tree.threshold
            arrays["size"][t, :count] = tree.n_node_samples
        self._trees, self._sample = arrays, int(forest.max_samples_)

    def _score(self, x: Array) -> float:
        z = self._shingle(x) if self._width else None
        if z is None or not self._sample:
            return 0.0
        left, right = self._trees["left"].astype(np.int64), self._trees["right"].astype(np.int64)
        feat, thr = self._trees["feature"].astype(np.int64), self._trees["threshold"]
        trees = np.arange(self.n_trees)
        node, depth = np.zeros(self.n_trees, dtype=np.int64), np.zeros(self.n_trees)
        while True:
            inner = left[trees, node] >= 0
            if not inner.any():
                break
            go_left = z[feat[trees, node]] <= thr[trees, node]
            nxt = np.where(go_left, left[trees, node], right[trees, node])
            node, depth = np.where(inner, nxt, node), depth + inner
        path = depth + _avg_path(self._trees["size"][trees, node])
        return float(2.0 ** (-path.mean() / float(_avg_path(np.array(self._sample)))))

    def _learn(self, x: Array) -> None:
        if not self._width:
            self._setup(len(x))
        z = self._shingle(x)
        self._rows.push(x)
        if z is None:
            return
        self._shingles.push(z)
        self._n += 1
        if self._n >= self.refit_every and self._n % self.refit_every == 0:
            self._fit()

    def state_dict(self) -> State:
        """Recent rows, buffered windows and the forest as arrays."""
        state: State = {"width": self._width, "n": self._n, "sample": self._sample}
        state.update(self._rows.state("rows"))
        state.update(self._shingles.state("shingles"))
        state.update({f"tree.{k}": v.copy() for k, v in self._trees.items()})
        return state

    def load_state_dict(self, state: State) -> None:
        """Restore rows, buffered windows and the forest."""
        self._setup(int(state["width"]))
        self._n, self._sample = int(state["n"]), int(state["sample"])
        self._rows.load(state, "rows")
        self._shingles.load(state, "shingles")
        self._trees = {k: np.asarray(state[f"tree.{k}"], dtype=np.float64) for k in _TREE_KEYS}
