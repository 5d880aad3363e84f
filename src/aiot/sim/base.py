"""The simulator contract: a fleet of devices of one vertical stepped along a time grid.

A simulator produces the readings of ``devices`` at ``start + k * interval`` as columnar
:class:`~aiot.domain.Batch` chunks, one chunk per ``chunk_ms`` of simulated time. It is a
forward-only stream: consecutive calls of :meth:`GridSimulator.generate` continue the same
physical state, and a window that begins before the stream's current time yields only the
points not produced yet. For a given seed the output is identical whatever the chunking.

Randomness comes from independent streams spawned from one :class:`numpy.random.SeedSequence`:
device parameters, process noise and the fault schedule each draw from their own, so a run with
faults and a run without them (same seed) share every noise sample, and differ only where a
fault acts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import ClassVar, Protocol

import numpy as np
import pyarrow as pa

from aiot.domain import BATCH_SCHEMA, Batch
from aiot.sim.faults import Fault, FaultSchedule, FaultType, Floats

__all__ = ["DAY_MS", "GridSimulator", "Simulator", "to_batch"]

DAY_MS = 86_400_000


class Simulator(Protocol):
    """What the platform needs of a simulated fleet: names, a chunked stream, and labels."""

    vertical: str
    device_type: str
    devices: list[str]
    interval_ms: int

    @property
    def keys(self) -> tuple[str, ...]:
        """The telemetry keys every device sends."""
        ...

    @property
    def labels(self) -> list[Fault]:
        """The fault windows of the stream so far."""
        ...

    def generate(self, start_ms: int, end_ms: int, chunk_ms: int = DAY_MS) -> Iterator[Batch]:
        """Readings with ``start_ms <= ts < end_ms``, in chunks of ``chunk_ms``."""
        ...


class GridSimulator(ABC):
    """Base of the verticals: the grid, the chunking, the fault schedule and batch building."""

    vertical: ClassVar[str]
    device_type: ClassVar[str]
    key_names: ClassVar[tuple[str, ...]]
    fault_types: ClassVar[tuple[FaultType, ...]]
    default_interval_ms: ClassVar[int]

    def __init__(
        self,
        devices: int | Sequence[str] = 3,
        *,
        seed: int = 0,
        interval_ms: int | None = None,
        fault_rate: float = 0.2,
        fault_types: Sequence[str] | None = None,
        faults: Sequence[Fault] | None = None,
        noise: bool = True,
        tenant: str = "default",
    ) -> None:
        if isinstance(devices, int):
            devices = [f"{self.vertical}-{i + 1:03d}" for i in range(devices)]
        self.devices = list(devices)
        self.seed = seed
        self.tenant = tenant
        self.noise = 1.0 if noise else 0.0
        self.interval_ms = int(interval_ms or self.default_interval_ms)
        if self.interval_ms <= 0:
            raise ValueError("interval must be positive")
        root = np.random.SeedSequence([seed, sum(self.vertical.encode())])
        params, self._noise_seq, schedule = root.spawn(3)
        types = _select(self.fault_types, fault_types)
        self.schedule = FaultSchedule(
            self.vertical, self.devices, types, fault_rate, schedule, faults
        )
        self._next_ms: int | None = None
        self._setup(np.random.default_rng(params))

    @property
    def keys(self) -> tuple[str, ...]:
        """The telemetry keys every device sends."""
        return self.key_names

    @property
    def dt_s(self) -> float:
        """The grid step in seconds."""
        return self.interval_ms / 1000.0

    @property
    def labels(self) -> list[Fault]:
        """Fault windows begun before the stream's current time, clipped to it."""
        if self._next_ms is None:
            return []
        return self.schedule.until(self._next_ms)

    def generate(self, start_ms: int, end_ms: int, chunk_ms: int = DAY_MS) -> Iterator[Batch]:
        """Readings with ``start_ms <= ts < end_ms``, in chunks of ``chunk_ms`` simulated ms."""
        if self._next_ms is None:
            self._next_ms = int(start_ms)
            self.schedule.start(self._next_ms)
            self._init_state(self._noise_seq)
        step = max(chunk_ms // self.interval_ms, 1)
        while self._next_ms < end_ms:
            n = min(step, -(-(end_ms - self._next_ms) // self.interval_ms))
            ts = self._next_ms + self.interval_ms * np.arange(n, dtype=np.int64)
            self._next_ms = int(ts[-1]) + self.interval_ms
            self.schedule.extend(self._next_ms)
            values = self._step(ts)
            keep = ts >= start_ms
            if keep.all():
                yield to_batch(self.tenant, self.devices, self.key_names, ts, values)
            elif keep.any():
                kept = [v[keep] for v in values]
                yield to_batch(self.tenant, self.devices, self.key_names, ts[keep], kept)

    def elapsed_s(self, fault: str, ts: np.ndarray) -> Floats:
        """Seconds since the onset of ``fault`` per (time, device); NaN where it is not active."""
        return self.schedule.elapsed_s(fault, ts)

    @abstractmethod
    def _setup(self, rng: np.random.Generator) -> None:
        """Draw the per-device parameters."""

    @abstractmethod
    def _init_state(self, seq: np.random.SeedSequence) -> None:
        """Create the noise streams and the initial physical state."""

    @abstractmethod
    def _step(self, ts: np.ndarray) -> list[Floats]:
        """Advance over ``ts``; one (time, device) array per key, in ``key_names`` order."""


def to_batch(
    tenant: str,
    devices: Sequence[str],
    keys: Sequence[str],
    ts: np.ndarray,
    values: Sequence[Floats],
) -> Batch:
    """A batch from one (time, device) array per key, rows ordered by device, key, time."""
    stack = np.stack(values)
    n_keys, n_t, n_dev = stack.shape
    n = stack.size
    device_idx = np.repeat(np.arange(n_dev, dtype=np.int32), n_keys * n_t)
    key_idx = np.tile(np.repeat(np.arange(n_keys, dtype=np.int32), n_t), n_dev)
    table = pa.table(
        {
            "device": pa.array(list(devices), pa.string()).take(device_idx),
            "key": pa.array(list(keys), pa.string()).take(key_idx),
            "ts": pa.array(np.tile(ts.astype(np.int64), n_dev * n_keys), pa.int64()),
            "value": pa.array(stack.transpose(2, 0, 1).ravel(), pa.float64()),
            "text": pa.nulls(n, pa.string()),
            "kind": pa.array(np.zeros(n, dtype=np.int8), pa.int8()),
        },
        schema=BATCH_SCHEMA,
    )
    return Batch(tenant, table)


def _select(known: tuple[FaultType, ...], names: Sequence[str] | None) -> tuple[FaultType, ...]:
    if names is None:
        return known
    by_name = {t.name: t for t in known}
    unknown = sorted(set(names) - set(by_name))
    if unknown:
        raise ValueError(f"unknown fault types {unknown}; known: {sorted(by_name)}")
    return tuple(by_name[n] for n in names)
