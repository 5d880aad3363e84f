"""Innovation T²: per-variable autoregressive whitening, Hotelling T², causal smoothing.

Level-based monitoring (PCA T²) alarms whenever a slow variable such as a temperature drifts
away from where it was during training, although nothing is wrong. This detector watches how
each variable *moves* instead: after the first ``warmup`` points it standardises every
variable with their statistics, fits an autoregressive model of ``order`` lags to each one
(least squares), and scores a new point by Hotelling's T² of the one-step prediction errors
(the innovations) under their training covariance, divided by the number of variables. A slow
variable (lag-1 coefficient near 1) contributes its increments; a fast, mean-reverting one
(coefficient near 0) contributes its level, so a level shift of a fast variable, a broken
correlation and a sudden jump all raise the score, a slow drift much less.

The score is the mean of ``log(1 + T²/d)`` over the last ``window`` points (this one
included): faults persist over many points while single noisy points do not, and the
logarithm keeps one huge jump from dominating the mean. After the warm-up the fitted model is
frozen; learning a point only moves the lag and smoothing context forward, so a score at time
t uses data up to t and nothing else.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.errors import InvalidInput
from aiot.models.base import Array, BaseDetector, State
from aiot.models.params import Range, Spec

__all__ = ["InnovationT2"]

_RIDGE = 1e-6
"""Relative ridge on the lag regressions and floor on the innovation covariance's spectrum."""

_ARRAYS = ("buffer", "mean", "scale", "coef", "center", "precision", "lags", "recent")


def _lagged(z: Array, order: int) -> Array:
    """``out[k]`` holds z shifted by k + 1 rows, aligned with ``z[order:]`` (order × n' × d)."""
    n = len(z)
    if order == 0:
        return np.zeros((0, n, z.shape[1]))
    return np.stack([z[order - k - 1 : n - k - 1] for k in range(order)])


def _fit_ar(z: Array, order: int) -> Array:
    """Least-squares AR coefficients of every standardised column (d × order)."""
    d = z.shape[1]
    if order == 0:
        return np.zeros((d, 0))
    lagged, target = _lagged(z, order), z[order:]
    coef = np.zeros((d, order))
    for j in range(d):
        design = lagged[:, :, j].T
        gram = design.T @ design + _RIDGE * len(design) * np.eye(order)
        coef[j] = np.linalg.solve(gram, design.T @ target[:, j])
    return coef


def _precision(innovations: Array) -> Array:
    """Inverse covariance of the innovations, small eigenvalues floored."""
    cov = np.atleast_2d(np.cov(innovations, rowvar=False))
    eigvals, eigvecs = np.linalg.eigh(cov)
    floor = _RIDGE * max(float(eigvals.max()), 1e-12)
    inverse: Array = (eigvecs / np.maximum(eigvals, floor)) @ eigvecs.T
    return inverse


class InnovationT2(BaseDetector):
    """Hotelling T² of per-variable AR(``order``) innovations, log-mean over ``window`` points."""

    name = "innovation"
    summary = "Hotelling T² of autoregressive innovations, causal log-mean smoothing"
    multivariate = True
    ranges: ClassVar[dict[str, Spec]] = {
        "order": Range(0, 50),
        "window": Range(1, 100_000),
        "warmup": Range(3, 1_000_000),  # the warm-up rows are kept until the fit
    }

    def __init__(self, order: int = 1, window: int = 10, warmup: int = 200) -> None:
        if order < 0 or window < 1:
            raise InvalidInput("order must be ≥ 0 and window ≥ 1")
        if warmup < order + 3:
            raise InvalidInput("warmup must exceed order + 2 points")
        self.order = order
        self.window = window
        self.warmup = warmup
        self._n = 0
        self._rows: list[Array] = []
        self._mean: Array = np.zeros(0)
        self._scale: Array = np.zeros(0)
        self._coef: Array = np.zeros((0, 0))
        self._center: Array = np.zeros(0)
        self._precision: Array = np.zeros((0, 0))
        self._lags: Array = np.zeros((0, 0))
        self._recent: Array = np.zeros(0)

    @property
    def fitted(self) -> bool:
        """Whether the warm-up is over and the model frozen."""
        return bool(len(self._center))

    def _innovation(self, z: Array) -> Array:
        """One-step prediction error of a standardised row given the lag context."""
        predicted: Array = np.sum(self._coef.T * self._lags, axis=0)
        return z - predicted

    def _value(self, x: Array) -> float:
        """``log(1 + T²/d)`` of one raw row (before smoothing)."""
        e = self._innovation((x - self._mean) / self._scale) - self._center
        return float(np.log1p(float(e @ self._precision @ e) / len(e)))

    def _fit(self) -> None:
        data = np.array(self._rows)
        self._mean = data.mean(axis=0)
        scale = data.std(axis=0, ddof=1)
        self._scale = np.where(scale > 1e-12, scale, 1.0)
        z = (data - self._mean) / self._scale
        self._coef = _fit_ar(z, self.order)
        pred = np.einsum("kd,knd->nd", self._coef.T, _lagged(z, self.order))
        innovations = z[self.order :] - pred
        self._center = innovations.mean(axis=0)
        self._precision = _precision(innovations)
        centred = innovations - self._center
        values = np.log1p(np.einsum("ij,jk,ik->i", centred, self._precision, centred) / z.shape[1])
        self._recent = values[max(len(values) - self.window + 1, 0) :]
        self._lags = z[len(z) - self.order :][::-1].copy()
        self._rows = []

    def _score(self, x: Array) -> float:
        if not self.fitted:
            return 0.0
        return (float(self._recent.sum()) + self._value(x)) / (len(self._recent) + 1)

    def _learn(self, x: Array) -> None:
        self._n += 1
        if not self.fitted:
            self._rows.append(x.copy())
            if self._n == self.warmup:
                self._fit()
            return
        if self.window > 1:
            keep = self._recent[max(len(self._recent) - self.window + 2, 0) :]
            self._recent = np.append(keep, self._value(x))
        if self.order:
            z = (x - self._mean) / self._scale
            self._lags = np.vstack([z[None, :], self._lags[:-1]])

    def state_dict(self) -> State:
        """The warm-up rows (until fitted), the frozen model, and the lag/smoothing context."""
        width = len(self._rows[0]) if self._rows else 0
        buffer = np.array(self._rows).reshape(len(self._rows), width)
        arrays = (buffer, self._mean, self._scale, self._coef, self._center, self._precision)
        state: State = {"n": self._n}
        for key, value in zip(_ARRAYS, (*arrays, self._lags, self._recent), strict=True):
            state[key] = np.array(value, dtype=np.float64, copy=True)
        return state

    def load_state_dict(self, state: State) -> None:
        """Restore what ``state_dict`` wrote."""
        self._n = int(state["n"])
        self._rows = [row.copy() for row in np.asarray(state["buffer"], dtype=np.float64)]
        for key in _ARRAYS[1:]:
            setattr(self, f"_{key}", np.asarray(state[key], dtype=np.float64).copy())
