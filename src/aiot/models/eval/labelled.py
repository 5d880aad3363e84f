"""Scoring a detector on any labelled series: point, event and operational figures.

The first part of the data (up to ``train_until``) is normal operation: the detector learns
it and the alarm threshold is the score exceeded on a fraction ``false_alarm_rate`` of it.
The rest is streamed (scored, then learned) and compared with the labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aiot.models.base import Array, BaseDetector

__all__ = ["LabelledResult", "evaluate", "event_metrics", "point_metrics", "runs"]


@dataclass(frozen=True)
class LabelledResult:
    """Headline figures of one evaluation on labelled data."""

    precision: float
    recall: float
    f1: float
    far: float
    mar: float
    events: float
    event_detection_rate: float
    false_alarms_per_day: float
    mean_delay_s: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """The figures as a plain dict."""
        return asdict(self)


def point_metrics(truth: Array, alarm: Array) -> dict[str, float]:
    """Precision, recall, F1, false-alarm rate and missed-alarm rate over points."""
    t, a = truth.astype(bool), alarm.astype(bool)
    tp, fp = float(np.sum(t & a)), float(np.sum(~t & a))
    fn, tn = float(np.sum(t & ~a)), float(np.sum(~t & ~a))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    far = fp / (fp + tn) if fp + tn else 0.0
    mar = fn / (fn + tp) if fn + tp else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "far": far, "mar": mar}


def runs(flags: Array) -> list[tuple[int, int]]:
    """Start and end (inclusive) of every run of true values."""
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def event_metrics(truth: Array, alarm: Array, seconds: Array) -> dict[str, float]:
    """Events detected, false alarms (alarm onsets outside events) per day, mean delay."""
    events = runs(truth)
    delays = []
    for start, end in events:
        hits = np.flatnonzero(alarm[start : end + 1])
        if len(hits):
            delays.append(float(seconds[start + hits[0]] - seconds[start]))
    onsets = [s for s, _ in runs(alarm.astype(bool) & ~truth.astype(bool))]
    days = max(float(seconds[-1] - seconds[0]) / 86400.0, 1e-9) if len(seconds) else 1.0
    return {
        "events": float(len(events)),
        "event_detection_rate": len(delays) / len(events) if events else 0.0,
        "false_alarms_per_day": len(onsets) / days,
        "mean_delay_s": float(np.mean(delays)) if delays else float("nan"),
    }


def calibrate(normal_scores: Array, false_alarm_rate: float) -> float:
    """The threshold exceeded by ``false_alarm_rate`` of scores on normal data."""
    return float(np.quantile(normal_scores, 1.0 - false_alarm_rate))


def evaluate(
    model: BaseDetector,
    values: Array,
    truth: Array,
    seconds: npt.NDArray[np.float64],
    train: int,
    false_alarm_rate: float = 0.01,
) -> tuple[LabelledResult, Array, float]:
    """Learn the first ``train`` rows, stream the rest; the result, test scores, threshold."""
    threshold = calibrate(model.score_learn_many(values[:train])[train // 5 :], false_alarm_rate)
    scores = model.score_learn_many(values[train:])
    alarm = (scores > threshold).astype(np.float64)
    points = point_metrics(truth[train:], alarm)
    events = event_metrics(truth[train:], alarm, seconds[train:])
    result = LabelledResult(**points, **events, threshold=threshold)
    return result, scores, threshold
