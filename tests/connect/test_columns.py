"""Whole-message column extends give the same points as one point at a time."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiot.connect.columns import Columns
from aiot.connect.payloads import decode_telemetry, decode_telemetry_many
from aiot.errors import PayloadRejected

NOW = 1_700_000_000_000

numbers = st.one_of(st.integers(-(2**62), 2**62), st.floats(allow_nan=False, allow_infinity=False))
keys = st.text(min_size=1, max_size=20)


@given(st.dictionaries(keys, numbers, min_size=1, max_size=30), st.integers(0, 2**41))
def test_extend_equals_adding_one_point_at_a_time(values: dict[str, float], ts: int) -> None:
    whole, single = Columns(10**6), Columns(10**6)
    if not whole.extend(ts, values):  # a sum beyond a double: the slow path must take it
        return
    for key, raw in values.items():
        single.add(key, ts, raw)
    assert whole.table("d").equals(single.table("d"))


def test_a_refused_message_leaves_no_ts_behind_in_a_burst() -> None:
    bodies = [
        json.dumps({"ts": 5, "values": {"a": 1, "b": 2}}).encode(),
        json.dumps({"ts": 6, "values": {"a": 1, "b": None}}).encode(),
        json.dumps({"c": True, "d": 3.5}).encode(),
        json.dumps([{"ts": 7, "values": {"e": "x"}}, {"ts": 8, "values": {"f": 4}}]).encode(),
    ]
    batch, refused = decode_telemetry_many(bodies, "t", "dev", NOW)
    assert [err and err.code for err in refused] == [None, "invalid_value", None, None]
    assert batch is not None
    got = batch.table.select(["key", "ts", "kind"]).to_pydict()
    assert got["key"] == ["a", "b", "c", "d", "e", "f"]
    assert got["ts"] == [5, 5, NOW, NOW, 7, 8]
    assert got["kind"] == [0, 0, 1, 0, 2, 0]


@pytest.mark.parametrize("body", [b'{"a": 1e400}', b'{"a": 1e308, "b": 1e308, "c": -1e400}'])
def test_numbers_beyond_a_double_are_refused(body: bytes) -> None:
    with pytest.raises(PayloadRejected) as caught:
        decode_telemetry(body, "t", "dev", NOW)
    assert caught.value.code == "invalid_json"  # orjson refuses them while parsing


def test_large_finite_numbers_whose_sum_overflows_are_kept() -> None:
    got = decode_telemetry(b'{"a": 1e308, "b": 1e308}', "t", "dev", NOW).table.to_pydict()
    assert got["value"] == [1e308, 1e308]


rows = st.lists(
    st.fixed_dictionaries(
        {"ts": st.integers(0, 2**41), "values": st.dictionaries(keys, numbers, max_size=5)}
    ),
    min_size=2,
    max_size=20,
)


@given(rows)
def test_a_whole_array_of_rows_equals_adding_row_by_row(entries: list[dict[str, object]]) -> None:
    body = json.dumps(entries).encode()
    whole = decode_telemetry_many([body], "t", "dev", NOW)
    single = [decode_telemetry_many([json.dumps(e).encode()], "t", "dev", NOW) for e in entries]
    if whole[0] is None:  # refused whole: some row was empty, as row by row
        assert whole[1][0] is not None
        return
    parts = [b.table for b, _ in single if b is not None]
    assert whole[0].table.equals(pa.concat_tables(parts).combine_chunks())


@pytest.mark.parametrize(
    "entry",
    [
        {"ts": -1, "values": {"a": 1}},
        {"ts": 1, "values": {"a": True}},
        {"ts": 1, "values": {"": 1}},
        {"ts": 1.5, "values": {"a": 1}},
        {"ts": 1, "values": {"a": 1}, "x": 2},
        {"b": 2},
    ],
)
def test_an_odd_row_among_plain_ones_gets_its_own_reason(entry: dict[str, object]) -> None:
    body = json.dumps([{"ts": 5, "values": {"a": 1}}, entry]).encode()
    _, refused = decode_telemetry_many([body], "t", "dev", NOW)
    row_by_row = decode_telemetry_many([json.dumps(entry).encode()], "t", "dev", NOW)[1]
    assert [err and err.code for err in refused] == [err and err.code for err in row_by_row]
