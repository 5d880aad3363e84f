"""One deployment at run time: its devices, and a model and alarm chain per series or device."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from aiot.domain import Deployment, Device
from aiot.models import registry
from aiot.models.base import BaseDetector
from aiot.models.train import pivot
from aiot.rules import AlarmChain, AlarmPolicy, Transition

__all__ = ["Running", "Scored", "SeriesState", "selects"]

Ints = npt.NDArray[np.int64]
Trained = Callable[[str, str, str], BaseDetector]  # (tenant, model name, version) → a copy
Floats = npt.NDArray[np.float64]


def selects(deployment: Deployment, device: Device) -> bool:
    """Whether the deployment's selector takes the device."""
    chosen = deployment.selector
    if chosen.device is not None and chosen.device not in (device.id, device.name):
        return False
    if chosen.type is not None and chosen.type != device.type:
        return False
    return all(device.labels.get(k) == v for k, v in chosen.labels.items())


@dataclass
class SeriesState:
    """A model, its alarm chain and the last ts it scored."""

    model: BaseDetector
    chain: AlarmChain
    last_ts: int = -1

    def state(self, prefix: str) -> dict[str, Any]:
        """Everything learnt, as arrays under ``prefix``."""
        out: dict[str, Any] = {f"{prefix}last_ts": np.int64(self.last_ts)}
        out |= {f"{prefix}m.{k}": np.asarray(v) for k, v in self.model.state_dict().items()}
        out |= {f"{prefix}c.{k}": np.asarray(v) for k, v in self.chain.state_dict().items()}
        return out

    def load(self, arrays: dict[str, Any], prefix: str) -> None:
        """Restore what :meth:`state` wrote."""
        self.last_ts = int(arrays[f"{prefix}last_ts"])
        self.model.load_state_dict(_under(arrays, f"{prefix}m."))
        self.chain.load_state_dict(_under(arrays, f"{prefix}c."))


def _under(arrays: dict[str, Any], prefix: str) -> dict[str, Any]:
    found = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
    return {k: (v.item() if getattr(v, "ndim", 1) == 0 else v) for k, v in found.items()}


@dataclass
class Scored:
    """What one read gave: score rows and alarm transitions."""

    device: list[str] = field(default_factory=list)
    key: list[str] = field(default_factory=list)
    ts: list[Ints] = field(default_factory=list)
    value: list[Floats] = field(default_factory=list)
    # (deployment id, device, series name, transition, the values of the point)
    transitions: list[tuple[str, str, str, Transition, dict[str, Any]]] = field(
        default_factory=list
    )

    def add(self, device: str, key: str, ts: Ints, value: Floats) -> None:
        self.device.append(device)
        self.key.append(key)
        self.ts.append(ts)
        self.value.append(value)

    def table(self) -> pa.Table | None:
        """The score rows as (device, key, ts, value) columns, or None."""
        if not self.ts:
            return None
        sizes = [len(t) for t in self.ts]
        return pa.table(
            {
                "device": np.repeat(np.array(self.device, dtype=object), sizes),
                "key": np.repeat(np.array(self.key, dtype=object), sizes),
                "ts": np.concatenate(self.ts),
                "value": np.concatenate(self.value),
            }
        )


