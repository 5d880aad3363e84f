"""The first catalog: tenants, devices, API keys, attributes, rejections.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("access_token", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=True),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_devices_tenant_id", "devices", ["tenant_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.create_table(
        "attributes",
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("scope", sa.String(10), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.JSON),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "rejections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("transport", sa.String(20), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("excerpt", sa.Text, nullable=False),
    )
    op.create_index("ix_rejections_tenant_id_id", "rejections", ["tenant_id", "id"])


def downgrade() -> None:
    """Drop every table."""
    for table in ("rejections", "attributes", "api_keys", "devices", "tenants"):
        op.drop_table(table)
