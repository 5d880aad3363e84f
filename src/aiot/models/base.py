"""The detector protocol, its base class, and the ModelCard that describes a model.

A detector sees points one at a time or in batches. ``score_one(x)`` says how anomalous ``x``
is given what was learned so far (high = anomalous) and never changes the model;
``learn_one(x)`` updates it. The batch methods are exact equivalents of loops over the
one-point methods: ``score_many`` scores each row without learning, ``learn_many`` learns each
row, and ``score_learn_many`` scores each row and then learns it, which is how a live stream
and every benchmark run a detector. Hyperparameters live only in ``__init__`` under the same
names; learned state comes out of ``state_dict`` as arrays and scalars, never pickles.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from aiot.errors import InvalidInput
from aiot.models.params import Spec

__all__ = [
    "Array",
    "BaseDetector",
    "Detector",
    "Inputs",
    "ModelCard",
    "State",
    "as_matrix",
    "as_row",
]

Array = npt.NDArray[np.float64]
State = dict[str, Any]
"""Learned state: names to NumPy arrays or plain scalars (int, float, str, bool)."""


def as_row(x: Any) -> Array:
    """One point as a 1-D float array (a scalar becomes one feature)."""
    return np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel()


def as_matrix(xs: Any) -> Array:
    """Many points as a 2-D float array, one row per point (a 1-D array is one feature)."""
    arr = np.asarray(xs, dtype=np.float64)
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InvalidInput("points must be a 1-D or 2-D array", detail={"ndim": arr.ndim})
    return arr


@dataclass(frozen=True)
class Inputs:
    """What a model reads: series keys, sampling interval and window of points it looks at."""

    keys: tuple[str, ...] = ()
    sampling_interval_s: float | None = None
    window: int | None = None
    multivariate: bool = False


@dataclass(frozen=True)
class ModelCard:
    """Who a model is: name, version, task, inputs, parameters, benchmark metrics, licence."""

    name: str
    version: str = "1"
    task: str = "anomaly-detection"
    summary: str = ""
    inputs: Inputs = field(default_factory=Inputs)
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    licence: str = "Apache-2.0"
    author: str = "aiot"
    model: str = ""
    """The registered detector behind a trained model ("" on a registered model's own card)."""

    def to_dict(self) -> dict[str, Any]:
        """The card as plain JSON-ready data."""
        data = asdict(self)
        data["inputs"]["keys"] = list(self.inputs.keys)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """A card from the data ``to_dict`` wrote; unknown fields are refused."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InvalidInput("unknown model card fields", detail=sorted(unknown))
        raw_inputs = dict(data.get("inputs") or {})
        raw_inputs["keys"] = tuple(raw_inputs.get("keys", ()))
        return cls(**{**data, "inputs": Inputs(**raw_inputs)})


@runtime_checkable
class Detector(Protocol):
    """An anomaly detector: learns from points, scores points (high = anomalous)."""

    name: ClassVar[str]

    def learn_one(self, x: Any) -> None:
        """Update the model with one point."""

    def score_one(self, x: Any) -> float:
        """How anomalous one point is, without learning it."""

    def learn_many(self, xs: Any) -> None:
        """Learn each row in order."""

    def score_many(self, xs: Any) -> Array:
        """Score each row without learning."""

    def score_learn_many(self, xs: Any) -> Array:
        """Score each row, then learn it, in order (the streaming hot path)."""

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as given to ``__init__``."""

    def state_dict(self) -> State:
        """The learned state as arrays and scalars."""

    def load_state_dict(self, state: State) -> None:
        """Restore state written by ``state_dict``."""


class BaseDetector(abc.ABC):
    """Shared plumbing: parameters from ``__init__``, clone, cards, and looped batch methods."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    multivariate: ClassVar[bool] = False
    bounded: ClassVar[bool] = False
    ranges: ClassVar[Mapping[str, Spec]] = {}
    """The accepted values of each hyperparameter (see :mod:`aiot.models.params`)."""

    @abc.abstractmethod
    def _learn(self, x: Array) -> None:
        """Learn one validated row."""

    @abc.abstractmethod
    def _score(self, x: Array) -> float:
        """Score one validated row."""

    @abc.abstractmethod
    def state_dict(self) -> State:
        """The learned state as arrays and scalars."""

    @abc.abstractmethod
    def load_state_dict(self, state: State) -> None:
        """Restore state written by ``state_dict``."""

    def _check(self, x: Array) -> Array:
        if not self.multivariate and x.shape[-1] != 1:
            raise InvalidInput(f"{self.name} reads one feature", detail={"got": x.shape[-1]})
        return x

    def learn_one(self, x: Any) -> None:
        """Update the model with one point."""
        self._learn(self._check(as_row(x)))

    def score_one(self, x: Any) -> float:
        """How anomalous one point is, without learning it."""
        return float(self._score(self._check(as_row(x))))

    def learn_many(self, xs: Any) -> None:
        """Learn each row in order."""
        for row in self._check(as_matrix(xs)):
            self._learn(row)

    def score_many(self, xs: Any) -> Array:
        """Score each row without learning."""
        rows = self._check(as_matrix(xs))
        return np.array([self._score(row) for row in rows], dtype=np.float64)

    def score_learn_many(self, xs: Any) -> Array:
        """Score each row, then learn it, in order (the streaming hot path)."""
        rows = self._check(as_matrix(xs))
        out = np.empty(len(rows), dtype=np.float64)
        for i, row in enumerate(rows):
            out[i] = self._score(row)
            self._learn(row)
        return out

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as given to ``__init__``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def clone(self) -> Self:
        """A fresh, untrained model with the same hyperparameters."""
        return type(self)(**self.get_params())

    @classmethod
    def default_card(cls) -> ModelCard:
        """The card of the class with its default parameters."""
        return cls().card()

    def card(self) -> ModelCard:
        """The card of this model with its parameters."""
        return ModelCard(
            name=self.name,
            summary=self.summary,
            inputs=Inputs(multivariate=self.multivariate),
            parameters=self.get_params(),
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
