"""Bridges: subscriptions to external MQTT brokers, kept across restarts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the bridges table."""
    op.create_table(
        "bridges",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("username", sa.String(200), nullable=True),
        sa.Column("password", sa.String(500), nullable=True),
        sa.Column("create_devices", sa.Boolean, nullable=False),
        sa.Column("device_type", sa.String(100), nullable=False),
        sa.Column("ca_file", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_bridges_tenant_id", "bridges", ["tenant_id"])


def downgrade() -> None:
    """Drop the bridges table."""
    op.drop_index("ix_bridges_tenant_id", "bridges")
    op.drop_table("bridges")
