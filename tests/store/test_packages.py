"""The catalog's packages: per tenant, bytes kept between chunks, assignments resolved."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from aiot.domain.packages import Package
from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog import Catalog
from aiot.store.catalog.packages import _Blobs
from aiot.store.catalog.tables import PackageRow


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    found = Catalog.embedded(tmp_path)
    found.create_tenant("a")
    found.create_tenant("b")
    return found


def _package(catalog: Catalog, tenant: str = "a", **fields: Any) -> Package:
    spec: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "tenant": tenant,
        "kind": "firmware",
        "title": "fw",
        "version": "1",
        "checksum_algorithm": "SHA256",
        "checksum": "00",
        "size": 4,
        "content_type": "application/octet-stream",
        "file_name": "fw.bin",
        "created_ms": 1_767_225_600_000,
    }
    return catalog.create_package(Package(**(spec | fields)), b"data")


def _profile(catalog: Catalog, tenant: str, name: str) -> None:
    catalog.create_profile(tenant, name)


def test_packages_are_per_tenant_and_survive_a_reopen(catalog: Catalog, tmp_path: Path) -> None:
    made = _package(catalog)
    _package(catalog, "b")  # the same title and version in another tenant is fine
    with pytest.raises(Conflict):
        _package(catalog)
    assert _package(catalog, kind="software").kind == "software"  # another kind is fine
    with pytest.raises(NotFound):
        catalog.package("b", made.id)
    with pytest.raises(NotFound):
        catalog.package_data("b", made.id)
    assert Catalog.embedded(tmp_path).package("a", made.id) == made
    assert [p.kind for p in catalog.packages("a")] == ["firmware", "software"]


def test_bytes_are_read_once_for_many_chunks(catalog: Catalog) -> None:
    made = _package(catalog)
    assert catalog.package_data("a", made.id) == b"data"
    with catalog._session() as s:  # bytes never change; a change behind its back is not seen
        s.execute(update(PackageRow).filter_by(id=made.id).values(data=b"else"))
    assert catalog.package_data("a", made.id) == b"data"
    catalog.delete_package("a", made.id)
    with pytest.raises(NotFound):
        catalog.package_data("a", made.id)


def test_the_byte_cache_drops_the_least_recently_used() -> None:
    blobs = _Blobs(10)
    blobs.put("a", b"aaaa")
    blobs.put("b", b"bbbb")
    assert blobs.get("a") == b"aaaa"  # now b is the oldest
    blobs.put("c", b"cccc")
    assert blobs.get("b") is None and blobs.get("a") == b"aaaa" and blobs.size == 8
    blobs.put("huge", b"x" * 11)  # larger than the whole cache: not kept
    assert blobs.get("huge") is None


def test_own_assignment_wins_over_the_profile_and_blocks_deletion(catalog: Catalog) -> None:
    one, two = catalog.create_device("a", "p1", "pump"), catalog.create_device("a", "p2", "pump")
    old, new = _package(catalog), _package(catalog, version="2")
    with pytest.raises(NotFound, match="no profile 'pump'"):
        catalog.assign_profile("a", "pump", "firmware", old.id)
    _profile(catalog, "a", "pump")
    assert sorted(catalog.assign_profile("a", "pump", "firmware", old.id)) == sorted(
        [one.id, two.id]
    )
    catalog.assign_device("a", one.id, "firmware", new.id)
    assert catalog.assigned_package("a", one.id, "firmware") == (new, "device")
    assert catalog.assigned_package("a", two.id, "firmware") == (old, "profile")
    assert catalog.assigned_package("a", two.id, "software") == (None, None)
    assert catalog.devices_following("a", old) == [two.id]
    assert catalog.devices_following("a", new) == [one.id]
    with pytest.raises(Conflict) as refused:
        catalog.delete_package("a", old.id)
    assert refused.value.detail == {"profiles": ["pump"]}
    with pytest.raises(InvalidInput):
        catalog.assign_device("a", one.id, "software", new.id)  # a firmware package
    with pytest.raises(NotFound):
        catalog.assign_device("b", one.id, "firmware", None)  # another tenant's device
    with pytest.raises(NotFound):
        _profile(catalog, "b", "pump")
        catalog.assign_profile("b", "pump", "firmware", old.id)  # another tenant's package


def test_a_new_device_of_a_profile_with_a_package_is_told_of_it(catalog: Catalog) -> None:
    _profile(catalog, "a", "pump")
    package = _package(catalog)
    catalog.assign_profile("a", "pump", "firmware", package.id)
    made = catalog.create_device("a", "later", "pump")
    shared = catalog.attributes("a", made.id, "shared")["shared"]
    assert shared["fw_title"] == "fw" and shared["fw_size"] == 4
    assert catalog.attributes("a", catalog.create_device("a", "other", "valve").id) == {}
