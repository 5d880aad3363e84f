"""Commands over a running aiot: tenants, devices, telemetry."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from aiot.cli.common import (
    JsonOpt,
    client_from,
    command,
    console,
    fail,
    note,
    print_json,
    print_table,
)
from aiot.client import Telemetry

__all__ = ["devices", "telemetry", "tenants"]

tenants = typer.Typer(help="Tenants and their API keys (admin key).", no_args_is_help=True)
devices = typer.Typer(help="Devices of the tenant.", no_args_is_help=True)
telemetry = typer.Typer(help="Read stored telemetry.", no_args_is_help=True)

KeysOpt = Annotated[str | None, typer.Option(help="comma-separated keys; all if absent")]


class Order(StrEnum):
    """Points of each key oldest first, or newest first."""

    ASC = "asc"
    DESC = "desc"


@tenants.command("list")
@command
def tenants_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List tenants."""
    found = client_from(ctx).tenants()
    if as_json:
        return print_json(found)
    print_table(
        "tenants", ["id", "name", "created"], [[t["id"], t["name"], t["created_at"]] for t in found]
    )


@tenants.command("add")
@command
def tenants_add(ctx: typer.Context, tenant_id: str, name: str | None = None) -> None:
    """Create a tenant."""
    created = client_from(ctx).create_tenant(tenant_id, name)
    console.print(f"tenant [bold]{created['id']}[/] created")


@tenants.command("remove")
@command
def tenants_remove(
    ctx: typer.Context,
    tenant_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="confirm: every record of it goes")] = False,
) -> None:
    """Delete a tenant with its devices, telemetry, keys, bridges, deployments and alarms."""
    if not yes:
        raise typer.BadParameter("deleting a tenant deletes all its data: add --yes to confirm")
    client_from(ctx).delete_tenant(tenant_id)
    console.print(f"tenant {tenant_id} removed")


@tenants.command("key")
@command
def tenants_key(
    ctx: typer.Context,
    tenant_id: str,
    name: Annotated[str, typer.Option(help="what the key is for")] = "cli",
    role: Annotated[str, typer.Option(help="admin, operator or viewer")] = "operator",
) -> None:
    """Create an API key for a tenant; the secret is printed once."""
    key = client_from(ctx).create_key(tenant_id, name, role)
    console.print(f"{key['role']} key for tenant {key['tenant']} (shown once):")
    typer.echo(key["key"])


@devices.command("add")
@command
def devices_add(
    ctx: typer.Context,
    name: str,
    type: Annotated[str, typer.Option(help="device type, e.g. pump")] = "default",
    label: Annotated[list[str] | None, typer.Option(help="k=v, repeatable")] = None,
    gateway: Annotated[
        bool, typer.Option("--gateway", help="it publishes for other devices (v1/gateway/...)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a device and print its id and access token."""
    labels = dict(_pair(text) for text in label or [])
    created = client_from(ctx).create_device(name, type, labels, gateway)
    if as_json:
        return print_json(created)
    console.print(f"device [bold]{created['name']}[/] created")
    console.print(f"  id            {created['id']}")
    console.print(f"  access token  {created['access_token']}")
    if created.get("gateway"):
        console.print("  gateway       publishes for other devices on v1/gateway/...")


def _pair(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise fail(f"a label is key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key, value


@devices.command("list")
@command
def devices_list(
    ctx: typer.Context,
    type: Annotated[str | None, typer.Option(help="only this type")] = None,
    gateway: Annotated[str | None, typer.Option(help="only those behind this gateway")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List devices."""
    found = client_from(ctx).devices(type, gateway)
    if as_json:
        return print_json(found)
    rows = [[d["name"], d["type"], d["access_token"], _seen(d["last_seen"])] for d in found]
    columns = ["name", "type", "access token", "last seen (UTC)"]
    print_table("devices (ids: --json)", columns, rows, whole=("access token",))


def _seen(iso: str | None) -> str | None:
    """An ISO time to the second, as a person reads it."""
    return None if iso is None else iso[:19].replace("T", " ")


@devices.command("remove")
@command
def devices_remove(ctx: typer.Context, device: str) -> None:
    """Delete a device (by id or name) and its telemetry."""
    client_from(ctx).delete_device(device)
    console.print(f"device {device} removed")


@devices.command("token")
@command
def devices_token(ctx: typer.Context, device: str) -> None:
    """Give a device a fresh access token; its sessions with the old one end at once."""
    found = client_from(ctx).new_token(device)
    console.print(f"device {found['name']}: new access token {found['access_token']}")


@telemetry.command("query")
@command
def telemetry_query(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="device id or name")],
    keys: KeysOpt = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601 or epoch ms; default end-1d")] = None,
    end: Annotated[str | None, typer.Option(help="ISO-8601 or epoch ms; default now")] = None,
    interval: Annotated[str | None, typer.Option(help="bucket, e.g. 15m, 1h")] = None,
    agg: Annotated[str, typer.Option(help="avg, min, max, sum, count, last")] = "avg",
    limit: Annotated[int, typer.Option(help="raw points per key at most")] = 10_000,
    order: Annotated[Order, typer.Option(help="by time", case_sensitive=False)] = Order.ASC,
    as_json: JsonOpt = False,
) -> None:
    """Print a device's telemetry: raw points, or aggregates with --interval."""
    found = client_from(ctx).telemetry(
        device, _keys(keys), start, end, interval, agg, limit, order.value
    )
    if found.truncated:
        note(_cut_message(found, limit, order))
    if as_json:
        return print_json(found)
    rows = [[key, _when(p["ts"]), p["value"]] for key, points in found.items() for p in points]
    print_table(f"{device} {agg if interval else 'raw'}", ["key", "time (UTC)", "value"], rows)


def _cut_message(found: Telemetry, limit: int, order: Order) -> str:
    """Which keys were cut, at what limit, and the options that show the rest."""
    cut = ",".join(found.truncated)
    edge, more = ("newest", "older") if order is Order.DESC else ("oldest", "later")
    message = f"only the {edge} {limit} points of {cut} are shown; see {more} ones with a higher "
    following = found.next_params or {}
    if "start" in following and "end" in following:
        resume = f"--keys {cut} --start {following['start']} --end {following['end']}"
        return f"{message}--limit, or with {resume}" + (" --order desc" if edge == "newest" else "")
    return message + "--limit"


@telemetry.command("latest")
@command
def telemetry_latest(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="device id or name")],
    keys: KeysOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the newest value of each key of a device."""
    found = client_from(ctx).latest(device, _keys(keys))
    if as_json:
        return print_json(found)
    rows = [[key, _when(p["ts"]), p["value"]] for key, p in found.items()]
    print_table(f"{device} latest", ["key", "time (UTC)", "value"], rows)


@telemetry.command("tail")
@command
def telemetry_tail(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="device id or name")],
    keys: KeysOpt = None,
    interval: Annotated[float, typer.Option(help="seconds between polls", min=0)] = 1.0,
    count: Annotated[int | None, typer.Option(hidden=True, min=1)] = None,
) -> None:
    """Print the points a device sends from now on, one a line, until Ctrl+C."""
    arriving = client_from(ctx).tail(device, _keys(keys), interval)
    try:
        for key, point in itertools.islice(arriving, count):  # count: stop after N (tests)
            typer.echo(f"{_when(point['ts'])}  {key}  {point['value']}")
    except KeyboardInterrupt:
        pass  # Ctrl+C is how a tail ends


def _keys(text: str | None) -> list[str] | None:
    return [k.strip() for k in text.split(",") if k.strip()] if text else None


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
