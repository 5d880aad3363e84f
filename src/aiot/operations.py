"""Deployments and alarms, as the API, the CLI and the dashboard reach them (one path for all).

:class:`Operations` validates what a person asks for (a detector that exists, parameters it
takes, a policy that parses, a selector that names something) before the catalog stores it,
and tells the stream stage when deployments change.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiot.domain import Alarm, AlarmStatus, Deployment, Selector, Severity, Verdict, now_ms
from aiot.errors import InvalidInput, NotFound
from aiot.models import registry
from aiot.models.base import BaseDetector
from aiot.rules import AlarmPolicy
from aiot.sim.fleet import Fleet
from aiot.store.base import TelemetryStore
from aiot.store.catalog import Catalog
from aiot.stream import StreamRunner

__all__ = ["DeploymentSpec", "Operations"]

log = logging.getLogger("aiot")

_GRACE_MS = 10 * 60_000  # an alarm that starts this soon after a fault ended still matches it
_BEFORE_MS, _AFTER_MS = 15 * 60_000, 5 * 60_000  # the window of data kept with a verdict
_WINDOW_POINTS = 5_000  # per key at most


@dataclass(frozen=True)
class DeploymentSpec:
    """What a person asks to deploy."""

    name: str
    detector: str
    keys: tuple[str, ...]
    selector: Selector
    params: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    multivariate: bool = False
    backfill_from_ms: int | None = None  # first score the stored history since then


class Operations:
    """Deployments and alarms of a tenant, through the catalog and the stream stage."""

    def __init__(
        self,
        catalog: Catalog,
        stream: StreamRunner,
        reader: Callable[[], TelemetryStore],
        trained: Callable[[str, str, str], BaseDetector] | None = None,
    ) -> None:
        self.catalog, self.stream, self.reader, self.trained = catalog, stream, reader, trained

    # deployments

    def deploy(self, tenant: str, spec: DeploymentSpec) -> Deployment:
        """Validate and store a deployment; it scores from the next acknowledged points.

        ``detector`` is a registered detector (learning online from its ``params``), or a
        trained model of the tenant's hub as ``name@version`` (starting from what it learnt).
        """
        if "@" in spec.detector:
            self._check_trained(tenant, spec)
        else:
            _check_model(spec)
        AlarmPolicy.parse(spec.policy)
        if not spec.keys or any(not k for k in spec.keys):
            raise InvalidInput("a deployment reads at least one key")
        if spec.selector == Selector():
            raise InvalidInput("a selector names a device, a device type or labels")
        if spec.selector.device is not None:
            self.catalog.device(tenant, spec.selector.device)  # NotFound when it is not there
        deployment = self.catalog.create_deployment(
            tenant,
            spec.name,
            spec.detector,
            spec.params,
            spec.keys,
            spec.selector,
            spec.policy,
            spec.multivariate,
        )
        if spec.backfill_from_ms is None:
            self.stream.reload()
        else:  # loads the deployment and scores history before any live point
            self.stream.backfill(deployment.id, spec.backfill_from_ms, now_ms())
        log.info(
            "deployment %s of %s started: %s on %s of %s",
            deployment.name, tenant, deployment.detector, ",".join(deployment.keys),
            _selected(spec.selector),
        )  # fmt: skip
        return deployment

    def _check_trained(self, tenant: str, spec: DeploymentSpec) -> None:
        name, _, version = spec.detector.partition("@")
        if self.trained is None:
            raise InvalidInput("this installation keeps no trained models")
        model = self.trained(tenant, name, version)  # NotFound when there is no such version
        if type(model).multivariate != spec.multivariate and spec.multivariate:
            raise InvalidInput(f"{name} reads one key at a time: deploy it univariate")

    def deployments(self, tenant: str) -> list[Deployment]:
        """The tenant's deployments."""
        return self.catalog.deployments(tenant)

    def deployment(self, tenant: str, ref: str) -> Deployment:
        """One deployment, by id or name."""
        return self.catalog.deployment(tenant, ref)

    def update_deployment(
        self,
        tenant: str,
        ref: str,
        paused: bool | None = None,
        policy: dict[str, Any] | None = None,
    ) -> Deployment:
        """Pause, resume, or change the alarm policy."""
        if policy is not None:
            AlarmPolicy.parse(policy)
        deployment = self.catalog.update_deployment(tenant, ref, paused=paused, policy=policy)
        self.stream.reload()
        return deployment

    def remove_deployment(self, tenant: str, ref: str) -> Deployment:
        """Stop and delete a deployment (its alarms and scores stay)."""
        deployment = self.catalog.delete_deployment(tenant, ref)
        self.stream.reload()
        return deployment

    def deployment_stats(self, tenant: str, ref: str) -> dict[str, Any]:
        """Series, points scored and late points since the server started."""
        deployment = self.catalog.deployment(tenant, ref)
        idle = {"series": 0, "scored": 0, "late": 0, "backfill": None}
        return self.stream.stats().get(deployment.id, idle)

    # alarms

    def alarms(
        self,
        tenant: str,
        status: AlarmStatus | None = None,
        severity: Severity | None = None,
        device: str | None = None,
        type: str | None = None,
        deployment: str | None = None,
        limit: int = 100,
    ) -> list[Alarm]:
        """The tenant's alarms, newest first, filtered."""
        device_id = self.catalog.device(tenant, device).id if device else None
        dep_id = self.catalog.deployment(tenant, deployment).id if deployment else None
        return self.catalog.alarms(
            tenant,
            status=status,
            severity=severity,
            device=device_id,
            type=type,
            deployment=dep_id,
            limit=limit,
        )

    def alarm(self, tenant: str, alarm_id: str) -> Alarm:
        """One alarm."""
        return self.catalog.alarm(tenant, alarm_id)

    def acknowledge(self, tenant: str, alarm_id: str) -> Alarm:
        """An operator has seen it."""
        return self.catalog.ack_alarm(tenant, alarm_id)

    def clear(self, tenant: str, alarm_id: str) -> Alarm:
        """End it by hand."""
        return self.catalog.clear_alarm(tenant, alarm_id, now_ms())

    def comment(self, tenant: str, alarm_id: str, text: str, by: str | None) -> Alarm:
        """Add a comment."""
        return self.catalog.comment_alarm(tenant, alarm_id, text, by=by, at_ms=now_ms())

    def assign(self, tenant: str, alarm_id: str, assignee: str | None) -> Alarm:
        """Who works the alarm (None: nobody)."""
        return self.catalog.assign_alarm(tenant, alarm_id, assignee)

    def label(self, tenant: str, alarm_id: str, verdict: Verdict) -> Alarm:
        """The operator's verdict, kept with the alarm's window of data, ready for learning."""
        alarm = self.catalog.alarm(tenant, alarm_id)
        return self.catalog.label_alarm(tenant, alarm_id, verdict, self._window(alarm))

    def _window(self, alarm: Alarm) -> dict[str, Any]:
        """The device's numeric points from before the alarm started to after it ended."""
        keys = None
        if alarm.deployment is not None:
            with contextlib.suppress(NotFound):  # a deleted deployment: every key of the device
                keys = list(self.catalog.deployment(alarm.tenant, alarm.deployment).keys)
        start = alarm.start_ms - _BEFORE_MS
        end = (alarm.end_ms if alarm.end_ms is not None else now_ms()) + _AFTER_MS
        table = self.reader().query(alarm.tenant, alarm.device, keys, start, end, _WINDOW_POINTS)
        points: dict[str, dict[str, list[Any]]] = {}
        for key, ts, value in zip(
            table["key"].to_pylist(),
            table["ts"].to_pylist(),
            table["value"].to_pylist(),
            strict=True,
        ):
            if value is not None and not key.startswith("score/"):
                series = points.setdefault(key, {"ts": [], "value": []})
                series["ts"].append(ts)
                series["value"].append(value)
        return {"start_ms": start, "end_ms": end, "points": points}

    def alarm_stats(self, tenant: str) -> list[dict[str, Any]]:
        """Per deployment: raised, confirmed, rejected and precision."""
        return self.catalog.alarm_stats(tenant)

    def simulated_faults(self, tenant: str, fleet: Fleet | None) -> list[dict[str, Any]]:
        """The faults a simulated fleet injected so far, each with the alarms that overlap it."""
        if fleet is None:
            return []
        ids = {d.name: d.id for d in self.catalog.devices(tenant)}
        alarms = self.catalog.alarms(tenant, limit=10_000)
        found = []
        for fault in fleet.labels:
            device = ids.get(fault.device)
            if device is None:
                continue
            matched = [
                a.id
                for a in alarms
                if a.device == device
                and a.start_ms < fault.end_ms + _GRACE_MS
                and (a.end_ms is None or a.end_ms >= fault.start_ms)
            ]
            found.append(
                {
                    "device": device,
                    "device_name": fault.device,
                    "fault": fault.fault,
                    "detail": fault.detail,
                    "start_ms": fault.start_ms,
                    "end_ms": fault.end_ms,
                    "alarms": matched,
                }
            )
        return found


def _selected(selector: Selector) -> str:
    """The devices a selector names, for the log."""
    if selector.device is not None:
        return f"device {selector.device}"
    parts = [f"type {selector.type}"] if selector.type else []
    parts += [f"{k}={v}" for k, v in selector.labels.items()]
    return "devices of " + " ".join(parts)


def _check_model(spec: DeploymentSpec) -> None:
    if spec.detector not in registry.names():
        raise NotFound(f"no detector {spec.detector!r}", detail={"known": registry.names()})
    try:
        model = registry.create(spec.detector, **spec.params)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"bad parameters for {spec.detector}: {err}") from err
    if type(model).multivariate != spec.multivariate and spec.multivariate:
        raise InvalidInput(f"{spec.detector} reads one key at a time: deploy it univariate")
    if spec.multivariate and len(spec.keys) < 2:
        raise InvalidInput("a multivariate deployment reads two keys or more")
