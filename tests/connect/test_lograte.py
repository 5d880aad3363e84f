"""The rate-limited logger: one line per reason per period, with the count it held back."""

from __future__ import annotations

import logging

import pytest

from aiot.connect.lograte import RateLimitedLog


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_one_reason_writes_one_line_per_period(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    limited = RateLimitedLog(logging.getLogger("aiot.test"), every=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, "aiot.test"):
        for i in range(1000):
            clock.now = i * 0.01  # 1,000 events in 10 s
            limited.warning("slow", "closed %s", i)
        clock.now = 10.0
        limited.warning("slow", "closed %s", "last")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["closed 0", "closed last (… and 999 more in the last 10 s)"]


def test_reasons_are_limited_apart(caplog: pytest.LogCaptureFixture) -> None:
    limited = RateLimitedLog(logging.getLogger("aiot.test"), every=10.0, clock=_Clock())
    with caplog.at_level(logging.WARNING, "aiot.test"):
        assert limited.warning("a", "first a")
        assert limited.warning("b", "first b")
        assert not limited.warning("a", "second a")
    assert [r.getMessage() for r in caplog.records] == ["first a", "first b"]
    assert limited.held("a") == 1 and limited.held("b") == 0


def test_a_message_with_percent_signs_from_a_client_is_not_formatted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limited = RateLimitedLog(logging.getLogger("aiot.test"), every=1.0, clock=_Clock())
    with caplog.at_level(logging.WARNING, "aiot.test"):
        limited.warning("x", "peer %s", "%s%d%n")
    assert caplog.records[0].getMessage() == "peer %s%d%n"
