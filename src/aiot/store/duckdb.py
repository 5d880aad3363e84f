"""The embedded telemetry store: one DuckDB file under the data folder.

Points are keyed by (tenant, device, key, ts); ``INSERT OR REPLACE`` makes a resent point
replace the stored one. DuckDB commits through its write-ahead log before ``write`` returns,
so a written batch survives a crash. One connection serves every thread under a lock: the
ingest pipeline groups many messages into one write, which is what makes this fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb as ddb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aiot.domain import Aggregation, Batch, Kind
from aiot.errors import StoreError
from aiot.store.base import AGG_SCHEMA, RAW_SCHEMA

__all__ = ["DuckDBStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS telemetry (
    tenant VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE,
    text VARCHAR,
    kind TINYINT NOT NULL,
    PRIMARY KEY (tenant, device, key, ts)
)
"""

_INSERT = """
INSERT OR REPLACE INTO telemetry
SELECT ? AS tenant, device, key, ts, value, text, kind FROM incoming
"""
# A batch that names a point twice: the last of its rows wins (DuckDB would keep the first).
_INSERT_LAST = """
INSERT OR REPLACE INTO telemetry
SELECT ? AS tenant, device, key, ts, value, text, kind FROM incoming
QUALIFY row_number() OVER (PARTITION BY device, key, ts ORDER BY seq DESC) = 1
"""

_AGG_SQL = {
    Aggregation.AVG: "avg(value) FILTER (WHERE kind IN (0, 1))",
    Aggregation.MIN: "min(value) FILTER (WHERE kind IN (0, 1))",
    Aggregation.MAX: "max(value) FILTER (WHERE kind IN (0, 1))",
    Aggregation.SUM: "sum(value) FILTER (WHERE kind IN (0, 1))",
    Aggregation.COUNT: "count(*)::DOUBLE",
    Aggregation.LAST: "arg_max(value, ts) FILTER (WHERE kind IN (0, 1) AND value IS NOT NULL)",
}


