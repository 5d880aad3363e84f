"""Fitting a registered detector on history: long points to a table, then one honest threshold.

History arrives long (one row per key and timestamp); :func:`pivot` turns it into one row per
timestamp and one column per key, carrying the last value forward where a key is missing.
:func:`fresh` builds a model for a training part of ``rows`` rows: a detector that fits once
after a ``warmup`` (PCA) fits on the first half (at most its largest warm-up) unless its
parameters say otherwise, so the second half scores out of sample. :func:`fit` learns every
row and sets the alarm threshold at the score exceeded by ``false_alarm_rate`` of the training
rows after the warm-up. Parameters are checked against the model's declared ranges before it is
built, and its learned state against :data:`~aiot.models.npz.MAX_STATE_BYTES` once the first
row has sized its buffers, so a call that would keep too much is refused before the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from aiot.errors import InvalidInput
from aiot.models import npz, registry
from aiot.models.base import Array, BaseDetector
from aiot.models.params import Range

__all__ = ["TrainSpec", "calibration_start", "fill_forward", "fit", "fresh", "pivot"]


@dataclass(frozen=True)
class TrainSpec:
    """What to train: a registered detector and its parameters on keys of a time range."""

    detector: str
    keys: list[str]
    start: int
    end: int
    params: dict[str, Any] = field(default_factory=dict)
    name: str | None = None


def fill_forward(matrix: Array) -> Array:
    """Each NaN replaced by the last value above it in its column (leading NaNs stay)."""
    out = matrix.copy()
    for j in range(out.shape[1]):
        col = out[:, j]
        idx = np.where(np.isnan(col), 0, np.arange(len(col)))
        out[:, j] = col[np.maximum.accumulate(idx)]
    return out


def pivot(
    keys: npt.NDArray[Any], ts: npt.NDArray[np.int64], values: Array, columns: list[str]
) -> tuple[npt.NDArray[np.int64], Array]:
    """Long points to (sorted unique ts, matrix ts × columns), gaps carried forward."""
    stamps, row = np.unique(ts, return_inverse=True)
    matrix = np.full((len(stamps), len(columns)), np.nan)
    lookup = {name: j for j, name in enumerate(columns)}
    col = np.array([lookup.get(str(k), -1) for k in keys], dtype=np.int64)
    keep = col >= 0
    matrix[row[keep], col[keep]] = values[keep]
    return stamps.astype(np.int64), fill_forward(matrix)


def fresh(name: str, params: dict[str, Any] | None, rows: int) -> BaseDetector:
    """A new model for a training part of ``rows`` rows (a fit-once model fits on half)."""
    params = dict(params or {})
    model = registry.create(name, **params)  # InvalidInput outside the declared ranges
    if "warmup" in model.get_params() and "warmup" not in params:
        model = registry.create(name, **{**params, "warmup": _half(model, rows)})
    return model


def _half(model: BaseDetector, rows: int) -> int:
    """Half the rows, within the model's declared range of ``warmup``."""
    half, spec = max(rows // 2, 2), type(model).ranges.get("warmup")
    return min(half, int(spec.high)) if isinstance(spec, Range) else half


def calibration_start(model: BaseDetector, rows: int) -> int:
    """First training row whose score may set the threshold (after the warm-up)."""
    warmup = model.get_params().get("warmup", 0)
    return max(rows // 5, int(warmup) if isinstance(warmup, int | float) else 0)


def fit(
    name: str, params: dict[str, Any] | None, values: Array, false_alarm_rate: float = 0.01
) -> tuple[BaseDetector, dict[str, float]]:
    """A model trained on every row of ``values``, and its training figures and threshold."""
    rows = len(values)
    if rows < 10:
        raise InvalidInput(
            f"too little history to train on: {rows} rows, at least 10", detail={"rows": rows}
        )
    model = fresh(name, params, rows)
    if values.shape[1] > 1 and not model.multivariate:
        raise InvalidInput(f"{name} reads one key; got {values.shape[1]}")
    first = model.score_learn_many(values[:1])
    npz.check(model.state_dict())  # buffers are sized at the first row: refuse before the rest
    scores = np.concatenate([first, model.score_learn_many(values[1:])])
    tail = scores[calibration_start(model, rows) :]
    threshold = float(np.quantile(tail, 1.0 - false_alarm_rate)) if len(tail) else float("nan")
    return model, {"train_rows": float(rows), "threshold": threshold}
