"""Firmware and software packages through the REST API and the HTTP device API."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from tests.conftest import ADMIN_KEY

FIRMWARE = bytes(range(256)) * 40 + b"tail"


def _upload(client: TestClient, data: bytes = FIRMWARE, **query: Any) -> Any:
    params = {"kind": "firmware", "title": "pump-fw", "version": "1.1", **query}
    return client.post("/api/packages", params=params, content=data)


def _profile(platform: Platform, tenant: str, name: str) -> None:
    """A profile for device type ``name``."""
    platform.catalog.create_profile(tenant, name)


def _device(client: TestClient, name: str, type: str = "pump") -> dict[str, Any]:
    made = client.post("/api/devices", json={"name": name, "type": type})
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_upload_computes_or_verifies_the_checksum(api_client: TestClient) -> None:
    made = _upload(api_client)
    assert made.status_code == 201, made.text
    package = made.json()
    assert package["checksum_algorithm"] == "SHA256"
    assert package["checksum"] == hashlib.sha256(FIRMWARE).hexdigest()
    assert package["size"] == len(FIRMWARE) and package["file_name"] == "pump-fw"
    md5 = hashlib.md5(FIRMWARE).hexdigest().upper()  # the case of a given checksum is free
    good = _upload(api_client, version="1.2", checksum_algorithm="MD5", checksum=md5)
    assert good.status_code == 201 and good.json()["checksum"] == md5.lower()
    bad = _upload(api_client, version="1.3", checksum_algorithm="MD5", checksum="00" * 16)
    assert bad.status_code == 400 and bad.json()["code"] == "checksum_mismatch"
    crc = _upload(api_client, version="1.4", checksum_algorithm="CRC32").json()["checksum"]
    assert crc == (zlib.crc32(FIRMWARE) & 0xFFFFFFFF).to_bytes(4, "little").hex()
    assert _upload(api_client).status_code == 409  # title and version are taken
    assert _upload(api_client, version="2", data=b"").status_code == 400
    unknown = _upload(api_client, version="2", checksum_algorithm="MURMUR3_32")
    assert unknown.status_code == 400


def test_list_get_download_delete(api_client: TestClient) -> None:
    fw = _upload(api_client, file_name="pump fw ü.bin").json()
    sw = _upload(api_client, kind="software", title="app", version="3").json()
    assert [p["id"] for p in api_client.get("/api/packages").json()] == [fw["id"], sw["id"]]
    assert [p["id"] for p in api_client.get("/api/packages?kind=software").json()] == [sw["id"]]
    assert api_client.get(f"/api/packages/{fw['id']}").json() == fw
    data = api_client.get(f"/api/packages/{fw['id']}/data")
    assert data.content == FIRMWARE
    assert "filename*=UTF-8''pump%20fw%20%C3%BC.bin" in data.headers["content-disposition"]
    assert api_client.delete(f"/api/packages/{sw['id']}").status_code == 204
    assert api_client.get(f"/api/packages/{sw['id']}").status_code == 404
    assert api_client.get(f"/api/packages/{sw['id']}/data").status_code == 404


def test_a_package_above_the_size_cap_is_413(platform_factory: Callable[..., Platform]) -> None:
    app = create_app(platform_factory(max_package_bytes=1000))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        refused = _upload(client, data=b"x" * 1001)
        assert refused.status_code == 413 and "1000 bytes" in refused.json()["message"]
        assert _upload(client, data=b"x" * 1000).status_code == 201


def test_assignment_sets_shared_attributes_and_device_wins_over_profile(
    api_client: TestClient,
) -> None:
    platform: Platform = api_client.app.state.platform  # type: ignore[attr-defined]
    _profile(platform, "default", "pump")
    one, two = _device(api_client, "p1"), _device(api_client, "p2")
    old = _upload(api_client, version="1.0").json()
    new = _upload(api_client, version="2.0").json()
    done = api_client.put("/api/profiles/pump/firmware", json={"package": old["id"]})
    assert done.status_code == 200 and sorted(done.json()["devices"]) == sorted(
        [one["id"], two["id"]]
    )
    shared = api_client.get("/api/devices/p1/attributes?scope=shared").json()["shared"]
    assert shared["fw_title"] == "pump-fw" and shared["fw_version"] == "1.0"
    assert shared["fw_size"] == len(FIRMWARE) and shared["fw_checksum"] == old["checksum"]
    assert shared["fw_checksum_algorithm"] == "SHA256" and shared["fw_tag"] == "pump-fw 1.0"
    own = api_client.put("/api/devices/p1/firmware", json={"package": new["id"]}).json()
    assert own["source"] == "device" and own["package"]["id"] == new["id"]
    assert api_client.get("/api/devices/p1/firmware").json()["package"]["version"] == "2.0"
    # a new profile package reaches only the devices without one of their own
    again = api_client.put("/api/profiles/pump/firmware", json={"package": new["id"]}).json()
    assert again["devices"] == [two["id"]]
    assert api_client.delete(f"/api/packages/{new['id']}").status_code == 409
    back = api_client.delete("/api/devices/p1/firmware").json()
    assert back["source"] == "profile" and back["package"]["id"] == new["id"]
    api_client.delete("/api/profiles/pump/firmware")
    assert api_client.get("/api/devices/p2/firmware").json()["package"] is None
    assert "fw_title" not in api_client.get("/api/devices/p2/attributes").json().get("shared", {})
    assert api_client.delete(f"/api/packages/{old['id']}").status_code == 204


def test_assignment_refuses_the_wrong_kind_and_unknown_records(api_client: TestClient) -> None:
    _device(api_client, "p1")
    sw = _upload(api_client, kind="software", title="app", version="3").json()
    wrong = api_client.put("/api/devices/p1/firmware", json={"package": sw["id"]})
    assert wrong.status_code == 400
    assert api_client.put("/api/devices/p1/software", json={"package": sw["id"]}).status_code == 200
    assert api_client.put("/api/devices/p1/firmware", json={"package": "nope"}).status_code == 404
    assert api_client.put("/api/devices/zz/software", json={"package": sw["id"]}).status_code == 404
    missing = api_client.put("/api/profiles/ghost/software", json={"package": sw["id"]})
    assert missing.status_code == 404 and "no profile 'ghost'" in missing.json()["message"]


def test_state_reported_as_telemetry_shows_per_device(api_client: TestClient) -> None:
    dev = _device(api_client, "p1")
    fw = _upload(api_client).json()
    api_client.put("/api/devices/p1/firmware", json={"package": fw["id"]})
    report = {"fw_state": "UPDATED", "current_fw_title": "pump-fw", "current_fw_version": "1.1"}
    api_client.post(f"/api/v1/{dev['access_token']}/telemetry", json=report).raise_for_status()
    status = api_client.get("/api/devices/p1/firmware").json()
    assert status["state"] == "UPDATED" and status["current_version"] == "1.1"
    assert status["source"] == "device" and status["error"] is None
    rollout = api_client.get(f"/api/packages/{fw['id']}/devices").json()
    assert [(d["name"], d["state"]) for d in rollout] == [("p1", "UPDATED")]


def test_http_device_downloads_whole_or_in_chunks(api_client: TestClient) -> None:
    dev = _device(api_client, "p1")
    url = f"/api/v1/{dev['access_token']}/firmware"
    query = {"title": "pump-fw", "version": "1.1"}
    assert api_client.get(url, params=query).status_code == 404  # nothing assigned
    fw = _upload(api_client).json()
    api_client.put("/api/devices/p1/firmware", json={"package": fw["id"]})
    whole = api_client.get(url, params=query)
    assert whole.status_code == 200 and whole.content == FIRMWARE
    assert whole.headers["content-type"] == "application/octet-stream"
    parts = [api_client.get(url, params={**query, "size": 1000, "chunk": n}) for n in range(12)]
    assert b"".join(p.content for p in parts) == FIRMWARE and parts[-1].content == b""
    assert api_client.get(url, params={**query, "version": "9"}).status_code == 400
    software = f"/api/v1/{dev['access_token']}/software"
    assert api_client.get(software, params=query).status_code == 404
    shared = api_client.get(
        f"/api/v1/{dev['access_token']}/attributes?sharedKeys=fw_title&sharedKeys=fw_size"
    ).json()["shared"]
    assert shared == {"fw_title": "pump-fw", "fw_size": len(FIRMWARE)}


def test_another_tenant_cannot_reach_packages_or_assign_them(api_client: TestClient) -> None:
    platform: Platform = api_client.app.state.platform  # type: ignore[attr-defined]
    fw = _upload(api_client).json()
    _device(api_client, "mine")
    api_client.post("/api/tenants", json={"id": "rival"}).raise_for_status()
    rival = {"X-Aiot-Tenant": "rival"}
    _profile(platform, "rival", "pump")
    theirs = api_client.post("/api/devices", json={"name": "theirs", "type": "pump"}, headers=rival)
    assert api_client.get("/api/packages", headers=rival).json() == []
    for path in (f"/api/packages/{fw['id']}", f"/api/packages/{fw['id']}/data"):
        assert api_client.get(path, headers=rival).status_code == 404
    assert api_client.delete(f"/api/packages/{fw['id']}", headers=rival).status_code == 404
    body = {"package": fw["id"]}
    assert (
        api_client.put("/api/devices/theirs/firmware", json=body, headers=rival).status_code == 404
    )
    assert (
        api_client.put("/api/profiles/pump/firmware", json=body, headers=rival).status_code == 404
    )
    assert api_client.put("/api/devices/mine/firmware", json=body, headers=rival).status_code == 404
    token = theirs.json()["access_token"]
    query = {"title": "pump-fw", "version": "1.1"}
    assert api_client.get(f"/api/v1/{token}/firmware", params=query).status_code == 404


def test_the_content_type_given_is_served_and_checked(api_client: TestClient) -> None:
    made = _upload(api_client, content_type="application/zip").json()
    data = api_client.get(f"/api/packages/{made['id']}/data")
    assert data.headers["content-type"] == "application/zip"
    bad = _upload(api_client, version="2", content_type="text/plain\r\nX-Evil: 1")
    assert bad.status_code == 400


def test_curl_data_binary_uploads_as_is(api_client: TestClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl --data-binary sends
    params = {"kind": "firmware", "title": "t", "version": "1"}
    made = api_client.post("/api/packages", params=params, content=b"a=b&c", headers=form)
    assert made.status_code == 201, made.text
    assert api_client.get(f"/api/packages/{made.json()['id']}/data").content == b"a=b&c"
