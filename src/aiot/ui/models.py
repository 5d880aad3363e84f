"""The models page: the tenant's trained models with their cards and metrics, the deployments
with the precision operators' verdicts give them, and pause / resume.
"""

from __future__ import annotations

from functools import partial

from fastapi.responses import RedirectResponse
from nicegui import ui

from aiot.domain import Principal
from aiot.errors import AiotError
from aiot.ui.shell import can_write, dashboard, header, may_write, signed_in, to_sign_in

__all__ = ["page"]


def _cards(principal: Principal) -> None:
    cards = dashboard().platform.models(principal.tenant)
    ui.label("Trained models").classes("text-xl")
    if not cards:
        ui.label("None yet: train one with `aiot models train` or POST /api/models/train.")
    with ui.row().classes("gap-4"):
        for card in cards:
            with ui.card().classes("w-80 aiot-model"):
                ui.label(f"{card.name} v{card.version}").classes("font-bold")
                ui.label(f"{card.task} · {card.model or card.name} · {card.licence}").classes(
                    "text-sm opacity-70"
                )
                ui.label(f"keys: {', '.join(card.inputs.keys)}").classes("text-sm")
                for name, value in sorted(card.metrics.items()):
                    if not name.endswith("_ms"):
                        ui.label(f"{name}: {value:.4g}").classes("font-mono text-xs")


def _deployments(principal: Principal) -> None:
    platform = dashboard().platform
    stats = {s.get("deployment"): s for s in platform.ops.alarm_stats(principal.tenant)}
    ui.label("Deployments").classes("text-xl")

    @ui.refreshable
    def listing() -> None:
        found = platform.ops.deployments(principal.tenant)
        if not found:
            ui.label("None yet: `aiot deploy` or POST /api/deployments.")
        for dep in found:
            with (
                ui.card().classes("w-full aiot-deployment"),
                ui.row().classes("items-center gap-4"),
            ):
                ui.label(dep.name).classes("font-bold")
                ui.label(f"{dep.detector} on {', '.join(dep.keys)}").classes("text-sm")
                ui.badge(
                    "paused" if dep.paused else "running", color="grey" if dep.paused else "green"
                )
                s = stats.get(dep.id) or {}
                precision = s.get("precision")
                ui.label(
                    f"alarms {s.get('raised', 0)} · judged {s.get('labelled', 0)} · precision "
                    + ("n/a" if precision is None else f"{precision:.2f}")
                ).classes("text-sm")
                if can_write(principal):

                    def toggle(ref: str, paused: bool) -> None:
                        if not may_write():
                            return
                        try:
                            platform.ops.update_deployment(principal.tenant, ref, paused=paused)
                        except AiotError as err:
                            ui.notify(err.message, type="negative")
                        listing.refresh()

                    ui.button(
                        "Resume" if dep.paused else "Pause",
                        on_click=partial(toggle, dep.id, not dep.paused),
                    ).classes("aiot-toggle")

    listing()


@ui.page("/models", title="Models · aiot")
def page() -> RedirectResponse | None:
    """Cards, then deployments."""
    principal = signed_in()
    if principal is None:
        return to_sign_in()
    header(principal, "Models")
    with ui.column().classes("w-full p-6 gap-4"):
        _cards(principal)
        _deployments(principal)
    return None
