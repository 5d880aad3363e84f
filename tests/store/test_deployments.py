"""Deployments are per tenant, named as telemetry keys, paused and removed without their alarms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aiot.domain import Selector, Severity
from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog import Catalog

POLICY = {"threshold": 3.0, "type": "anomaly", "severity": "MAJOR"}


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    found = Catalog.embedded(tmp_path)
    found.create_tenant("a")
    found.create_tenant("b")
    return found


def _deploy(catalog: Catalog, name: str = "pump-iforest", tenant: str = "a", **kw: Any) -> Any:
    selector = kw.pop("selector", Selector(type="pump", labels={"site": "x"}))
    return catalog.create_deployment(
        tenant, name, "hst", {"trees": 10}, ["temp", "rpm"], selector, POLICY, **kw
    )


def test_a_deployment_round_trips_and_is_found_by_id_or_name(catalog: Catalog) -> None:
    dep = _deploy(catalog, multivariate=True)
    assert catalog.deployment("a", dep.id) == dep == catalog.deployment("a", "pump-iforest")
    assert dep.keys == ("temp", "rpm") and dep.multivariate and not dep.paused
    assert dep.created_ms > 0
    public = dep.public()
    assert public["score_key"] == "score/pump-iforest"
    assert public["selector"] == {"device": None, "type": "pump", "labels": {"site": "x"}}
    assert public["keys"] == ["temp", "rpm"] and public["params"] == {"trees": 10}


def test_names_are_unique_per_tenant_and_listed_in_order(catalog: Catalog) -> None:
    _deploy(catalog, "b-model")
    _deploy(catalog, "a-model")
    _deploy(catalog, "a-model", tenant="b")  # the same name in another tenant is fine
    with pytest.raises(Conflict):
        _deploy(catalog, "a-model")
    assert [d.name for d in catalog.deployments("a")] == ["a-model", "b-model"]
    everyone = [(d.tenant, d.name) for d in catalog.all_deployments()]
    assert everyone == [("a", "a-model"), ("a", "b-model"), ("b", "a-model")]


@pytest.mark.parametrize(
    "name", ["", "a/b", "a b", "x" * 101, "température", "a\n", "score+1", "a#", "a+b"]
)
def test_names_that_cannot_be_telemetry_keys_are_refused(catalog: Catalog, name: str) -> None:
    with pytest.raises(InvalidInput):
        _deploy(catalog, name)
    assert catalog.deployments("a") == []


def test_names_of_letters_digits_dashes_underscores_and_dots_are_accepted(
    catalog: Catalog,
) -> None:
    assert _deploy(catalog, "Pump_2.v1-b").score_key == "score/Pump_2.v1-b"
    assert _deploy(catalog, "x" * 100).name == "x" * 100


def test_bad_fields_are_refused(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput):
        catalog.create_deployment("a", "m", "", {}, ["t"], Selector(device="d"), POLICY)
    with pytest.raises(InvalidInput):
        catalog.create_deployment("a", "m", "hst", {"f": object()}, ["t"], Selector(), POLICY)
    with pytest.raises(InvalidInput):
        catalog.create_deployment("a", "m", "hst", {}, "temp", Selector(), POLICY)
    with pytest.raises(NotFound):
        catalog.create_deployment("nobody", "m", "hst", {}, ["t"], Selector(), POLICY)


def test_pause_and_new_policy(catalog: Catalog) -> None:
    dep = _deploy(catalog)
    paused = catalog.update_deployment("a", dep.name, paused=True)
    assert paused.paused and paused.policy == POLICY
    changed = catalog.update_deployment("a", dep.id, policy={"threshold": 5.0})
    assert changed.paused and changed.policy == {"threshold": 5.0}
    assert catalog.deployment("a", dep.id) == changed
    assert catalog.update_deployment("a", dep.id, paused=False).paused is False


def test_another_tenant_neither_sees_nor_touches_it(catalog: Catalog) -> None:
    dep = _deploy(catalog)
    assert catalog.deployments("b") == []
    for ref in (dep.id, dep.name):
        with pytest.raises(NotFound):
            catalog.deployment("b", ref)
        with pytest.raises(NotFound):
            catalog.update_deployment("b", ref, paused=True)
        with pytest.raises(NotFound):
            catalog.delete_deployment("b", ref)
    assert catalog.deployment("a", dep.id) == dep


def test_deleting_a_deployment_keeps_its_alarms(catalog: Catalog) -> None:
    dep = _deploy(catalog)
    alarm, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000, dep.id)
    assert catalog.delete_deployment("a", dep.name) == dep
    with pytest.raises(NotFound):
        catalog.deployment("a", dep.id)
    assert catalog.alarm("a", alarm.id).deployment == dep.id
    assert catalog.alarms("a", deployment=dep.id) == [alarm]
    [row] = catalog.alarm_stats("a")
    assert (row["deployment"], row["name"], row["raised"]) == (dep.id, None, 1)
    assert _deploy(catalog).id != dep.id  # the name is free again
