"""The Numenta Anomaly Benchmark's scoring, reimplemented.

Each labelled anomaly has a window around it. Inside a window the first detection earns a
reward that falls with a scaled sigmoid from the window's left edge to its right edge; a missed
window costs ``fnWeight``; a detection outside every window costs ``fpWeight`` weighted by how
far it lies after the previous window. The first 15% of each file (at most 750 rows) is
probation and never scored. One threshold is chosen for the whole corpus by sweeping every
score value, and the total is normalised so that the null detector scores 0 and the perfect
one 100.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aiot.models import registry
from aiot.models.base import Array

__all__ = [
    "PROFILES",
    "NabFile",
    "NabScore",
    "load_corpus",
    "load_profiles",
    "read_detector_results",
    "run_detector",
    "score_corpus",
]

PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11},
}
_PROBATION = 0.15


@dataclass(frozen=True)
class NabFile:
    """One NAB series: its relative name, timestamps, values and window row ranges."""

    name: str
    timestamps: npt.NDArray[np.datetime64]
    values: Array
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class NabScore:
    """A detector's result on one profile: normalised score, raw score and threshold."""

    profile: str
    score: float
    raw: float
    threshold: float


def _read_csv_columns(path: Path, columns: tuple[str, ...]) -> dict[str, list[str]]:
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    return {c: [r[c] for r in rows] for c in columns}


def load_corpus(root: Path) -> list[NabFile]:
    """Every series of a NAB folder (``data/``, ``labels/combined_windows.json``)."""
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    files = []
    for name in sorted(windows):
        cols = _read_csv_columns(root / "data" / name, ("timestamp", "value"))
        ts = np.array(cols["timestamp"], dtype="datetime64[us]")
        limits = []
        for start, end in windows[name]:
            lo = int(np.searchsorted(ts, np.datetime64(start, "us"), "left"))
            hi = int(np.searchsorted(ts, np.datetime64(end, "us"), "right")) - 1
            limits.append((lo, hi))
        values = np.array(cols["value"], dtype=np.float64)
        files.append(NabFile(name, ts, values, tuple(sorted(limits))))
    return files


def read_detector_results(results_dir: Path, detector: str) -> dict[str, Array]:
    """The stored ``anomaly_score`` column of each file a NAB detector produced."""
    out = {}
    for path in sorted((results_dir / detector).glob("*/*.csv")):
        name = f"{path.parent.name}/{path.name.removeprefix(detector + '_')}"
        out[name] = np.array(_read_csv_columns(path, ("anomaly_score",))["anomaly_score"], float)
    return out


def _scaled_sigmoid(pos: Array) -> Array:
    out = 2.0 / (1.0 + np.exp(5.0 * pos)) - 1.0
    return np.where(pos >= 3.0, -1.0, out)


def probation_length(n: int) -> int:
    """Rows at the start of a file that NAB never scores."""
    return math.ceil(min(math.floor(_PROBATION * n), _PROBATION * 5000))


def sweep_file(
    n: int, windows: tuple[tuple[int, int], ...], cost: dict[str, float]
) -> tuple[Array, npt.NDArray[np.int64]]:
    """Per row: what a detection there earns, and its window (-1 none, -2 probation)."""
    idx = np.arange(n, dtype=np.float64)
    sweep = np.full(n, -1.0 * cost["fpWeight"])
    win = np.full(n, -1, dtype=np.int64)
    max_tp = 2.0 / (1.0 + math.exp(-5.0)) - 1.0
    for k, (lo, hi) in enumerate(windows):
        width = float(hi - lo + 1)
        inside = slice(lo, hi + 1)
        sweep[inside] = _scaled_sigmoid(-(hi - idx[inside] + 1) / width) * cost["tpWeight"] / max_tp
        win[inside] = k
        stop = windows[k + 1][0] if k + 1 < len(windows) else n
        after = slice(hi + 1, stop)
        if width > 1:
            sweep[after] = _scaled_sigmoid(np.abs(hi - idx[after]) / (width - 1)) * cost["fpWeight"]
    win[: probation_length(n)] = -2
    return sweep, win


def _window_deltas(keys: Array, sweep: Array, fn_weight: float) -> Array:
    """Score change as each (sorted) window row is detected: running max per window."""
    order = np.argsort(keys, kind="stable")
    k, s = keys[order], sweep[order]
    offset = 10.0 * (1.0 + fn_weight) * k
    run = np.maximum.accumulate(s + offset) - offset
    run = np.maximum(run, -fn_weight)
    prev = np.concatenate([[-fn_weight], run[:-1]])
    prev[np.flatnonzero(np.diff(k) != 0) + 1] = -fn_weight
    deltas = np.empty_like(sweep)
    deltas[order] = run - prev
    return deltas


