"""Devices' credentials beside the access token: X.509 certificates and MQTT basic credentials.

A device given a certificate connects over MQTT with TLS, presenting it; aiot finds the device
by the certificate's SHA-256 fingerprint, whatever user name it sends. The certificate itself is
public and is kept so that a self-signed one can be trusted by the MQTT endpoint after a restart.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from aiot.domain import Device
from aiot.errors import InvalidInput
from aiot.store.catalog import records
from aiot.store.catalog.tables import DeviceRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aiot.store.secrets import SecretBox

__all__ = [
    "BasicCredentialsMixin",
    "CertificatesMixin",
    "basic_id",
    "fingerprint",
    "read_certificate",
]


def fingerprint(der: bytes) -> str:
    """The SHA-256 of a certificate's DER bytes, in hex."""
    return hashlib.sha256(der).hexdigest()


def read_certificate(pem: str) -> tuple[str, bytes]:
    """One PEM certificate, checked: its normalised PEM and its DER bytes."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as err:
        raise InvalidInput("not a PEM X.509 certificate", str(err)) from None
    der = cert.public_bytes(serialization.Encoding.DER)
    return cert.public_bytes(serialization.Encoding.PEM).decode(), der


class CertificatesMixin:
    """Setting, finding and listing device certificates."""

    _box: SecretBox

    if TYPE_CHECKING:

        def _session(self) -> AbstractContextManager[Session]: ...

        def device(self, tenant: str, device_id: str) -> Device: ...

    def set_certificate(self, tenant: str, device_id: str, pem: str | None) -> Device:
        """Give the device a certificate (``None``: take it away); unique everywhere (409)."""
        found = self.device(tenant, device_id)
        normal, der = read_certificate(pem) if pem is not None else (None, b"")
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(tenant_id=tenant, id=found.id))
            assert row is not None
            row.cert_pem = normal
            row.cert_fingerprint = fingerprint(der) if normal is not None else None
            return records.device(row, self._box)

    def device_by_certificate(self, der: bytes) -> Device | None:
        """The device this certificate (DER bytes) belongs to, or None."""
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(cert_fingerprint=fingerprint(der)))
            return records.device(row, self._box) if row is not None else None

    def certificate(self, tenant: str, device_id: str) -> str | None:
        """The device's certificate (PEM), or None."""
        with self._session() as s:
            query = select(DeviceRow.cert_pem).filter_by(tenant_id=tenant, id=device_id)
            pem: str | None = s.scalar(query)
            return pem

    def certificates(self) -> list[str]:
        """Every device certificate of the installation (PEM), to trust self-signed ones."""
        with self._session() as s:
            query = select(DeviceRow.cert_pem).where(DeviceRow.cert_pem.is_not(None))
            return [pem for pem in s.scalars(query) if pem]


def basic_id(client_id: str | None, username: str | None) -> str:
    """How MQTT basic credentials are found: the client id and the user name, one line each."""
    return f"{client_id or ''}\n{username or ''}"


class BasicCredentialsMixin:
    """ThingsBoard's ``MQTT_BASIC``: a client id, a user name, or both, with a password or not."""

    _box: SecretBox

    if TYPE_CHECKING:

        def _session(self) -> AbstractContextManager[Session]: ...

        def device(self, tenant: str, device_id: str) -> Device: ...

    def set_basic_credentials(
        self,
        tenant: str,
        device_id: str,
        client_id: str | None,
        username: str | None,
        password: str | None,
    ) -> Device:
        """Give the device MQTT basic credentials (all None: take them away); unique (409)."""
        found = self.device(tenant, device_id)
        if password and not username:
            raise InvalidInput("a password goes with a user name")
        given = bool(client_id or username)
        with self._session() as s:
            row = s.scalar(select(DeviceRow).filter_by(tenant_id=tenant, id=found.id))
            assert row is not None
            row.mqtt_basic_id = basic_id(client_id, username) if given else None
            row.mqtt_password_secret = self._box.encrypt(password) if password else None
            return records.device(row, self._box)

    def device_by_basic(
        self, client_id: str, username: str | None, password: bytes | None
    ) -> Device | None:
        """The device these CONNECT credentials name, as ThingsBoard matches them, or None.

        Client id and user name both, then the user name alone, then the client id alone; a
        password kept must be the one given.
        """
        wanted = [basic_id(client_id, username)] if client_id and username else []
        wanted += [basic_id(None, username)] if username else []
        wanted += [basic_id(client_id, None)] if client_id else []
        with self._session() as s:
            for key in wanted:
                row = s.scalar(select(DeviceRow).filter_by(mqtt_basic_id=key))
                if row is None:
                    continue
                kept = row.mqtt_password_secret
                if kept is None:
                    return records.device(row, self._box)
                given = password or b""
                if hmac.compare_digest(self._box.decrypt(kept).encode(), given):
                    return records.device(row, self._box)
                return None
        return None
