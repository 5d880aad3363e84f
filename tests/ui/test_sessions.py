"""Dashboard sessions end when signed out or idle too long; being active keeps them."""

from __future__ import annotations

from aiot.domain import Principal, Role
from aiot.ui.sessions import Sessions


def test_a_session_expires_after_idle_time_and_activity_renews_it() -> None:
    now = [0.0]
    sessions = Sessions(idle_seconds=100, clock=lambda: now[0])
    who = Principal("default", Role.VIEWER, user_id="u1")
    sessions.open("browser-1", who, "ana", None)
    now[0] = 90
    assert sessions.get("browser-1") is not None  # renewed at 90
    now[0] = 180
    assert sessions.get("browser-1") is not None
    now[0] = 281
    assert sessions.get("browser-1") is None
    assert sessions.get("browser-1") is None  # forgotten, not revived


def test_signing_out_ends_only_that_browser() -> None:
    sessions = Sessions()
    who = Principal("default", Role.OPERATOR, key_id="k")
    sessions.open("a", who, "aiot_abcd…", "aiot_abcdef")
    sessions.open("b", who, "aiot_abcd…", "aiot_abcdef")
    sessions.close("a")
    assert sessions.get("a") is None
    found = sessions.get("b")
    assert found is not None and found.principal == who
