"""The device page: a live chart of its keys, its attributes, its alarms, and a command form.

The chart starts from a query downsampled to the chart's width (``store.envelope``) and then
moves with the live subscription (the stream stage's :class:`~aiot.stream.live.LiveHub`): the
points arrive once durable, with their scores, without reloading the page.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from aiot.domain import Command, Device, Principal, now_ms
from aiot.errors import AiotError, NotFound
from aiot.store.envelope import envelope
from aiot.stream.live import Subscription
from aiot.ui.charts import add_points, chart_options, groups, periods
from aiot.ui.shell import can_write, dashboard, header, may_write, signed_in, to_sign_in

__all__ = ["RANGES", "page"]

RANGES = {
    "15 minutes": 15 * 60_000,
    "1 hour": 3_600_000,
    "1 day": 86_400_000,
    "7 days": 7 * 86_400_000,
    "30 days": 30 * 86_400_000,
    "1 year": 365 * 86_400_000,
}
WIDTH = 800  # buckets a chart gets: min and max of each, two points a pixel of a wide chart


class _Charts:
    """The device's charts, one per key (a model's score and threshold share one)."""

    def __init__(self, principal: Principal, device: Device, span: int) -> None:
        self.principal, self.device, self.span = principal, device, span
        self.box = ui.column().classes("w-full gap-0")
        self.charts: dict[str, ui.echart] = {}
        self.bands: list[Any] = []
        self.drawing = False

    def _query(self, start: int, end: int) -> tuple[dict[str, list[list[Any]]], list[Any]]:
        platform, tenant, device = dashboard().platform, self.principal.tenant, self.device.id
        points = envelope(platform.reader(), tenant, device, None, start, end, WIDTH)
        alarms = platform.ops.alarms(tenant, device=device, limit=1000)
        faults = platform.ops.simulated_faults(tenant, platform.simulated)
        return points, periods(alarms, [f for f in faults if f["device"] == device], end)

    async def draw(self) -> None:
        """Query the range again (downsampled, off the event loop) and draw every chart anew."""
        self.drawing = True
        try:
            end = now_ms() + 1
            points, self.bands = await asyncio.to_thread(self._query, end - self.span, end)
            self.box.clear()
            self.charts.clear()
            for name, group in groups(points).items():
                self._add(name, group, end - self.span, end)
            if not self.charts:
                with self.box:
                    ui.label("No numeric telemetry in this range.").classes("opacity-60")
        finally:
            self.drawing = False

    def _add(self, name: str, points: dict[str, list[list[Any]]], start: int, end: int) -> None:
        with self.box:
            options = chart_options(name, points, self.bands, start, end)
            self.charts[name] = ui.echart(options).classes("w-full h-44 aiot-chart")

    def add(self, fresh: dict[str, list[list[Any]]]) -> int:
        """Append live points to their charts (a new key gets a chart); how many were added."""
        end = now_ms() + 1
        start, added = end - self.span, 0
        for name, group in groups(fresh).items():
            chart = self.charts.get(name)
            if chart is None:
                self._add(name, {}, start, end)
                chart = self.charts[name]
            count = add_points(chart.options, group, start, end)
            if count:
                added += count
                chart.update()
        return added


async def _live(principal: Principal, device: Device, shown: str) -> None:
    shown = shown if shown in RANGES else "1 hour"
    span = ui.select(list(RANGES), value=shown, label="Range").classes("w-40 aiot-range")
    counter = ui.label("").classes("text-xs opacity-60 aiot-live")
    charts = _Charts(principal, device, RANGES[shown])
    # Subscribed before the first query: a point in both is drawn once (add_points keeps
    # only points newer than a line's last), and none falls between the two.
    live = Subscription(principal.tenant, device.id, frozenset(), True, asyncio.get_running_loop())
    hub = dashboard().platform.live
    hub.subscribe(live)
    ui.context.client.on_delete(lambda: hub.unsubscribe(live))
    await charts.draw()
    received = [0]

    async def reload() -> None:
        charts.span = RANGES[span.value]
        await charts.draw()

    async def drain() -> None:
        if charts.drawing:
            return  # the queue keeps what arrives meanwhile
        fresh: dict[str, list[list[Any]]] = {}
        alarmed = False
        while not live.queue.empty():
            message = live.queue.get_nowait()
            alarmed = alarmed or message["type"] == "alarm"
            for key, data in message.get("data", {}).items():
                fresh.setdefault(key, []).extend(data)
        if alarmed:  # a band to add or close: draw again
            return await charts.draw()
        received[0] += charts.add(fresh)
        if received[0]:
            counter.text = f"live: {received[0]} points received"

    span.on_value_change(reload)
    ui.timer(1.0, drain)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _attributes(principal: Principal, device: Device) -> None:
    platform = dashboard().platform

    @ui.refreshable
    def scopes() -> None:
        found = platform.catalog.attributes(principal.tenant, device.id)
        with ui.row().classes("w-full gap-4 aiot-attributes"):
            for scope in ("client", "shared", "server"):
                with ui.card().classes("min-w-64"):
                    ui.label(f"{scope} attributes").classes("font-bold")
                    for key, value in found.get(scope, {}).items():
                        ui.label(f"{key} = {json.dumps(value)}").classes("font-mono text-sm")

    scopes()
    if not can_write(principal):
        return
    with ui.row().classes("items-end gap-2 aiot-shared-form"):
        key = ui.input("Shared attribute").classes("aiot-attr-key")
        value = ui.input("Value (JSON or text)").classes("aiot-attr-value")

        def save() -> None:
            if not may_write():
                return
            try:
                platform.set_attributes(
                    principal.tenant, device.id, "shared", {key.value: _value(value.value)}
                )
            except AiotError as err:
                ui.notify(err.message, type="negative")
                return
            scopes.refresh()

        ui.button("Set", on_click=save).classes("aiot-attr-set")


def _command_form(principal: Principal, device: Device) -> None:
    with ui.row().classes("items-end gap-2 aiot-command"):
        method = ui.input("Command (method)").classes("aiot-method")
        params = ui.input("Params (JSON)", value="{}").classes("w-64")
        oneway = ui.checkbox("one-way")

        async def send() -> None:
            if not may_write():
                return
            command = Command(method.value, _value(params.value), bool(oneway.value))
            try:
                got = await dashboard().platform.command(principal.tenant, device.id, command)
            except AiotError as err:
                answer.text = f"{err.code}: {err.message}"
                return
            answer.text = "sent" if command.oneway else f"answer: {json.dumps(got)}"

        ui.button("Send", on_click=send).classes("aiot-send")
    answer = ui.label("").classes("font-mono text-sm aiot-answer")


def _alarms(principal: Principal, device: Device) -> None:
    found = dashboard().platform.ops.alarms(principal.tenant, device=device.id, limit=20)
    ui.label("Alarms").classes("text-lg")
    if not found:
        ui.label("none").classes("opacity-60")
    for alarm in found:
        state = "active" if alarm.status.active else "cleared"
        ui.link(
            f"{alarm.severity.value} {alarm.type} · {state} · {alarm.status.value}",
            f"/alarms?device={device.id}",
        )


@ui.page("/devices/{device_id}", title="Device · aiot")
async def page(device_id: str, range: str = "1 hour") -> RedirectResponse | None:
    """One device of the tenant; any other tenant's shows as missing, and nothing of it."""
    principal = signed_in()
    if principal is None:
        return to_sign_in()
    header(principal, "Device")
    platform = dashboard().platform
    with ui.column().classes("w-full p-6 gap-4"):
        try:
            device = platform.catalog.device(principal.tenant, device_id)
        except NotFound:
            ui.label("No such device.").classes("text-2xl aiot-missing")
            return None
        status = platform.device_status(device)
        ui.label(f"{device.name}").classes("text-2xl aiot-device-name")
        ui.label(f"type {device.type} · {status}").classes("opacity-70")
        await _live(principal, device, range)
        _alarms(principal, device)
        ui.label("Attributes").classes("text-lg")
        _attributes(principal, device)
        if can_write(principal):
            ui.label("Send a command").classes("text-lg")
            _command_form(principal, device)
    return None
