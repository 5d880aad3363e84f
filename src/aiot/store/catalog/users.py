"""The catalog's dashboard users: names unique per tenant, passwords hashed with Argon2id.

Why argon2-cffi rather than the standard library's ``hashlib.scrypt``: Argon2id won the
Password Hashing Competition and is OWASP's first choice; argon2-cffi is the maintained
binding (by the author of ``attrs``), it encodes algorithm, parameters and salt in one string
(``$argon2id$v=19$m=...``) so that stronger parameters later re-hash on the next sign-in
(``check_needs_rehash``), and it verifies in constant time. With scrypt we would have to
invent that encoding, and its parameter upgrades, ourselves.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from aiot.domain import Role, User
from aiot.errors import Conflict, InvalidInput, NotFound
from aiot.store.catalog import records
from aiot.store.catalog.tables import UserRow

__all__ = ["MIN_PASSWORD", "UsersMixin"]

MIN_PASSWORD = 8
_hasher = PasswordHasher()  # RFC 9106's second recommended profile: 64 MiB, 3 passes
# Verified against when the user name is unknown, so that the answer takes as long either way.
_DUMMY = _hasher.hash("not a password of anyone")


class UsersMixin:
    """User methods of the catalog; the catalog supplies ``_session``."""

    if TYPE_CHECKING:

        def _session(self) -> AbstractContextManager[Session]:
            raise NotImplementedError

        def find_tenant(self, tenant_id: str) -> object | None:
            raise NotImplementedError

    def create_user(self, tenant: str, name: str, password: str, role: Role) -> User:
        """A new user of the tenant; names are unique per tenant."""
        if not name.strip() or "/" in name:
            raise InvalidInput("a user name is not empty and has no '/'", name)
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters")
        if self.find_tenant(tenant) is None:
            raise NotFound(f"no tenant {tenant!r}")
        row = UserRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            name=name,
            role=role.value,
            password_hash=_hasher.hash(password),
            created_at=records.now(),
        )
        with self._session() as s:
            if s.scalar(select(UserRow.id).filter_by(tenant_id=tenant, name=name)):
                raise Conflict(f"a user named {name!r} already exists")
            s.add(row)
        return records.user(row)

    def users(self, tenant: str) -> list[User]:
        """The tenant's users, by name (never their password hashes)."""
        with self._session() as s:
            rows = s.scalars(select(UserRow).filter_by(tenant_id=tenant).order_by(UserRow.name))
            return [records.user(r) for r in rows]

    def find_user(self, tenant: str, user_id: str) -> User | None:
        """The tenant's user of that id, or None (a dashboard session checks it at each page)."""
        with self._session() as s:
            row = s.scalar(select(UserRow).filter_by(tenant_id=tenant, id=user_id))
            return records.user(row) if row else None

    def delete_user(self, tenant: str, user_id: str) -> User:
        """Remove a user of the tenant, by id or name."""
        with self._session() as s:
            row = s.scalar(select(UserRow).filter_by(tenant_id=tenant, id=user_id)) or s.scalar(
                select(UserRow).filter_by(tenant_id=tenant, name=user_id)
            )
            if row is None:
                raise NotFound(f"no user {user_id!r}")
            found = records.user(row)
            s.execute(delete(UserRow).filter_by(tenant_id=tenant, id=row.id))
        return found

    def check_password(self, tenant: str, name: str, password: str) -> User | None:
        """The user if the password is theirs, else None (as slow for unknown names)."""
        with self._session() as s:
            row = s.scalar(select(UserRow).filter_by(tenant_id=tenant, name=name))
        try:
            _hasher.verify(row.password_hash if row else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            with self._session() as s:
                s.execute(
                    update(UserRow)
                    .filter_by(id=row.id)
                    .values(password_hash=_hasher.hash(password))
                )
        return records.user(row)
