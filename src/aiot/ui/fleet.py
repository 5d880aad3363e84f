"""The fleet page: every device of the tenant with its type, status and active alarms.

Operators add devices here; the new device's token comes with snippets to paste into a shell
(curl, mosquitto_pub) or a ThingsBoard SDK program.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from aiot.domain import Device, Principal
from aiot.errors import AiotError
from aiot.ui.shell import can_write, dashboard, header, may_write, signed_in, to_sign_in

__all__ = ["page", "snippets"]

_COLUMNS = [
    {"name": "name", "label": "Device", "field": "name", "sortable": True, "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "sortable": True, "align": "left"},
    {"name": "vertical", "label": "Vertical", "field": "vertical", "sortable": True},
    {"name": "status", "label": "Status", "field": "status", "sortable": True},
    {"name": "alarms", "label": "Active alarms", "field": "alarms", "sortable": True},
    {"name": "last_seen", "label": "Last seen", "field": "last_seen", "sortable": True},
]


_PAGE = 50  # rows drawn at once: a fleet of thousands pages, search and sort run on all of it


def _rows(principal: Principal) -> list[dict[str, Any]]:
    platform = dashboard().platform
    alarms = platform.ops.alarms(principal.tenant, limit=10_000)
    active = Counter(a.device for a in alarms if a.status.active)
    return [
        {
            "id": d.id,
            "name": d.name,
            "type": d.type,
            "vertical": d.labels.get("vertical", ""),
            "status": platform.device_status(d),
            "alarms": active.get(d.id, 0),
            "last_seen": d.last_seen.strftime("%Y-%m-%d %H:%M:%S") if d.last_seen else "never",
        }
        for d in platform.catalog.devices(principal.tenant)
    ]


def snippets(device: Device, base: str, mqtt: str) -> dict[str, str]:
    """Copy-paste lines that send a first point as this device."""
    token, host, port = device.access_token, *mqtt.rsplit(":", 1)
    return {
        "curl": f"curl -X POST {base}/api/v1/{token}/telemetry "
        "-H 'Content-Type: application/json' -d '{\"temperature\": 21.5}'",
        "mosquitto_pub": f"mosquitto_pub -h {host} -p {port} -u {token} "
        "-t v1/devices/me/telemetry -m '{\"temperature\": 21.5}'",
        "ThingsBoard SDK": "from tb_device_mqtt import TBDeviceMqttClient\n"
        f"client = TBDeviceMqttClient({host!r}, port={port}, username={token!r})\n"
        "client.connect()\n"
        "client.send_telemetry({'temperature': 21.5}).get()",
    }


def _show_token(device: Device) -> None:
    settings = dashboard().platform.settings
    base = f"http://{settings.http_host}:{settings.http_port}"
    mqtt = f"{settings.mqtt.host}:{settings.mqtt.port}"
    with ui.dialog().props("full-width") as dialog, ui.card().classes("aiot-token-dialog"):
        ui.label(f"{device.name} is ready").classes("text-lg")
        ui.label("Access token (the device's credential):")
        ui.code(device.access_token).classes("w-full aiot-token")
        for name, text in snippets(device, base, mqtt).items():
            ui.label(name).classes("font-bold")
            ui.code(text, language="python" if "import" in text else "bash").classes("w-full")
        ui.button("Close", on_click=dialog.close)
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())  # gone once closed
    dialog.open()


def _add_form(principal: Principal, refresh: Any) -> None:
    with ui.row().classes("items-end gap-2 aiot-add-device"):
        name = ui.input("New device name").classes("aiot-new-name")
        kind = ui.input("Type", value="default").classes("aiot-new-type")

        def add() -> None:
            if not may_write():
                return
            try:
                made = dashboard().platform.catalog.create_device(
                    principal.tenant, name.value.strip(), kind.value.strip() or "default"
                )
            except AiotError as err:
                ui.notify(err.message, type="negative")
                return
            refresh()
            _show_token(made)

        ui.button("Add device", on_click=add).classes("aiot-add")


@ui.page("/", title="Fleet · aiot")
def page() -> RedirectResponse | None:
    """The fleet table, with search and filters."""
    principal = signed_in()
    if principal is None:
        return to_sign_in()
    header(principal, "Fleet")
    rows = _rows(principal)
    with ui.column().classes("w-full p-6 gap-4"):
        ui.label("Fleet").classes("text-2xl")
        with ui.row().classes("items-end gap-4"):
            search = ui.input("Search").props("clearable").classes("aiot-search")
            types = sorted({r["type"] for r in rows})
            kind = ui.select(["all", *types], value="all", label="Type").classes("w-40")
            status = ui.select(["all", "online", "stale", "offline"], value="all", label="Status")
            status.classes("w-40")
        table = ui.table(columns=_COLUMNS, rows=rows, row_key="id", pagination=_PAGE).classes(
            "w-full aiot-fleet"
        )
        table.add_slot(
            "body-cell-name",
            '<q-td :props="props"><a class="aiot-device-link" :href="\'/devices/\' + props.row.id">'
            "{{ props.value }}</a></q-td>",
        )
        table.add_slot(
            "body-cell-status",
            "<q-td :props=\"props\"><q-badge :color=\"{online: 'positive', stale: 'warning', "
            "offline: 'grey'}[props.value]\">{{ props.value }}</q-badge></q-td>",
        )
        search.bind_value_to(table, "filter")

        def refresh() -> None:
            fresh = _rows(principal)
            table.rows = [
                r
                for r in fresh
                if kind.value in ("all", r["type"]) and status.value in ("all", r["status"])
            ]
            table.update()

        kind.on_value_change(refresh)
        status.on_value_change(refresh)
        ui.timer(5.0, refresh)  # statuses and alarm counts change while the page is open
        if can_write(principal):
            _add_form(principal, refresh)
    return None
