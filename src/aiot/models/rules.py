"""Plain value rules as detectors: the value itself, or how fast it changes.

Many alarms need no model: "temperature above 90", "pressure drops faster than 2 bar a
reading". Deployed like any detector, their score goes through the same alarm policy (a
fixed ``threshold``, hits in a window, duration, hysteresis), so they raise, clear and get
verdicts like model alarms, as ThingsBoard's simple and duration alarm rules do.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.errors import InvalidInput
from aiot.models.base import Array, BaseDetector, State
from aiot.models.params import Choice, Range, Spec

__all__ = ["RateOfChange", "ValueRule"]

_SIDES = ("above", "below", "both")


def _side(side: str) -> str:
    if side not in _SIDES:
        raise InvalidInput(f"side must be one of {_SIDES}", detail={"got": side})
    return side


class ValueRule(BaseDetector):
    """The value as the score: ``above`` (the value), ``below`` (minus it) or ``both`` (|value|)."""

    name = "value"
    summary = "the value itself against the policy's threshold (a plain threshold rule)"
    ranges: ClassVar[dict[str, Spec]] = {"side": Choice(_SIDES)}

    def __init__(self, side: str = "both") -> None:
        self.side = _side(side)

    def _score(self, x: Array) -> float:
        value = float(x[0])
        if self.side == "above":
            return value
        return -value if self.side == "below" else abs(value)

    def _learn(self, x: Array) -> None:
        return None

    def state_dict(self) -> State:
        """Nothing is learnt."""
        return {}

    def load_state_dict(self, state: State) -> None:
        """Nothing to restore."""


class RateOfChange(BaseDetector):
    """The change over the last ``lag`` readings as the score (rises, falls, or either way)."""

    name = "rate"
    summary = "change over the last readings against the policy's threshold (a rate rule)"
    ranges: ClassVar[dict[str, Spec]] = {"side": Choice(_SIDES), "lag": Range(1, 100_000)}

    def __init__(self, side: str = "both", lag: int = 5) -> None:
        if lag < 1:
            raise InvalidInput("lag must be at least 1 reading", detail={"got": lag})
        self.side = _side(side)
        self.lag = lag
        self._recent = np.full(lag, np.nan)
        self._n = 0

    def _score(self, x: Array) -> float:
        if self._n < self.lag:
            return 0.0
        change = float(x[0]) - float(self._recent[self._n % self.lag])
        if self.side == "above":
            return change
        return -change if self.side == "below" else abs(change)

    def _learn(self, x: Array) -> None:
        self._recent[self._n % self.lag] = float(x[0])
        self._n += 1

    def state_dict(self) -> State:
        """The last ``lag`` values and how many were seen."""
        return {"recent": self._recent.copy(), "n": self._n}

    def load_state_dict(self, state: State) -> None:
        """Restore the last values."""
        self._recent = np.asarray(state["recent"], dtype=np.float64).copy()
        self._n = int(state["n"])
