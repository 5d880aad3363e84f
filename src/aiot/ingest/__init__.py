"""Ingestion: decoded batches in, grouped durable writes out, every refusal counted."""

from __future__ import annotations

from aiot.ingest.pipeline import Ingestor
from aiot.ingest.stats import IngestStats

__all__ = ["IngestStats", "Ingestor"]