class Running:
    """A deployment's live state: which devices it reads and the state of each series."""

    def __init__(self, deployment: Deployment, trained: Trained | None = None) -> None:
        self.deployment = deployment
        self.trained = trained
        self.policy = AlarmPolicy.parse(deployment.policy)
        self.devices: set[str] = set()
        self.series: dict[str, SeriesState] = {}  # "device" or "device/key" → state
        self.above: dict[str, set[str]] = {}  # device → its series with an open condition
        self.heard: dict[str, float] = {}  # device → when its last point arrived (epoch s)
        self.silent: set[str] = set()  # devices with an open no-data alarm
        self.late = 0
        self.scored = 0

    def update(self, deployment: Deployment) -> None:
        """Take a changed deployment (paused, resumed, new policy: chains start afresh)."""
        if deployment.policy != self.deployment.policy:
            self.policy = AlarmPolicy.parse(deployment.policy)
            for state in self.series.values():
                state.chain = AlarmChain(self.policy)
            self.above.clear()
        self.deployment = deployment

    def mark(self, device: str, series: str, above: bool) -> bool:
        """Note a series' condition; whether any series of the device is still above."""
        names = self.above.setdefault(device, set())
        if above:
            names.add(series)
        else:
            names.discard(series)
        return bool(names)

    def fresh(self) -> SeriesState:
        """A new model and chain for a series that appears."""
        dep = self.deployment
        name, at, version = dep.detector.partition("@")
        if at and self.trained is not None:  # a trained hub version: a copy for each series
            model = self.trained(dep.tenant, name, version)
        else:
            model = registry.create(dep.detector, **dep.params)
        return SeriesState(model, AlarmChain(self.policy))

    def score_key(self, key: str | None) -> str:
        """``score/<name>``, or ``score/<name>/<key>`` for one of several keys read one by one."""
        dep = self.deployment
        one = dep.multivariate or len(dep.keys) == 1 or key is None
        return dep.score_key if one else f"{dep.score_key}/{key}"

    def threshold_key(self, key: str | None) -> str:
        """``threshold/<name>[/<key>]``: where the threshold in force is stored."""
        return "threshold/" + self.score_key(key).removeprefix("score/")

    def consume(self, table: pa.Table, out: Scored) -> None:
        """Score the batch's points of this deployment's devices and keys."""
        dep = self.deployment
        if dep.paused or not self.devices:
            return
        mask = pc.and_(
            pc.is_in(table["device"], pa.array(sorted(self.devices))),
            pc.is_in(table["key"], pa.array(list(dep.keys))),
        )
        mask = pc.and_(mask, pc.is_in(table["kind"], pa.array([0, 1], pa.int8())))
        mine = table.filter(pc.and_(mask, pc.is_valid(table["value"])))
        if not mine.num_rows:
            return
        groups = ["device"] if dep.multivariate else ["device", "key"]
        for part in _split(mine, groups):
            self._score(part, out)

    def _score(self, part: pa.Table, out: Scored) -> None:
        device = str(part["device"][0])
        key = None if self.deployment.multivariate else str(part["key"][0])
        name = device if key is None else f"{device}/{key}"
        self.heard[device] = time.time()
        state = self.series.get(name)
        if state is None:
            state = self.series[name] = self.fresh()
        ts, rows = self._rows(part)
        keep = _after(ts, state.last_ts)
        self.late += int(len(ts) - keep.sum())
        ts, rows = ts[keep], rows[keep]
        if not len(ts):
            return
        scores = np.asarray(state.model.score_learn_many(rows), dtype=np.float64)
        state.last_ts = int(ts[-1])
        self.scored += len(ts)
        out.add(device, self.score_key(key), ts, scores)
        changes = state.chain.step(ts, scores)
        threshold = state.chain.threshold
        if threshold is not None:  # the threshold in force, a step series beside the scores
            out.add(device, self.threshold_key(key), ts[-1:], np.array([threshold]))
        for change in changes:
            values = dict(zip(self._columns(key), rows[change.index].tolist(), strict=True))
            out.transitions.append((self.deployment.id, device, name, change, values))

    def contributions(self, series: str, values: dict[str, float]) -> dict[str, float] | None:
        """Each key's share of the score of a point, largest first, when the model can tell."""
        state = self.series.get(series)
        explain = getattr(state.model, "contributions", None) if state is not None else None
        if explain is None or len(values) < 2:
            return None
        parts = explain(np.asarray(list(values.values()), dtype=np.float64))
        shares = zip(values, (float(p) for p in parts), strict=True)
        return dict(sorted(shares, key=lambda kv: -kv[1]))

    def _columns(self, key: str | None) -> list[str]:
        return list(self.deployment.keys) if key is None else [key]

    def _rows(self, part: pa.Table) -> tuple[Ints, Floats]:
        ts = part["ts"].to_numpy()
        values = part["value"].to_numpy(zero_copy_only=False).astype(np.float64)
        if not self.deployment.multivariate:
            order = np.argsort(ts, kind="stable")
            return ts[order], values[order][:, None]
        keys = part["key"].to_numpy(zero_copy_only=False)
        stamps, matrix = pivot(keys, ts, values, list(self.deployment.keys))
        full = ~np.isnan(matrix).any(axis=1)
        return stamps[full], matrix[full]


def _after(ts: Ints, last: int) -> npt.NDArray[np.bool_]:
    """Points strictly after ``last`` and after every point before them (late ones drop)."""
    if not len(ts):
        return np.zeros(0, dtype=bool)
    running = np.maximum.accumulate(np.concatenate([[last], ts]))[:-1]
    return ts > running


def _split(table: pa.Table, columns: list[str]) -> list[pa.Table]:
    """The table cut into one part per distinct value of ``columns``."""
    order = pc.sort_indices(table, [(c, "ascending") for c in columns])
    table = table.take(order)
    codes = [pc.dictionary_encode(table[c].combine_chunks()).indices.to_numpy() for c in columns]
    change = np.zeros(table.num_rows, dtype=bool)
    change[0] = True
    for code in codes:
        change[1:] |= code[1:] != code[:-1]
    starts = [*np.flatnonzero(change).tolist(), table.num_rows]
    return [table.slice(a, b - a) for a, b in itertools.pairwise(starts)]
