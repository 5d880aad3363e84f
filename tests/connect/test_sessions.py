"""Several connections with one access token: one by default, as ThingsBoard; more when set."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from typing import Any

import pytest

from aiot.app import Platform
from aiot.domain import Command
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Device, Running

RPC = "v1/devices/me/rpc/request/+"


def _running(factory: Callable[..., Platform], sessions: int) -> Running:
    mqtt = {"port": free_port(), "max_sessions_per_device": sessions}
    return Running(factory(store={"backend": "memory"}, mqtt=mqtt))


def _answering(device: Device, name: str) -> None:
    """Answer every command with who answered."""
    device.client.on_message = lambda c, _u, msg: c.publish(
        msg.topic.replace("request", "response"), json.dumps({"by": name}), qos=1
    )


def test_by_default_a_second_connection_replaces_the_first(
    platform_factory: Callable[..., Platform],
) -> None:
    running = _running(platform_factory, 1)
    try:
        token = running.platform.catalog.create_device("default", "pump-1").access_token
        first = Device(running.port, token, client_id="one")
        assert first.wait_connack() == "Success"
        second = Device(running.port, token, client_id="two")
        assert second.wait_connack() == "Success"
        assert first.gone.wait(5)  # ThingsBoard's default: one session per device
        assert not second.gone.is_set()
        second.close()
        first.close()
    finally:
        running.stop()


def test_with_more_sessions_allowed_a_second_process_keeps_the_first_subscribed(
    platform_factory: Callable[..., Platform],
) -> None:
    running = _running(platform_factory, 2)
    try:
        pump = running.platform.catalog.create_device("default", "pump-1")
        listener = Device(running.port, pump.access_token, client_id="listener")
        assert listener.wait_connack() == "Success"
        listener.subscribe(RPC)
        listener.subscribe("v1/devices/me/attributes")
        _answering(listener, "listener")
        helper = Device(running.port, pump.access_token, client_id="helper")  # a second process
        assert helper.wait_connack() == "Success"
        helper.publish("v1/devices/me/telemetry", '{"t": 1}')  # it sends, it does not listen

        def call() -> Any:
            return running.run(running.platform.command("default", pump.id, Command("who")))

        assert call() == {"by": "listener"}  # the only one subscribed to commands
        helper.subscribe(RPC)
        helper.subscribe("v1/devices/me/attributes")
        _answering(helper, "helper")
        assert call() == {"by": "helper"}  # the newest one listening
        helper.close()
        time.sleep(0.3)
        assert call() == {"by": "listener"}  # and the older one again once it has gone
        assert not listener.gone.is_set()
        later = [Device(running.port, pump.access_token, client_id=f"n{i}") for i in range(2)]
        assert [d.wait_connack() for d in later] == ["Success"] * 2
        assert listener.gone.wait(5)  # beyond the two allowed, the oldest goes
        assert not any(d.gone.is_set() for d in later)
        for device in later:
            device.close()
    finally:
        running.stop()


def test_a_shared_attribute_reaches_every_session_listening(
    platform_factory: Callable[..., Platform],
) -> None:
    running = _running(platform_factory, 3)
    try:
        pump = running.platform.catalog.create_device("default", "pump-1")
        devices = [Device(running.port, pump.access_token, client_id=f"c{i}") for i in range(3)]
        for device in devices[:2]:
            assert device.wait_connack() == "Success"
            device.subscribe("v1/devices/me/attributes")
        assert devices[2].wait_connack() == "Success"  # connected, not subscribed
        running.platform.set_attributes("default", pump.id, "shared", {"mode": "eco"})
        for device in devices[:2]:
            assert device.next_message() == ("v1/devices/me/attributes", b'{"mode":"eco"}')
        with pytest.raises(queue.Empty):
            devices[2].next_message(timeout=0.5)
        for device in devices:
            device.close()
    finally:
        running.stop()
