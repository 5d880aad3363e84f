"""Device payload codecs: ThingsBoard's JSON forms to columnar batches.

Telemetry arrives in any of ThingsBoard's forms::

    {"temperature": 42, "humidity": 73}                     # stamped with a server time
    {"ts": 1451649600512, "values": {"temperature": 42}}    # device timestamp, epoch ms
    [{"ts": ..., "values": {...}}, {"temperature": 43}]     # an array of either

Numbers go to ``value``; booleans to ``value`` as 1.0 / 0.0; strings that read as a finite
number become numbers, as ThingsBoard's type cast does; other strings are text; objects and
arrays are kept as JSON text. A payload is refused whole, with a reason code, if any part of
it is wrong: nothing of a refused message is stored.

Entries without ``ts`` take their message's server time: a ``stamp`` is either a fixed epoch-ms
time or a function called once per message that needs one (the device's
:data:`~aiot.ingest.stamps.SERVER_TIMES` clock), so that messages acknowledged apart are
stored apart while the entries of one message share its time, as in ThingsBoard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from aiot.connect.columns import MAX_KEY_LENGTH, Columns, reject
from aiot.domain import Batch
from aiot.errors import PayloadRejected
from aiot.ingest.stamps import SERVER_TIMES

__all__ = [
    "MAX_KEY_LENGTH",
    "SERVER_TIME",
    "Stamp",
    "add_entries",
    "check_attributes",
    "decode_attributes",
    "decode_into",
    "decode_json",
    "decode_telemetry",
    "decode_telemetry_many",
]

_MAX_TS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_BOM = b"\xef\xbb\xbf"

Stamp = int | Callable[[], int]
SERVER_TIME = -1  # as a decode_telemetry stamp: the device's next server time per message


class _At:
    """One message's server time, read from its stamp the first time an entry needs it."""

    __slots__ = ("stamp", "ts")

    def __init__(self, stamp: Stamp) -> None:
        self.stamp, self.ts = stamp, -1

    def __call__(self) -> int:
        if self.ts < 0:
            self.ts = self.stamp if isinstance(self.stamp, int) else self.stamp()
        return self.ts


def decode_json(body: bytes) -> Any:
    """Parse JSON (orjson), refusing NaN and Infinity and non-UTF-8 bytes; a BOM is skipped."""
    try:
        return orjson.loads(body[3:] if body.startswith(_BOM) else body)
    except orjson.JSONDecodeError as err:
        if not body.strip():
            raise reject("empty_payload", "the payload is empty") from err
        raise reject("invalid_json", f"the payload is not valid JSON: {err}") from err


def _entry(cols: Columns, entry: Any, at: _At) -> None:
    if not isinstance(entry, dict):
        raise reject("invalid_payload", "each entry must be a JSON object")
    if "ts" in entry and "values" in entry:
        ts, values = entry["ts"], entry["values"]
        if type(ts) is not int or not 0 <= ts <= _MAX_TS:  # JSON gives exact types: no bool
            raise reject("invalid_ts", "ts must be an integer epoch time in milliseconds")
        if type(values) is not dict:
            raise reject("invalid_payload", "values must be a JSON object")
        if len(entry) > 2:
            raise reject("invalid_payload", "an entry with ts has only ts and values")
    else:
        ts, values = at(), entry
    if not cols.extend(ts, values):
        for key, raw in values.items():
            cols.add(key, ts, raw)


def _resolve(stamp: Stamp, tenant: str, device: str) -> Stamp:
    return SERVER_TIMES.clock(tenant, device) if stamp == SERVER_TIME else stamp


def decode_telemetry(
    body: bytes, tenant: str, device: str, stamp: Stamp, max_points: int = 100_000
) -> Batch:
    """The points of one telemetry message as a batch; PayloadRejected if any is wrong.

    ``stamp`` :data:`SERVER_TIME` stamps the message with the device's next server time.
    """
    cols = Columns(max_points)
    _message(cols, body, _resolve(stamp, tenant, device))
    return Batch(tenant, cols.table(device))


def decode_telemetry_many(
    bodies: list[bytes], tenant: str, device: str, stamp: Stamp, max_points: int = 100_000
) -> tuple[Batch | None, list[PayloadRejected | None]]:
    """A burst of one device's messages as one batch; each message is accepted or refused whole.

    Returns the batch of the accepted messages (None if none) and, per message, None or
    the reason it was refused. One Arrow table per burst keeps the hot path columnar.
    """
    cols = Columns(max_points)
    refused = decode_into(cols, bodies, _resolve(stamp, tenant, device), max_points)
    return (Batch(tenant, cols.table(device)) if len(cols) else None), refused


def decode_into(
    cols: Columns, bodies: list[bytes], stamp: Stamp, max_points: int = 100_000
) -> list[PayloadRejected | None]:
    """Add each message's points to ``cols``, or none of them; per message, why it was refused."""
    refused: list[PayloadRejected | None] = []
    for body in bodies:
        mark = cols.mark()
        cols.limit = mark[0] + max_points
        try:
            _message(cols, body, stamp)
        except PayloadRejected as err:
            cols.truncate(mark)
            refused.append(err)
        else:
            refused.append(None)
    return refused


def _message(cols: Columns, body: bytes, stamp: Stamp) -> None:
    add_entries(cols, decode_json(body), stamp)


def add_entries(cols: Columns, doc: Any, stamp: Stamp) -> None:
    """Add the points of one parsed telemetry document (an entry or a list of them) to ``cols``.

    Raises PayloadRejected if any is wrong; then ``cols`` may hold some of them (see ``mark``).
    """
    entries = doc if isinstance(doc, list) else [doc]
    at = _At(stamp)
    mark = len(cols)
    try:
        if len(entries) < 2 or not cols.extend_rows(entries, _MAX_TS):
            for entry in entries:
                _entry(cols, entry, at)
    except RecursionError as err:  # orjson reads 1024 levels; json.dumps of a value recurses
        raise reject("invalid_value", "a value is nested too deeply") from err
    if len(cols) == mark:
        raise reject("empty_payload", "the payload holds no values")


def decode_attributes(body: bytes) -> dict[str, Any]:
    """Client attributes: one flat JSON object of key to value (null not allowed)."""
    return check_attributes(decode_json(body))


def check_attributes(doc: Any) -> dict[str, Any]:
    """Parsed client attributes, checked as :func:`decode_attributes` checks them."""
    if not isinstance(doc, dict) or not doc:
        raise reject("invalid_payload", "attributes must be a non-empty JSON object")
    for key, value in doc.items():
        if not key or len(key) > MAX_KEY_LENGTH:
            raise reject("invalid_key", f"a key must be a string of 1-{MAX_KEY_LENGTH} chars")
        if value is None:
            raise reject("invalid_value", f"the value of {key!r} is null")
    return dict(doc)
