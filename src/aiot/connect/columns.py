"""Growing point columns of one device's messages, turned into one Arrow table at the end.

The hot path is a message whose values are all plain numbers: it is added whole, with list
``extend`` and one run of ``ts`` and ``kind``, instead of one Python call per point. Anything
else (booleans, strings, objects, a bad key or value) is typed and checked one point at a
time, with the same reason codes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa

from aiot.domain import BATCH_SCHEMA, Kind
from aiot.errors import PayloadRejected

__all__ = ["MAX_KEY_LENGTH", "Columns", "reject"]

MAX_KEY_LENGTH = 255
_NUMBERS = frozenset((int, float))
_NUMBER = int(Kind.NUMBER)


def reject(reason: str, message: str) -> PayloadRejected:
    """A refusal of the whole message with a reason code."""
    return PayloadRejected(message, code=reason)


class Columns:
    """Points as columns; ``ts`` and ``kind`` as runs (value, length), expanded once."""

    __slots__ = ("checked", "key", "limit", "run_kind", "run_size", "run_ts", "texts", "value")

    def __init__(self, limit: int) -> None:
        self.key: list[str] = []
        self.value: list[float | None] = []
        self.texts: list[tuple[int, str]] = []  # (row, text): most messages have none
        self.checked: Any = None  # the last key set whose names passed the checks
        self.run_ts: list[int] = []
        self.run_kind: list[int] = []
        self.run_size: list[int] = []
        self.limit = limit

    def __len__(self) -> int:
        return len(self.key)

    def add(self, key: Any, ts: int, raw: Any) -> None:
        """One point of any type; refused if the key or the value is not allowed."""
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise reject("invalid_key", f"a key must be a string of 1-{MAX_KEY_LENGTH} chars")
        value, text, kind = _typed(key, raw)
        if text is not None:
            self.texts.append((len(self.key), text))
        self.key.append(key)
        self.value.append(value)
        self._run(ts, kind, 1)

    def extend(self, ts: int, values: dict[str, Any]) -> bool:
        """Add every value at once if all are plain finite numbers; False (nothing added) if not."""
        types = self._plain_numbers(values)
        if types is None:
            return False
        self.key.extend(values)
        # Arrow refuses ints a double cannot hold exactly; float() rounds them, as add() does.
        self.value.extend(map(float, values.values()) if int in types else values.values())
        self._run(ts, _NUMBER, len(values))
        return True

    def extend_rows(self, rows: list[Any], max_ts: int) -> bool:
        """Add a whole array of ``{"ts", "values"}`` rows of plain numbers at once, or nothing.

        False when any row is another form or holds anything but finite numbers under valid
        keys: the caller then takes the rows one at a time, with their reason codes.
        """
        try:
            ts = [row["ts"] for row in rows if len(row) == 2]
            values = [row["values"] for row in rows]
        except (TypeError, KeyError):
            return False  # not all rows are objects with ts and values
        if len(ts) != len(rows) or set(map(type, ts)) != {int} or set(map(type, values)) != {dict}:
            return False
        sizes = list(map(len, values))
        flat = [v for row in values for v in row.values()]
        types = set(map(type, flat))
        if not 0 <= min(ts) <= max(ts) <= max_ts or 0 in sizes or not types <= _NUMBERS:
            return False
        keys = [k for row in values for k in row]
        named = set(keys)
        if "" in named or max(map(len, named)) > MAX_KEY_LENGTH or not _finite(flat):
            return False
        self.key.extend(keys)
        self.value.extend(map(float, flat) if int in types else flat)
        self.run_ts.extend(ts)
        self.run_kind.extend([_NUMBER] * len(ts))
        self.run_size.extend(sizes)
        if len(self.key) > self.limit:
            raise reject("too_many_points", "too many points in one message")
        return True

    def _plain_numbers(self, values: dict[str, Any]) -> set[type] | None:
        """The value types if every key is valid and every value a finite number, else None."""
        if not values:
            return None
        keys = values.keys()
        if keys != self.checked:  # rows of one message mostly share their keys: check once
            if "" in values or max(map(len, values)) > MAX_KEY_LENGTH:
                return None
            self.checked = keys
        types = set(map(type, values.values()))
        if not types <= _NUMBERS:
            return None  # booleans, strings, objects, null: one point at a time
        try:  # a NaN or an infinity makes the sum one (a sum beyond a double: the slow path)
            return types if math.isfinite(sum(values.values())) else None
        except OverflowError:
            return None

    def _run(self, ts: int, kind: int, size: int) -> None:
        self.run_ts.append(ts)
        self.run_kind.append(kind)
        self.run_size.append(size)
        if len(self.key) > self.limit:
            raise reject("too_many_points", "too many points in one message")

    def mark(self) -> tuple[int, int]:
        """Where the columns end now, for :meth:`truncate`."""
        return len(self.key), len(self.run_ts)

    def truncate(self, mark: tuple[int, int]) -> None:
        """Drop everything added since ``mark``."""
        points, runs = mark
        for column in (self.key, self.value):
            del column[points:]
        while self.texts and self.texts[-1][0] >= points:
            self.texts.pop()
        for run in (self.run_ts, self.run_kind, self.run_size):
            del run[runs:]

    def _text(self) -> pa.Array:
        if not self.texts:
            return pa.nulls(len(self.key), pa.string())
        text: list[str | None] = [None] * len(self.key)
        for row, value in self.texts:
            text[row] = value
        return pa.array(text, pa.string())

    def table(self, device: str) -> pa.Table:
        """The points as a table of :data:`~aiot.domain.BATCH_SCHEMA`."""
        sizes = np.asarray(self.run_size, dtype=np.int64)
        return pa.table(
            {
                "device": pa.repeat(pa.scalar(device, pa.string()), len(self.key)),
                "key": pa.array(self.key, pa.string()),
                "ts": np.repeat(np.asarray(self.run_ts, dtype=np.int64), sizes),
                "value": pa.array(self.value, pa.float64()),
                "text": self._text(),
                "kind": np.repeat(np.asarray(self.run_kind, dtype=np.int8), sizes),
            },
            schema=BATCH_SCHEMA,
        )


def _finite(values: list[Any]) -> bool:
    """Whether the sum is finite: a NaN or an infinity makes it not (and so, rarely, overflow)."""
    try:
        return math.isfinite(sum(values))
    except OverflowError:
        return False


def _typed(key: str, raw: Any) -> tuple[float | None, str | None, int]:
    if isinstance(raw, bool):
        return (1.0 if raw else 0.0), None, Kind.BOOL
    if isinstance(raw, int | float):
        number = float(raw)
        if not math.isfinite(number):
            raise reject("invalid_value", f"the value of {key!r} is not a finite number")
        return number, None, Kind.NUMBER
    if isinstance(raw, str):
        cast = _as_number(raw)
        return (cast, None, Kind.NUMBER) if cast is not None else (None, raw, Kind.TEXT)
    if isinstance(raw, dict | list):
        return None, json.dumps(raw, separators=(",", ":")), Kind.JSON
    raise reject("invalid_value", f"the value of {key!r} is null")


def _as_number(text: str) -> float | None:
    stripped = text.strip()
    if not stripped or stripped != text:
        return None
    try:
        number = float(stripped)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
