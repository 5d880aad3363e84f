"""Secrets at rest: the catalog file holds no plain token, password, webhook secret or key hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from aiot.domain import Bridge, Role, Selector
from aiot.errors import StoreError
from aiot.store.catalog import Catalog
from aiot.store.catalog import engine as catalog_engine
from aiot.store.catalog.engine import open_engine
from aiot.store.secrets import SecretBox

PASSWORD = "bridge-pass-7f3a9c"
HOOK_SECRET = "hook-secret-51d2e8"
POLICY = {"notify": [{"webhook": {"url": "https://ops.example/hook", "secret": HOOK_SECRET}}]}


def _bytes(folder: Path) -> bytes:
    """Every byte SQLite keeps for the catalog: the file and its WAL."""
    return b"".join(p.read_bytes() for p in folder.glob("catalog.sqlite*"))


def _bridge(tenant: str) -> Bridge:
    return Bridge(
        id="b1",
        tenant=tenant,
        name="plant",
        url="mqtt://broker:1883",
        topics=("p/{device}/json",),
        created_at=datetime.now(UTC),
        username="aiot",
        password=PASSWORD,
    )


def _fill(catalog: Catalog) -> tuple[str, str]:
    """A device, a bridge, a deployment with a signed webhook, a key: (token, key secret)."""
    catalog.create_tenant("a")
    device = catalog.create_device("a", "pump")
    catalog.create_bridge(_bridge("a"))
    catalog.create_deployment("a", "m1", "zscore", {}, ["temp"], Selector(), POLICY)
    _, secret = catalog.create_key("a", "ops", Role.OPERATOR)
    return device.access_token, secret


def test_the_catalog_file_holds_no_plain_secret(tmp_path: Path) -> None:
    catalog = Catalog.embedded(tmp_path)
    token, key = _fill(catalog)
    catalog.close()
    stored = _bytes(tmp_path)
    assert token.encode() not in stored
    assert PASSWORD.encode() not in stored
    assert HOOK_SECRET.encode() not in stored
    assert key.encode() not in stored
    assert hashlib.sha256(key.encode()).hexdigest().encode() not in stored  # no unsalted hash


def test_sealed_secrets_still_work_after_a_reopen(tmp_path: Path) -> None:
    first = Catalog.embedded(tmp_path)
    token, key = _fill(first)
    first.close()
    catalog = Catalog.embedded(tmp_path)
    device = catalog.device_by_token(token)
    assert device is not None and device.name == "pump" and device.access_token == token
    assert catalog.device("a", "pump").access_token == token  # an operator may still read it
    assert catalog.device_by_token(token[:-1] + ("y" if token.endswith("x") else "x")) is None
    assert catalog.device_by_token("\udcff" + token) is None  # a lone surrogate from a URL
    assert catalog.bridge("a", "plant").password == PASSWORD
    assert catalog.deployment("a", "m1").policy == POLICY
    assert catalog.authenticate(key) is not None and catalog.authenticate(key + "x") is None
    catalog.close()


def test_a_webhook_secret_set_by_an_update_is_sealed(tmp_path: Path) -> None:
    catalog = Catalog.embedded(tmp_path)
    catalog.create_tenant("a")
    catalog.create_deployment("a", "m1", "zscore", {}, ["temp"], Selector(), {})
    catalog.update_deployment("a", "m1", policy=POLICY)
    assert catalog.deployment("a", "m1").policy == POLICY
    catalog.close()
    assert HOOK_SECRET.encode() not in _bytes(tmp_path)


def test_the_secret_key_file_is_private_and_kept(tmp_path: Path) -> None:
    Catalog.embedded(tmp_path).close()
    key = tmp_path / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    first = key.read_bytes()
    Catalog.embedded(tmp_path).close()
    assert key.read_bytes() == first


def test_another_secret_key_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    catalog = Catalog.embedded(tmp_path)
    _fill(catalog)
    catalog.close()
    with pytest.raises(StoreError, match="sealed with another secret key"):
        Catalog.embedded(tmp_path, SecretBox.generate())


def _old_catalog(folder: Path) -> Path:
    """A catalog as aiot wrote it before secrets were sealed (revision 0003), with secrets."""
    path = folder / "catalog.sqlite"
    engine = open_engine(f"sqlite:///{path}")
    config = Config()
    config.set_main_option(
        "script_location", str(Path(catalog_engine.__file__).parent / "migrations")
    )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        for sql in _OLD_ROWS:
            connection.execute(sa.text(sql))
    engine.dispose()
    return path


_OLD_HASH = hashlib.sha256(b"aiot_oldkey0123456789").hexdigest()
_OLD_ROWS = [
    "INSERT INTO tenants VALUES ('a', 'A', '2024-01-01 00:00:00')",
    "INSERT INTO devices (id, tenant_id, name, type, labels, access_token, created_at)"
    " VALUES ('d1', 'a', 'pump', 'default', '{}', 'oldtoken-9f8e7d', '2024-01-01 00:00:00')",
    "INSERT INTO api_keys VALUES ('k1', 'a', 'ops', 'operator', 'aiot_oldk',"
    f" '{_OLD_HASH}', '2024-01-01 00:00:00')",
    "INSERT INTO bridges (id, tenant_id, name, url, topics, username, password, create_devices,"
    " device_type, ca_file, created_at) VALUES ('b1', 'a', 'plant', 'mqtt://broker:1883',"
    f" '[\"p/{{device}}/json\"]', 'aiot', '{PASSWORD}', 0, 'default', NULL,"
    " '2024-01-01 00:00:00')",
    "INSERT INTO deployments VALUES ('m1', 'a', 'm1', 'zscore', '{}', '[\"temp\"]',"
    ' \'{"device": null, "type": null, "labels": {}}\','
    ' \'{"notify": [{"webhook": {"url": "https://ops.example/hook", "secret": "'
    + HOOK_SECRET
    + "\"}}]}', 0, 0, 0)",
]


def test_an_old_catalog_is_sealed_on_open_and_keeps_working(tmp_path: Path) -> None:
    old = _old_catalog(tmp_path).read_bytes()
    assert b"oldtoken-9f8e7d" in old and PASSWORD.encode() in old  # what the upgrade removes

    catalog = Catalog.embedded(tmp_path)
    device = catalog.device_by_token("oldtoken-9f8e7d")
    assert device is not None and device.id == "d1"
    assert catalog.device("a", "d1").access_token == "oldtoken-9f8e7d"
    key = catalog.authenticate("aiot_oldkey0123456789")
    assert key is not None and key.id == "k1"
    assert catalog.bridge("a", "plant").password == PASSWORD
    assert catalog.deployment("a", "m1").policy == POLICY
    catalog.close()

    stored = _bytes(tmp_path)
    for plain in (b"oldtoken-9f8e7d", PASSWORD.encode(), HOOK_SECRET.encode(), _OLD_HASH.encode()):
        assert plain not in stored, plain
