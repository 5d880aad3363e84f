"""ThingsBoard's device-side features: gateways, device profiles with provisioning, claiming,
firmware and software packages, and rate limits per tenant and per device type.

A device may be a gateway (``gateway``) or connect through one (``gateway_id``); a pending
claim is a keyed hash of its secret and an expiry (``claim``), the claiming user ``owner``. A
profile is named after the device type it describes. Packages keep their bytes in the catalog.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the device columns, the tenant limits, and the profiles and packages tables."""
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("gateway", sa.Boolean, nullable=False, server_default="0"))
        batch.add_column(sa.Column("gateway_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("claim", sa.JSON, nullable=True))
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("firmware_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("software_id", sa.String(36), nullable=True))
        batch.create_index("ix_devices_gateway_id", ["gateway_id"])
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("limits", sa.JSON, nullable=True))
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("provision", sa.String(30), nullable=False),
        sa.Column("provision_key", sa.String(100), nullable=True, unique=True),
        sa.Column("provision_secret", sa.Text, nullable=True),
        sa.Column("firmware_id", sa.String(36), nullable=True),
        sa.Column("software_id", sa.String(36), nullable=True),
        sa.Column("limits", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_profiles_tenant_id", "profiles", ["tenant_id"])
    op.create_table(
        "packages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("checksum_algorithm", sa.String(20), nullable=False),
        sa.Column("checksum", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "kind", "title", "version"),
    )
    op.create_index("ix_packages_tenant_id", "packages", ["tenant_id"])


def downgrade() -> None:
    """Drop what the upgrade added."""
    op.drop_index("ix_packages_tenant_id", "packages")
    op.drop_table("packages")
    op.drop_index("ix_profiles_tenant_id", "profiles")
    op.drop_table("profiles")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("limits")
    with op.batch_alter_table("devices") as batch:
        batch.drop_index("ix_devices_gateway_id")
        for column in ("software_id", "firmware_id", "owner", "claim", "gateway_id", "gateway"):
            batch.drop_column(column)
