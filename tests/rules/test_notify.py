"""Alarm notifications: signed webhooks and device commands, retried, counted, never waited on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiot.domain import Batch, Command, Selector
from aiot.errors import CommandTimeout, DeviceOffline, InvalidInput
from aiot.rules import AlarmPolicy
from aiot.rules.notify import Notifier, on_loop
from aiot.rules.policy import NotifyAction
from aiot.store.catalog import Catalog
from aiot.store.memory import MemoryStore
from aiot.store.wal import MemoryLog
from aiot.stream import StreamRunner
from tests.conftest import free_port

ALARM = {"id": "a1", "tenant": "t1", "device": "d1", "type": "overheat", "active": True}
FAST = (0.01, 0.02, 0.04, 0.08)  # the default schedule's shape, a hundred times quicker


class Receiver:
    """A real HTTP receiver on a loopback port; answers each POST with the next status given."""

    def __init__(self, statuses: Callable[[int], int] = lambda n: 200) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.arrived:
                    outer.requests.append((dict(self.headers), body))
                    status = statuses(len(outer.requests))
                    outer.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        """The requests once at least ``count`` arrived."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(statuses: Callable[[int], int] = lambda n: 200) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def notifier_factory() -> Iterator[Callable[..., Notifier]]:
    made: list[Notifier] = []

    def make(*args: Any, **kwargs: Any) -> Notifier:
        made.append(Notifier(*args, **kwargs))
        return made[-1]

    yield make
    for notifier in made:
        notifier.stop(grace=0.0)


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _hook(url: str, **more: Any) -> NotifyAction:
    return NotifyAction.model_validate({"webhook": {"url": url, **more}})


def _command(method: str, **more: Any) -> NotifyAction:
    return NotifyAction.model_validate({"command": {"method": method, **more}})


# the policy


