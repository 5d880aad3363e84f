"""ThingsBoard's telemetry forms decode into batches; anything wrong is refused whole."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiot.connect.payloads import decode_attributes, decode_telemetry
from aiot.domain import Kind
from aiot.errors import PayloadRejected

NOW = 1_700_000_000_000


def decode(doc: object) -> dict[str, list[object]]:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    table = decode_telemetry(body, "t", "dev", NOW).table
    return table.select(["key", "ts", "value", "text", "kind"]).to_pydict()


def test_flat_object_is_stamped_on_arrival() -> None:
    got = decode({"temperature": 42, "humidity": 73.5})
    assert got["key"] == ["temperature", "humidity"]
    assert got["ts"] == [NOW, NOW]
    assert got["value"] == [42.0, 73.5]


def test_ts_values_form_keeps_device_time() -> None:
    got = decode({"ts": 1451649600512, "values": {"temperature": 42}})
    assert got["ts"] == [1451649600512]


def test_array_mixes_both_forms() -> None:
    got = decode([{"ts": 1000, "values": {"a": 1}}, {"b": 2}])
    assert list(zip(got["key"], got["ts"], strict=True)) == [("a", 1000), ("b", NOW)]


def test_types_are_kept() -> None:
    got = decode({"on": True, "state": "running", "cfg": {"mode": 2}, "n": "12.5"})
    assert got["kind"] == [Kind.BOOL, Kind.TEXT, Kind.JSON, Kind.NUMBER]
    assert got["value"] == [1.0, None, None, 12.5]
    assert got["text"] == [None, "running", '{"mode":2}', None]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"   ", "empty_payload"),
        (b"{}", "empty_payload"),
        (b"[]", "empty_payload"),
        (b"42", "invalid_payload"),
        (b'["a"]', "invalid_payload"),
        (b'{"ts": "yesterday", "values": {"a": 1}}', "invalid_ts"),
        (b'{"ts": -5, "values": {"a": 1}}', "invalid_ts"),
        (b'{"ts": 1.5, "values": {"a": 1}}', "invalid_ts"),
        (b'{"ts": 1000, "values": [1, 2]}', "invalid_payload"),
        (b'{"a": null}', "invalid_value"),
        (b'{"a": NaN}', "invalid_json"),
        (b'{"": 1}', "invalid_key"),
        (b'[{"a": 1}, {"b": null}]', "invalid_value"),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as caught:
        decode_telemetry(body, "t", "dev", NOW)
    assert caught.value.code == reason


def test_too_many_points_is_refused() -> None:
    body = json.dumps({f"k{i}": i for i in range(11)}).encode()
    with pytest.raises(PayloadRejected) as caught:
        decode_telemetry(body, "t", "dev", NOW, max_points=10)
    assert caught.value.code == "too_many_points"


def test_attributes_are_a_flat_object() -> None:
    assert decode_attributes(b'{"firmware": "1.2", "slots": 4}') == {"firmware": "1.2", "slots": 4}
    with pytest.raises(PayloadRejected):
        decode_attributes(b"[1]")


finite = st.floats(allow_nan=False, allow_infinity=False)
keys = st.text(min_size=1, max_size=20)


@given(st.dictionaries(keys, finite, min_size=1, max_size=30), st.integers(0, 2**41))
def test_any_numeric_message_round_trips(values: dict[str, float], ts: int) -> None:
    got = decode({"ts": ts, "values": values})
    assert dict(zip(got["key"], got["value"], strict=True)) == values
    assert set(got["ts"]) == {ts}
