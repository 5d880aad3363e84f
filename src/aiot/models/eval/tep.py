"""Tennessee Eastman: train on normal operation, detection rate per fault at 1% false alarms.

``d00.dat`` (stored transposed, 52 × 500) is normal operation. Out-of-sample scores of normal
data come from five folds (learn four, then stream the fifth: score each row, then learn it);
the threshold is the score they exceed 1% of the time. The model then learns all of ``d00``
and a copy of it streams each faulty run ``d01`` … ``d21`` (the fault is present from the first
row); the detection rate is the share of its rows above the threshold. Streaming is how a
deployed detector sees data, so detectors that use recent history (lags, smoothing) are judged
fairly. The first tenth of every streamed part is left out of both the threshold and the
rates: there the model's recent history is the end of another run, a seam no plant shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiot.models import registry
from aiot.models.base import Array, BaseDetector
from aiot.models.eval.labelled import calibrate

__all__ = ["detection_rates", "fault_scores", "load_normal"]

FAULTS = tuple(f"d{i:02d}" for i in range(1, 22))
SEAM = 0.1


def load_normal(root: Path) -> Array:
    """Normal operation, one row per sample (d00.dat is stored transposed)."""
    data = np.loadtxt(root / "d00.dat")
    return data.T if data.shape[0] < data.shape[1] else data


def _fresh(name: str, params: dict[str, Any], rows: int) -> BaseDetector:
    model = registry.create(name, **params)
    if "warmup" in model.get_params():
        model = registry.create(name, **{**params, "warmup": rows})
    return model


def _normal_scores(normal: Array, name: str, params: dict[str, Any], folds: int) -> Array:
    parts = np.array_split(np.arange(len(normal)), folds)
    out = []
    for held in parts:
        train = np.setdiff1d(np.arange(len(normal)), held)
        model = _fresh(name, params, len(train))
        model.learn_many(normal[train])
        out.append(_stream(model, normal[held]))
    return np.concatenate(out)


def _stream(model: BaseDetector, rows: Array) -> Array:
    """Scores of ``rows`` streamed through a copy of ``model``, less the seam at the start."""
    copy = model.clone()
    copy.load_state_dict(model.state_dict())
    return copy.score_learn_many(rows)[int(len(rows) * SEAM) :]


def detection_rates(
    root: Path, name: str, params: dict[str, Any] | None = None, false_alarm_rate: float = 0.01
) -> dict[str, float]:
    """Detection rate per fault (and ``threshold``) of a registered multivariate detector."""
    params = params or {}
    normal = load_normal(root)
    threshold = calibrate(_normal_scores(normal, name, params, 5), false_alarm_rate)
    model = _fresh(name, params, len(normal))
    model.learn_many(normal)
    rates = {"threshold": threshold}
    for fault in FAULTS:
        scores = _stream(model, np.loadtxt(root / f"{fault}.dat"))
        rates[fault] = float(np.mean(scores > threshold))
    return rates


def fault_scores(
    root: Path,
    name: str,
    fault: str,
    params: dict[str, Any] | None = None,
    false_alarm_rate: float = 0.01,
) -> tuple[Array, Array, float]:
    """Out-of-sample normal scores, the scores of one faulty run, and the threshold."""
    params = params or {}
    normal = load_normal(root)
    held = _normal_scores(normal, name, params, 5)
    model = _fresh(name, params, len(normal))
    model.learn_many(normal)
    faulty = np.loadtxt(root / f"{fault}.dat")
    return held, _stream(model, faulty), calibrate(held, false_alarm_rate)