def _curve(
    files: list[NabFile], scores: dict[str, Array], cost: dict[str, float]
) -> tuple[Array, Array, float]:
    """Thresholds (descending, +inf first) and the corpus score at each; the null score."""
    all_scores, all_sweep, all_win = [], [], []
    n_windows = 0
    for f in files:
        sweep, win = sweep_file(len(f.values), f.windows, cost)
        keep = win != -2
        all_scores.append(np.asarray(scores[f.name], dtype=np.float64)[keep])
        all_sweep.append(sweep[keep])
        all_win.append(np.where(win[keep] >= 0, win[keep] + n_windows, -1))
        n_windows += len(f.windows)
    score = np.concatenate(all_scores)
    sweep, win = np.concatenate(all_sweep), np.concatenate(all_win)
    null = -cost["fnWeight"] * len(np.unique(win[win >= 0]))
    order = np.argsort(-score, kind="stable")
    score, sweep, win = score[order], sweep[order], win[order]
    delta = np.where(win < 0, sweep, 0.0)
    inwin = win >= 0
    delta[inwin] = _window_deltas(win[inwin].astype(np.float64), sweep[inwin], cost["fnWeight"])
    totals = null + np.cumsum(delta)
    ends = np.flatnonzero(np.concatenate([score[1:] != score[:-1], [True]]))
    thresholds = np.concatenate([[np.inf], score[ends]])
    return thresholds, np.concatenate([[null], totals[ends]]), null


def _twiddle(objective: Callable[[float], float], tolerance: float = 1e-7) -> float:
    """NAB's threshold search: a local step-doubling search over [0, 1] from 0.5."""
    x, delta, seen = 0.5, 0.1, {0.5: objective(0.5)}
    best = seen[x]

    def at(v: float) -> float:
        if v not in seen:
            seen[v] = objective(v)
        return seen[v]

    while delta > tolerance:
        delta = min(delta, abs(1.0 - x) / 2) if x + delta > 1.0 else delta
        x += delta
        if at(x) > best:
            best, delta = at(x), delta * 2
            continue
        delta = abs(x) / 2 if x - delta < 0.0 else delta
        x -= 2 * delta
        if at(x) > best:
            best, delta = at(x), delta * 2
        else:
            x, delta = x + delta, delta * 0.5
    return x


def _pick(thresholds: Array, totals: Array, optimiser: str) -> int:
    """Index into the curve of the threshold the optimiser settles on."""
    if optimiser == "sweep":
        return int(np.argmax(totals))

    def index(x: float) -> int:
        return int(np.searchsorted(-thresholds, -x, side="right")) - 1

    return index(_twiddle(lambda x: float(totals[index(x)])))


def score_corpus(
    files: list[NabFile],
    scores: dict[str, Array],
    profiles: dict[str, dict[str, float]] | None = None,
    optimiser: str = "nab",
) -> list[NabScore]:
    """NAB scores per profile, each at one corpus-wide threshold.

    ``optimiser="nab"`` searches the threshold as NAB does (a local search over [0, 1] from
    0.5, which is how the published scores were made); ``"sweep"`` takes the best of every
    score value, a global optimum that is never lower.
    """
    perfect_windows = sum(len(f.windows) for f in files)
    out = []
    for profile, cost in (profiles or PROFILES).items():
        thresholds, totals, null = _curve(files, scores, cost)
        best = _pick(thresholds, totals, optimiser)
        perfect = perfect_windows * cost["tpWeight"]
        norm = 100.0 * (totals[best] - null) / (perfect - null)
        out.append(NabScore(profile, float(norm), float(totals[best]), float(thresholds[best])))
    return out


def load_profiles(root: Path) -> dict[str, dict[str, float]]:
    """The cost matrices of ``config/profiles.json`` (NAB's own), else the built-in copy."""
    path = root / "config" / "profiles.json"
    if not path.exists():
        return PROFILES
    raw = json.loads(path.read_text())
    return {name: {k: float(v) for k, v in p["CostMatrix"].items()} for name, p in raw.items()}


def unit_scores(scores: Array, bounded: bool) -> Array:
    """Scores on [0, 1], as NAB's threshold search expects (``s / (1 + s)`` when unbounded)."""
    if bounded:
        return np.clip(scores, 0.0, 1.0)
    positive = np.maximum(scores, 0.0)
    return positive / (1.0 + positive)


def run_file(name: str, params: dict[str, Any], values: Array) -> Array:
    """Stream one series through a fresh detector (score, then learn, each point)."""
    model = registry.create(name, **params)
    return unit_scores(model.score_learn_many(values), getattr(model, "bounded", False))


def run_detector(
    files: list[NabFile],
    name: str,
    params: dict[str, Any] | None = None,
    workers: int = 1,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, Array]:
    """Scores of a registered detector on every file, one fresh model per file."""
    params = params or {}
    out: dict[str, Array] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_file, name, params, f.values): f.name for f in files}
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            if on_done is not None:
                on_done(futures[future])
    return out
