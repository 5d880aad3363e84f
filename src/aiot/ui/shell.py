"""What every page shares: the platform, who is signed in, the header with its links.

Pages call :func:`signed_in` first; it answers the page's principal, or None when the browser
must sign in (the page then returns :func:`to_sign_in`). The principal is checked again at
every page: a revoked key or a deleted user ends the session at its next step.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.responses import RedirectResponse
from nicegui import app, ui

from aiot.app import Platform
from aiot.domain import Principal, Role
from aiot.errors import AiotError
from aiot.ui.sessions import Session, Sessions

__all__ = [
    "Dashboard",
    "can_write",
    "dashboard",
    "header",
    "may_write",
    "signed_in",
    "to_sign_in",
]


@dataclass
class Dashboard:
    """The one platform a process's dashboard serves (NiceGUI is one app per process)."""

    platform: Platform
    sessions: Sessions


_current: list[Dashboard] = []


def dashboard() -> Dashboard:
    """The dashboard :func:`aiot.ui.mount` set up."""
    return _current[0]


def install(platform: Platform, sessions: Sessions) -> None:
    """Serve ``platform`` (called once, by :func:`aiot.ui.mount`)."""
    _current[:] = [Dashboard(platform, sessions)]


def browser() -> str:
    """The browser's id, from NiceGUI's signed session cookie."""
    return str(app.storage.browser["id"])


def session() -> Session | None:
    """The browser's live session, its principal checked again against the catalog."""
    board = dashboard()
    found = board.sessions.get(browser())
    if found is None:
        return None
    try:
        principal = _recheck(board.platform, found)
    except AiotError:
        principal = None
    if principal is None:
        board.sessions.close(browser())
        return None
    return found


def _recheck(platform: Platform, found: Session) -> Principal | None:
    old = found.principal
    if found.secret is not None:  # the key may have been revoked
        return platform.principal(found.secret, old.tenant)
    user = platform.catalog.find_user(old.tenant, old.user_id or "")
    return None if user is None or user.role is not old.role else old


def signed_in() -> Principal | None:
    """The principal the page acts as, or None."""
    found = session()
    return found.principal if found else None


def to_sign_in() -> RedirectResponse:
    """Send the browser to the sign-in page."""
    return RedirectResponse("/login", status_code=303)


def can_write(principal: Principal) -> bool:
    """Whether the page shows write controls (operators and admins)."""
    return principal.role.allows(Role.OPERATOR)


def may_write() -> bool:
    """Checked again when a write control is used: the session still holds, as an operator.

    The controls are only drawn for operators; this catches a key revoked or a role changed
    while the page stayed open.
    """
    found = session()
    if found is not None and can_write(found.principal):
        return True
    ui.notify("this needs the operator role: sign in again", type="negative")
    return False


def sign_out() -> None:
    """End the browser's session and go to the sign-in page."""
    dashboard().sessions.close(browser())
    ui.navigate.to("/login")


def header(principal: Principal, title: str) -> None:
    """The top bar: links to every page, who is signed in, and sign-out."""
    found = session()
    who = found.who if found else ""
    ui.page_title(f"{title} · aiot")
    with ui.header().classes("items-center gap-6 bg-slate-800 text-white px-6 py-2"):
        ui.link("aiot", "/").classes("text-xl font-bold text-white no-underline")
        for text, target in (("Fleet", "/"), ("Alarms", "/alarms"), ("Models", "/models")):
            ui.link(text, target).classes("text-white no-underline aiot-nav")
        ui.space()
        ui.label(f"{who} · {principal.tenant} · {principal.role.value}").classes(
            "text-sm opacity-80 aiot-who"
        )
        ui.button("Sign out", on_click=sign_out).props("flat color=white").classes("aiot-signout")
