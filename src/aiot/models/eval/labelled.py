"""Scoring a detector on any labelled series: point, event and operational figures.

Each series has a training part (its first ``train`` rows) and a test part. The detector
scores then learns the training part; the alarm threshold is the score exceeded by
``false_alarm_rate`` of the training rows that come after the warm-up (the first fifth, or
the rows a fit-once model such as PCA fitted on) and carry no label. The test part is then
streamed (scored, then learned) and its alarms (score above the threshold) are compared with
the labels. Several series (devices, files) pool their points and events into one result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aiot.errors import InvalidInput
from aiot.models.base import Array, BaseDetector
from aiot.models.train import calibration_start

__all__ = [
    "LabelledResult",
    "SeriesRun",
    "calibrate",
    "evaluate",
    "event_metrics",
    "point_metrics",
    "run_series",
    "runs",
    "summarise",
]


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


@dataclass(frozen=True)
class SeriesRun:
    """One series after evaluation: its full scores, threshold and test-part alarms."""

    name: str
    seconds: Array
    truth: Array
    scores: Array
    train: int
    threshold: float

    @property
    def alarm(self) -> Array:
        """Alarms of the test part (1.0 where the score is above the threshold)."""
        return (self.scores[self.train :] > self.threshold).astype(np.float64)


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


def _event_counts(truth: Array, alarm: Array, seconds: Array) -> tuple[int, list[float], int]:
    """Events, the delays of the detected ones, and alarm onsets outside every event."""
    events = runs(truth)
    delays = []
    for start, end in events:
        hits = np.flatnonzero(alarm[start : end + 1])
        if len(hits):
            delays.append(float(seconds[start + hits[0]] - seconds[start]))
    onsets = runs(alarm.astype(bool) & ~truth.astype(bool))
    return len(events), delays, len(onsets)


def _days(seconds: Array) -> float:
    return max(float(seconds[-1] - seconds[0]) / 86400.0, 1e-9) if len(seconds) else 1e-9


def event_metrics(truth: Array, alarm: Array, seconds: Array) -> dict[str, float]:
    """Events detected, false alarms (alarm onsets outside events) per day, mean delay."""
    events, delays, onsets = _event_counts(truth, alarm, seconds)
    return {
        "events": float(events),
        "event_detection_rate": len(delays) / events if events else 0.0,
        "false_alarms_per_day": onsets / _days(seconds),
        "mean_delay_s": float(np.mean(delays)) if delays else float("nan"),
    }


def calibrate(normal_scores: Array, false_alarm_rate: float) -> float:
    """The threshold exceeded by ``false_alarm_rate`` of scores on normal data."""
    return float(np.quantile(normal_scores, 1.0 - false_alarm_rate))


def run_series(
    model: BaseDetector,
    values: Array,
    truth: Array,
    seconds: npt.NDArray[np.float64],
    train: int,
    false_alarm_rate: float = 0.01,
    name: str = "",
) -> SeriesRun:
    """Learn the first ``train`` rows and set the threshold on them; stream the rest."""
    train_scores = model.score_learn_many(values[:train])
    skip = calibration_start(model, train)
    normal = train_scores[skip:][truth[skip:train] == 0]
    if len(normal) < 2 or train >= len(values):
        detail = {"series": name, "rows": len(values), "train": train, "normal": len(normal)}
        message = f"{name or 'series'}: too few unlabelled training rows or no test rows"
        raise InvalidInput(message, detail)
    threshold = calibrate(normal, false_alarm_rate)
    scores = np.concatenate([train_scores, model.score_learn_many(values[train:])])
    return SeriesRun(name, np.asarray(seconds, np.float64), truth, scores, train, threshold)


def summarise(done: list[SeriesRun]) -> LabelledResult:
    """Pool the test parts of every series: points, events, false alarms and delays."""
    truth = np.concatenate([r.truth[r.train :] for r in done])
    points = point_metrics(truth, np.concatenate([r.alarm for r in done]))
    events, delays, onsets, days = 0, [], 0, 0.0
    for r in done:
        n, d, o = _event_counts(r.truth[r.train :], r.alarm, r.seconds[r.train :])
        events, onsets, days = events + n, onsets + o, days + _days(r.seconds[r.train :])
        delays += d
    return LabelledResult(
        **points,
        events=float(events),
        event_detection_rate=len(delays) / events if events else 0.0,
        false_alarms_per_day=onsets / max(days, 1e-9),
        mean_delay_s=float(np.mean(delays)) if delays else float("nan"),
        threshold=float(np.median([r.threshold for r in done])),
    )


def evaluate(
    model: BaseDetector,
    values: Array,
    truth: Array,
    seconds: npt.NDArray[np.float64],
    train: int,
    false_alarm_rate: float = 0.01,
) -> tuple[LabelledResult, Array, float]:
    """One series: the result, the test-part scores and the threshold."""
    done = run_series(model, values, truth, seconds, train, false_alarm_rate)
    return summarise([done]), done.scores[train:], done.threshold