class DuckDBStore:
    """Telemetry in a DuckDB database file (``":memory:"`` for a throwaway one)."""

    def __init__(self, path: Path | str) -> None:
        try:
            self._con = ddb.connect(str(path))
            self._con.execute(_SCHEMA)
        except ddb.Error as err:
            hint = " (is another aiot using this data folder?)" if "lock" in str(err) else ""
            raise StoreError(f"cannot open the telemetry store at {path}{hint}", str(err)) from err
        self._lock = threading.Lock()

    @contextmanager
    def _cursor(self) -> Iterator[ddb.DuckDBPyConnection]:
        with self._lock:
            try:
                yield self._con
            except ddb.Error as err:
                raise StoreError("the telemetry store failed", str(err)) from err

    def write(self, batch: Batch) -> int:
        """Insert or replace the batch's points in one transaction."""
        if not len(batch):
            return 0
        incoming, sql = batch.table, _INSERT
        if _repeats_a_point(incoming):  # rare: a batch with a point twice needs the window
            seq = pa.array(np.arange(len(batch), dtype=np.int64))
            incoming, sql = incoming.append_column("seq", seq), _INSERT_LAST
        with self._cursor() as con:
            con.register("incoming", incoming)
            try:
                con.execute(sql, [batch.tenant])
            finally:
                con.unregister("incoming")
        return len(batch)

    def _where(self, tenant: str, device: str, keys: Sequence[str] | None) -> tuple[str, list[Any]]:
        sql = "tenant = ? AND device = ?"
        params: list[Any] = [tenant, device]
        if keys is not None:
            sql += " AND list_contains(?, key)"
            params.append(list(keys))
        return sql, params

    def query(
        self,
        tenant: str,
        device: str,
        keys: Sequence[str] | None,
        start: int,
        end: int,
        limit: int | None = None,
        order: str = "asc",
    ) -> pa.Table:
        """Raw points in ``[start, end)``, by key then ts in ``order``, ``limit`` per key."""
        where, params = self._where(tenant, device, keys)
        direction = self._direction(order)
        sql = (
            f"SELECT key, ts, value, text, kind FROM telemetry WHERE {where} "
            "AND ts >= ? AND ts < ? "
        )
        params += [start, end]
        if limit is not None:  # every key gets its share, not only the first keys
            sql += f"QUALIFY row_number() OVER (PARTITION BY key ORDER BY ts {direction}) <= ? "
            params.append(limit)
        return self._fetch(sql + f"ORDER BY key, ts {direction}", params, RAW_SCHEMA)

    @staticmethod
    def _direction(order: str) -> str:
        """SQL's word for ``"asc"`` or ``"desc"``; nothing else reaches the SQL text."""
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
        return order.upper()

    def aggregate(
        self,
        tenant: str,
        device: str,
        keys: Sequence[str] | None,
        start: int,
        end: int,
        interval: int,
        agg: Aggregation,
    ) -> pa.Table:
        """Bucketed aggregates from ``start`` in steps of ``interval`` ms."""
        where, params = self._where(tenant, device, keys)
        sql = (
            f"SELECT key, ? + ((ts - ?) // ?) * ? AS bucket, {_AGG_SQL[agg]} AS value "
            f"FROM telemetry WHERE {where} AND ts >= ? AND ts < ? "
            "GROUP BY key, bucket HAVING value IS NOT NULL ORDER BY key, bucket"
        )
        params = [start, start, interval, interval, *params, start, end]
        return self._fetch(sql, params, AGG_SCHEMA)

    def latest(self, tenant: str, device: str, keys: Sequence[str] | None = None) -> pa.Table:
        """The point with the greatest ts of each key."""
        where, params = self._where(tenant, device, keys)
        sql = (
            f"SELECT key, ts, value, text, kind FROM telemetry WHERE {where} "
            "QUALIFY row_number() OVER (PARTITION BY key ORDER BY ts DESC) = 1 ORDER BY key"
        )
        return self._fetch(sql, params, RAW_SCHEMA)

    def keys(self, tenant: str, device: str) -> list[str]:
        """Keys with at least one point, sorted."""
        with self._cursor() as con:
            rows = con.execute(
                "SELECT DISTINCT key FROM telemetry WHERE tenant = ? AND device = ? ORDER BY key",
                [tenant, device],
            ).fetchall()
        return [str(r[0]) for r in rows]

    def delete_before(self, tenant: str, ts: int, device: str | None = None) -> int:
        """Retention: drop points older than ``ts``."""
        sql, params = "tenant = ? AND ts < ?", [tenant, ts]
        if device is not None:
            sql, params = sql + " AND device = ?", [*params, device]
        return self._delete(sql, params)

    def delete_device(self, tenant: str, device: str) -> int:
        """Drop every point of ``device``."""
        return self._delete("tenant = ? AND device = ?", [tenant, device])

    def _delete(self, where: str, params: list[Any]) -> int:
        with self._cursor() as con:
            row = con.execute(f"DELETE FROM telemetry WHERE {where}", params).fetchone()
        return int(row[0]) if row else 0

    def count(self, tenant: str) -> int:
        """Points held for the tenant."""
        with self._cursor() as con:
            row = con.execute(
                "SELECT count(*) FROM telemetry WHERE tenant = ?", [tenant]
            ).fetchone()
        return int(row[0]) if row else 0

    def _fetch(self, sql: str, params: list[Any], schema: pa.Schema) -> pa.Table:
        with self._cursor() as con:
            table = con.sql(sql, params=params).to_arrow_table()
        return table.rename_columns(schema.names).cast(schema)

    def close(self) -> None:
        """Checkpoint and close the database file."""
        with self._lock:
            self._con.close()


def _repeats_a_point(table: pa.Table) -> bool:
    """Whether two rows share (device, key, ts); sorting codes is cheaper than a SQL window."""
    if table.num_rows < 2:
        return False
    device = _codes(table["device"])
    key = _codes(table["key"])
    ts = table["ts"].to_numpy()
    order = np.lexsort((ts, key, device))
    device, key, ts = device[order], key[order], ts[order]
    same = (device[1:] == device[:-1]) & (key[1:] == key[:-1]) & (ts[1:] == ts[:-1])
    return bool(same.any())


def _codes(column: pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.int32]]:
    """Equal strings get equal integers."""
    encoded = pc.dictionary_encode(column.combine_chunks())  # one dictionary for every chunk
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)


# Kind is referenced in SQL by number; keep the two in step.
assert (int(Kind.NUMBER), int(Kind.BOOL)) == (0, 1)
