"""Deleting a tenant against ``aiot up``: its keys, tokens, sessions and data end; others go on."""

from __future__ import annotations

import json
import threading

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.server import AiotProcess

pytestmark = pytest.mark.slow


def _connected(server: AiotProcess, token: str) -> tuple[mqtt.Client, threading.Event]:
    gone = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(token)
    client.on_disconnect = lambda *_: gone.set()
    client.connect("127.0.0.1", server.mqtt_port, 30)
    client.loop_start()
    info = client.publish("v1/devices/me/telemetry", json.dumps({"v": 1}), qos=1)
    info.wait_for_publish(5)
    assert info.is_published()
    return client, gone


def _tenant_with_a_device(api: httpx.Client, tenant: str) -> tuple[str, str]:
    assert api.post("/api/tenants", json={"id": tenant}).status_code == 201
    made = api.post(f"/api/tenants/{tenant}/keys", json={"name": "ops", "role": "admin"})
    key = made.json()["key"]
    as_tenant = {"Authorization": f"Bearer {key}"}
    device = api.post("/api/devices", json={"name": "pump"}, headers=as_tenant).json()
    deployment = {"name": "z", "detector": "zscore", "keys": ["v"], "selector": {"type": "default"}}
    assert api.post("/api/deployments", json=deployment, headers=as_tenant).status_code == 201
    return key, device["access_token"]


def test_deleting_a_tenant_ends_everything_it_had_and_nothing_else(server: AiotProcess) -> None:
    with server.admin() as api:
        gone_key, gone_token = _tenant_with_a_device(api, "gone")
        kept_key, kept_token = _tenant_with_a_device(api, "kept")
        doomed, doomed_gone = _connected(server, gone_token)
        kept, kept_gone = _connected(server, kept_token)
        try:
            removed = server.cli("tenants", "remove", "gone", "--yes")
            assert removed.returncode == 0, removed.stderr
            assert doomed_gone.wait(1.0), "the deleted tenant's device stayed connected"
            assert not kept_gone.is_set()
            _assert_gone(server, api, gone_key, gone_token)
            info = kept.publish("v1/devices/me/telemetry", json.dumps({"v": 2}), qos=1)
            info.wait_for_publish(5)
            assert info.is_published()  # the other tenant goes on
            as_kept = {"Authorization": f"Bearer {kept_key}"}
            assert api.get("/api/devices/pump/latest", headers=as_kept).json()["v"]["value"] == 2
        finally:
            for client in (doomed, kept):
                client.disconnect()
                client.loop_stop()
        # the same name again is a new, empty tenant: nothing of the old one comes back
        key, _ = _tenant_with_a_device(api, "gone")
        fresh = {"Authorization": f"Bearer {key}"}
        answer = api.get("/api/devices/pump/telemetry", params={"start": 0}, headers=fresh)
        assert answer.status_code == 200 and answer.json() == {}
        assert [d["name"] for d in api.get("/api/deployments", headers=fresh).json()] == ["z"]


def _assert_gone(server: AiotProcess, api: httpx.Client, key: str, token: str) -> None:
    assert api.get("/api/devices", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert api.post(f"/api/v1/{token}/telemetry", json={"v": 3}).status_code == 401
    assert "gone" not in [t["id"] for t in api.get("/api/tenants").json()]
    refused = threading.Event()  # a device that reconnects is refused at CONNECT
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(token)
    client.on_connect = lambda _c, _u, _f, rc, _p: rc.is_failure and refused.set()
    client.connect("127.0.0.1", server.mqtt_port, 30)
    client.loop_start()
    try:
        assert refused.wait(5.0), "the deleted tenant's token was accepted over MQTT"
    finally:
        client.disconnect()
        client.loop_stop()


def test_the_default_tenant_and_unknown_tenants_cannot_be_deleted(server: AiotProcess) -> None:
    with server.admin() as api:
        assert api.delete("/api/tenants/default").status_code == 409
        assert api.delete("/api/tenants/nobody").status_code == 404
        _tenant_with_a_device(api, "other")
        key = api.post("/api/tenants/other/keys", json={"name": "a", "role": "admin"}).json()
        as_other = {"Authorization": f"Bearer {key['key']}"}
        assert api.delete("/api/tenants/other", headers=as_other).status_code == 403
    assert server.cli("tenants", "remove", "other").returncode != 0  # needs --yes
