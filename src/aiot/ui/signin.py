"""The sign-in page: an API key, or a user name and password (``tenant/name`` or ``name``)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from aiot.domain import Principal
from aiot.errors import AiotError
from aiot.ui.shell import browser, dashboard

__all__ = ["page"]


def _open(principal: Principal, who: str, secret: str | None) -> None:
    dashboard().sessions.open(browser(), principal, who, secret)
    ui.navigate.to("/")


def _with_key(secret: str, tenant: str) -> None:
    platform = dashboard().platform
    principal = platform.principal(secret.strip(), tenant.strip() or None)
    _open(principal, secret.strip()[:9] + "…", secret.strip())


def _with_password(login: str, password: str) -> None:
    principal = dashboard().platform.sign_in(login.strip(), password)
    _open(principal, login.strip(), None)


def _attempt(action: Callable[..., None], *args: str) -> None:
    try:
        action(*args)
    except AiotError as err:
        ui.notify(err.message, type="negative")


@ui.page("/login", title="Sign in · aiot")
def page() -> None:
    """Two ways in, side by side."""
    with ui.column().classes("absolute-center items-stretch w-96 gap-4"):
        ui.label("aiot").classes("text-4xl font-bold text-center")
        ui.label("Sign in to the dashboard").classes("text-center opacity-70")
        with ui.card().classes("w-full"):
            ui.label("User").classes("text-lg")
            login = ui.input("User name (tenant/name)").classes("w-full aiot-login")
            password = ui.input("Password", password=True).classes("w-full aiot-password")
            ui.button(
                "Sign in",
                on_click=lambda: _attempt(_with_password, login.value, password.value),
            ).classes("w-full aiot-signin-user")
        with ui.card().classes("w-full"):
            ui.label("API key").classes("text-lg")
            key = ui.input("API key", password=True).classes("w-full aiot-key")
            tenant = ui.input("Tenant (admin key only)").classes("w-full aiot-tenant")
            ui.button(
                "Sign in with key", on_click=lambda: _attempt(_with_key, key.value, tenant.value)
            ).classes("w-full aiot-signin-key")
