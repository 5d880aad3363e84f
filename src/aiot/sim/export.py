"""Writing a simulated run to files: the readings, and the fault labels beside them.

``r.parquet`` gets the readings in long form (device, key, ts in epoch ms, value) and
``r.labels.parquet`` the fault windows (vertical, fault, device, start_ms, end_ms, detail);
a ``.csv`` path writes ``r.csv`` and ``r.labels.csv`` the same way. Chunks are appended as
they come, so memory stays bounded whatever the duration.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from aiot.domain import Batch
from aiot.sim.faults import Fault, labels_table

__all__ = ["READINGS_SCHEMA", "FileSink", "labels_path"]

READINGS_SCHEMA = pa.schema(
    [
        pa.field("device", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("value", pa.float64()),
    ]
)


def labels_path(path: Path) -> Path:
    """Where the labels of the readings at ``path`` go: ``r.parquet`` -> ``r.labels.parquet``."""
    return path.with_name(f"{path.stem}.labels{path.suffix}")


class FileSink:
    """Appends batches to a Parquet or CSV file; writes the labels file on close."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise ValueError(f"cannot write {self.path.name}: use a .parquet or .csv path")
        self.csv = suffix == ".csv"
        self.rows = 0
        self._writer: pq.ParquetWriter | pa_csv.CSVWriter
        if self.csv:
            self._writer = pa_csv.CSVWriter(self.path, READINGS_SCHEMA)
        else:
            self._writer = pq.ParquetWriter(self.path, READINGS_SCHEMA, compression="zstd")

    def write(self, batch: Batch) -> None:
        """Append the points of ``batch``."""
        table = batch.table.select(READINGS_SCHEMA.names).cast(READINGS_SCHEMA)
        self._writer.write_table(table)
        self.rows += len(batch)

    def write_all(self, batches: Iterable[Batch]) -> None:
        """Append every batch."""
        for batch in batches:
            self.write(batch)

    def close(self, labels: Iterable[Fault] = ()) -> Path:
        """Finish the readings file and write the labels beside it; returns the labels path."""
        self._writer.close()
        target = labels_path(self.path)
        table = labels_table(labels)
        if self.csv:
            pa_csv.write_csv(table, target)
        else:
            pq.write_table(table, target)
        return target

    def __enter__(self) -> FileSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None:
            self._writer.close()
