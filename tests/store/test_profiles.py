"""Device profiles and claims in the catalog: per tenant, secrets sealed, claims settled once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog import Catalog
from aiot.store.catalog.claims import DEFAULT_CLAIM_MS


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    found = Catalog.embedded(tmp_path)
    found.create_tenant("a")
    found.create_tenant("b")
    return found


def test_a_provisioning_profile_gets_a_key_and_a_sealed_secret(
    catalog: Catalog, tmp_path: Path
) -> None:
    made = catalog.create_profile("a", "meter", provision="allow_create")
    assert made.provision_key and made.provision_secret
    assert catalog.profile_by_provision_key(made.provision_key) == made
    raw = (tmp_path / "catalog.sqlite").read_bytes()
    assert made.provision_secret.encode() not in raw  # sealed, never in plain text
    plain = catalog.create_profile("a", "pump")
    assert plain.provision == "disabled" and plain.provision_key is None


def test_profiles_are_per_tenant_and_keys_unique_everywhere(catalog: Catalog) -> None:
    catalog.create_profile("a", "meter", provision="allow_create", provision_key="k1")
    catalog.create_profile("b", "meter")  # the same name in another tenant is fine
    with pytest.raises(Conflict):
        catalog.create_profile("a", "meter")
    with pytest.raises(Conflict):
        catalog.create_profile("b", "other", provision="allow_create", provision_key="k1")
    with pytest.raises(NotFound):
        catalog.profile("b", catalog.profile("a", "meter").id)
    assert [p.name for p in catalog.profiles("b")] == ["meter"]
    catalog.delete_tenant("a")
    assert catalog.profile_by_provision_key("k1") is None


def test_update_checks_what_it_changes(catalog: Catalog) -> None:
    catalog.create_profile("a", "meter")
    changed = catalog.update_profile(
        "a", "meter", {"provision": "check_pre_provisioned", "limits": {"messages_per_second": 5}}
    )
    assert changed.provision_key and changed.limits == {"messages_per_second": 5}
    for bad in ({"provision": "sometimes"}, {"limits": {"rate": -1}}, {"name": "x"}):
        with pytest.raises(InvalidInput):
            catalog.update_profile("a", "meter", bad)
    assert catalog.delete_profile("a", "meter").id == changed.id
    with pytest.raises(NotFound):
        catalog.profile("a", "meter")


def test_a_chosen_token_is_checked(catalog: Catalog) -> None:
    device = catalog.create_device("a", "m1", token="my-token_1")
    assert catalog.device_by_token("my-token_1") == device
    with pytest.raises(Conflict) as err:
        catalog.create_device("b", "m2", token="my-token_1")  # tokens are unique everywhere
    assert err.value.code == "token_in_use"
    for bad in ("provision", "has space", "x" * 65, ""):
        with pytest.raises(InvalidInput):
            catalog.create_device("a", "m3", token=bad)


def test_a_claim_is_settled_once(catalog: Catalog) -> None:
    device = catalog.create_device("a", "m1")
    catalog.offer_claim("a", device.id, "s3cret", 1000, now_ms=0)
    raw = catalog._session  # the secret is kept as a keyed hash only
    with raw() as s:
        stored = s.execute(text("SELECT claim FROM devices")).scalar()
    assert "s3cret" not in str(stored)
    assert catalog.claim_device("a", "m1", "wrong", "ops", now_ms=10)[0] == "FAILURE"
    assert catalog.claim_device("a", "m1", "s3cret", "ops", now_ms=10)[0] == "FAILURE"  # gone
    catalog.offer_claim("a", device.id, "s3cret", 1000, now_ms=0)
    assert catalog.claim_device("a", "m1", "s3cret", "ops", now_ms=1001)[0] == "FAILURE"
    catalog.offer_claim("a", device.id, "s3cret", 0, now_ms=0)  # 0: ThingsBoard's 24 hours
    answer, claimed = catalog.claim_device("a", "m1", "s3cret", "ops", now_ms=DEFAULT_CLAIM_MS)
    assert answer == "SUCCESS" and claimed.owner == "ops"
    assert catalog.claim_device("a", "m1", "s3cret", "ops", now_ms=0)[0] == "CLAIMED"
    with pytest.raises(Conflict):
        catalog.offer_claim("a", device.id, "again", 0, now_ms=0)
    previous, freed = catalog.reclaim_device("a", "m1")
    assert previous == "ops" and freed.owner is None
    catalog.offer_claim("a", device.id, "again", 0, now_ms=0)


def test_another_tenant_cannot_claim(catalog: Catalog) -> None:
    device = catalog.create_device("a", "m1")
    catalog.offer_claim("a", device.id, "s", 0, now_ms=0)
    for call in (
        lambda: catalog.claim_device("b", device.id, "s", "x", now_ms=0),
        lambda: catalog.claim_device("b", "m1", "s", "x", now_ms=0),
        lambda: catalog.reclaim_device("b", "m1"),
        lambda: catalog.offer_claim("b", device.id, "s", 0, now_ms=0),
    ):
        with pytest.raises(NotFound):
            call()
    assert catalog.claim_device("a", "m1", "s", "x", now_ms=0)[0] == "SUCCESS"
