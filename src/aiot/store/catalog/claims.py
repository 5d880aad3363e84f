"""The catalog's device claims, as ThingsBoard's claiming: a device offers, a user claims.

A device that may be claimed says so with a secret and a duration (``offer_claim``); the claim
is kept as a keyed hash of the secret and an expiry, never the secret. A user of the device's
tenant who knows the secret claims it before the expiry (``claim_device``) and becomes its
``owner``. The answers are ThingsBoard's ``ClaimResponse``: ``SUCCESS``; ``FAILURE`` for a
wrong secret, an expired claim or no claim at all (a wrong secret or an expired claim is
forgotten, so that each offer allows one guess); ``CLAIMED`` when it has an owner already.
"""

from __future__ import annotations

import hmac
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiot.domain import Device
from aiot.errors import Conflict, NotFound
from aiot.store.catalog import records
from aiot.store.catalog.tables import DeviceRow
from aiot.store.secrets import SecretBox

__all__ = ["DEFAULT_CLAIM_MS", "ClaimResponse", "ClaimsMixin"]

DEFAULT_CLAIM_MS = 86_400_000  # ThingsBoard's security.claim.duration: 24 hours
ClaimResponse = Literal["SUCCESS", "FAILURE", "CLAIMED"]


class ClaimsMixin:
    """Claim methods of the catalog; the catalog supplies ``_session`` and ``_box``."""

    if TYPE_CHECKING:
        _box: SecretBox

        def _session(self) -> AbstractContextManager[Session]:
            raise NotImplementedError

    def offer_claim(
        self, tenant: str, device_id: str, secret: str, duration_ms: int, now_ms: int
    ) -> None:
        """Let the device be claimed with ``secret`` for ``duration_ms`` (0: 24 hours)."""
        expires = now_ms + (duration_ms if duration_ms > 0 else DEFAULT_CLAIM_MS)
        with self._session() as s:
            row = _locked(s, tenant, device_id)
            if row.owner is not None:
                raise Conflict("the device is claimed already", code="already_claimed")
            row.claim = {"secret_hash": self._box.digest(secret), "expires_ms": expires}

    def claim_device(
        self, tenant: str, device_id: str, secret: str, owner: str, now_ms: int
    ) -> tuple[ClaimResponse, Device]:
        """Claim the device for ``owner`` with the secret it offered; the answer and the device."""
        with self._session() as s:
            row = _locked(s, tenant, device_id)
            answer = self._settle(row, secret, owner, now_ms)
            return answer, records.device(row, self._box)

    def reclaim_device(self, tenant: str, device_id: str) -> tuple[str | None, Device]:
        """Free the device: no owner, no pending claim; the owner it had, and the device."""
        with self._session() as s:
            row = _locked(s, tenant, device_id)
            previous, row.owner, row.claim = row.owner, None, None
            return previous, records.device(row, self._box)

    def _settle(self, row: DeviceRow, secret: str, owner: str, now_ms: int) -> ClaimResponse:
        claim = row.claim
        if claim is None:
            return "FAILURE" if row.owner is None else "CLAIMED"
        row.claim = None  # a claim is settled once, whatever the answer
        digest = self._box.digest(secret)
        wanted = str(claim.get("secret_hash", ""))
        if now_ms > int(claim.get("expires_ms", 0)) or not hmac.compare_digest(digest, wanted):
            return "FAILURE"
        if row.owner is not None:
            return "CLAIMED"
        row.owner = owner
        return "SUCCESS"


def _locked(s: Session, tenant: str, device_id: str) -> DeviceRow:
    """The device row of the tenant, by id or name, locked until the session ends."""
    for column in (DeviceRow.id, DeviceRow.name):
        query = select(DeviceRow).filter_by(tenant_id=tenant).where(column == device_id)
        row = s.scalar(query.with_for_update())
        if row is not None:
            return row
    raise NotFound(f"no device {device_id!r}")
