"""``aiot bridges``: subscribe aiot to brokers that plants already run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiot.cli.common import (
    JsonOpt,
    client_from,
    command,
    console,
    fail,
    print_json,
    print_table,
)

__all__ = ["bridges"]

bridges = typer.Typer(help="Bridges to external MQTT brokers.", no_args_is_help=True)


@bridges.command("add")
@command
def bridges_add(
    ctx: typer.Context,
    name: str,
    url: Annotated[str, typer.Argument(help="mqtt://host[:port] or mqtts://host[:port]")],
    topic: Annotated[
        list[str], typer.Option(help="repeatable: plant/{device}/{key} or site/{device}/json")
    ],
    username: Annotated[str | None, typer.Option(help="broker user name")] = None,
    password: Annotated[str | None, typer.Option(help="broker password")] = None,
    create_devices: Annotated[
        bool, typer.Option("--create-devices", help="create unknown devices on first sight")
    ] = False,
    device_type: Annotated[str, typer.Option(help="type of created devices")] = "default",
    ca_file: Annotated[
        Path | None, typer.Option(help="CA bundle (PEM) for mqtts, read here and uploaded")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a bridge: aiot subscribes to the broker now and after every restart."""
    created = client_from(ctx).add_bridge(
        name,
        url,
        topic,
        username=username,
        password=password,
        create_devices=create_devices,
        device_type=device_type,
        ca_pem=_read_ca(ca_file),
    )
    if as_json:
        return print_json(created)
    console.print(f"bridge [bold]{created['name']}[/] added ({created['id']})")


def _read_ca(path: Path | None) -> str | None:
    """The CA bundle's text: the server never reads a path a user names."""
    if path is None:
        return None
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise fail(f"cannot read the CA bundle {path}: {err}") from err


@bridges.command("list")
@command
def bridges_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List bridges with their connection state and counters."""
    found = client_from(ctx).bridges()
    if as_json:
        return print_json(found)
    columns = ["name", "url", "topics", "state", "received", "stored points", "error"]
    rows = [
        [
            b["name"],
            b["url"],
            " ".join(b["topics"]),
            b.get("state"),
            b.get("received"),
            b.get("stored_points"),
            b.get("last_error") or None,
        ]
        for b in found
    ]
    print_table("bridges", columns, rows)


@bridges.command("remove")
@command
def bridges_remove(ctx: typer.Context, bridge: str) -> None:
    """Remove a bridge (by id or name)."""
    client_from(ctx).remove_bridge(bridge)
    console.print(f"bridge [bold]{bridge}[/] removed")
