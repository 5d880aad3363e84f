"""The embedded telemetry store: one DuckDB file under the data folder.

Points are appended, never looked up one by one: the store keeps, per series, the newest ts it
holds, and only a batch that reaches back to or before it (a resent or late point) pays a
delete of the points it replaces, within that batch's time range. So the last write wins
without a keyed ``INSERT OR REPLACE``, which caps DuckDB near a third of its append rate.
``apply`` records the ingest log's position in the same transaction as the points. One
connection serves every thread under a lock.
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
from aiot.store.wal.base import Record

__all__ = ["DuckDBStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS telemetry (
    tenant VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE,
    text VARCHAR,
    kind TINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS applied (position BIGINT NOT NULL);
INSERT INTO applied SELECT 0 WHERE NOT EXISTS (SELECT * FROM applied);
"""
# Stores made before the ingest log keyed their rows; the key is what made appends slow.
_UNKEY = """
CREATE TABLE telemetry_appended AS SELECT * FROM telemetry;
DROP TABLE telemetry;
ALTER TABLE telemetry_appended RENAME TO telemetry;
"""
_COLUMNS = "tenant, device, key, ts, value, text, kind"
_INSERT = f"INSERT INTO telemetry SELECT {_COLUMNS} FROM incoming"
# A batch that names a point twice: the row with the greatest seq (the latest write) wins.
_INSERT_LAST = (
    f"{_INSERT} QUALIFY row_number() OVER "
    "(PARTITION BY tenant, device, key, ts ORDER BY seq DESC) = 1"
)
_REPLACE = """
DELETE FROM telemetry USING incoming AS i
WHERE telemetry.ts BETWEEN ? AND ? AND telemetry.tenant = i.tenant
  AND telemetry.device = i.device AND telemetry.key = i.key AND telemetry.ts = i.ts
"""
_SERIES = ["tenant", "device", "key"]
_Series = tuple[str, str, str]

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
            _unkey(self._con)
            self._con.execute(_SCHEMA)
            self._newest = _newest(self._con)
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
        """Insert the batch's points, replacing equal ones, in one transaction."""
        return self._insert([Record(0, batch)], None)

    def apply(self, records: Sequence[Record]) -> int:
        """Insert the records' points and move :meth:`position` to their end, atomically."""
        return self._insert(records, records[-1].end if records else None)

    def _insert(self, records: Sequence[Record], position: int | None) -> int:
        incoming = _incoming(records)
        summary = _summary(incoming) if incoming.num_rows else None
        with self._cursor() as con:
            con.begin()
            try:
                if summary is not None:
                    self._insert_rows(con, incoming, summary)
                if position is not None:
                    con.execute("UPDATE applied SET position = ?", [position]).fetchall()
                con.commit()
            except BaseException:
                con.rollback()
                raise
            finally:
                if summary is not None:
                    con.unregister("incoming")
            if summary is not None:
                self._note_newest(summary)
        return int(incoming.num_rows)

    def _insert_rows(
        self, con: ddb.DuckDBPyConnection, incoming: pa.Table, summary: pa.Table
    ) -> None:
        con.register("incoming", incoming)
        late = self._late(summary)
        if late is not None:  # resent or late points: drop the rows they replace
            con.execute(_REPLACE, list(late)).fetchall()
        repeats = pc.any(pc.less(summary["ts_count_distinct"], summary["ts_count"])).as_py()
        con.execute(_INSERT_LAST if repeats else _INSERT).fetchall()

    def _late(self, summary: pa.Table) -> tuple[int, int] | None:
        """The ts range of series that reach back to a point already held, if any do."""
        series = zip(*(summary[c].to_pylist() for c in (*_SERIES, "ts_min", "ts_max")), strict=True)
        low = high = None
        for tenant, device, key, first, last in series:
            newest = self._newest.get((tenant, device, key))
            if newest is not None and first <= newest:
                low = first if low is None else min(low, first)
                high = last if high is None else max(high, last)
        return None if low is None or high is None else (low, high)

    def _note_newest(self, summary: pa.Table) -> None:
        series = zip(*(summary[c].to_pylist() for c in (*_SERIES, "ts_max")), strict=True)
        newest = self._newest
        for tenant, device, key, last in series:
            held = newest.get((tenant, device, key))
            if held is None or last > held:
                newest[(tenant, device, key)] = last

    def position(self) -> int:
        """The ingest-log offset applied so far."""
        with self._cursor() as con:
            rows = con.execute("SELECT max(position) FROM applied").fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def checkpoint(self) -> None:
        """Write DuckDB's own log into the database file."""
        with self._cursor() as con:
            con.execute("CHECKPOINT").fetchall()

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
            rows = con.execute(f"DELETE FROM telemetry WHERE {where}", params).fetchall()
        return int(rows[0][0]) if rows else 0

    def count(self, tenant: str) -> int:
        """Points held for the tenant."""
        with self._cursor() as con:
            rows = con.execute(
                "SELECT count(*) FROM telemetry WHERE tenant = ?", [tenant]
            ).fetchall()
        return int(rows[0][0]) if rows else 0

    def _fetch(self, sql: str, params: list[Any], schema: pa.Schema) -> pa.Table:
        with self._cursor() as con:
            table = con.sql(sql, params=params).to_arrow_table()
        return table.rename_columns(schema.names).cast(schema)

    def close(self) -> None:
        """Checkpoint and close the database file."""
        with self._lock:
            self._con.close()


def _incoming(records: Sequence[Record]) -> pa.Table:
    """The records' points with their tenant and seq (log offset: later wins) as columns."""
    parts = []
    for record in records:
        table, n = record.batch.table, len(record.batch)
        table = table.add_column(0, "tenant", pa.repeat(pa.scalar(record.batch.tenant), n))
        seq = np.arange(record.offset, record.offset + n, dtype=np.int64)
        parts.append(table.append_column("seq", pa.array(seq)))
    if not parts:
        return pa.table({"seq": pa.array([], pa.int64())})
    return pa.concat_tables(parts)


def _summary(incoming: pa.Table) -> pa.Table:
    """Per series: first and last ts, points and distinct ts (fewer: a point named twice)."""
    return incoming.group_by(_SERIES, use_threads=False).aggregate(
        [("ts", "min"), ("ts", "max"), ("ts", "count"), ("ts", "count_distinct")]
    )


def _unkey(con: ddb.DuckDBPyConnection) -> None:
    keyed = con.execute(
        "SELECT count(*) FROM duckdb_constraints() "
        "WHERE table_name = 'telemetry' AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()
    if keyed and keyed[0][0]:
        con.execute(_UNKEY).fetchall()


def _newest(con: ddb.DuckDBPyConnection) -> dict[_Series, int]:
    rows = con.execute("SELECT tenant, device, key, max(ts) FROM telemetry GROUP BY ALL").fetchall()
    return {(str(t), str(d), str(k)): int(ts) for t, d, k, ts in rows}


# Kind is referenced in SQL by number; keep the two in step.
assert (int(Kind.NUMBER), int(Kind.BOOL)) == (0, 1)
