"""The alarms page: the tenant's alarms with filters; acknowledge, clear, comment, and the
verdict (real fault or false alarm, fault type, root cause, lesson) in two clicks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from fastapi.responses import RedirectResponse
from nicegui import ui

from aiot.domain import Alarm, AlarmStatus, Principal, Severity, Verdict, now_ms
from aiot.errors import AiotError, NotFound
from aiot.store.envelope import envelope
from aiot.ui.charts import chart_options, groups, periods
from aiot.ui.shell import can_write, dashboard, header, may_write, signed_in, to_sign_in

__all__ = ["page"]

Done = Callable[[], object]
MARGIN_MS = 10 * 60_000  # data shown before the alarm started and after it ended


def _when(ms: int | None) -> str:
    if ms is None:
        return "now"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _by(principal: Principal) -> str:
    """Who acted, as the REST API signs it: the key's id, the user's id, or ``admin``."""
    return principal.key_id or principal.user_id or "admin"


def _do(action: Callable[[], object], done: Done) -> None:
    """Run one lifecycle step; say why when it is refused; show the list again."""
    if not may_write():
        return
    try:
        action()
    except AiotError as err:
        ui.notify(err.message, type="negative")
    done()


def _verdict_dialog(principal: Principal, alarm: Alarm, true_alarm: bool, done: Done) -> None:
    old = alarm.verdict
    with ui.dialog() as dialog, ui.card().classes("w-[32rem] aiot-verdict-dialog"):
        ui.label("Real fault" if true_alarm else "False alarm").classes("text-lg")
        fault = ui.input("Fault type", value=old.fault_type if old else "")
        cause = ui.input("Root cause", value=old.root_cause if old else "")
        lesson = ui.input("Lesson", value=old.lesson if old else "")
        for field, name in ((fault, "fault-type"), (cause, "root-cause"), (lesson, "lesson")):
            field.classes(f"w-full aiot-{name}")

        def save() -> None:
            verdict = Verdict(
                true_alarm, fault.value or None, cause.value or None, lesson.value or None
            )
            verdict = Verdict(**{**verdict.__dict__, "by": _by(principal)})
            dialog.close()
            _do(lambda: dashboard().platform.ops.label(principal.tenant, alarm.id, verdict), done)

        with ui.row():
            ui.button("Save verdict", on_click=save).classes("aiot-save-verdict")
            ui.button("Cancel", on_click=dialog.close).props("flat").classes("aiot-cancel")
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())  # gone once closed
    dialog.open()


def _controls(principal: Principal, alarm: Alarm, done: Done) -> None:
    ops, tenant = dashboard().platform.ops, principal.tenant
    with ui.row().classes("gap-2 items-end"):
        if not alarm.status.acknowledged:
            ui.button(
                "Acknowledge", on_click=lambda: _do(lambda: ops.acknowledge(tenant, alarm.id), done)
            ).classes("aiot-ack")
        if alarm.status.active:
            ui.button(
                "Clear", on_click=lambda: _do(lambda: ops.clear(tenant, alarm.id), done)
            ).props("outline").classes("aiot-clear")
        for true_alarm, text, color in (
            (True, "Real fault", "negative"),
            (False, "False alarm", "secondary"),
        ):
            ui.button(
                # a partial, not a lambda with defaults: NiceGUI passes the click to parameters
                text,
                on_click=partial(_verdict_dialog, principal, alarm, true_alarm, done),
            ).props(f"color={color}").classes("aiot-true" if true_alarm else "aiot-false")
        note = ui.input("Comment").classes("aiot-comment")

        def comment() -> None:
            _do(lambda: ops.comment(tenant, alarm.id, note.value, _by(principal)), done)

        ui.button("Add comment", on_click=comment).props("flat").classes("aiot-comment-add")


def _keys(principal: Principal, alarm: Alarm) -> list[str] | None:
    """The keys its deployment reads, with its score and threshold; None: every key."""
    if alarm.deployment is None:
        return None
    try:
        dep = dashboard().platform.ops.deployment(principal.tenant, alarm.deployment)
    except NotFound:
        return None
    return [*dep.keys, dep.score_key, f"threshold/{dep.name}"]


async def _plot(principal: Principal, alarm: Alarm, box: ui.column) -> None:
    """The alarm's data beside it: its keys from before it started to after it ended."""
    platform, end_now = dashboard().platform, now_ms()
    start = alarm.start_ms - MARGIN_MS
    end = min((alarm.end_ms or end_now) + MARGIN_MS, end_now + 1)  # no empty future
    reader, keys = platform.reader(), _keys(principal, alarm)
    args = (reader, principal.tenant, alarm.device, keys, start, end, 300)
    points = await asyncio.to_thread(envelope, *args)  # DuckDB: off the event loop
    bands = periods([alarm], [], end_now)
    box.clear()
    with box:
        for name, group in groups(points).items():
            options = chart_options(name, group, bands, start, end)
            ui.echart(options).classes("w-full h-32 aiot-alarm-chart")
        if not points:
            ui.label("No numeric data around this alarm.").classes("opacity-60")


