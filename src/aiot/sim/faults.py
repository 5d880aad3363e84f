"""Fault windows: the labels (vertical, fault, device, start, end) and the schedule that draws them.

Faults strike each device as a Poisson process of ``rate`` faults per device-day: the gap
before a fault, and between the end of one fault and the start of the next, is exponential
with mean ``1 / rate`` days; the fault's type is drawn uniformly among the allowed types, its
duration log-uniformly within the type's range, and its ``detail`` (where it strikes, e.g. the
approach of an intersection) uniformly among the type's details. Each device draws from its
own stream, so the schedule does not depend on how the simulated time is chunked. At the
default rate of 0.2 per device-day, with faults lasting minutes to days, normal operation
fills over 90 % of the time (about 98 % for traffic, 91-93 % for oil wells and reactors), as in
the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["LABEL_SCHEMA", "Fault", "FaultSchedule", "FaultType", "Floats", "labels_table"]

Floats = np.ndarray[Any, np.dtype[np.float64]]

LABEL_SCHEMA = pa.schema(
    [
        pa.field("vertical", pa.string(), nullable=False),
        pa.field("fault", pa.string(), nullable=False),
        pa.field("device", pa.string(), nullable=False),
        pa.field("start_ms", pa.int64(), nullable=False),
        pa.field("end_ms", pa.int64(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True, order=True)
class Fault:
    """One labelled fault window ``[start_ms, end_ms)`` on one device."""

    start_ms: int
    end_ms: int
    device: str
    fault: str
    vertical: str = ""
    detail: str = ""


@dataclass(frozen=True)
class FaultType:
    """A kind of fault of a vertical: its name, its duration range and where it may strike."""

    name: str
    min_s: float
    max_s: float
    details: tuple[str, ...] = ("",)


def labels_table(faults: Iterable[Fault]) -> pa.Table:
    """The labels as an Arrow table of :data:`LABEL_SCHEMA`."""
    rows = sorted(faults)
    columns = {name: [getattr(f, name) for f in rows] for name in LABEL_SCHEMA.names}
    return pa.table(columns, schema=LABEL_SCHEMA)


class FaultSchedule:
    """Fault windows per device: drawn as a Poisson process, or given as an explicit list."""

    def __init__(
        self,
        vertical: str,
        devices: Sequence[str],
        types: Sequence[FaultType],
        rate_per_day: float,
        seq: np.random.SeedSequence,
        explicit: Sequence[Fault] | None = None,
    ) -> None:
        self.vertical = vertical
        self.devices = list(devices)
        self.types = tuple(types)
        self.rate = float(rate_per_day) if explicit is None else 0.0
        self._rngs = [np.random.default_rng(s) for s in seq.spawn(len(self.devices))]
        self._index = {d: i for i, d in enumerate(self.devices)}
        self._faults = [replace(f, vertical=f.vertical or vertical) for f in explicit or ()]
        self._next = np.full(len(self.devices), np.iinfo(np.int64).max, dtype=np.int64)

    def start(self, origin_ms: int) -> None:
        """Begin the random process at ``origin_ms``."""
        if self.rate > 0 and self.types:
            for i in range(len(self.devices)):
                self._next[i] = origin_ms + self._gap_ms(i)

    def extend(self, until_ms: int) -> None:
        """Draw every fault that starts before ``until_ms``."""
        for i, device in enumerate(self.devices):
            while self._next[i] < until_ms:
                fault = self._draw(i, device, int(self._next[i]))
                self._faults.append(fault)
                self._next[i] = fault.end_ms + self._gap_ms(i)

    def until(self, now_ms: int) -> list[Fault]:
        """Faults begun before ``now_ms``, their ends clipped to it, by start time."""
        begun = [f for f in self._faults if f.start_ms < now_ms]
        return sorted(replace(f, end_ms=min(f.end_ms, now_ms)) for f in begun)

    def windows(self, fault: str, t0: int, t1: int) -> list[tuple[int, Fault]]:
        """(device index, fault) for each ``fault`` window overlapping ``[t0, t1)``."""
        return [
            (self._index[f.device], f)
            for f in self._faults
            if f.fault == fault and f.start_ms < t1 and f.end_ms > t0 and f.device in self._index
        ]

    def elapsed_s(self, fault: str, ts: np.ndarray) -> Floats:
        """Seconds since onset of ``fault`` per (time, device); NaN outside its windows."""
        out = np.full((len(ts), len(self.devices)), np.nan)
        for i, f in self.windows(fault, int(ts[0]), int(ts[-1]) + 1):
            inside = (ts >= f.start_ms) & (ts < f.end_ms)
            out[inside, i] = (ts[inside] - f.start_ms) / 1000.0
        return out

    def _gap_ms(self, i: int) -> int:
        return int(self._rngs[i].exponential(86_400_000 / self.rate))

    def _draw(self, i: int, device: str, start_ms: int) -> Fault:
        rng = self._rngs[i]
        kind = self.types[int(rng.integers(len(self.types)))]
        low, high = np.log(kind.min_s), np.log(kind.max_s)
        duration_ms = int(1000 * np.exp(rng.uniform(low, high)))
        detail = kind.details[int(rng.integers(len(kind.details)))]
        return Fault(start_ms, start_ms + duration_ms, device, kind.name, self.vertical, detail)
