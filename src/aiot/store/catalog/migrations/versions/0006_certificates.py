"""Devices' other credentials, as ThingsBoard's: an X.509 certificate, found by its SHA-256
fingerprint, and MQTT basic credentials (client id and/or user name, with a sealed password),
found by ``mqtt_basic_id`` (the client id and user name, one line each).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the certificate columns to devices."""
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("cert_fingerprint", sa.String(64), nullable=True))
        batch.add_column(sa.Column("cert_pem", sa.Text, nullable=True))
        batch.create_index("ix_devices_cert_fingerprint", ["cert_fingerprint"], unique=True)
        batch.add_column(sa.Column("mqtt_basic_id", sa.String(402), nullable=True))
        batch.add_column(sa.Column("mqtt_password_secret", sa.Text, nullable=True))
        batch.create_index("ix_devices_mqtt_basic_id", ["mqtt_basic_id"], unique=True)


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("devices") as batch:
        batch.drop_index("ix_devices_mqtt_basic_id")
        batch.drop_column("mqtt_password_secret")
        batch.drop_column("mqtt_basic_id")
        batch.drop_index("ix_devices_cert_fingerprint")
        batch.drop_column("cert_pem")
        batch.drop_column("cert_fingerprint")
