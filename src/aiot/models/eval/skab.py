"""SKAB's outlier-detection protocol: per experiment, learn the anomaly-free start, score the rest.

Each of the 34 experiments (``valve1``, ``valve2``, ``other``; not ``anomaly-free``) begins
with normal operation; the first ``train`` rows (400, as SKAB's ``train_test_split(train_size=
400, shuffle=False)``) are the training part, whatever their labels. The model learns it. The
threshold is the score exceeded by ``false_alarm_rate`` of the training rows, scored by a copy
of the trained model that streams them again (score, then learn); the first tenth of that
replay is left out, as there the copy's context (the end of the training part) does not precede
the rows it scores, a seam a smoothing detector would mistake for a jump. The remaining rows are
streamed by the model in the same way, so a detector that smooths over recent points carries
its context; a fit-once model (PCA) learns nothing more from them and scores them exactly as a
frozen model would. Only the test part counts, and the 34 experiments are pooled into one
binary classification (summed counts): F1, false-alarm rate (FAR) and missed-alarm rate (MAR),
as SKAB's outlier leaderboard.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aiot.errors import InvalidInput
from aiot.models import registry
from aiot.models.base import Array
from aiot.models.eval.labelled import calibrate, point_metrics

__all__ = ["FOLDERS", "evaluate", "load_experiment", "score_experiment", "sensor_names"]

FOLDERS = ("valve1", "valve2", "other")
_LABEL_COLUMNS = ("anomaly", "changepoint")


def load_experiment(path: Path) -> tuple[Array, Array]:
    """Sensor values (rows × 8) and the outlier labels of one SKAB file."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    header = rows[0]
    keep = [i for i, h in enumerate(header) if h != "datetime" and h not in _LABEL_COLUMNS]
    data = np.array([[float(r[i]) for i in keep] for r in rows[1:]])
    labels = np.array([float(r[header.index("anomaly")]) for r in rows[1:]])
    return data, labels


def sensor_names(path: Path) -> list[str]:
    """The sensor columns of one SKAB file, in the order ``load_experiment`` reads them."""
    with path.open(newline="") as fh:
        header = next(csv.reader(fh, delimiter=";"))
    return [h for h in header if h != "datetime" and h not in _LABEL_COLUMNS]


def experiments(root: Path) -> list[Path]:
    """Every labelled experiment file of a SKAB folder, in a stable order."""
    files = [p for folder in FOLDERS for p in sorted((root / "data" / folder).glob("*.csv"))]
    if not files:
        raise InvalidInput(f"no SKAB experiments under {root / 'data'}")
    return files


def score_experiment(
    path: Path,
    name: str,
    params: dict[str, Any] | None = None,
    train: int = 400,
    false_alarm_rate: float = 0.01,
) -> tuple[Array, Array, Array, float]:
    """One experiment: its data, labels, scores of every row, and the threshold."""
    data, labels = load_experiment(path)
    model = registry.create(name, **(params or {}))
    if not model.multivariate:
        raise InvalidInput(f"{name} reads one feature; SKAB has {data.shape[1]}")
    if "warmup" in model.get_params():
        model = registry.create(name, **{**(params or {}), "warmup": train})
    model.learn_many(data[:train])
    replay = model.clone()
    replay.load_state_dict(model.state_dict())
    train_scores = replay.score_learn_many(data[:train])
    threshold = calibrate(train_scores[train // 10 :], false_alarm_rate)
    scores = np.concatenate([train_scores, model.score_learn_many(data[train:])])
    return data, labels, scores, threshold


def evaluate(
    root: Path,
    name: str,
    params: dict[str, Any] | None = None,
    train: int = 400,
    false_alarm_rate: float = 0.01,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """F1, FAR (%) and MAR (%) of a registered detector over all SKAB experiments."""
    truths, alarms = [], []
    for path in experiments(root):
        _, labels, scores, threshold = score_experiment(path, name, params, train, false_alarm_rate)
        alarms.append(scores[train:] > threshold)
        truths.append(labels[train:])
        if on_done is not None:
            on_done(f"{path.parent.name}/{path.name}")
    m = point_metrics(np.concatenate(truths), np.concatenate(alarms))
    return {"f1": m["f1"], "far_pct": 100 * m["far"], "mar_pct": 100 * m["mar"]}
