"""PCA monitoring with Hotelling's T² and the squared prediction error (SPE, Q).

The process-industry standard: standardise each variable with the statistics of normal
operation, keep the principal components that explain ``variance`` of it, and watch two
numbers: T² (how far a point moves inside the principal subspace) and SPE (how far it leaves
it). Both are divided by their expected value on normal data, so 1 is typical.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.errors import InvalidInput
from aiot.models.base import Array, BaseDetector, State
from aiot.models.params import Choice, Range, Spec

__all__ = ["PcaT2Spe"]

_STATISTICS = ("t2", "spe", "both")


class PcaT2Spe(BaseDetector):
    """Hotelling T² and/or SPE of a PCA model fitted on the first ``warmup`` points."""

    name = "pca"
    summary = "PCA monitoring: Hotelling T² and squared prediction error (SPE/Q)"
    multivariate = True
    ranges: ClassVar[dict[str, Spec]] = {
        "variance": Range(0.0, 1.0, integer=False),
        "statistic": Choice(_STATISTICS),
        "warmup": Range(2, 1_000_000),
        "refit_every": Range(0, 1_000_000),
    }

    def __init__(
        self,
        variance: float = 0.9,
        statistic: str = "both",
        warmup: int = 200,
        refit_every: int = 0,
    ) -> None:
        if statistic not in _STATISTICS:
            raise InvalidInput(f"statistic must be one of {_STATISTICS}")
        self.variance = variance
        self.statistic = statistic
        self.warmup = warmup
        self.refit_every = refit_every
        self._n = 0
        self._mean: Array = np.zeros(0)
        self._m2: Array = np.zeros((0, 0))
        self._center: Array = np.zeros(0)
        self._scale: Array = np.zeros(0)
        self._components: Array = np.zeros((0, 0))
        self._eigvals: Array = np.zeros(0)
        self._spe_mean = 0.0

    def _fit(self) -> None:
        cov = self._m2 / max(self._n - 1, 1)
        scale = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        scale = np.where(scale > 1e-12, scale, 1.0)
        corr = cov / np.outer(scale, scale)
        eigvals, eigvecs = np.linalg.eigh(corr)
        eigvals, eigvecs = np.clip(eigvals[::-1], 0.0, None), eigvecs[:, ::-1]
        share = np.cumsum(eigvals) / max(float(eigvals.sum()), 1e-12)
        k = min(int(np.searchsorted(share, self.variance) + 1), len(eigvals))
        self._center, self._scale = self._mean.copy(), scale
        self._components, self._eigvals = eigvecs[:, :k].copy(), np.maximum(eigvals[:k], 1e-9)
        self._spe_mean = max(float(eigvals[k:].sum()), 1e-9)

    def _score(self, x: Array) -> float:
        if not len(self._eigvals):
            return 0.0
        z = (x - self._center) / self._scale
        t = self._components.T @ z
        t2 = float(np.sum(t * t / self._eigvals)) / len(t)
        resid = z - self._components @ t
        spe = float(resid @ resid) / self._spe_mean
        if self.statistic == "t2":
            return t2
        return spe if self.statistic == "spe" else 0.5 * (t2 + spe)

    def contributions(self, x: Array) -> Array:
        """Each variable's share of the score of ``x`` (they add up to it), for an alarm's cause.

        T² is split as process engineers do (variable i takes z_i times its row of the
        projection, weighted by each component's variance), SPE by each squared residual.
        """
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if not len(self._eigvals):
            return np.zeros(len(x))
        z = (x - self._center) / self._scale
        t = self._components.T @ z
        t2 = z * (self._components @ (t / self._eigvals)) / len(t)
        resid = z - self._components @ t
        spe = resid * resid / self._spe_mean
        if self.statistic == "t2":
            return t2
        return spe if self.statistic == "spe" else 0.5 * (t2 + spe)

    def _learn(self, x: Array) -> None:
        if self._n == 0:
            self._mean, self._m2 = np.zeros(len(x)), np.zeros((len(x), len(x)))
        self._n += 1
        delta = x - self._mean
        self._mean = self._mean + delta / self._n
        self._m2 = self._m2 + np.outer(delta, x - self._mean)
        since = self._n - self.warmup
        if since == 0 or (since > 0 and self.refit_every > 0 and since % self.refit_every == 0):
            self._fit()

    def state_dict(self) -> State:
        """Running moments and the fitted projection."""
        return {
            "n": self._n,
            "mean": self._mean.copy(),
            "m2": self._m2.copy(),
            "center": self._center.copy(),
            "scale": self._scale.copy(),
            "components": self._components.copy(),
            "eigvals": self._eigvals.copy(),
            "spe_mean": self._spe_mean,
        }

    def load_state_dict(self, state: State) -> None:
        """Restore running moments and the fitted projection."""
        self._n = int(state["n"])
        self._spe_mean = float(state["spe_mean"])
        for key in ("mean", "m2", "center", "scale", "components", "eigvals"):
            setattr(self, f"_{key}", np.asarray(state[key], dtype=np.float64).copy())
