"""An ensemble across time scales, with an anomaly likelihood and alarm hold-off on top.

Members look at the same stream at different scales: robust z-scores of the value against
the last ``windows`` points and a Holt-Winters forecast residual. Each member's raw score is
turned into a likelihood the way Numenta's HTM detector does it: the mean of its last
``short`` log-scores is compared with the distribution of its last ``history`` log-scores, and
the Gaussian tail says how unusual that is. The ensemble reports the most surprised member,
on a log scale in [0, 1] (0.5 ≈ a one-in-100 000 surprise). After a score of ``alarm`` or more
the next ``hold`` scores are damped, so one event raises one alarm, not a burst.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from aiot.models.base import Array, BaseDetector, State, as_matrix
from aiot.models.buffer import Ring
from aiot.models.holt import HoltWinters
from aiot.models.params import Range, Spec
from aiot.models.zscore import robust_z

__all__ = ["MultiScaleEnsemble"]

_LOG_FLOOR = math.log(1e-10)


class MultiScaleEnsemble(BaseDetector):
    """Most surprised of several time-scale members, as a log-likelihood in [0, 1]."""

    name = "ensemble"
    summary = "multi-scale robust z-scores and Holt-Winters residual, anomaly likelihood, hold-off"
    bounded = True
    check_params: ClassVar[dict[str, Any]] = {"windows": [16, 128], "history": 300}
    ranges: ClassVar[dict[str, Spec]] = {
        "windows": Range(2, 100_000, items=8),
        "short": Range(2, 1_000),
        "history": Range(2, 100_000),
        "hold": Range(0, 100_000),
        "alarm": Range(0.0, 1.0, integer=False),
        "damp": Range(0.0, 1.0, integer=False),
        "min_points": Range(1, 100_000),
    }

    def __init__(
        self,
        windows: tuple[int, ...] | list[int] = (32, 256, 1024),
        short: int = 5,
        history: int = 1000,
        hold: int = 0,
        alarm: float = 0.5,
        damp: float = 0.5,
        min_points: int = 32,
    ) -> None:
        self.windows = list(windows)
        self.short = short
        self.history = history
        self.hold = hold
        self.alarm = alarm
        self.damp = damp
        self.min_points = min_points
        self._values = Ring(max(self.windows))
        self._holt = HoltWinters()
        self._members = len(self.windows) + 1
        self._logs = [Ring(history) for _ in range(self._members)]
        self._quiet = 0

    def _raw(self, value: float) -> Array:
        seen = len(self._values)
        out = np.zeros(self._members)
        if seen >= self.min_points:
            past = self._values.view()[:, 0]
            for i, w in enumerate(self.windows):
                out[i] = robust_z(value, past[-w:])
        out[-1] = self._holt.score_one(value)
        return np.log1p(out)

    def _likelihood(self, logs: Array) -> float:
        best = 0.0
        for i, ring in enumerate(self._logs):
            if len(ring) < self.min_points:
                continue
            hist = ring.view()[:, 0]
            recent = np.concatenate([hist[-(self.short - 1) :], logs[i : i + 1]])
            sd = max(float(np.std(hist)), 1e-3)
            z = (float(np.mean(recent)) - float(np.mean(hist))) / sd
            best = max(best, 0.5 * (1.0 + math.erf(z / math.sqrt(2.0))))
        return best

    def _step(self, x: Array, learn: bool) -> float:
        value = float(x[0])
        logs = self._raw(value)
        likelihood = self._likelihood(logs)
        score = min(1.0, max(0.0, math.log(1.0000000001 - likelihood) / _LOG_FLOOR))
        out = score * self.damp if self._quiet > 0 else score
        if learn:
            self._quiet = self.hold if out >= self.alarm else max(0, self._quiet - 1)
            for ring, v in zip(self._logs, logs, strict=True):
                ring.push(np.array([v]))
            self._values.push(x[:1])
            self._holt.learn_one(value)
        return out

    def _score(self, x: Array) -> float:
        return self._step(x, learn=False)

    def _learn(self, x: Array) -> None:
        self._step(x, learn=True)

    def score_learn_many(self, xs: Any) -> Array:
        """Score each row, then learn it, computing each member once per row."""
        rows = self._check(as_matrix(xs))
        return np.array([self._step(row, learn=True) for row in rows], dtype=np.float64)

    def state_dict(self) -> State:
        """Value ring, member log-score rings, Holt-Winters member and hold-off counter."""
        state: State = {**self._values.state("values"), "quiet": self._quiet}
        for i, ring in enumerate(self._logs):
            state.update(ring.state(f"logs{i}"))
        state.update({f"holt.{k}": v for k, v in self._holt.state_dict().items()})
        return state

    def load_state_dict(self, state: State) -> None:
        """Restore everything ``state_dict`` wrote."""
        self._values.load(state, "values")
        for i, ring in enumerate(self._logs):
            ring.load(state, f"logs{i}")
        self._holt.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("holt.")})
        self._quiet = int(state["quiet"])
