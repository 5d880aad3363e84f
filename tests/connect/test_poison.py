"""Poison payloads (deep nesting, numbers beyond a double) are refused with a reason, not raised."""

from __future__ import annotations

import pytest

from aiot.connect.bridge import _body
from aiot.connect.payloads import decode_telemetry, decode_telemetry_many
from aiot.errors import PayloadRejected

DEEP = b"[" * 100_000
NESTED = b"[" * 1_000 + b"]" * 1_000  # valid JSON, deeper than Python's recursion limit
DIGITS = b"1" * 5_000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP, "invalid_json"),
        (b'{"v": ' + DIGITS + b"}", "invalid_json"),
        (b'{"v": ' + NESTED + b"}", "invalid_value"),
        (b'{"ts": 1, "values": {"v": ' + NESTED + b"}}", "invalid_value"),
    ],
)
def test_a_poison_telemetry_message_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as refused:
        decode_telemetry(body, "t", "d", 0)
    assert refused.value.code == reason


def test_a_poison_message_in_a_burst_costs_only_itself() -> None:
    batch, refused = decode_telemetry_many([b'{"v": ' + NESTED + b"}", b'{"v": 2}'], "t", "d", 0)
    assert batch is not None and batch.table.column("value").to_pylist() == [2.0]
    assert [r.code if r else None for r in refused] == ["invalid_value", None]


@pytest.mark.parametrize("payload", [DEEP, DIGITS, b"-" + DIGITS, b"{" + DEEP, b"[1, 2"])
def test_a_value_payload_that_looks_like_json_must_be_json(payload: bytes) -> None:
    with pytest.raises(PayloadRejected) as refused:
        _body("temp", payload)
    assert refused.value.code == "invalid_json"


@pytest.mark.parametrize(
    ("payload", "value", "text"),
    [
        (b"21.5", 21.5, None),
        (b" running ", None, "running"),
        (b"true", 1.0, None),
        (b'"quoted"', None, "quoted"),
        (b"[1,2]", None, "[1,2]"),
        (b"NaN", None, "NaN"),
    ],
)
def test_a_value_payload_becomes_one_point(payload: bytes, value: float, text: str) -> None:
    (point,) = decode_telemetry(_body("temp", payload), "t", "d", 7).table.to_pylist()
    assert (point["key"], point["ts"], point["value"], point["text"]) == ("temp", 7, value, text)
