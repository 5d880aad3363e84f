"""Alarms follow ThingsBoard's lifecycle, stay one per open condition, and survive a restart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from aiot.domain import AlarmStatus, Selector, Severity, Verdict
from aiot.errors import InvalidInput, NotFound
from aiot.store.catalog import Catalog, alarm_queries
from aiot.store.catalog import alarms as alarms_module
from aiot.store.catalog.engine import open_engine
from aiot.store.catalog.tables import AlarmRow

ACTIVE_UNACK, ACTIVE_ACK = AlarmStatus.ACTIVE_UNACK, AlarmStatus.ACTIVE_ACK
CLEARED_UNACK, CLEARED_ACK = AlarmStatus.CLEARED_UNACK, AlarmStatus.CLEARED_ACK


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    found = Catalog.embedded(tmp_path)
    found.create_tenant("a")
    found.create_tenant("b")
    return found


def _deploy(catalog: Catalog, name: str, tenant: str = "a") -> str:
    selector = Selector(type="pump")
    return catalog.create_deployment(tenant, name, "hst", {}, ["t"], selector, {}).id


def test_ack_then_clear_and_clear_then_ack(catalog: Catalog) -> None:
    first, new = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000)
    assert new and first.status is ACTIVE_UNACK and first.end_ms is None
    assert catalog.ack_alarm("a", first.id).status is ACTIVE_ACK
    assert catalog.ack_alarm("a", first.id).status is ACTIVE_ACK  # twice changes nothing
    cleared = catalog.clear_alarm("a", first.id, 5_000)
    assert (cleared.status, cleared.end_ms) == (CLEARED_ACK, 5_000)
    assert catalog.clear_alarm("a", first.id, 9_000) == cleared  # a cleared one stays as it was

    second, _ = catalog.raise_alarm("a", "anomaly", "d2", Severity.MINOR, 2_000)
    assert catalog.clear_alarm("a", second.id, 3_000).status is CLEARED_UNACK
    assert catalog.ack_alarm("a", second.id).status is CLEARED_ACK
    assert catalog.alarm("a", second.id).status is CLEARED_ACK


def test_a_second_raise_updates_the_open_alarm(catalog: Catalog) -> None:
    details = {"score": 4.0, "threshold": 3.0, "values": {"t": 90}}
    first, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MINOR, 1_000, None, details)
    catalog.ack_alarm("a", first.id)
    again, new = catalog.raise_alarm(
        "a", "anomaly", "d1", Severity.MAJOR, 2_000, None, {"score": 3.5, "threshold": 3.2}
    )
    assert not new and again.id == first.id
    assert again.start_ms == 1_000 and again.status is ACTIVE_ACK  # first start, ack kept
    assert again.severity is Severity.MAJOR
    assert again.details == {"score": 3.5, "threshold": 3.2, "values": {"t": 90}, "max_score": 4.0}
    assert catalog.active_alarm("a", "anomaly", "d1") == again
    assert len(catalog.alarms("a")) == 1


def test_after_a_clear_a_raise_opens_a_new_alarm(catalog: Catalog) -> None:
    first, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000)
    catalog.clear_alarm("a", first.id, 2_000, {"score": 0.5})
    assert catalog.active_alarm("a", "anomaly", "d1") is None
    second, new = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 3_000)
    assert new and second.id != first.id
    assert catalog.alarm("a", first.id).details == {"score": 0.5, "max_score": 0.5}
    other_type, new_type = catalog.raise_alarm("a", "offline", "d1", Severity.WARNING, 3_000)
    other_device, new_device = catalog.raise_alarm("a", "anomaly", "d2", Severity.MAJOR, 3_000)
    assert new_type and new_device and len({second.id, other_type.id, other_device.id}) == 3


def test_a_raise_that_loses_a_race_updates_the_winner(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000)
    real, reads = alarm_queries.open_alarm, []

    def late(tenant: str, type: str, device: str) -> sa.Select[AlarmRow]:
        reads.append(device)  # the first read misses the alarm another process just opened
        return real(tenant, type, "elsewhere" if len(reads) == 1 else device)

    monkeypatch.setattr(alarms_module, "open_alarm", late)
    again, new = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 2_000, None, {"x": 1})
    assert not new and again.id == winner.id and again.details == {"x": 1}
    assert len(reads) == 2


def test_filters_and_newest_first(catalog: Catalog) -> None:
    dep = _deploy(catalog, "m1")
    a1, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000, dep)
    a2, _ = catalog.raise_alarm("a", "anomaly", "d2", Severity.CRITICAL, 3_000, "m1")
    a3, _ = catalog.raise_alarm("a", "offline", "d1", Severity.WARNING, 2_000)
    catalog.clear_alarm("a", a1.id, 4_000)
    a1 = catalog.alarm("a", a1.id)

    def ids(**kw: object) -> list[str]:
        return [x.id for x in catalog.alarms("a", **kw)]  # type: ignore[arg-type]

    assert ids() == [a2.id, a3.id, a1.id]
    assert ids(status=CLEARED_UNACK) == [a1.id] == ids(status="CLEARED_UNACK")
    assert ids(active=True) == [a2.id, a3.id] and ids(active=False) == [a1.id]
    assert ids(severity=Severity.CRITICAL) == [a2.id]
    assert ids(device="d1") == [a3.id, a1.id]
    assert ids(type="offline") == [a3.id]
    assert ids(deployment=dep) == [a2.id, a1.id]
    assert a2.deployment == dep  # named by name, stored by id
    assert ids(start_ms=1_000, end_ms=3_000) == [a3.id, a1.id]  # start_ms <= start < end_ms
    assert ids(limit=1) == [a2.id]
    with pytest.raises(InvalidInput):
        catalog.alarms("a", status="OPEN")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        catalog.alarms("a", limit=0)


def test_comments_assignee_and_verdict_round_trip(catalog: Catalog) -> None:
    alarm, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000)
    catalog.comment_alarm("a", alarm.id, "looking", by="ann", at_ms=2_000)
    commented = catalog.comment_alarm("a", alarm.id, "bearing noise")
    assert commented.comments[0] == {"text": "looking", "by": "ann", "at_ms": 2_000}
    assert commented.comments[1]["text"] == "bearing noise" and commented.comments[1]["at_ms"] > 0
    for bad in ("", "   ", "x" * 4001):
        with pytest.raises(InvalidInput):
            catalog.comment_alarm("a", alarm.id, bad)
    assert catalog.assign_alarm("a", alarm.id, "bob").assignee == "bob"
    assert catalog.assign_alarm("a", alarm.id, None).assignee is None

    wrong = Verdict(False, lesson="a sensor glitch", by="ann", at_ms=3_000)
    assert catalog.label_alarm("a", alarm.id, wrong).verdict == wrong
    right = Verdict(True, fault_type="bearing", root_cause="wear", by="bob")
    labelled = catalog.label_alarm("a", alarm.id, right)  # a later verdict replaces it
    assert labelled.verdict is not None and labelled.verdict.at_ms > 0  # stamped when given 0
    assert labelled.verdict.fault_type == "bearing" and labelled.verdict.true_alarm
    assert catalog.alarm("a", alarm.id) == labelled
    public = json.loads(json.dumps(labelled.public()))
    assert public["status"] == "ACTIVE_UNACK" and public["severity"] == "MAJOR"
    assert public["verdict"]["root_cause"] == "wear" and len(public["comments"]) == 2


def test_details_from_detectors_are_stored_as_plain_json(catalog: Catalog) -> None:
    details = {"score": np.float32(4.5), "values": {"t": np.int64(7), "v": float("nan")}}
    alarm, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000, None, details)
    assert alarm.details == {"score": 4.5, "values": {"t": 7, "v": None}, "max_score": 4.5}
    with pytest.raises(InvalidInput):
        catalog.raise_alarm("a", "anomaly", "d2", Severity.MAJOR, 1_000, None, {"x": object()})
    with pytest.raises(InvalidInput):
        catalog.raise_alarm("a", "anomaly", "d2", "LOUD", 1_000)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        catalog.raise_alarm("a", "", "d2", Severity.MAJOR, 1_000)


def test_stats_count_verdicts_and_precision_per_deployment(catalog: Catalog) -> None:
    m1, m2 = _deploy(catalog, "m1"), _deploy(catalog, "m2")
    _deploy(catalog, "quiet")
    verdicts = [True, True, False, None]
    for i, verdict in enumerate(verdicts):
        alarm, _ = catalog.raise_alarm("a", "anomaly", f"d{i}", Severity.MAJOR, i, m1)
        if i:
            catalog.clear_alarm("a", alarm.id, 10)
        if verdict is not None:
            catalog.label_alarm("a", alarm.id, Verdict(verdict))
    catalog.raise_alarm("a", "anomaly", "d9", Severity.MAJOR, 1, m2)
    manual, _ = catalog.raise_alarm("a", "manual", "d9", Severity.MINOR, 1)
    catalog.label_alarm("a", manual.id, Verdict(False))
    stats = {row["name"]: row for row in catalog.alarm_stats("a")}
    assert list(stats) == ["m1", "m2", "quiet", None]
    assert stats["m1"] == {
        "deployment": m1,
        "name": "m1",
        "raised": 4,
        "active": 1,
        "labelled": 3,
        "confirmed": 2,
        "rejected": 1,
        "precision": 2 / 3,
    }
    assert stats["m2"]["raised"] == 1 and stats["m2"]["precision"] is None
    assert stats["m2"]["deployment"] == m2
    assert stats["quiet"]["raised"] == 0
    assert stats[None]["deployment"] is None and stats[None]["precision"] == 0.0
    assert catalog.alarm_stats("b") == []


def test_another_tenant_sees_nothing_and_touches_nothing(catalog: Catalog) -> None:
    dep = _deploy(catalog, "m1")
    alarm, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000, dep)
    assert catalog.alarms("b") == [] and catalog.active_alarm("b", "anomaly", "d1") is None
    touches: list[Callable[[], object]] = [
        lambda: catalog.alarm("b", alarm.id),
        lambda: catalog.ack_alarm("b", alarm.id),
        lambda: catalog.clear_alarm("b", alarm.id, 2_000),
        lambda: catalog.comment_alarm("b", alarm.id, "mine now"),
        lambda: catalog.assign_alarm("b", alarm.id, "eve"),
        lambda: catalog.label_alarm("b", alarm.id, Verdict(False)),
        lambda: catalog.raise_alarm("b", "anomaly", "d1", Severity.MAJOR, 1_000, dep),
        lambda: catalog.raise_alarm("nobody", "anomaly", "d1", Severity.MAJOR, 1_000),
    ]
    for touch in touches:
        with pytest.raises(NotFound):
            touch()
    assert catalog.alarm("a", alarm.id) == alarm
    assert catalog.alarms("b") == []
    # b's own alarm of the same type on a device of the same name is its own
    theirs, new = catalog.raise_alarm("b", "anomaly", "d1", Severity.MAJOR, 1_000)
    assert new and theirs.id != alarm.id


def test_the_database_keeps_one_open_alarm_per_type_and_device(
    catalog: Catalog, tmp_path: Path
) -> None:
    alarm, _ = catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000)
    engine = open_engine(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    row = {**alarm.public(), "id": "other", "tenant_id": "a", "device_id": "d1"}
    insert = sa.text(
        "INSERT INTO alarms (id, tenant_id, type, device_id, severity, status, start_ms,"
        " details, comments) VALUES (:id, :tenant_id, :type, :device_id, :severity, :status,"
        " :start_ms, '{}', '[]')"
    )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(insert, row)
    catalog.clear_alarm("a", alarm.id, 2_000)
    with engine.begin() as connection:  # a cleared one no longer counts
        connection.execute(insert, row)
    engine.dispose()
    assert len(catalog.alarms("a")) == 2


def test_alarms_and_deployments_survive_a_restart(tmp_path: Path) -> None:
    first = Catalog.embedded(tmp_path)
    first.create_tenant("a")
    dep = _deploy(first, "m1")
    alarm, _ = first.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000, dep, {"score": 5})
    first.comment_alarm("a", alarm.id, "seen", by="ann", at_ms=2_000)
    alarm = first.label_alarm("a", alarm.id, Verdict(True, lesson="check the bearing", at_ms=3))
    deployment = first.deployment("a", dep)
    first.close()

    again = Catalog.embedded(tmp_path)
    assert again.alarm("a", alarm.id) == alarm
    assert again.deployments("a") == [deployment]
    same, new = again.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 9_000, dep, {"score": 7})
    assert not new and same.id == alarm.id and same.details["max_score"] == 7
    again.close()


def _alembic(engine: sa.Engine, action: Callable[[Config, str], None], revision: str) -> None:
    config = Config()
    script = Path(alarms_module.__file__).parent / "migrations"
    config.set_main_option("script_location", str(script))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


def test_a_catalog_at_revision_0002_is_upgraded_on_open(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    _alembic(engine, command.upgrade, "0002")
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO tenants VALUES ('a', 'A', '2024-01-01 00:00:00')"))
    assert "alarms" not in sa.inspect(engine).get_table_names()
    engine.dispose()

    catalog = Catalog.embedded(tmp_path)
    catalog.raise_alarm("a", "anomaly", "d1", Severity.MAJOR, 1_000, _deploy(catalog, "m1"))
    catalog.close()

    reopened = Catalog.embedded(tmp_path)
    inspector = sa.inspect(engine)
    assert {"deployments", "alarms", "tenants", "bridges"} <= set(inspector.get_table_names())
    indexes = {i["name"] for i in inspector.get_indexes("alarms")}
    assert {"ix_alarms_tenant_id_status", "ix_alarms_tenant_id_device_id"} <= indexes
    assert [t.id for t in reopened.tenants()] == ["a"]
    assert len(reopened.alarms("a")) == 1 and reopened.deployment("a", "m1").name == "m1"
    reopened.close()


def test_the_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    Catalog.embedded(tmp_path).close()
    engine = open_engine(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    _alembic(engine, command.downgrade, "0002")
    assert not {"alarms", "deployments"} & set(sa.inspect(engine).get_table_names())
    _alembic(engine, command.upgrade, "head")
    assert {"alarms", "deployments"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
