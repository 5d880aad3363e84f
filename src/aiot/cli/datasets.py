"""Labelled data sets from CSV or Parquet files, as arrays ``aiot.models.eval`` can score.

A file is either wide (a time column, one column per variable, optionally a 0/1 label
column) or long like ``aiot simulate --out`` writes it (``device, key, ts, value``), which
is pivoted to one wide series per device. A folder holds several files, each its own series.
Labels come from the label column or from a windows file with ``start``/``end`` (or
``start_ms``/``end_ms``) columns and, optionally, a ``device`` column saying whose window it is.
Times may be Arrow timestamps, ISO-8601 text or numbers (epoch seconds, or milliseconds when
they are past 1e11, the way the simulator and aiot's store write them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from aiot.errors import InvalidInput
from aiot.models.base import Array
from aiot.models.train import pivot

__all__ = ["Series", "load", "read_table", "to_seconds"]

_LONG = {"key", "value"}
_MS_FROM = 1e11


@dataclass(frozen=True)
class Series:
    """One labelled series: times in epoch seconds, values (rows × columns), 0/1 truth."""

    name: str
    seconds: Array
    values: Array
    columns: list[str]
    truth: Array


def read_table(path: Path, sep: str = ",") -> pa.Table:
    """A CSV or Parquet file as an Arrow table."""
    if path.suffix.lower() == ".parquet":
        return pq.read_table(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return pa_csv.read_csv(path, parse_options=pa_csv.ParseOptions(delimiter=sep))
    raise InvalidInput(f"cannot read {path.name}: use .csv or .parquet")


def to_seconds(column: pa.ChunkedArray | pa.Array) -> Array:
    """Epoch seconds from timestamps, ISO-8601 text, or epoch seconds/milliseconds."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.timestamp("ms", tz="UTC"))
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        ms = pc.cast(pc.cast(column, pa.timestamp("ms")), pa.int64())
        return np.asarray(ms.to_numpy(zero_copy_only=False), dtype=np.float64) / 1000.0
    raw = np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False))
    finite = raw[np.isfinite(raw)]
    return raw / 1000.0 if len(finite) and np.median(np.abs(finite)) > _MS_FROM else raw


def _numeric(table: pa.Table, name: str) -> Array:
    return np.asarray(
        pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False), np.float64
    )


def _wide(
    table: pa.Table, name: str, time_col: str, label_col: str | None, columns: list[str] | None
) -> Series:
    skip = {time_col, label_col}
    picked = columns or [
        f.name
        for f in table.schema
        if f.name not in skip and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
    ]
    if not picked:
        raise InvalidInput(f"{name}: no numeric columns besides the time and label columns")
    seconds = to_seconds(table.column(time_col))
    order = np.argsort(seconds, kind="stable")
    values = np.column_stack([_numeric(table, c) for c in picked])[order]
    truth = _numeric(table, label_col)[order] if label_col else np.zeros(len(order))
    return Series(name, seconds[order], values, picked, (np.nan_to_num(truth) > 0).astype(float))


def _long(table: pa.Table, name: str, time_col: str, columns: list[str] | None) -> list[Series]:
    keys = table.column("key").to_numpy(zero_copy_only=False).astype(str)
    picked = columns or sorted(set(keys.tolist()))
    seconds = to_seconds(table.column(time_col))
    ms = np.round(seconds * 1000).astype(np.int64)
    values = _numeric(table, "value")
    has_device = "device" in table.column_names
    devices = (
        table.column("device").to_numpy(zero_copy_only=False).astype(str) if has_device else None
    )
    out = []
    for device in sorted(set(devices.tolist())) if devices is not None else [name]:
        rows = devices == device if devices is not None else np.ones(len(keys), bool)
        stamps, matrix = pivot(keys[rows], ms[rows], values[rows], picked)
        zero = np.zeros(len(stamps))
        out.append(Series(device, stamps / 1000.0, matrix, picked, zero))
    return out


def _windows(path: Path, sep: str) -> tuple[Array, Array, list[str] | None]:
    table = read_table(path, sep)
    names = table.column_names
    start, end = ("start_ms", "end_ms") if "start_ms" in names else ("start", "end")
    if start not in names or end not in names:
        raise InvalidInput(f"{path.name} needs start/end or start_ms/end_ms columns")
    devices = table.column("device").to_pylist() if "device" in names else None
    return to_seconds(table.column(start)), to_seconds(table.column(end)), devices


def _label(series: Series, windows: tuple[Array, Array, list[str] | None]) -> Series:
    starts, ends, devices = windows
    truth = series.truth.copy()
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if devices is None or devices[i] == series.name:
            truth[(series.seconds >= s) & (series.seconds < e)] = 1.0
    return Series(series.name, series.seconds, series.values, series.columns, truth)


def _complete(series: Series) -> Series:
    keep = ~np.isnan(series.values).any(axis=1)
    return Series(
        series.name, series.seconds[keep], series.values[keep], series.columns, series.truth[keep]
    )


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = [p for p in sorted(path.iterdir()) if p.suffix.lower() in (".csv", ".parquet")]
    found = [p for p in found if ".labels." not in p.name]
    if not found:
        raise InvalidInput(f"no .csv or .parquet files in {path}")
    return found


def load(
    path: Path,
    time_col: str = "ts",
    label_col: str | None = None,
    labels: Path | None = None,
    columns: list[str] | None = None,
    sep: str = ",",
) -> list[Series]:
    """Every labelled series under ``path`` (a file or a folder of files)."""
    out: list[Series] = []
    for file in _files(path):
        table = read_table(file, sep)
        missing = [c for c in (time_col, label_col) if c and c not in table.column_names]
        if missing:
            raise InvalidInput(f"{file.name} has no column {missing[0]!r}", table.column_names)
        if set(table.column_names) >= _LONG:
            out += _long(table, file.stem, time_col, columns)
        else:
            out.append(_wide(table, file.stem, time_col, label_col, columns))
    windows = _windows(labels, sep) if labels is not None else None
    return [_complete(_label(s, windows) if windows else s) for s in out]
