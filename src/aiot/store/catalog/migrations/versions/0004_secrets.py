"""Secrets at rest: sealed or hashed with the installation's secret key; uploaded CA bundles.

Device tokens become a keyed hash (``token_hash``, for lookup) and a sealed copy
(``token_secret``, for operators who may read it); bridge passwords and webhook secrets are
sealed; API key hashes (SHA-256) are wrapped in the keyed hash. The key's fingerprint is
recorded so that a start with another key is refused instead of failing every login. Bridges
keep their CA bundle's PEM (``ca_pem``); ``ca_file`` stays for bridges saved before.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration must not change when tables.py does.
_devices = sa.table(
    "devices",
    sa.column("id", sa.String),
    sa.column("access_token", sa.String),
    sa.column("token_hash", sa.String),
    sa.column("token_secret", sa.Text),
)
_bridges = sa.table(
    "bridges",
    sa.column("id", sa.String),
    sa.column("password", sa.String),
    sa.column("password_secret", sa.Text),
)
_keys = sa.table("api_keys", sa.column("id", sa.String), sa.column("secret_hash", sa.String))
_deployments = sa.table("deployments", sa.column("id", sa.String), sa.column("policy", sa.JSON))


def _box(*tables: str) -> Any:
    """The secret key aiot hands over; without it only a catalog with no secrets migrates."""
    box = context.config.attributes.get("secret_box")
    bind = op.get_bind()
    held = sum(bind.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables)
    if box is None and held:
        raise RuntimeError("migration 0004 needs the secret key: open the catalog through aiot")
    return box


def upgrade() -> None:
    """Seal or hash every stored secret, then drop the plain columns."""
    box = _box("devices", "bridges", "api_keys", "deployments")
    op.create_table(
        "secret_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
    )
    if box is not None:  # else the catalog records the key it first opens with
        insert = sa.text("INSERT INTO secret_keys (id, fingerprint) VALUES (1, :f)")
        op.execute(insert.bindparams(f=box.fingerprint()))
    _tokens(box)
    _passwords(box)
    _api_keys(box)
    _webhooks(box)


def _tokens(box: Any) -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("token_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("token_secret", sa.Text, nullable=True))
    bind = op.get_bind()
    for row_id, token in bind.execute(sa.select(_devices.c.id, _devices.c.access_token)).all():
        sealed = {"token_hash": box.digest(token), "token_secret": box.encrypt(token)}
        bind.execute(_devices.update().where(_devices.c.id == row_id).values(**sealed))
    with op.batch_alter_table("devices") as batch:
        batch.alter_column("token_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("token_secret", existing_type=sa.Text, nullable=False)
        batch.create_unique_constraint("uq_devices_token_hash", ["token_hash"])
        batch.drop_column("access_token")


def _passwords(box: Any) -> None:
    with op.batch_alter_table("bridges") as batch:
        batch.add_column(sa.Column("password_secret", sa.Text, nullable=True))
        batch.add_column(sa.Column("ca_pem", sa.Text, nullable=True))
    bind = op.get_bind()
    query = sa.select(_bridges.c.id, _bridges.c.password).where(_bridges.c.password.is_not(None))
    for row_id, password in bind.execute(query).all():
        sealed = box.encrypt(password)
        bind.execute(
            _bridges.update().where(_bridges.c.id == row_id).values(password_secret=sealed)
        )
    with op.batch_alter_table("bridges") as batch:
        batch.drop_column("password")


def _api_keys(box: Any) -> None:
    bind = op.get_bind()
    for row_id, old in bind.execute(sa.select(_keys.c.id, _keys.c.secret_hash)).all():
        wrapped = box.digest(old)  # the keyed hash of the SHA-256 older versions kept
        bind.execute(_keys.update().where(_keys.c.id == row_id).values(secret_hash=wrapped))


def _webhooks(box: Any) -> None:
    bind = op.get_bind()
    for row_id, policy in bind.execute(sa.select(_deployments.c.id, _deployments.c.policy)).all():
        sealed = _sealed(policy, box)
        if sealed != policy:
            bind.execute(
                _deployments.update().where(_deployments.c.id == row_id).values(policy=sealed)
            )


def _sealed(policy: Any, box: Any) -> Any:
    """The policy with each ``notify[].webhook.secret`` as ``secret_sealed``."""
    if not isinstance(policy, dict) or not isinstance(policy.get("notify"), list):
        return policy
    actions = []
    for action in policy["notify"]:
        hook = action.get("webhook") if isinstance(action, dict) else None
        if isinstance(hook, dict) and isinstance(hook.get("secret"), str):
            rest = {k: v for k, v in hook.items() if k != "secret"}
            action = {**action, "webhook": {**rest, "secret_sealed": box.encrypt(hook["secret"])}}
        actions.append(action)
    return {**policy, "notify": actions}


def downgrade() -> None:
    """Open the sealed secrets again; API keys stay keyed hashes (re-issue them after)."""
    box = _box("devices", "bridges", "deployments")
    bind = op.get_bind()
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("access_token", sa.String(100), nullable=True))
    for row_id, sealed in bind.execute(sa.select(_devices.c.id, _devices.c.token_secret)).all():
        plain = box.decrypt(sealed)
        bind.execute(_devices.update().where(_devices.c.id == row_id).values(access_token=plain))
    with op.batch_alter_table("devices") as batch:
        batch.alter_column("access_token", existing_type=sa.String(100), nullable=False)
        batch.create_unique_constraint("uq_devices_access_token", ["access_token"])
        batch.drop_constraint("uq_devices_token_hash", type_="unique")
        batch.drop_column("token_hash")
        batch.drop_column("token_secret")
    _open_passwords(box)
    for row_id, policy in bind.execute(sa.select(_deployments.c.id, _deployments.c.policy)).all():
        opened = _opened(policy, box)
        if opened != policy:
            query = _deployments.update().where(_deployments.c.id == row_id)
            bind.execute(query.values(policy=opened))
    op.drop_table("secret_keys")


def _open_passwords(box: Any) -> None:
    bind = op.get_bind()
    with op.batch_alter_table("bridges") as batch:
        batch.add_column(sa.Column("password", sa.String(500), nullable=True))
    query = sa.select(_bridges.c.id, _bridges.c.password_secret)
    for row_id, sealed in bind.execute(query.where(_bridges.c.password_secret.is_not(None))).all():
        plain = box.decrypt(sealed)
        bind.execute(_bridges.update().where(_bridges.c.id == row_id).values(password=plain))
    with op.batch_alter_table("bridges") as batch:
        batch.drop_column("password_secret")
        batch.drop_column("ca_pem")


def _opened(policy: Any, box: Any) -> Any:
    """The policy with each ``secret_sealed`` opened back into ``secret``."""
    if not isinstance(policy, dict) or not isinstance(policy.get("notify"), list):
        return policy
    actions = []
    for action in policy["notify"]:
        hook = action.get("webhook") if isinstance(action, dict) else None
        if isinstance(hook, dict) and isinstance(hook.get("secret_sealed"), str):
            rest = {k: v for k, v in hook.items() if k != "secret_sealed"}
            action = {**action, "webhook": {**rest, "secret": box.decrypt(hook["secret_sealed"])}}
        actions.append(action)
    return {**policy, "notify": actions}