def test_a_policy_takes_webhooks_and_commands_with_their_events() -> None:
    policy = AlarmPolicy.parse(
        {
            "threshold": 3.0,
            "notify": [
                {"webhook": {"url": "https://ops.example/hook", "secret": "s3"}},
                {"command": {"method": "closeValve", "params": {"valve": 2}}},
            ],
        }
    )
    hook, command = policy.notify
    assert hook.webhook is not None and hook.on == ("raise", "clear")
    assert command.command is not None and command.on == ("raise",)
    assert command.command.params == {"valve": 2}
    assert AlarmPolicy.parse(policy.to_dict()) == policy
    assert AlarmPolicy.parse({"threshold": 3.0}).notify == ()


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"webhook": {"url": "ftp://ops.example/hook"}}, "notify.0.webhook.url"),
        ({"webhook": {"url": "not a url"}}, "notify.0.webhook.url"),
        ({"webhook": {"url": "http://x", "on": ["opened"]}}, "notify.0.webhook.on.0"),
        ({"command": {"method": ""}}, "notify.0.command.method"),
        ({"command": {"method": "  "}}, "notify.0.command.method"),
        ({"email": {"to": "ops@example"}}, "notify.0.email"),
        ({}, "notify.0"),
    ],
)
def test_a_bad_notification_is_refused_naming_its_field(item: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        AlarmPolicy.parse({"threshold": 3.0, "notify": [item]})
    assert field in [e["field"] for e in caught.value.detail["errors"]]


# webhooks


def test_a_webhook_gets_the_alarm_signed_with_its_secret(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    receiver = receiver_factory()
    notifier = notifier_factory()
    notifier.start()
    notifier.notify("t1", "raise", ALARM, [_hook(receiver.url, secret="s3cret")])
    [(headers, body)] = receiver.wait(1)
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Aiot-Signature"], expected)
    assert headers["X-Aiot-Event"] == "raise"
    assert json.loads(body) == {"event": "raise", "alarm": ALARM}
    assert notifier.wait_idle(5.0)
    assert notifier.stats("t1") == {"delivered": 1, "failed": 0, "dropped": 0, "pending": 0}


def test_without_a_secret_nothing_is_signed_and_events_follow_on(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    receiver = receiver_factory()
    notifier = notifier_factory()
    notifier.start()
    only_clear = _hook(receiver.url, on=["clear"])
    notifier.notify("t1", "raise", ALARM, [only_clear])
    notifier.notify("t1", "clear", ALARM, [only_clear])
    [(headers, body)] = receiver.wait(1)
    assert "X-Aiot-Signature" not in headers
    assert json.loads(body)["event"] == "clear"
    assert notifier.wait_idle(5.0)
    assert notifier.stats("t1")["delivered"] == 1


def test_a_failing_receiver_is_retried_then_counted_and_kept(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    receiver = receiver_factory(lambda n: 500)
    notifier = notifier_factory(backoff=FAST)
    notifier.start()
    notifier.notify("t1", "raise", ALARM, [_hook(receiver.url, secret="s")])
    assert notifier.wait_idle(5.0)
    tries = receiver.wait(5)
    assert len(tries) == 5  # the first try and four retries, then no more
    assert len({h["X-Aiot-Delivery"] for h, _ in tries}) == 1  # one delivery, tried again
    assert notifier.stats("t1") == {"delivered": 0, "failed": 1, "dropped": 0, "pending": 0}
    [failure] = notifier.failures("t1")
    assert failure["target"] == receiver.url
    assert (failure["event"], failure["alarm"], failure["error"]) == ("raise", "a1", "HTTP 500")
    assert failure["tries"] == 5
    assert notifier.failures("t2") == []  # another tenant's failures are its own


def test_a_receiver_that_recovers_gets_the_alarm(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    receiver = receiver_factory(lambda n: 503 if n <= 2 else 204)
    notifier = notifier_factory(backoff=FAST)
    notifier.start()
    notifier.notify("t1", "raise", ALARM, [_hook(receiver.url)])
    assert notifier.wait_idle(5.0)
    assert len(receiver.requests) == 3
    assert notifier.stats("t1")["delivered"] == 1


def test_a_refusal_by_the_receiver_is_not_tried_again(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    receiver = receiver_factory(lambda n: 404)
    notifier = notifier_factory(backoff=FAST)
    notifier.start()
    notifier.notify("t1", "raise", ALARM, [_hook(receiver.url)])
    assert notifier.wait_idle(5.0)
    assert len(receiver.requests) == 1
    assert notifier.failures("t1")[0]["error"] == "HTTP 404"


def test_a_dead_webhook_waiting_to_retry_does_not_hold_up_others(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    good = receiver_factory()
    notifier = notifier_factory(workers=1, backoff=(2.0,) * 4)
    notifier.start()
    dead = f"http://127.0.0.1:{free_port()}/hook"
    notifier.notify("t1", "raise", ALARM, [_hook(dead)])
    started = time.monotonic()
    notifier.notify("t1", "raise", {**ALARM, "id": "a2"}, [_hook(good.url)])
    [(_, body)] = good.wait(1)
    assert time.monotonic() - started < 1.5  # not behind the dead one's 2 s retry
    assert json.loads(body)["alarm"]["id"] == "a2"
    assert _eventually(lambda: notifier.stats("t1")["delivered"] == 1)
    assert notifier.stats("t1")["pending"] == 1  # the dead one waits for its retry


def test_notify_returns_at_once_even_with_a_dead_url(
    notifier_factory: Callable[..., Notifier],
) -> None:
    notifier = notifier_factory()
    notifier.start()
    dead = [_hook(f"http://127.0.0.1:{free_port()}/hook", secret="s") for _ in range(2)]
    took = []
    for n in range(500):
        began = time.perf_counter()
        notifier.notify("t1", "raise", {**ALARM, "id": f"a{n}"}, dead)
        took.append(time.perf_counter() - began)
    assert statistics.median(took) < 0.0002  # well under a millisecond
    assert notifier.stats("t1")["pending"] > 0


def test_a_full_queue_drops_the_oldest_and_counts_them(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    receiver = receiver_factory()
    notifier = notifier_factory(capacity=3)
    for n in range(5):  # not started: nothing leaves the queue
        notifier.notify("t1", "raise", {**ALARM, "id": f"a{n}"}, [_hook(receiver.url)])
    assert notifier.stats("t1") == {"delivered": 0, "failed": 0, "dropped": 2, "pending": 3}
    notifier.start()
    assert notifier.wait_idle(5.0)
    got = sorted(json.loads(body)["alarm"]["id"] for _, body in receiver.requests)
    assert got == ["a2", "a3", "a4"]  # the newest kept
    assert notifier.stats("t1") == {"delivered": 3, "failed": 0, "dropped": 2, "pending": 0}


def test_stop_gives_up_on_retries_and_counts_them_dropped(
    receiver_factory: Callable[..., Receiver], notifier_factory: Callable[..., Notifier]
) -> None:
    receiver = receiver_factory(lambda n: 500)
    notifier = notifier_factory(backoff=(30.0,) * 4)
    notifier.start()
    notifier.notify("t1", "raise", ALARM, [_hook(receiver.url)])
    receiver.wait(1)
    began = time.monotonic()
    notifier.stop(grace=0.2)
    assert time.monotonic() - began < 2.0
    assert notifier.stats("t1") == {"delivered": 0, "failed": 0, "dropped": 1, "pending": 0}
    notifier.notify("t1", "raise", ALARM, [_hook(receiver.url)])  # stopped: counted, not kept
    assert notifier.stats("t1")["dropped"] == 2


# commands


def test_a_command_goes_to_the_alarms_device_on_raise_only(
    notifier_factory: Callable[..., Notifier],
) -> None:
    sent: list[tuple[str, str, Command]] = []
    notifier = notifier_factory(lambda t, d, c: sent.append((t, d, c)))
    notifier.start()
    valve = _command("closeValve", params={"valve": 2}, oneway=True)
    notifier.notify("t1", "raise", ALARM, [valve])
    notifier.notify("t1", "clear", ALARM, [valve])
    assert notifier.wait_idle(5.0)
    assert sent == [("t1", "d1", Command("closeValve", {"valve": 2}, oneway=True))]
    assert notifier.stats("t1")["delivered"] == 1


def test_a_command_is_retried_while_the_device_is_offline_not_after_a_timeout(
    notifier_factory: Callable[..., Notifier],
) -> None:
    calls: list[str] = []

    def send(tenant: str, device: str, command: Command) -> None:
        calls.append(command.method)
        if command.method == "late":
            raise CommandTimeout("no answer")
        if calls.count("closeValve") < 3:
            raise DeviceOffline("not connected")

    notifier = notifier_factory(send, backoff=FAST)
    notifier.start()
    notifier.notify("t1", "raise", ALARM, [_command("closeValve"), _command("late")])
    assert notifier.wait_idle(5.0)
    assert calls.count("closeValve") == 3 and calls.count("late") == 1  # it may have run
    assert notifier.stats("t1")["delivered"] == 1
    [failure] = notifier.failures("t1")
    assert (failure["action"], failure["target"], failure["error"]) == (
        "command",
        "late",
        "no answer",
    )


def test_on_loop_runs_the_command_on_the_loop_and_waits_no_longer_than_its_timeout() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen: list[tuple[str, str, str]] = []

    async def command(tenant: str, device: str, cmd: Command) -> None:
        seen.append((tenant, device, cmd.method))
        await asyncio.sleep(0 if cmd.method == "quick" else 5)

    try:
        send = on_loop(command, loop)
        send("t1", "d1", Command("quick"))
        assert seen == [("t1", "d1", "quick")]
        began = time.monotonic()
        with pytest.raises(CommandTimeout):
            send("t1", "d1", Command("slow", timeout=0.2))
        assert time.monotonic() - began < 1.0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
    with pytest.raises(DeviceOffline):
        send("t1", "d1", Command("quick"))


# the stream stage


class _Recorder(Notifier):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str, dict[str, Any], int]] = []

    def notify(self, tenant: str, event: Any, alarm: dict[str, Any], actions: Any) -> None:
        self.events.append((tenant, event, alarm, len(actions)))


def test_the_runner_notifies_raise_and_clear_with_the_alarms_json(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    catalog.create_tenant("t1")
    pump = catalog.create_device("t1", "pump-1", "pump")
    quiet = catalog.create_device("t1", "pump-2", "pump")
    hook = {"webhook": {"url": "http://127.0.0.1:9/hook"}}
    policy = {"threshold": 6.0, "clear_after": 3, "notify": [hook]}
    catalog.create_deployment("t1", "z", "zscore", {}, ["temp"], Selector(device=pump.id), policy)
    quiet_policy = {"threshold": 6.0, "clear_after": 3}
    catalog.create_deployment(
        "t1", "q", "zscore", {}, ["temp"], Selector(device=quiet.id), quiet_policy
    )
    wal, recorder = MemoryLog(), _Recorder()
    runner = StreamRunner(wal, MemoryStore(), catalog, None, notifier=recorder)
    runner._sync()
    values = 20.0 + np.random.default_rng(1).normal(0, 0.5, 200)
    values[100:105] += 40.0
    ts = np.arange(200) * 1000
    for device in (pump.id, quiet.id):  # the same spike on both; only one policy notifies
        wal.append([Batch.numeric("t1", device, "temp", ts, values)])
    while runner._step():
        pass
    [alarm] = catalog.alarms("t1", device=pump.id)
    assert [(t, e, a["id"], n) for t, e, a, n in recorder.events] == [
        ("t1", "raise", alarm.id, 1),
        ("t1", "clear", alarm.id, 1),
    ]
    assert recorder.events[0][2]["active"] and not recorder.events[1][2]["active"]
    assert len(catalog.alarms("t1", device=quiet.id)) == 1  # raised, without notifications
    catalog.close()
