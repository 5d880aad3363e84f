"""Device payload codecs: ThingsBoard's JSON forms to columnar batches.

Telemetry arrives in any of ThingsBoard's forms::

    {"temperature": 42, "humidity": 73}                     # timestamped on arrival
    {"ts": 1451649600512, "values": {"temperature": 42}}    # device timestamp, epoch ms
    [{"ts": ..., "values": {...}}, {"temperature": 43}]     # an array of either

Numbers go to ``value``; booleans to ``value`` as 1.0 / 0.0; strings that read as a finite
number become numbers, as ThingsBoard's type cast does; other strings are text; objects and
arrays are kept as JSON text. A payload is refused whole, with a reason code, if any part of
it is wrong: nothing of a refused message is stored.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa

from aiot.domain import BATCH_SCHEMA, Batch, Kind
from aiot.errors import PayloadRejected

__all__ = [
    "MAX_KEY_LENGTH",
    "decode_attributes",
    "decode_json",
    "decode_telemetry",
    "decode_telemetry_many",
]

MAX_KEY_LENGTH = 255
_MAX_TS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _reject(reason: str, message: str) -> PayloadRejected:
    return PayloadRejected(message, code=reason)


def decode_json(body: bytes) -> Any:
    """Parse JSON, refusing NaN and Infinity literals and non-UTF-8 bytes."""
    if not body.strip():
        raise _reject("empty_payload", "the payload is empty")
    try:
        return json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise _reject("invalid_json", f"the payload is not valid JSON: {err}") from err


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number JSON allows", name, 0)


class _Columns:
    """Growing columns of one message (one device)."""

    def __init__(self, limit: int) -> None:
        self.key: list[str] = []
        self.ts: list[int] = []
        self.value: list[float | None] = []
        self.text: list[str | None] = []
        self.kind: list[int] = []
        self.limit = limit

    def add(self, key: Any, ts: int, raw: Any) -> None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise _reject("invalid_key", f"a key must be a string of 1-{MAX_KEY_LENGTH} chars")
        value, text, kind = _typed(key, raw)
        self.key.append(key)
        self.ts.append(ts)
        self.value.append(value)
        self.text.append(text)
        self.kind.append(kind)
        if len(self.key) > self.limit:
            raise _reject("too_many_points", "too many points in one message")

    def truncate(self, size: int) -> None:
        for column in (self.key, self.ts, self.value, self.text, self.kind):
            del column[size:]


def _typed(key: str, raw: Any) -> tuple[float | None, str | None, int]:
    if isinstance(raw, bool):
        return (1.0 if raw else 0.0), None, Kind.BOOL
    if isinstance(raw, int | float):
        number = float(raw)
        if not math.isfinite(number):
            raise _reject("invalid_value", f"the value of {key!r} is not a finite number")
        return number, None, Kind.NUMBER
    if isinstance(raw, str):
        cast = _as_number(raw)
        return (cast, None, Kind.NUMBER) if cast is not None else (None, raw, Kind.TEXT)
    if isinstance(raw, dict | list):
        return None, json.dumps(raw, separators=(",", ":")), Kind.JSON
    raise _reject("invalid_value", f"the value of {key!r} is null")


def _as_number(text: str) -> float | None:
    stripped = text.strip()
    if not stripped or stripped != text:
        return None
    try:
        number = float(stripped)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _entry(cols: _Columns, entry: Any, now_ms: int) -> None:
    if not isinstance(entry, dict):
        raise _reject("invalid_payload", "each entry must be a JSON object")
    if "ts" in entry and "values" in entry:
        ts = entry["ts"]
        if isinstance(ts, bool) or not isinstance(ts, int) or not 0 <= ts <= _MAX_TS:
            raise _reject("invalid_ts", "ts must be an integer epoch time in milliseconds")
        values = entry["values"]
        if not isinstance(values, dict):
            raise _reject("invalid_payload", "values must be a JSON object")
        if len(entry) > 2:
            raise _reject("invalid_payload", "an entry with ts has only ts and values")
    else:
        ts, values = now_ms, entry
    for key, raw in values.items():
        cols.add(key, ts, raw)


def decode_telemetry(
    body: bytes, tenant: str, device: str, now_ms: int, max_points: int = 100_000
) -> Batch:
    """The points of one telemetry message as a batch; PayloadRejected if any is wrong."""
    cols = _Columns(max_points)
    _message(cols, body, now_ms)
    return _batch(cols, tenant, device)


def decode_telemetry_many(
    bodies: list[bytes], tenant: str, device: str, now_ms: int, max_points: int = 100_000
) -> tuple[Batch | None, list[PayloadRejected | None]]:
    """A burst of one device's messages as one batch; each message is accepted or refused whole.

    Returns the batch of the accepted messages (None if none) and, per message, None or
    the reason it was refused. One Arrow table per burst keeps the hot path columnar.
    """
    cols = _Columns(max_points)
    refused: list[PayloadRejected | None] = []
    for body in bodies:
        mark = len(cols.key)
        cols.limit = mark + max_points
        try:
            _message(cols, body, now_ms)
        except PayloadRejected as err:
            cols.truncate(mark)
            refused.append(err)
        else:
            refused.append(None)
    return (_batch(cols, tenant, device) if cols.key else None), refused


def _message(cols: _Columns, body: bytes, now_ms: int) -> None:
    doc = decode_json(body)
    entries = doc if isinstance(doc, list) else [doc]
    mark = len(cols.key)
    for entry in entries:
        _entry(cols, entry, now_ms)
    if len(cols.key) == mark:
        raise _reject("empty_payload", "the payload holds no values")


def _batch(cols: _Columns, tenant: str, device: str) -> Batch:
    n = len(cols.key)
    table = pa.table(
        {
            "device": pa.repeat(pa.scalar(device, pa.string()), n),
            "key": pa.array(cols.key, pa.string()),
            "ts": pa.array(cols.ts, pa.int64()),
            "value": pa.array(cols.value, pa.float64()),
            "text": pa.array(cols.text, pa.string()),
            "kind": pa.array(np.asarray(cols.kind, dtype=np.int8), pa.int8()),
        },
        schema=BATCH_SCHEMA,
    )
    return Batch(tenant, table)


def decode_attributes(body: bytes) -> dict[str, Any]:
    """Client attributes: one flat JSON object of key to value (null not allowed)."""
    doc = decode_json(body)
    if not isinstance(doc, dict) or not doc:
        raise _reject("invalid_payload", "attributes must be a non-empty JSON object")
    for key, value in doc.items():
        if not key or len(key) > MAX_KEY_LENGTH:
            raise _reject("invalid_key", f"a key must be a string of 1-{MAX_KEY_LENGTH} chars")
        if value is None:
            raise _reject("invalid_value", f"the value of {key!r} is null")
    return dict(doc)
