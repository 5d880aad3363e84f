"""Bridges keep their CA bundle's PEM (no server paths from the API).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the CA bundle column; ``ca_file`` stays for bridges saved before."""
    with op.batch_alter_table("bridges") as batch:
        batch.add_column(sa.Column("ca_pem", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the CA bundle column."""
    with op.batch_alter_table("bridges") as batch:
        batch.drop_column("ca_pem")
