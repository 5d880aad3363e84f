"""The declared ranges of a model's hyperparameters, and the check that refuses the rest.

Every detector declares, beside its ``__init__``, a :class:`Range` (numbers, or lists of
numbers) or a :class:`Choice` (words) for each hyperparameter. The registry checks a model's
parameters against them before the model is built, so that a deployment, a training call or
an imported artifact cannot ask for a window of 200 million points (allocated at once) or of
zero (a division by zero later): it gets an ``invalid_input`` error naming the parameter and
its range. The conformance suite checks that every registered model declares a range for
every parameter and that its defaults lie inside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiot.errors import InvalidInput

__all__ = ["SEED", "Choice", "Range", "Spec", "check"]


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a number (an integer when ``integer``); ``items`` > 0: a list of them."""

    low: float
    high: float
    integer: bool = True
    items: int = 0

    def describe(self) -> str:
        """The range in words, as an error message shows it."""
        what = "an integer" if self.integer else "a number"
        one = f"{what} in [{_num(self.low)}, {_num(self.high)}]"
        return f"a list of 1 to {self.items} of {one}" if self.items else one

    def detail(self) -> dict[str, Any]:
        """The range as JSON, for the error's detail."""
        out: dict[str, Any] = {"range": [self.low, self.high], "integer": self.integer}
        return out | ({"items": self.items} if self.items else {})

    def admits(self, value: Any) -> bool:
        """Whether ``value`` lies in the range."""
        if not self.items:
            return self._admits_one(value)
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= self.items:
            return False
        return all(self._admits_one(v) for v in value)

    def _admits_one(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        return math.isfinite(value) and self.low <= value <= self.high  # NaN is never inside


@dataclass(frozen=True)
class Choice:
    """One of a few words."""

    options: tuple[str, ...]

    def describe(self) -> str:
        """The choices in words."""
        return "one of " + ", ".join(repr(o) for o in self.options)

    def detail(self) -> dict[str, Any]:
        """The choices as JSON."""
        return {"choices": list(self.options)}

    def admits(self, value: Any) -> bool:
        """Whether ``value`` is one of the options."""
        return isinstance(value, str) and value in self.options


Spec = Range | Choice
SEED = Range(0, 2**32 - 1)
"""A random seed (NumPy takes 32-bit ones)."""


def check(model: str, ranges: Mapping[str, Spec], params: Mapping[str, Any]) -> None:
    """Refuse a parameter the model does not know or one outside its declared range."""
    unknown = sorted(set(params) - set(ranges))
    if unknown:
        raise InvalidInput(
            f"bad parameters for {model}: no parameter {', '.join(unknown)}",
            detail={"parameter": unknown[0], "known": sorted(ranges)},
        )
    for name, value in params.items():
        spec = ranges[name]
        if not spec.admits(value):
            raise InvalidInput(
                f"bad parameters for {model}: {name} must be {spec.describe()}, not {value!r}",
                detail={"parameter": name, **spec.detail(), "got": _jsonable(value)},
            )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return repr(value)[:100]
