"""Alarms through the REST API: filtered lists, ack, clear, comments, verdicts and precision.

Alarms are raised through the catalog directly; the stream stage raising them from scores is
tested with the stream stage.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiot.api import create_app
from aiot.app import Platform
from aiot.domain import Severity
from aiot.sim.fleet import mixed_fleet
from tests.conftest import ADMIN_KEY

Alarms = dict[str, dict[str, Any]]


def _key(client: TestClient, tenant: str, role: str) -> tuple[dict[str, str], str]:
    made = client.post(f"/api/tenants/{tenant}/keys", json={"name": role, "role": role})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}, made.json()["id"]


def _raise(client: TestClient, *args: Any, **kwargs: Any) -> dict[str, Any]:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    alarm, new = platform.catalog.raise_alarm("default", *args, **kwargs)
    assert new
    return alarm.public()


@pytest.fixture
def alarms(api_client: TestClient) -> Alarms:
    """Three alarms: two of deployment pump-z on pump-1 and pump-2, one without on pump-1."""
    pumps = [api_client.post("/api/devices", json={"name": f"pump-{i}"}).json() for i in (1, 2)]
    spec = {"name": "pump-z", "detector": "zscore", "keys": ["t"], "selector": {"type": "default"}}
    dep = api_client.post("/api/deployments", json=spec).json()
    one, two = pumps[0]["id"], pumps[1]["id"]
    return {
        "first": _raise(api_client, "anomaly", one, Severity.MAJOR, 1_000, dep["id"], {"score": 5}),
        "second": _raise(api_client, "anomaly", two, Severity.CRITICAL, 2_000, "pump-z"),
        "third": _raise(api_client, "overheat", one, Severity.MINOR, 3_000),
    }


def _ids(client: TestClient, **params: Any) -> list[str]:
    answer = client.get("/api/alarms", params=params)
    assert answer.status_code == 200, answer.text
    return [a["id"] for a in answer.json()]


def test_alarms_list_newest_first_and_filter(api_client: TestClient, alarms: Alarms) -> None:
    first, second, third = (alarms[k]["id"] for k in ("first", "second", "third"))
    assert _ids(api_client) == [third, second, first]
    assert _ids(api_client, device="pump-1") == [third, first]
    assert _ids(api_client, device=alarms["second"]["device"]) == [second]
    assert _ids(api_client, severity="CRITICAL") == [second]
    assert _ids(api_client, type="overheat") == [third]
    assert _ids(api_client, deployment="pump-z") == [second, first]
    assert _ids(api_client, deployment="pump-z", device="pump-1") == [first]
    assert _ids(api_client, status="ACTIVE_UNACK", limit=1) == [third]
    assert _ids(api_client, status="CLEARED_ACK") == []
    shown = api_client.get(f"/api/alarms/{first}").json()
    assert shown["details"] == {"score": 5, "max_score": 5} and shown["active"] is True


def test_bad_alarm_filters_are_refused(api_client: TestClient, alarms: Alarms) -> None:
    for params in ({"status": "OPEN"}, {"severity": "HUGE"}, {"limit": 0}):
        answer = api_client.get("/api/alarms", params=params)
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_input", params
    ghost = api_client.get("/api/alarms", params={"device": "ghost"})
    assert ghost.status_code == 404 and ghost.json()["message"] == "no device 'ghost'"
    assert api_client.get("/api/alarms", params={"deployment": "ghost"}).status_code == 404
    assert api_client.get("/api/alarms/no-such-alarm").status_code == 404


def test_ack_clear_and_comment(api_client: TestClient, alarms: Alarms) -> None:
    alarm = alarms["first"]["id"]
    acked = api_client.post(f"/api/alarms/{alarm}/ack").json()
    assert (acked["status"], acked["acknowledged"], acked["active"]) == ("ACTIVE_ACK", True, True)
    cleared = api_client.post(f"/api/alarms/{alarm}/clear").json()
    assert (cleared["status"], cleared["active"]) == ("CLEARED_ACK", False)
    assert cleared["end_ms"] is not None
    assert _ids(api_client, status="CLEARED_ACK") == [alarm]
    said = api_client.post(f"/api/alarms/{alarm}/comment", json={"text": "bearing replaced"})
    assert said.status_code == 200, said.text
    operator, key_id = _key(api_client, "default", "operator")
    api_client.post(f"/api/alarms/{alarm}/comment", json={"text": "checked"}, headers=operator)
    comments = api_client.get(f"/api/alarms/{alarm}").json()["comments"]
    assert [(c["text"], c["by"]) for c in comments] == [
        ("bearing replaced", "admin"),
        ("checked", key_id),
    ]
    assert all(c["at_ms"] > 0 for c in comments)
    empty = api_client.post(f"/api/alarms/{alarm}/comment", json={"text": ""})
    assert empty.status_code == 400 and empty.json()["detail"][0]["loc"] == ["body", "text"]


def test_verdicts_are_kept_and_a_later_one_replaces_the_earlier(
    api_client: TestClient, alarms: Alarms
) -> None:
    alarm = alarms["first"]["id"]
    body = {"true_alarm": True, "fault_type": "bearing", "root_cause": "wear", "lesson": "grease"}
    judged = api_client.post(f"/api/alarms/{alarm}/verdict", json=body).json()["verdict"]
    assert {k: judged[k] for k in body} == body and judged["by"] == "admin"
    assert judged["at_ms"] > 0
    again = api_client.post(f"/api/alarms/{alarm}/verdict", json={"true_alarm": False}).json()
    assert again["verdict"]["true_alarm"] is False and again["verdict"]["fault_type"] is None
    for bad in ({}, {"true_alarm": "maybe"}, {"true_alarm": True, "cause": "x"}):
        answer = api_client.post(f"/api/alarms/{alarm}/verdict", json=bad)
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_input", bad


def test_stats_count_per_deployment_with_precision(api_client: TestClient, alarms: Alarms) -> None:
    first, second, third = (alarms[k]["id"] for k in ("first", "second", "third"))
    api_client.post(f"/api/alarms/{first}/verdict", json={"true_alarm": True})
    api_client.post(f"/api/alarms/{second}/verdict", json={"true_alarm": False})
    api_client.post(f"/api/alarms/{second}/clear")
    api_client.post(f"/api/alarms/{third}/verdict", json={"true_alarm": True})
    stats = api_client.get("/api/alarms/stats").json()
    counts = [(s["name"], s["raised"], s["active"]) for s in stats]
    assert counts == [("pump-z", 2, 1), (None, 1, 1)]
    assert (stats[0]["confirmed"], stats[0]["rejected"], stats[0]["precision"]) == (1, 1, 0.5)
    assert stats[1]["deployment"] is None and stats[1]["precision"] == 1.0


def test_a_viewer_reads_alarms_but_cannot_act_on_them(
    api_client: TestClient, alarms: Alarms
) -> None:
    viewer, _ = _key(api_client, "default", "viewer")
    alarm = alarms["first"]["id"]
    assert len(api_client.get("/api/alarms", headers=viewer).json()) == 3
    assert api_client.get(f"/api/alarms/{alarm}", headers=viewer).status_code == 200
    assert api_client.get("/api/alarms/stats", headers=viewer).status_code == 200
    for action, body in (("ack", None), ("clear", None), ("comment", {"text": "x"})):
        answer = api_client.post(f"/api/alarms/{alarm}/{action}", json=body, headers=viewer)
        assert answer.status_code == 403, action
    verdict = {"true_alarm": True}
    answer = api_client.post(f"/api/alarms/{alarm}/verdict", json=verdict, headers=viewer)
    assert answer.status_code == 403
    assert api_client.get(f"/api/alarms/{alarm}").json()["status"] == "ACTIVE_UNACK"


def test_another_tenants_alarm_is_404(api_client: TestClient, alarms: Alarms) -> None:
    api_client.post("/api/tenants", json={"id": "acme"})
    acme, _ = _key(api_client, "acme", "admin")
    alarm = alarms["first"]["id"]
    assert api_client.get("/api/alarms", headers=acme).json() == []
    assert api_client.get("/api/alarms/stats", headers=acme).json() == []
    assert api_client.get(f"/api/alarms/{alarm}", headers=acme).status_code == 404
    for action, body in (
        ("ack", None),
        ("clear", None),
        ("comment", {"text": "x"}),
        ("verdict", {"true_alarm": True}),
    ):
        answer = api_client.post(f"/api/alarms/{alarm}/{action}", json=body, headers=acme)
        assert answer.status_code == 404, action
    assert api_client.get(f"/api/alarms/{alarm}").json()["comments"] == []


def test_simulated_faults_are_listed_with_the_alarms_that_overlap_them(
    platform_factory: Any,
) -> None:
    platform = platform_factory()
    fleet = mixed_fleet(devices_per_vertical=1, seed=2, fault_rate=24.0)
    list(fleet.generate(0, 6 * 3_600_000))
    fault = fleet.labels[0]
    device = platform.catalog.create_device("default", fault.device, "sim")
    platform.catalog.raise_alarm(
        "default", "x", device.id, Severity.MAJOR, fault.start_ms + 1000, None, {}
    )
    platform.simulated = fleet
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(platform), headers=headers) as client:
        listed = client.get("/api/sim/faults").json()
    mine = [f for f in listed if f["device"] == device.id]
    assert mine and mine[0]["fault"] == fault.fault
    assert len(mine[0]["alarms"]) == 1
    assert {f["device_name"] for f in listed} == {fault.device}  # only this tenant's devices


def test_an_alarm_is_assigned_and_unassigned(api_client: TestClient, alarms: Alarms) -> None:
    alarm = alarms["first"]["id"]
    assigned = api_client.post(f"/api/alarms/{alarm}/assign", json={"assignee": "maria"}).json()
    assert assigned["assignee"] == "maria"
    freed = api_client.post(f"/api/alarms/{alarm}/assign", json={"assignee": None}).json()
    assert freed["assignee"] is None
    assert api_client.post("/api/alarms/nope/assign", json={}).status_code == 404
