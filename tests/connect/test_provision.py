"""Provisioning as ThingsBoard's, over MQTT (3.1.1 and 5, paho-mqtt) and HTTP."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from aiot.connect.mqtt import codec
from aiot.connect.mqtt.provisioning import LINGER
from aiot.errors import Conflict
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Device, Running

V311, V5 = mqtt.MQTTv311, mqtt.MQTTv5


@pytest.fixture
def running(platform_factory: Callable[..., Platform]) -> Iterator[Running]:
    """A platform with its MQTT endpoint, a tenant "b" and a profile of each strategy."""
    mqtt_settings = {"port": free_port(), "connect_timeout_seconds": 3.0}
    running = Running(platform_factory(store={"backend": "memory"}, mqtt=mqtt_settings))
    catalog = running.platform.catalog
    catalog.create_profile("default", "meter", provision="allow_create", provision_key="k-new")
    catalog.create_profile("default", "pump", provision="check_pre_provisioned")
    catalog.create_profile(
        "default", "valve", provision="disabled", provision_key="k-off", provision_secret="s-off"
    )
    catalog.create_tenant("b")
    catalog.create_profile("b", "meter", provision="allow_create", provision_key="k-b")
    yield running
    running.stop()


def _secret(running: Running, key: str) -> str:
    profile = running.platform.catalog.profile_by_provision_key(key)
    assert profile is not None and profile.provision_secret is not None
    return profile.provision_secret


class Provisioner:
    """A paho client connected with user name ``provision``; its answers in a queue."""

    def __init__(self, port: int, protocol: int = V311, subscribe: bool = True) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.username_pw_set("provision", "anything")
        self.answers: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.gone = threading.Event()
        self.granted: queue.Queue[list[Any]] = queue.Queue()
        self.client.on_message = lambda _c, _u, m: self.answers.put(
            (m.topic, json.loads(m.payload))
        )
        self.client.on_disconnect = lambda *_: self.gone.set()
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: self.granted.put(codes)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if subscribe:
            self.client.subscribe("/provision/response", qos=1)
            assert not self.granted.get(timeout=5)[0].is_failure

    def ask(self, request: dict[str, Any], qos: int = 1) -> dict[str, Any]:
        """Publish the request; the answer on /provision/response."""
        self.client.publish("/provision/request", json.dumps(request), qos=qos)
        topic, answer = self.answers.get(timeout=5)
        assert topic == "/provision/response"
        return answer

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def _ask(running: Running, request: dict[str, Any], protocol: int = V311) -> dict[str, Any]:
    client = Provisioner(running.port, protocol)
    try:
        return client.ask(request)
    finally:
        client.close()


def _rejected(running: Running, tenant: str = "default") -> dict[str, int]:
    running.platform.ingest.flush_rejections()
    counts: dict[str, int] = running.platform.ingest.stats.snapshot(tenant)["rejected_by_reason"]
    return counts


@pytest.mark.parametrize("protocol", [V311, V5])
def test_allow_create_creates_the_device_once(running: Running, protocol: int) -> None:
    secret = _secret(running, "k-new")
    request = {"deviceName": "m1", "provisionDeviceKey": "k-new", "provisionDeviceSecret": secret}
    answer = _ask(running, request, protocol)
    assert answer["status"] == "SUCCESS" and answer["credentialsType"] == "ACCESS_TOKEN"
    device = running.platform.catalog.device("default", "m1")
    assert device.type == "meter" and device.access_token == answer["credentialsValue"]
    again = _ask(running, request, protocol)  # provisioned once, as ThingsBoard
    assert again == {"status": "FAILURE", "errorMsg": "Failed to provision device!"}
    assert _rejected(running) == {"provision_failed": 1}
    device = Device(running.port, answer["credentialsValue"])
    assert device.wait_connack() == "Success"
    device.close()


def test_the_provisioned_token_connects_and_sends(running: Running) -> None:
    secret = _secret(running, "k-new")
    token = "chosen-token-1"
    answer = _ask(
        running,
        {"provisionDeviceKey": "k-new", "provisionDeviceSecret": secret, "token": token},
    )
    assert answer["credentialsValue"] == token
    (made,) = running.platform.catalog.devices("default", "meter")
    assert len(made.name) == 20  # no name asked for: one is generated, as ThingsBoard does
    device = Device(running.port, token)
    assert device.wait_connack() == "Success"
    device.publish("v1/devices/me/telemetry", '{"t": 1}')
    device.close()
    taken = _ask(
        running,
        {"provisionDeviceKey": "k-b", "provisionDeviceSecret": _secret(running, "k-b"),
         "token": token},
    )  # fmt: skip
    assert taken["status"] == "FAILURE"  # a token is unique everywhere
    assert _rejected(running, "b") == {"token_in_use": 1}


def test_unknown_keys_wrong_secrets_and_disabled_profiles_are_not_found(running: Running) -> None:
    not_found = {"status": "NOT_FOUND", "errorMsg": "Provision data was not found!"}
    client = Provisioner(running.port, V5)
    assert client.ask({"provisionDeviceKey": "nope", "provisionDeviceSecret": "x"}) == not_found
    client.close()
    for request in (
        {"provisionDeviceKey": "k-new", "provisionDeviceSecret": "wrong", "deviceName": "m9"},
        {"provisionDeviceKey": "k-off", "provisionDeviceSecret": _secret(running, "k-off")},
        {"provisionDeviceKey": "k-new"},
    ):
        assert _ask(running, request) == not_found
    stats = running.platform.ingest.stats.snapshot("default", installation=True)
    assert stats["refused_provision_requests"] == 2  # no key, or one of no profile
    assert _rejected(running) == {"provision_not_found": 2}  # the key names the tenant
    listed = running.platform.ingest.rejections("default")
    assert all("wrong" not in r.excerpt for r in listed)  # secrets never reach the log
    assert running.platform.catalog.devices("default") == []


def test_check_pre_provisioned_gives_existing_credentials(running: Running) -> None:
    catalog, secret = running.platform.catalog, _secret(running, running_key(running, "pump"))
    key = running_key(running, "pump")
    pre = catalog.create_device("default", "p1", "pump")
    catalog.create_device("default", "p2", "meter")  # another type: not this profile's
    request = {"provisionDeviceKey": key, "provisionDeviceSecret": secret}
    for name in ("p1", "p1"):  # asked again, answered again (ThingsBoard: "provisioned")
        answer = _ask(running, {**request, "deviceName": name})
        assert answer["status"] == "SUCCESS" and answer["credentialsValue"] == pre.access_token
    for name in ("p2", "p3", None):
        shown = {**request, "deviceName": name} if name else request
        assert _ask(running, shown)["status"] == "FAILURE"
    assert _rejected(running) == {"provision_failed": 3}
    assert len(catalog.devices("default")) == 2


def running_key(running: Running, profile: str) -> str:
    """The generated provision key of a profile of the default tenant."""
    key = running.platform.catalog.profile("default", profile).provision_key
    assert key is not None
    return key


def test_other_credentials_and_bad_requests_fail_with_a_reason(running: Running) -> None:
    secret = _secret(running, "k-new")
    base = {"provisionDeviceKey": "k-new", "provisionDeviceSecret": secret}
    x509 = _ask(running, {**base, "credentialsType": "X509_CERTIFICATE", "hash": "ab"})
    assert x509["status"] == "FAILURE" and "not supported" in x509["errorMsg"]
    bad = _ask(running, {**base, "token": "has space"})
    assert bad["status"] == "FAILURE" and "access token" in bad["errorMsg"]
    client = Provisioner(running.port)
    client.client.publish("/provision/request", b"[1, 2]", qos=1)
    assert client.answers.get(timeout=5)[1]["status"] == "FAILURE"
    client.close()
    assert _rejected(running) == {"provision_unsupported": 1, "provision_failed": 1}


def test_a_provisioning_session_does_nothing_else(running: Running) -> None:
    client = Provisioner(running.port, V5, subscribe=False)
    client.client.subscribe([("v1/devices/me/rpc/request/+", 1), ("/provision/response", 0)])
    refused, granted = client.granted.get(timeout=5)
    assert refused.is_failure and not granted.is_failure
    client.client.publish("v1/devices/me/telemetry", '{"t": 1}', qos=1)
    assert client.gone.wait(5)  # anything but the request is a violation: closed
    client.client.loop_stop()
    assert running.platform.mqtt is not None and running.platform.mqtt.protocol_errors == 1


def test_an_answered_session_is_closed_soon(running: Running) -> None:
    client = Provisioner(running.port)
    started = time.monotonic()
    request = {"provisionDeviceKey": "nope", "provisionDeviceSecret": "x"}
    assert client.ask(request, qos=0)["status"] == "NOT_FOUND"
    assert client.gone.wait(LINGER + 3)  # the client did not disconnect: aiot does
    assert time.monotonic() - started < LINGER + 3
    client.client.loop_stop()


def test_a_silent_provisioning_client_is_closed_at_the_connect_deadline(running: Running) -> None:
    client = Provisioner(running.port)  # connects, subscribes, never asks
    assert client.gone.wait(6)  # connect_timeout_seconds = 3: the gate closes it
    client.client.loop_stop()
    assert running.platform.mqtt is not None
    assert running.platform.mqtt.gate.closed["connect_timeout"] == 1
    assert len(running.platform.mqtt.gate) == 0


def test_garbage_after_a_provisioning_connect_never_crashes(running: Running) -> None:
    for junk in (b"\xff\xff\xff\xff\xff", codec.publish("/provision/request", b"\x00" * 70_000)):
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            sock.settimeout(5)
            sock.sendall(_connect("provision"))
            assert sock.recv(4)[:1] == b"\x20"  # the CONNACK
            sock.sendall(junk)
            assert _drained(sock)  # then the close
    assert _ask(running, {"provisionDeviceKey": "nope", "provisionDeviceSecret": "x"})


def _connect(username: str) -> bytes:
    name = username.encode()
    body = b"\x00\x04MQTT\x04\x82\x00\x1e" + b"\x00\x00" + len(name).to_bytes(2, "big") + name
    return bytes((0x10, len(body))) + body


def _drained(sock: socket.socket) -> bool:
    while True:
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:  # closed with unread bytes of ours: a reset
            return True
        except TimeoutError:
            return False


def test_http_provisioning_answers_as_thingsboard(
    platform_factory: Callable[..., Platform],
) -> None:
    platform = platform_factory()
    platform.catalog.create_profile("default", "meter", provision="allow_create", provision_key="k")
    secret = _secret_of(platform, "k")
    with TestClient(create_app(platform)) as http:
        request = {"deviceName": "h1", "provisionDeviceKey": "k", "provisionDeviceSecret": secret}
        answer = http.post("/api/v1/provision", json=request)
        assert answer.status_code == 200 and answer.json()["status"] == "SUCCESS"
        token = answer.json()["credentialsValue"]
        assert http.post(f"/api/v1/{token}/telemetry", json={"t": 1}).status_code == 200
        again = http.post("/api/v1/provision", json=request)
        assert again.status_code == 200 and again.json()["status"] == "FAILURE"
        wrong = http.post("/api/v1/provision", json={**request, "provisionDeviceKey": "x"})
        assert wrong.json() == {"status": "NOT_FOUND", "errorMsg": "Provision data was not found!"}
        junk = http.post("/api/v1/provision", content=b"not json")
        assert junk.status_code == 200 and junk.json()["status"] == "FAILURE"
    stats = platform.ingest.stats.snapshot("default", installation=True)
    assert stats["refused_provision_requests"] == 2
    assert stats["rejected_by_reason"] == {"provision_failed": 1}


def _secret_of(platform: Platform, key: str) -> str:
    profile = platform.catalog.profile_by_provision_key(key)
    assert profile is not None and profile.provision_secret is not None
    return profile.provision_secret


def test_mqtt_basic_credentials_are_provisioned_and_work(running: Running) -> None:
    secret = _secret(running, "k-new")
    asked = {"provisionDeviceKey": "k-new", "provisionDeviceSecret": secret}
    asked |= {"deviceName": "meter-9", "credentialsType": "MQTT_BASIC", "clientId": "m9"}
    asked |= {"username": "meter-user", "password": "s3cret"}
    answer = _ask(running, asked)
    assert answer == {
        "status": "SUCCESS",
        "credentialsType": "MQTT_BASIC",
        "credentialsValue": {"clientId": "m9", "userName": "meter-user", "password": "s3cret"},
    }
    again = _ask(running, {**asked, "deviceName": "meter-10"})  # the same credentials: taken
    assert again["status"] == "FAILURE"
    catalog = running.platform.catalog
    assert [d.name for d in catalog.devices("default") if d.name.startswith("meter")] == ["meter-9"]
    for client_id, password, seen in (
        ("m9", "s3cret", "Success"),
        ("m9", "guess", "Not authorized"),
    ):
        assert _basic_connack(running.port, client_id, "meter-user", password) == seen


def _basic_connack(port: int, client_id: str, username: str | None, password: str | None) -> str:
    """The CONNACK reason for these MQTT basic credentials."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(username, password)
    reasons: queue.Queue[str] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, rc, _p: reasons.put(str(rc))
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        return reasons.get(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()


def test_mqtt_basic_credentials_of_a_device(running: Running) -> None:
    platform = running.platform
    made = platform.catalog.create_device("default", "pump-7")
    given = platform.set_basic_credentials("default", made.id, "p7", None, None)
    assert given.public()["mqtt_basic"] == {"client_id": "p7", "username": None}
    assert _basic_connack(running.port, "p7", None, None) == "Success"  # the client id alone
    assert _basic_connack(running.port, "p8", None, None) == "Not authorized"
    platform.set_basic_credentials("default", made.id, None, "pump", "pw")
    assert _basic_connack(running.port, "any", "pump", "pw") == "Success"
    assert _basic_connack(running.port, "any", "pump", None) == "Not authorized"
    assert _basic_connack(running.port, "p7", None, None) == "Not authorized"  # replaced
    other = platform.catalog.create_device("default", "pump-8")
    with pytest.raises(Conflict):
        platform.set_basic_credentials("default", other.id, None, "pump", "other")
    platform.set_basic_credentials("default", made.id, None, None, None)
    assert _basic_connack(running.port, "any", "pump", "pw") == "Not authorized"
    assert _basic_connack(running.port, "any", made.access_token, None) == "Success"  # the token


def test_mqtt_basic_credentials_over_rest(api_client: TestClient) -> None:
    made = api_client.post("/api/devices", json={"name": "pump-7"}).json()
    path = f"/api/devices/{made['id']}/mqtt-basic"
    given = api_client.put(path, json={"username": "u", "password": "p"})
    assert given.status_code == 200 and given.json()["mqtt_basic"]["username"] == "u"
    assert "p" not in given.json()["mqtt_basic"].values()  # the password is never shown
    assert api_client.put(path, json={}).status_code == 400
    assert api_client.put(path, json={"client_id": "c", "password": "p"}).status_code == 400
    assert api_client.delete(path).json()["mqtt_basic"] is None
