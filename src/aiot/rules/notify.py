"""Notifications: an alarm's raise or clear, delivered to webhooks and devices off the hot path.

``Notifier.notify`` only appends to a bounded queue (when full, the oldest waiting delivery is
dropped and counted) and returns at once; a few worker threads deliver. A webhook gets
``POST {"event", "alarm"}`` with ``X-Aiot-Event``, ``X-Aiot-Delivery`` (the same on every
try, so a receiver can ignore repeats) and, when the action has a secret,
``X-Aiot-Signature: sha256=<hex HMAC-SHA256 of the body>``. A transport error, a 5xx, 408 or
429 is tried again after ``backoff`` delays (kept in a schedule, so a waiting retry holds no
thread); a command is tried again only while the device is offline (nothing reached it).
Each final failure is counted and kept, the newest ``keep`` per tenant.

>>> notifier = Notifier(lambda tenant, device, command: None)
>>> notifier.start()
>>> action = NotifyAction.model_validate({"command": {"method": "closeValve"}})
>>> notifier.notify("t1", "raise", {"id": "a1", "device": "d1"}, [action])
>>> notifier.wait_idle(5.0), notifier.stats("t1")["delivered"]
(True, 1)
>>> notifier.stop()
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from aiot.domain import Command
from aiot.errors import AiotError, CommandTimeout, DeviceOffline
from aiot.rules.policy import Event, NotifyAction

__all__ = ["Notifier", "SendCommand", "on_loop", "signature"]

SendCommand = Callable[[str, str, Command], None]
_RETRY_STATUS = frozenset((408, 429))


def signature(secret: str, body: bytes) -> str:
    """The ``X-Aiot-Signature`` of a body: ``sha256=`` and the hex HMAC-SHA256 with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def on_loop(
    command: Callable[[str, str, Command], Coroutine[Any, Any, Any]],
    loop: asyncio.AbstractEventLoop,
) -> SendCommand:
    """A SendCommand for worker threads that runs the coroutine ``command`` on ``loop``."""

    def send(tenant: str, device_id: str, cmd: Command) -> None:
        if loop.is_closed():
            raise DeviceOffline("the platform is not running")
        future = asyncio.run_coroutine_threadsafe(command(tenant, device_id, cmd), loop)
        try:
            future.result(timeout=cmd.timeout)
        except TimeoutError as err:
            future.cancel()
            raise CommandTimeout(f"no answer to {cmd.method!r} within {cmd.timeout} s") from err

    return send


@dataclass(slots=True)
class _Delivery:
    """One action for one alarm event, and how often it was tried."""

    tenant: str
    event: Event
    alarm: dict[str, Any]
    action: NotifyAction
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    tries: int = 0


@dataclass(slots=True)
class _Tally:
    """A tenant's counters and newest final failures."""

    failures: deque[dict[str, Any]]
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    pending: int = 0


