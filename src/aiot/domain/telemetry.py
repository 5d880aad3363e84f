"""Telemetry as columnar batches: the unit that moves on the hot path.

A :class:`Batch` holds the points of one tenant as an Arrow table with the columns of
:data:`BATCH_SCHEMA`. Numbers and booleans live in ``value`` (booleans as 1.0 / 0.0, so
that they aggregate); strings and JSON documents live in ``text``; ``kind`` tells which.

>>> b = Batch.numeric("default", "pump-1", "temp", [1000, 2000], [20.5, 21.0])
>>> len(b), b.keys()
(2, ['temp'])
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["BATCH_SCHEMA", "Aggregation", "Batch", "Kind", "SeriesKey", "now_ms"]


def now_ms() -> int:
    """The current time in epoch milliseconds, the unit of every ``ts``."""
    return time.time_ns() // 1_000_000


class Kind(enum.IntEnum):
    """What a point's value is; decides which column carries it."""

    NUMBER = 0
    BOOL = 1
    TEXT = 2
    JSON = 3


class Aggregation(enum.StrEnum):
    """Time-bucket aggregates that every telemetry store computes."""

    AVG = "avg"
    MIN = "min"
    MAX = "max"
    SUM = "sum"
    COUNT = "count"
    LAST = "last"


BATCH_SCHEMA = pa.schema(
    [
        pa.field("device", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("text", pa.string()),
        pa.field("kind", pa.int8(), nullable=False),
    ]
)


@dataclass(frozen=True)
class SeriesKey:
    """One time series: a key of a device of a tenant."""

    tenant: str
    device: str
    key: str


@dataclass(frozen=True)
class Batch:
    """Points of one tenant, in columns (device, key, ts in epoch ms, value, text, kind)."""

    tenant: str
    table: pa.Table

    def __post_init__(self) -> None:
        if not self.table.schema.equals(BATCH_SCHEMA):
            object.__setattr__(
                self, "table", self.table.select(BATCH_SCHEMA.names).cast(BATCH_SCHEMA)
            )

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @classmethod
    def empty(cls, tenant: str) -> Batch:
        """A batch with no points."""
        return cls(tenant, BATCH_SCHEMA.empty_table())

    @classmethod
    def numeric(
        cls,
        tenant: str,
        device: str | Sequence[str] | np.ndarray[Any, Any],
        key: str | Sequence[str] | np.ndarray[Any, Any],
        ts: Sequence[int] | np.ndarray[Any, Any],
        value: Sequence[float] | np.ndarray[Any, Any],
    ) -> Batch:
        """Numeric points; ``device`` and ``key`` may be one name for every point."""
        ts_arr = np.asarray(ts, dtype=np.int64)
        n = len(ts_arr)
        table = pa.table(
            {
                "device": _column(device, n),
                "key": _column(key, n),
                "ts": pa.array(ts_arr, pa.int64()),
                "value": pa.array(np.asarray(value, dtype=np.float64), pa.float64()),
                "text": pa.nulls(n, pa.string()),
                "kind": pa.array(np.zeros(n, dtype=np.int8), pa.int8()),
            },
            schema=BATCH_SCHEMA,
        )
        return cls(tenant, table)

    @classmethod
    def concat(cls, tenant: str, batches: Sequence[Batch]) -> Batch:
        """One batch holding every point of ``batches`` (all of ``tenant``)."""
        if any(b.tenant != tenant for b in batches):
            raise ValueError("cannot concatenate batches of different tenants")
        if not batches:
            return cls.empty(tenant)
        return cls(tenant, pa.concat_tables([b.table for b in batches]))

    def keys(self) -> list[str]:
        """The distinct keys in the batch, sorted."""
        return sorted(set(self.table.column("key").to_pylist()))

    def devices(self) -> list[str]:
        """The distinct devices in the batch, sorted."""
        return sorted(set(self.table.column("device").to_pylist()))


def _column(names: str | Sequence[str] | np.ndarray[Any, Any], n: int) -> pa.Array:
    if isinstance(names, str):
        return pa.repeat(pa.scalar(names, pa.string()), n)
    return pa.array(names, pa.string())
