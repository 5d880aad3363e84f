"""Server times: every message of a device gets its own, whichever transport, in bounded memory."""

from __future__ import annotations

from aiot.connect.payloads import SERVER_TIME, decode_telemetry, decode_telemetry_many
from aiot.ingest.stamps import ServerTimes


class _Frozen:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_messages_in_one_millisecond_get_distinct_increasing_times() -> None:
    times = ServerTimes(clock=_Frozen(1_000))
    stamps = [times.next("t", "pump") for _ in range(5)]
    assert stamps == [1_000, 1_001, 1_002, 1_003, 1_004]
    assert times.next("t", "other") == 1_000  # another device has its own sequence
    assert times.next("u", "pump") == 1_000  # and so has the same name in another tenant


def test_a_device_ahead_of_the_clock_falls_back_to_it_when_the_clock_passes() -> None:
    clock = _Frozen(1_000)
    times = ServerTimes(clock=clock)
    assert [times.next("t", "d") for _ in range(3)] == [1_000, 1_001, 1_002]
    clock.now = 5_000
    assert times.next("t", "d") == 5_000


def test_memory_stays_bounded_and_no_stamp_repeats_after_eviction() -> None:
    clock = _Frozen(1_000)
    times = ServerTimes(capacity=100, clock=clock)
    seen: dict[str, set[int]] = {}
    for round_ in range(3):  # every device ahead of the frozen clock: entries must be folded
        for i in range(1_000):
            stamp = times.next("t", f"d{i}")
            assert stamp not in seen.setdefault(f"d{i}", set()), (round_, i)
            seen[f"d{i}"].add(stamp)
    assert len(times) <= 100
    clock.now = 10**9  # the clock passes them all: the table empties as it is used
    for i in range(1_000):
        times.next("t", f"e{i}")
    assert len(times) <= 100


def test_entries_of_one_message_share_its_time_and_messages_do_not() -> None:
    clock = ServerTimes(clock=_Frozen(7)).clock("t", "d")
    bodies = [b'[{"a": 1}, {"b": 2}]', b'{"ts": 3, "values": {"a": 0}}', b'{"a": 3}']
    batch, refused = decode_telemetry_many(bodies, "t", "d", clock)
    assert batch is not None and refused == [None, None, None]
    rows = sorted(zip(batch.table["key"].to_pylist(), batch.table["ts"].to_pylist(), strict=True))
    assert rows == [("a", 3), ("a", 7), ("a", 8), ("b", 7)]  # a message with ts takes no stamp


def test_server_time_stamps_each_http_or_bridge_message_apart() -> None:
    first = decode_telemetry(b'{"v": 1}', "t", "server-time-dev", SERVER_TIME)
    second = decode_telemetry(b'{"v": 2}', "t", "server-time-dev", SERVER_TIME)
    assert first.table["ts"][0].as_py() < second.table["ts"][0].as_py()
