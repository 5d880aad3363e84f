"""``aiot alarms``: list alarms, acknowledge, clear, comment, judge, and count them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from aiot.cli.common import JsonOpt, client_from, command, fail, print_json, print_table
from aiot.client import Client
from aiot.domain import AlarmStatus, Severity

__all__ = ["alarms"]

alarms = typer.Typer(help="Alarms raised by deployments.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="alarm id")]


@alarms.command("list")
@command
def alarms_list(
    ctx: typer.Context,
    status: Annotated[AlarmStatus | None, typer.Option(case_sensitive=False)] = None,
    severity: Annotated[Severity | None, typer.Option(case_sensitive=False)] = None,
    device: Annotated[str | None, typer.Option(help="device id or name")] = None,
    type: Annotated[str | None, typer.Option(help="alarm type, e.g. anomaly")] = None,
    deployment: Annotated[str | None, typer.Option(help="deployment id or name")] = None,
    limit: Annotated[int, typer.Option(help="newest alarms at most", min=1, max=10_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List alarms, newest first."""
    client = client_from(ctx)
    found = client.alarms(
        status=status.value if status else None,
        severity=severity.value if severity else None,
        device=device,
        type=type,
        deployment=deployment,
        limit=limit,
    )
    if as_json:
        return print_json(found)
    devices, deployments = _names(client, found)
    rows = [
        [
            a["id"],
            _when(a["start_ms"]),
            a["severity"],
            a["status"],
            a["type"],
            devices.get(a["device"], a["device"]),
            deployments.get(a["deployment"], a["deployment"]),
            _verdict(a["verdict"]),
        ]
        for a in found
    ]
    columns = ["id", "start (UTC)", "severity", "status", "type", "device", "deployment"]
    print_table("alarms", [*columns, "verdict"], rows)


def _names(client: Client, found: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """Device and deployment names by id, to show names rather than ids in the table."""
    if not found:
        return {}, {}
    devices = {d["id"]: d["name"] for d in client.devices()}
    return devices, {d["id"]: d["name"] for d in client.deployments()}


def _verdict(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return ""
    return "true" if verdict["true_alarm"] else "false"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


@alarms.command("show")
@command
def alarms_show(ctx: typer.Context, alarm_id: IdArg) -> None:
    """Print an alarm with its details, comments and verdict as JSON."""
    print_json(client_from(ctx).alarm(alarm_id))


@alarms.command("ack")
@command
def alarms_ack(ctx: typer.Context, alarm_id: IdArg) -> None:
    """Acknowledge an alarm."""
    _done(client_from(ctx).ack_alarm(alarm_id), "acknowledged")


@alarms.command("clear")
@command
def alarms_clear(ctx: typer.Context, alarm_id: IdArg) -> None:
    """Clear an open alarm by hand."""
    _done(client_from(ctx).clear_alarm(alarm_id), "cleared")


@alarms.command("assign")
@command
def alarms_assign(
    ctx: typer.Context,
    alarm_id: IdArg,
    who: Annotated[str | None, typer.Argument(help="who works it; leave out: nobody")] = None,
) -> None:
    """Assign an alarm to someone, or to nobody."""
    _done(client_from(ctx).assign_alarm(alarm_id, who), f"assigned to {who or 'nobody'}")


@alarms.command("comment")
@command
def alarms_comment(
    ctx: typer.Context, alarm_id: IdArg, text: Annotated[str, typer.Argument(help="the comment")]
) -> None:
    """Add a comment to an alarm."""
    _done(client_from(ctx).comment_alarm(alarm_id, text), "commented")


@alarms.command("verdict")
@command
def alarms_verdict(
    ctx: typer.Context,
    alarm_id: IdArg,
    true_alarm: Annotated[
        bool | None, typer.Option("--true/--false", help="a real fault, or a false alarm")
    ] = None,
    fault_type: Annotated[str | None, typer.Option(help="e.g. bearing-wear")] = None,
    root_cause: Annotated[str | None, typer.Option(help="what caused it")] = None,
    lesson: Annotated[str | None, typer.Option(help="what to do next time")] = None,
) -> None:
    """Judge an alarm: --true (a real fault) or --false (a false alarm)."""
    if true_alarm is None:
        raise fail("say --true (a real fault) or --false (a false alarm)")
    judged = client_from(ctx).label_alarm(alarm_id, true_alarm, fault_type, root_cause, lesson)
    _done(judged, "judged a real fault" if true_alarm else "judged a false alarm")


def _done(alarm: dict[str, Any], what: str) -> None:
    typer.echo(f"alarm {alarm['id']} {what} ({alarm['status']})")


@alarms.command("stats")
@command
def alarms_stats(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Per deployment: alarms raised, active, judged true or false, and precision."""
    found = client_from(ctx).alarm_stats()
    if as_json:
        return print_json(found)
    rows = [
        [
            s["name"] or s["deployment"] or "(none)",
            s["raised"],
            s["active"],
            s["confirmed"],
            s["rejected"],
            "" if s["precision"] is None else f"{s['precision']:.2f}",
        ]
        for s in found
    ]
    columns = ["deployment", "raised", "active", "true", "false", "precision"]
    print_table("alarms by deployment", columns, rows)
