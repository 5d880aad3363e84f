"""``aiot packages``: firmware and software updates, as ThingsBoard's OTA updates."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aiot.cli.common import JsonOpt, client_from, command, console, fail, print_json, print_table

__all__ = ["packages"]

packages = typer.Typer(help="Firmware and software packages (OTA).", no_args_is_help=True)


class Kind(StrEnum):
    """What a package updates."""

    FIRMWARE = "firmware"
    SOFTWARE = "software"


KindOpt = Annotated[Kind, typer.Option(help="firmware or software")]
DeviceOpt = Annotated[str | None, typer.Option(help="a device (id or name)")]
ProfileOpt = Annotated[str | None, typer.Option(help="a profile: every device of that type")]


@packages.command("upload")
@command
def packages_upload(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="the package's file, read here and uploaded")],
    title: Annotated[str, typer.Option(help="the package's title")],
    version: Annotated[str, typer.Option(help="its version; title and version are unique")],
    kind: KindOpt = Kind.FIRMWARE,
    algorithm: Annotated[str, typer.Option(help="MD5, SHA256, SHA384, SHA512 or CRC32")] = "SHA256",
    checksum: Annotated[str | None, typer.Option(help="verified by aiot if given")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Upload a package; assign it with ``aiot packages assign``."""
    try:
        data = file.read_bytes()
    except OSError as err:
        raise fail(f"cannot read {file}: {err}") from err
    options = {"checksum_algorithm": algorithm, "file_name": file.name}
    if checksum:
        options["checksum"] = checksum
    made = client_from(ctx).upload_package(data, kind.value, title, version, **options)
    if as_json:
        return print_json(made)
    console.print(
        f"{made['kind']} [bold]{made['title']} {made['version']}[/] uploaded: {made['id']}"
    )


@packages.command("list")
@command
def packages_list(
    ctx: typer.Context,
    kind: Annotated[Kind | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the tenant's packages."""
    found = client_from(ctx).packages(kind.value if kind else None)
    if as_json:
        return print_json(found)
    columns = ["id", "kind", "title", "version", "size", "checksum_algorithm"]
    rows = [[p[c] for c in columns] for p in found]
    print_table("packages", columns, rows)


@packages.command("remove")
@command
def packages_remove(ctx: typer.Context, package: str) -> None:
    """Delete a package no device or profile is assigned."""
    client_from(ctx).remove_package(package)
    console.print(f"package {package} removed")


def _target(device: str | None, profile: str | None) -> None:
    if (device is None) == (profile is None):
        raise typer.BadParameter("name one of --device or --profile")


@packages.command("assign")
@command
def packages_assign(
    ctx: typer.Context,
    package: str,
    kind: KindOpt = Kind.FIRMWARE,
    device: DeviceOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Assign a package to a device or a profile; the devices are told at once."""
    _target(device, profile)
    client_from(ctx).assign_package(package, kind.value, device, profile)
    console.print(f"{kind.value} {package} assigned to {device or 'profile ' + str(profile)}")


@packages.command("unassign")
@command
def packages_unassign(
    ctx: typer.Context,
    kind: KindOpt = Kind.FIRMWARE,
    device: DeviceOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Take a device's (or a profile's) package away."""
    _target(device, profile)
    client_from(ctx).assign_package(None, kind.value, device, profile)
    console.print(f"{kind.value} of {device or 'profile ' + str(profile)} unassigned")


@packages.command("status")
@command
def packages_status(
    ctx: typer.Context, device: str, kind: KindOpt = Kind.FIRMWARE, as_json: JsonOpt = False
) -> None:
    """A device's package and the progress it reported (fw_state)."""
    found = client_from(ctx).package_status(device, kind.value)
    if as_json:
        return print_json(found)
    _status_table([found])


@packages.command("rollout")
@command
def packages_rollout(ctx: typer.Context, package: str, as_json: JsonOpt = False) -> None:
    """Every device whose package this is, with its progress."""
    found = client_from(ctx).rollout(package)
    if as_json:
        return print_json(found)
    _status_table(found)


def _status_table(found: list[dict[str, object]]) -> None:
    rows = []
    for s in found:
        package = s["package"] if isinstance(s["package"], dict) else {}
        wanted = f"{package.get('title')} {package.get('version')}" if package else None
        rows.append([s["name"], wanted, s["source"], s["state"], s["current_version"], s["error"]])
    print_table("updates", ["device", "package", "from", "state", "running", "error"], rows)
