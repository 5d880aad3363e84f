"""A platform with its MQTT endpoint on a background event loop, and paho-mqtt devices."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import paho.mqtt.client as mqtt

from aiot.app import Platform

T = TypeVar("T")


class Running:
    """``platform`` started on its own loop in a thread, as ``aiot up`` runs it."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(platform.start())
        assert platform.mqtt is not None and platform.mqtt.port is not None
        self.port: int = platform.mqtt.port

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the platform's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the platform and the loop."""
        self.run(self.platform.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Device:
    """A paho-mqtt device with the access token as user name; messages land in a queue."""

    def __init__(
        self, port: int, token: str | None, client_id: str = "", protocol: int = mqtt.MQTTv311
    ) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol
        )
        if token is not None:
            self.client.username_pw_set(token)
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected: queue.Queue[str] = queue.Queue()
        self.gone = threading.Event()
        self.client.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, msg.payload))
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(str(rc))
        self.client.on_disconnect = lambda *_: self.gone.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def wait_connack(self) -> str:
        """The CONNACK reason as paho names it ("Success", "Not authorized")."""
        return self.connected.get(timeout=5)

    def publish(self, topic: str, payload: str | bytes, qos: int = 1) -> None:
        """Publish and, for QoS 1, wait for the PUBACK."""
        info = self.client.publish(topic, payload, qos=qos)
        if qos:
            info.wait_for_publish(5)
            assert info.is_published()

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait a moment for the SUBACK."""
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def next_message(self, timeout: float = 5.0) -> tuple[str, bytes]:
        """The next message aiot sent to the device."""
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def raw_socket(port: int) -> socket.socket:
    """A plain TCP connection to the endpoint."""
    return socket.create_connection(("127.0.0.1", port), timeout=5)