class Notifier:
    """Delivers alarm events to the policy's webhooks and commands in background threads."""

    def __init__(
        self,
        send_command: SendCommand | None = None,
        *,
        capacity: int = 10_000,
        workers: int = 4,
        timeout: float = 5.0,
        backoff: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
        keep: int = 1000,
    ) -> None:
        self.send_command = send_command
        self.capacity, self.workers, self.timeout = capacity, workers, timeout
        self.backoff, self.keep = tuple(backoff), keep
        self._ready: deque[_Delivery] = deque()
        self._retries: list[tuple[float, int, _Delivery]] = []  # (due, seq, delivery) heap
        self._seq = 0
        self._tallies: dict[str, _Tally] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._deadline = 0.0
        self._threads: list[threading.Thread] = []

    # control

    def start(self, send_command: SendCommand | None = None) -> None:
        """Start the workers (again after ``stop``); ``send_command`` replaces the one given."""
        if send_command is not None:
            self.send_command = send_command
        with self._cond:
            if self._threads:
                return
            self._closing = False
            self._threads = [
                threading.Thread(target=self._work, name=f"aiot-notify-{i}", daemon=True)
                for i in range(self.workers)
            ]
        for thread in self._threads:
            thread.start()

    def stop(self, grace: float = 2.0) -> None:
        """Give waiting deliveries up to ``grace`` seconds, then count what is left as dropped."""
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + grace
            self._cond.notify_all()
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(max(0.0, self._deadline - time.monotonic()) + 0.5)
        with self._cond:
            left = [*self._ready, *(item for _, _, item in self._retries)]
            self._ready.clear()
            self._retries.clear()
            for item in left:
                self._drop(item)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending (queued, waiting to retry or in flight)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: all(t.pending == 0 for t in self._tallies.values()), timeout
            )

    # the hot path

    def notify(
        self, tenant: str, event: Event, alarm: dict[str, Any], actions: Sequence[NotifyAction]
    ) -> None:
        """Queue the actions that run on ``event`` for this alarm; never waits on delivery."""
        chosen = [_Delivery(tenant, event, alarm, a) for a in actions if event in a.on]
        if not chosen:
            return
        with self._cond:
            tally = self._tally(tenant)
            if self._closing:
                tally.dropped += len(chosen)
                return
            for item in chosen:
                if len(self._ready) + len(self._retries) >= self.capacity:
                    self._drop(self._oldest())
                tally.pending += 1
                self._ready.append(item)
            self._cond.notify(len(chosen))

    # what the API shows

    def stats(self, tenant: str) -> dict[str, int]:
        """The tenant's deliveries since start: delivered, failed, dropped and pending."""
        with self._cond:
            t = self._tally(tenant)
            return {
                "delivered": t.delivered,
                "failed": t.failed,
                "dropped": t.dropped,
                "pending": t.pending,
            }

    def failures(self, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
        """The tenant's newest final failures, newest first."""
        with self._cond:
            kept = self._tally(tenant).failures
            return [dict(f) for f in list(reversed(kept))[: max(0, limit)]]

    # the workers

    def _work(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while (item := self._take()) is not None:
                item.tries += 1
                error, again = self._attempt(client, item)
                self._settle(item, error, again)

    def _take(self) -> _Delivery | None:
        """The next delivery due, waiting for one; None once stopping has run out of work."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self._closing and now >= self._deadline:
                    return None
                if self._retries and self._retries[0][0] <= now:
                    return heapq.heappop(self._retries)[2]
                if self._ready:
                    return self._ready.popleft()
                if self._closing and not self._retries:
                    return None
                due = [self._retries[0][0]] if self._retries else []
                due += [self._deadline] if self._closing else []
                self._cond.wait(min(due) - now if due else None)

    def _attempt(self, client: httpx.Client, item: _Delivery) -> tuple[str | None, bool]:
        """Try once: (None, _) when delivered, else (the error, whether to try again)."""
        if item.action.webhook is not None:
            return self._post(client, item)
        return self._command(item)

    def _post(self, client: httpx.Client, item: _Delivery) -> tuple[str | None, bool]:
        hook = item.action.webhook
        assert hook is not None
        body = json.dumps({"event": item.event, "alarm": item.alarm}).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Aiot-Event": item.event,
            "X-Aiot-Delivery": item.id,
        }
        if hook.secret is not None:
            headers["X-Aiot-Signature"] = signature(hook.secret, body)
        try:
            answer = client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as err:
            return f"{type(err).__name__}: {err}", True
        if answer.is_success:
            return None, False
        code = answer.status_code
        return f"HTTP {code}", code >= 500 or code in _RETRY_STATUS

    def _command(self, item: _Delivery) -> tuple[str | None, bool]:
        action = item.action.command
        assert action is not None
        if self.send_command is None:
            return "no command path is wired", False
        command = Command(action.method, action.params, action.oneway, action.timeout)
        try:
            self.send_command(item.tenant, str(item.alarm.get("device")), command)
        except AiotError as err:
            return err.message, isinstance(err, DeviceOffline)
        except Exception as err:  # a bug in the command path must not stop the worker
            return repr(err), False
        return None, False

    def _settle(self, item: _Delivery, error: str | None, again: bool) -> None:
        with self._cond:
            if error is not None and again and item.tries <= len(self.backoff):
                self._retry(item)
                return
            tally = self._tally(item.tenant)
            if error is None:
                tally.delivered += 1
            else:
                tally.failed += 1
                tally.failures.append(_failure(item, error))
            tally.pending -= 1
            self._cond.notify_all()

    def _retry(self, item: _Delivery) -> None:
        """Schedule the next try after its backoff; when stopping, give it up as dropped."""
        if self._closing:
            self._drop(item)
            return
        self._seq += 1
        due = time.monotonic() + self.backoff[item.tries - 1]
        heapq.heappush(self._retries, (due, self._seq, item))
        self._cond.notify()

    # under the lock

    def _tally(self, tenant: str) -> _Tally:
        tally = self._tallies.get(tenant)
        if tally is None:
            tally = self._tallies[tenant] = _Tally(deque(maxlen=self.keep))
        return tally

    def _oldest(self) -> _Delivery:
        """Take the longest-waiting delivery out: the queue's head, else the soonest retry."""
        return self._ready.popleft() if self._ready else heapq.heappop(self._retries)[2]

    def _drop(self, item: _Delivery) -> None:
        tally = self._tally(item.tenant)
        tally.dropped += 1
        tally.pending -= 1
        self._cond.notify_all()


def _failure(item: _Delivery, error: str) -> dict[str, Any]:
    """A final failure as JSON; a webhook's URL without credentials or query."""
    hook, command = item.action.webhook, item.action.command
    if hook is not None:
        parts = urlsplit(hook.url)
        port = f":{parts.port}" if parts.port else ""
        kind, target = "webhook", f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
    else:
        kind, target = "command", command.method if command is not None else ""
    return {
        "at_ms": int(time.time() * 1000),
        "action": kind,
        "target": target,
        "event": item.event,
        "alarm": item.alarm.get("id"),
        "device": item.alarm.get("device"),
        "error": error,
        "tries": item.tries,
    }
