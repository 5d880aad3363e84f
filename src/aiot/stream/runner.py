"""The deployments' consumer of the ingest log, in a thread of its own.

It waits for records past its position, hands them to every running deployment of their
tenant, writes the scores of the whole read to the store in one write, raises and clears
alarms through the catalog (queueing the policy's notifications on the notifier, which
delivers them in threads of its own), and checkpoints every ``checkpoint_every`` seconds
before it releases its position to the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from aiot.domain import BATCH_SCHEMA, Alarm, Batch, Severity
from aiot.rules import AlarmPolicy, Transition
from aiot.rules.notify import Notifier
from aiot.rules.policy import Event
from aiot.store.base import TelemetryStore
from aiot.store.catalog import Catalog
from aiot.store.wal import IngestLog
from aiot.stream import checkpoint
from aiot.stream.live import LiveHub
from aiot.stream.state import Running, Scored, Trained, selects

__all__ = ["StreamRunner"]

CONSUMER = "stream"
_DAY_MS = 86_400_000
log = logging.getLogger("aiot.stream")


class StreamRunner:
    """Runs every deployment on the acknowledged telemetry, from its checkpointed position."""

    def __init__(
        self,
        wal: IngestLog,
        store: TelemetryStore,
        catalog: Catalog,
        folder: Path | None,
        checkpoint_every: float = 5.0,
        max_points: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
        notifier: Notifier | None = None,
        live: LiveHub | None = None,
        trained: Trained | None = None,
    ) -> None:
        self.wal, self.store, self.catalog = wal, store, catalog
        self.notifier, self.live, self.trained = notifier, live, trained
        self.path = folder / "checkpoint.npz" if folder is not None else None
        self.checkpoint_every, self.max_points = checkpoint_every, max_points
        self._clock = clock
        self._running: dict[str, Running] = {}
        self._cond = threading.Condition()
        self._reload = True
        self._stopping = False
        self._rounds = [0, 0]  # rounds of the thread begun, ended: for reload(wait=...)
        self._thread: threading.Thread | None = None
        self._saved_at = clock()
        self._devices_at = 0.0
        self._backfills: list[tuple[str, int, int]] = []  # (deployment id, start, end) asked for
        self.progress: dict[str, dict[str, Any]] = {}  # deployment id → backfill progress
        self.failures = 0
        saved = checkpoint.read(self.path) if self.path is not None else None
        self._saved = saved
        self.position = wal.register(CONSUMER, saved.position if saved else wal.end)

    # control

    def start(self) -> None:
        """Start scoring in the background."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="aiot-stream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Score what is in the log, checkpoint, and stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self._sync()
            while self._step():
                pass
            self._save()
        except Exception as err:  # the log keeps the records: the next start scores them
            log.error("the stream stage did not checkpoint before stopping: %r", err)

    def appended(self, end: int) -> None:
        """The log grew: wake the thread."""
        with self._cond:
            self._cond.notify_all()

    def reload(self, wait: float = 0.0) -> None:
        """Deployments changed in the catalog: pick them up before the next records.

        With ``wait``, return once the thread has finished a round begun after this call (up to
        ``wait`` seconds), so that nothing of a removed deployment is scored afterwards.
        """
        with self._cond:
            self._reload = True
            self._cond.notify_all()
            after = self._rounds[0] + 1
            if wait and self._thread is not None:
                self._cond.wait_for(lambda: self._rounds[1] >= after, wait)

    def backfill(self, deployment_id: str, start_ms: int, end_ms: int) -> None:
        """Score the stored history ``[start, end)`` before live points (in the stream thread)."""
        with self._cond:
            self._backfills.append((deployment_id, start_ms, end_ms))
            self.progress[deployment_id] = {"state": "waiting", "done": 0, "total": 0}
            self._reload = True
            self._cond.notify_all()

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per deployment id: series, points scored and late points since start."""
        with self._cond:
            running = list(self._running.values())
        return {
            r.deployment.id: {
                "series": len(r.series),
                "scored": r.scored,
                "late": r.late,
                "backfill": self.progress.get(r.deployment.id),
            }
            for r in running
        }

    # the thread

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._stopping or self._reload or self.wal.end > self.position, 1.0
                )
                if self._stopping:
                    return
                self._rounds[0] += 1
            try:
                self._sync()
                self._history()
                self._step()
                self._silence(time.time())
                if self._clock() - self._saved_at >= self.checkpoint_every:
                    self._save()
            except Exception as err:  # a bug or a store failure must not stop scoring for good
                self.failures += 1
                log.error("the stream stage failed on a batch: %r", err)
                time.sleep(1.0)
            with self._cond:
                self._rounds[1] += 1
                self._cond.notify_all()

    def _sync(self) -> None:
        """Bring the running deployments in line with the catalog (new, changed, removed)."""
        with self._cond:
            if not self._reload:
                return
            self._reload = False
        current = {d.id: d for d in self.catalog.all_deployments()}
        for gone in set(self._running) - set(current):
            del self._running[gone]
        for dep_id, deployment in current.items():
            running = self._running.get(dep_id)
            if running is None:
                running = self._running[dep_id] = Running(deployment, self.trained)
                self._restore(running)
            elif running.deployment != deployment:
                running.update(deployment)
        self._devices()

    def _restore(self, running: Running) -> None:
        saved = self._saved
        names = saved.series.get(running.deployment.id, []) if saved else []
        for index, name in enumerate(names):
            state = running.fresh()
            state.load(saved.arrays if saved else {}, f"{running.deployment.id}|{index}|")
            running.series[name] = state

    def _devices(self) -> None:
        """Resolve every selector against the catalog's devices (new devices join here)."""
        by_tenant: dict[str, list[Running]] = {}
        for running in self._running.values():
            by_tenant.setdefault(running.deployment.tenant, []).append(running)
        for tenant, runs in by_tenant.items():
            devices = self.catalog.devices(tenant)
            for running in runs:
                running.devices = {d.id for d in devices if selects(running.deployment, d)}
        self._devices_at = self._clock()

    def _step(self) -> bool:
        records = self.wal.read(self.position, self.max_points)
        if not records:
            return False
        if self._clock() - self._devices_at >= 2.0:
            self._devices()  # a new pump matching a selector joins within seconds
        outs: dict[str, Scored] = {}
        for record in records:
            tenant = record.batch.tenant
            if self.live is not None and self.live.listening(tenant):
                self.live.publish_points(tenant, record.batch.table)
            for running in self._running.values():
                if running.deployment.tenant == tenant:
                    running.consume(record.batch.table, outs.setdefault(tenant, Scored()))
        for tenant, out in outs.items():
            self._deliver(tenant, out)
        with self._cond:
            self.position = records[-1].end
        return True

    def _apply(
        self,
        tenant: str,
        running: Running,
        device: str,
        series: str,
        change: Transition,
        values: dict[str, Any],
    ) -> None:
        dep, policy = running.deployment, running.policy
        if change.kind == "raise":
            running.mark(device, series, True)
            key = None if dep.multivariate else series.split("/", 1)[1]
            details = {
                "score": change.score,
                "threshold": change.threshold,
                "values": values,
                "score_key": running.score_key(key),
            }
            shares = running.contributions(series, values)
            if shares is not None:  # which keys moved most, as process engineers read PCA
                details["contributions"] = shares
            if not self._raised_before(tenant, dep.id, device, change.ts):
                severity = Severity(policy.severity)
                raised, _ = self.catalog.raise_alarm(
                    tenant, policy.type, device, severity, change.ts, dep.id, details
                )
                self._notify(tenant, "raise", raised, policy)
        elif not running.mark(device, series, False):  # no series of the device still above
            alarm = self.catalog.active_alarm(tenant, policy.type, device)
            if alarm is not None and alarm.deployment == dep.id:
                cleared = self.catalog.clear_alarm(tenant, alarm.id, change.ts)
                self._notify(tenant, "clear", cleared, policy)

    def _notify(self, tenant: str, event: Event, alarm: Alarm, policy: AlarmPolicy) -> None:
        """Queue the policy's notifications of this event; delivery never holds up scoring."""
        log.info(
            "alarm %s: %s on device %s of %s (%s, id %s)",
            "raised" if event == "raise" else event,
            alarm.type, alarm.device, tenant, alarm.severity.value, alarm.id,
        )  # fmt: skip
        if self.live is not None:
            self.live.publish_alarm(tenant, alarm.device, event, alarm.public())
        if self.notifier is not None and policy.notify:
            self.notifier.notify(tenant, event, alarm.public(), policy.notify)

    def _history(self) -> None:
        """Run the asked-for backfills: stored points, day by day, through the live path."""
        with self._cond:
            asked, self._backfills = self._backfills, []
        for dep_id, start, end in asked:
            running = self._running.get(dep_id)
            if running is None:
                continue
            days = list(range(start, end, _DAY_MS))
            total, done = len(days) * len(running.devices), 0
            self.progress[dep_id] = {"state": "running", "done": done, "total": total}
            for device in sorted(running.devices):
                for day in days:
                    self._score_history(running, device, day, min(day + _DAY_MS, end))
                    done += 1
                    self.progress[dep_id] = {"state": "running", "done": done, "total": total}
            self.progress[dep_id] = {"state": "done", "done": done, "total": total}

    def _score_history(self, running: Running, device: str, start: int, end: int) -> None:
        tenant, keys = running.deployment.tenant, list(running.deployment.keys)
        found = self.store.query(tenant, device, keys, start, end)
        if not found.num_rows:
            return
        table = found.add_column(0, "device", pa.array([device] * found.num_rows, pa.string()))
        out = Scored()
        running.consume(table, out)
        self._deliver(tenant, out, live=False)  # history is not news to live subscribers

    def _deliver(self, tenant: str, out: Scored, live: bool = True) -> None:
        """Store a read's scores, show them to live subscribers, act on its alarm transitions."""
        table = out.table()
        if table is not None:
            scores = _as_batch(table)
            self.store.write(Batch(tenant, scores))
            if live and self.live is not None and self.live.listening(tenant):
                self.live.publish_points(tenant, scores)
        for dep_id, device, series, change, values in out.transitions:
            raised_by = self._running.get(dep_id)
            if raised_by is not None:
                self._apply(tenant, raised_by, device, series, change, values)

    def _silence(self, now: float) -> None:
        """Raise ``no_data`` for selected devices silent past the policy's limit; clear on data."""
        for running in list(self._running.values()):
            limit = running.policy.no_data_ms
            if limit is None or running.deployment.paused:
                continue
            tenant = running.deployment.tenant
            for device in running.devices:
                heard = running.heard.setdefault(device, now)  # silent since we started watching
                quiet = now - heard > limit / 1000
                if quiet and device not in running.silent:
                    running.silent.add(device)
                    details = {"last_heard_ms": int(heard * 1000), "no_data_ms": limit}
                    raised, _ = self.catalog.raise_alarm(
                        tenant,
                        "no_data",
                        device,
                        Severity(running.policy.severity),
                        int(now * 1000),
                        running.deployment.id,
                        details,
                    )
                    self._notify(tenant, "raise", raised, running.policy)
                elif not quiet and device in running.silent:
                    running.silent.discard(device)
                    alarm = self.catalog.active_alarm(tenant, "no_data", device)
                    if alarm is not None:
                        cleared = self.catalog.clear_alarm(tenant, alarm.id, int(now * 1000))
                        self._notify(tenant, "clear", cleared, running.policy)

    def _raised_before(self, tenant: str, dep_id: str, device: str, ts: int) -> bool:
        """Whether this very alarm exists (points scored again after a restart raise it again)."""
        found = self.catalog.alarms(
            tenant, device=device, deployment=dep_id, start_ms=ts, end_ms=ts + 1, limit=1
        )
        return bool(found)

    def _save(self) -> None:
        if self.path is None:
            self.wal.release(CONSUMER, self.position)
            return
        arrays: dict[str, Any] = {}
        series: dict[str, list[str]] = {}
        for dep_id, running in self._running.items():
            series[dep_id] = list(running.series)
            for index, state in enumerate(running.series.values()):
                arrays |= state.state(f"{dep_id}|{index}|")
        checkpoint.write(self.path, checkpoint.Checkpoint(self.position, series, arrays))
        self._saved = checkpoint.Checkpoint(self.position, series, arrays)
        self.wal.release(CONSUMER, self.position)
        self._saved_at = self._clock()


def _as_batch(table: pa.Table) -> pa.Table:
    n = table.num_rows
    return pa.table(
        {
            "device": table["device"],
            "key": table["key"],
            "ts": table["ts"],
            "value": table["value"],
            "text": pa.nulls(n, pa.string()),
            "kind": pa.array([0] * n, pa.int8()),
        },
        schema=BATCH_SCHEMA,
    )