def _card(principal: Principal, alarm: Alarm, names: dict[str, str], done: Done) -> None:
    color = "red" if alarm.status.active else "grey"
    border = "border-red-500" if alarm.status.active else "border-gray-400"
    with ui.card().classes(f"w-full border-l-4 {border} aiot-alarm"):
        with ui.row().classes("items-center gap-4"):
            ui.badge(alarm.severity.value, color=color)
            ui.label(alarm.type).classes("font-bold")
            device = names.get(alarm.device, alarm.device)
            ui.link(device, f"/devices/{alarm.device}")
            ui.label(f"{_when(alarm.start_ms)} → {_when(alarm.end_ms)}").classes("text-sm")
            ui.label(alarm.status.value).classes("text-sm aiot-status")
        if alarm.verdict is not None:
            v = alarm.verdict
            judged = "real fault" if v.true_alarm else "false alarm"
            extra = " · ".join(x for x in (v.fault_type, v.root_cause, v.lesson) if x)
            ui.label(f"verdict: {judged}" + (f" · {extra}" if extra else "")).classes(
                "text-sm aiot-verdict"
            )
        for c in alarm.comments:
            ui.label(f"💬 {c.get('text', '')} ({c.get('by') or ''})").classes("text-sm")
        box = ui.column().classes("w-full gap-0")
        with ui.row().classes("gap-2 items-end"):
            ui.button("Data", on_click=partial(_plot, principal, alarm, box)).props(
                "flat icon=show_chart"
            ).classes("aiot-plot")
            if can_write(principal):
                _controls(principal, alarm, done)


@ui.page("/alarms", title="Alarms · aiot")
def page(device: str | None = None) -> RedirectResponse | None:
    """The list, newest first, filtered by status, severity and device."""
    principal = signed_in()
    if principal is None:
        return to_sign_in()
    header(principal, "Alarms")
    platform = dashboard().platform
    names = {d.id: d.name for d in platform.catalog.devices(principal.tenant)}
    with ui.column().classes("w-full p-6 gap-4"):
        ui.label("Alarms").classes("text-2xl")
        with ui.row().classes("items-end gap-4"):
            status = ui.select(["any", *AlarmStatus], value="any", label="Status").classes("w-48")
            severity = ui.select(["any", *Severity], value="any", label="Severity").classes("w-40")
            which = ui.select({"": "any", **names}, value=device or "", label="Device")
            which.classes("w-48")

        def query() -> list[Alarm]:
            return platform.ops.alarms(
                principal.tenant,
                None if status.value == "any" else AlarmStatus(status.value),
                None if severity.value == "any" else Severity(severity.value),
                which.value or None,
                limit=200,
            )

        shown: list[list[Alarm]] = [[]]

        @ui.refreshable
        def listing() -> None:
            found = shown[0] = query()
            if not found:
                ui.label("No alarms.").classes("opacity-60 aiot-no-alarms")
            for alarm in found:
                _card(principal, alarm, names, listing.refresh)

        for control in (status, severity, which):
            control.on_value_change(listing.refresh)
        listing()

        def changed() -> None:  # a new alarm, or one worked elsewhere: show it
            if query() != shown[0]:
                listing.refresh()

        ui.timer(5.0, changed)
    return None
