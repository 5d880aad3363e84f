"""The catalog keeps tenants apart, hashes keys and survives a reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiot.domain import Role
from aiot.errors import Conflict, NotFound
from aiot.store.catalog import Catalog


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    found = Catalog.embedded(tmp_path)
    found.create_tenant("a")
    found.create_tenant("b")
    return found


def test_devices_are_per_tenant(catalog: Catalog) -> None:
    dev = catalog.create_device("a", "pump", "pump", {"site": "x"})
    catalog.create_device("b", "pump")  # the same name in another tenant is fine
    with pytest.raises(Conflict):
        catalog.create_device("a", "pump")
    with pytest.raises(NotFound):
        catalog.device("b", dev.id)
    assert catalog.device("a", "pump").id == dev.id
    assert catalog.device_by_token(dev.access_token) == dev
    catalog.delete_device("a", dev.id)
    assert catalog.device_by_token(dev.access_token) is None


def test_keys_are_stored_hashed(catalog: Catalog, tmp_path: Path) -> None:
    key, secret = catalog.create_key("a", "ops", Role.OPERATOR)
    assert catalog.authenticate(secret) == key
    assert catalog.authenticate(secret + "x") is None
    assert secret not in (tmp_path / "catalog.sqlite").read_bytes().decode("latin-1")


def test_reopen_keeps_records_and_migrations_are_idempotent(tmp_path: Path) -> None:
    first = Catalog.embedded(tmp_path)
    first.create_tenant("a")
    dev = first.create_device("a", "m1")
    first.close()
    again = Catalog.embedded(tmp_path)
    assert again.device("a", "m1") == dev
    assert [t.id for t in again.tenants()] == ["a"]
