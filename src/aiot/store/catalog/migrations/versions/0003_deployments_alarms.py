"""Deployments (detectors bound to series) and alarms with their comments and verdicts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration must not change when tables.py does.
_ACTIVE = sa.text("status IN ('ACTIVE_UNACK', 'ACTIVE_ACK')")


def upgrade() -> None:
    """Create the deployments and alarms tables."""
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("detector", sa.String(100), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("keys", sa.JSON, nullable=False),
        sa.Column("selector", sa.JSON, nullable=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("multivariate", sa.Boolean, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_deployments_tenant_id", "deployments", ["tenant_id"])
    op.create_table(
        "alarms",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("device_id", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=True),
        sa.Column("deployment_id", sa.String(36), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("comments", sa.JSON, nullable=False),
        sa.Column("verdict", sa.JSON, nullable=True),
        sa.Column("confirmed", sa.Boolean, nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True),
    )
    op.create_index("ix_alarms_tenant_id_status", "alarms", ["tenant_id", "status"])
    op.create_index("ix_alarms_tenant_id_device_id", "alarms", ["tenant_id", "device_id"])
    op.create_index("ix_alarms_tenant_id_start_ms", "alarms", ["tenant_id", "start_ms"])
    op.create_index(
        "uq_alarms_active",
        "alarms",
        ["tenant_id", "type", "device_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    """Drop the alarms and deployments tables."""
    for index in (
        "uq_alarms_active",
        "ix_alarms_tenant_id_start_ms",
        "ix_alarms_tenant_id_device_id",
        "ix_alarms_tenant_id_status",
    ):
        op.drop_index(index, "alarms")
    op.drop_table("alarms")
    op.drop_index("ix_deployments_tenant_id", "deployments")
    op.drop_table("deployments")
