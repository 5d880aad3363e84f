"""The secret key of an installation: secrets at rest in the catalog are sealed with it.

Secrets aiot must use again (bridge passwords, webhook secrets, device tokens an operator may
read) are encrypted with Fernet (AES-128-CBC and HMAC-SHA256). Secrets that are only looked up
(device tokens, API keys) are found by a keyed hash, HMAC-SHA256 under a key derived from the
same secret key, so the catalog alone neither reveals a secret nor lets anyone test a guess.
The key lives outside the catalog: ``<data_dir>/secret.key`` (mode 0600, made on first start)
or the ``AIOT_SECRET_KEY`` setting.

>>> box = SecretBox.generate()
>>> box.decrypt(box.encrypt("s3cret"))
's3cret'
>>> box.digest("token") == box.digest("token") != SecretBox.generate().digest("token")
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from aiot.errors import StoreError

__all__ = ["SecretBox"]

_LOOKUP = b"aiot/lookup-hash/v1"  # derives the hashing key: never the encryption key itself
_CHECK = "aiot/secret-key-check/v1"


class SecretBox:
    """Encrypts and decrypts secrets, and hashes those only looked up, with one secret key."""

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode() if isinstance(key, str) else key
        try:
            self._fernet = Fernet(raw.strip())
            material = base64.urlsafe_b64decode(raw.strip())
        except (ValueError, binascii.Error) as err:
            raise StoreError(
                "the secret key is not a Fernet key (44 characters of base64)"
            ) from err
        self._mac = hmac.new(material, _LOOKUP, hashlib.sha256).digest()

    @classmethod
    def generate(cls) -> SecretBox:
        """A box with a fresh random key (tests, throwaway catalogs)."""
        return cls(Fernet.generate_key())

    @classmethod
    def at(cls, path: Path) -> SecretBox:
        """The box of the key file at ``path``, created (mode 0600) when missing."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(path.read_bytes())
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())  # losing the key would lose every sealed secret
        return cls(path.read_bytes())

    def encrypt(self, plain: str) -> str:
        """``plain`` sealed: a Fernet token, different on every call."""
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plain text of a token this key sealed; StoreError for any other."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as err:
            raise StoreError("a stored secret cannot be opened with this secret key") from err

    def digest(self, value: str) -> str:
        """The keyed hash (hex HMAC-SHA256) that finds ``value`` without storing it."""
        return hmac.new(self._mac, value.encode(), hashlib.sha256).hexdigest()

    def key_hash(self, api_key: str) -> str:
        """How an API key is kept: the keyed hash of its SHA-256 (what older catalogs kept)."""
        return self.digest(hashlib.sha256(api_key.encode()).hexdigest())

    def fingerprint(self) -> str:
        """A hash that tells this key from another, stored to catch a start with the wrong key."""
        return self.digest(_CHECK)
