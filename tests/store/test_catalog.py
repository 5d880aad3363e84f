"""The catalog keeps tenants apart, hashes keys and survives a reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiot.domain import Role
from aiot.errors import Conflict, NotFound
from aiot.store.catalog import Catalog, records


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


def test_a_new_token_replaces_the_old_one_at_once(catalog: Catalog) -> None:
    dev = catalog.create_device("a", "pump")
    assert catalog.device_by_token(dev.access_token) == dev  # cached
    renewed = catalog.new_token("a", "pump")
    assert renewed.id == dev.id and renewed.access_token != dev.access_token
    assert catalog.device_by_token(dev.access_token) is None
    assert catalog.device_by_token(renewed.access_token) == renewed
    with pytest.raises(NotFound):
        catalog.new_token("b", dev.id)


def test_a_lookup_racing_a_deletion_does_not_bring_the_token_back(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = catalog.create_device("a", "pump")
    real, raced = records.device, []

    def read_then_delete(*args: object) -> object:
        found = real(*args)  # type: ignore[arg-type]
        if not raced:  # the device is deleted while its token's row is being read
            raced.append(True)
            catalog.delete_device("a", dev.id)
        return found

    monkeypatch.setattr(records, "device", read_then_delete)
    catalog.device_by_token(dev.access_token)
    monkeypatch.undo()
    assert raced
    assert catalog.device_by_token(dev.access_token) is None  # not cached from before


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
