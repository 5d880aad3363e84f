"""The catalog: tenants, devices, API keys, attributes, rejections, deployments, alarms.

SQLAlchemy 2 over SQLite (embedded, one file under the data folder) or PostgreSQL; the
schema is migrated by Alembic on open. Every method names its tenant.
"""

from __future__ import annotations

from aiot.store.catalog.sql import Catalog, Rejection

__all__ = ["Catalog", "Rejection"]
