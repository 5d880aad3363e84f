"""The embedded telemetry store: one DuckDB file under the data folder.

Each series (tenant, device, key) is a row of ``series``; a point is a row of ``points`` with
its series id, so an append carries an integer instead of three strings. Points are appended,
never looked up one by one: the :class:`~aiot.store.series.SeriesIndex` knows the newest ts
held of each series, and only an append that reaches back to or before it (a resent or late
point) pays a delete of the points it replaces, within its time range. So the last write wins
without a keyed ``INSERT OR REPLACE``, which caps DuckDB near a third of its append rate.
``apply`` records the ingest log's position in the same transaction as the points. One
connection serves every thread under a lock.

Opening reads every table in full (:func:`_read_all`): DuckDB checks a block's checksum only
when it reads the block, so a file with a corrupt block in the middle would otherwise open,
take writes and fail the queries that reach it. A damaged file is :class:`StoreDamaged`; a
folder that cannot be written, a lock held by another process and other failures are a
:class:`StoreError` whose one-line message says which.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb as ddb
import pyarrow as pa

from aiot.domain import Aggregation, Batch, Kind
from aiot.errors import StoreDamaged, StoreError
from aiot.store.base import AGG_SCHEMA, RAW_SCHEMA
from aiot.store.series import Incoming, SeriesIndex
from aiot.store.wal.base import Record

__all__ = ["DuckDBStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    tenant VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    key VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS points (
    series INTEGER NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE,
    text VARCHAR,
    kind TINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS applied (position BIGINT NOT NULL);
INSERT INTO applied SELECT 0 WHERE NOT EXISTS (SELECT * FROM applied);
"""
# Stores made before series ids kept three strings a point in one table.
_FROM_STRINGS = """
INSERT INTO series
SELECT (row_number() OVER (ORDER BY tenant, device, key) - 1)::INTEGER, tenant, device, key
FROM (SELECT DISTINCT tenant, device, key FROM telemetry);
INSERT INTO points
SELECT s.id, t.ts, t.value, t.text, t.kind
FROM telemetry t JOIN series s USING (tenant, device, key);
DROP TABLE telemetry;
"""
_INSERT = "INSERT INTO points SELECT series, ts, value, text, kind FROM incoming"
# A batch that names a point twice: the row with the greatest seq (the latest write) wins.
_INSERT_LAST = (
    f"{_INSERT} QUALIFY row_number() OVER (PARTITION BY series, ts ORDER BY seq DESC) = 1"
)
_REPLACE = """
DELETE FROM points USING incoming AS i
WHERE points.ts BETWEEN ? AND ? AND points.series = i.series AND points.ts = i.ts
"""
_SELECT = (
    "SELECT s.key, p.ts, p.value, p.text, p.kind FROM points p JOIN series s ON p.series = s.id"
)

_OF_TENANT = "p.series IN (SELECT id FROM series WHERE tenant = ?)"

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
        con: ddb.DuckDBPyConnection | None = None
        try:
            con = ddb.connect(str(path))
            con.execute(_SCHEMA).fetchall()
            _from_strings(con)
            _read_all(con)
            self._index = _index(con)
        except ddb.Error as err:
            if con is not None:
                con.close()  # releases the file's lock
            raise _open_error(path, err) from err
        self._con = con
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
        records = [r for r in records if len(r.batch)]
        with self._cursor() as con:
            incoming = self._index.prepare(records) if records else None
            con.begin()
            try:
                if incoming is not None:
                    self._insert_points(con, incoming)
                if position is not None:
                    con.execute("UPDATE applied SET position = ?", [position]).fetchall()
                con.commit()
            except BaseException:
                con.rollback()
                raise
            if incoming is None:
                return 0
            self._index.keep(incoming)
            return int(incoming.points.num_rows)

    def _insert_points(self, con: ddb.DuckDBPyConnection, incoming: Incoming) -> None:
        if incoming.new_series.num_rows:
            con.register("new_series", incoming.new_series)
            try:
                con.execute("INSERT INTO series SELECT * FROM new_series").fetchall()
            finally:
                con.unregister("new_series")
        con.register("incoming", incoming.points)
        try:
            late = self._index.late(incoming)
            if late is not None:  # resent or late points: drop the rows they replace
                con.execute(_REPLACE, list(late)).fetchall()
            con.execute(_INSERT_LAST if incoming.repeats else _INSERT).fetchall()
        finally:
            con.unregister("incoming")

    def position(self) -> int:
        """The ingest-log offset applied so far."""
        with self._cursor() as con:
            rows = con.execute("SELECT max(position) FROM applied").fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def checkpoint(self) -> None:
        """Write DuckDB's own log into the database file."""
        with self._cursor() as con:
            con.execute("CHECKPOINT").fetchall()

    def _where(self, tenant: str, device: str, keys: Sequence[str] | None) -> str | None:
        """``p.series IN (...)`` for the device's series (ints only), or None when it has none."""
        with self._lock:
            ids = self._index.of_device(tenant, device, keys)
        return f"p.series IN ({', '.join(map(str, ids))})" if ids else None

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
        where = self._where(tenant, device, keys)
        direction = self._direction(order)
        if where is None:
            return RAW_SCHEMA.empty_table()
        sql = f"{_SELECT} WHERE {where} AND p.ts >= ? AND p.ts < ? "
        params: list[Any] = [start, end]
        if limit is not None:  # every key gets its share, not only the first keys
            sql += (
                f"QUALIFY row_number() OVER (PARTITION BY p.series ORDER BY p.ts {direction}) <= ? "
            )
            params.append(limit)
        return self._fetch(sql + f"ORDER BY s.key, p.ts {direction}", params, RAW_SCHEMA)

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
        limit: int | None = None,
        order: str = "asc",
    ) -> pa.Table:
        """Bucketed aggregates from ``start`` in steps of ``interval`` ms, ``limit`` per key."""
        where = self._where(tenant, device, keys)
        direction = self._direction(order)
        if where is None:
            return AGG_SCHEMA.empty_table()
        sql = (
            f"SELECT s.key, ? + ((p.ts - ?) // ?) * ? AS bucket, {_AGG_SQL[agg]} AS value "
            f"FROM points p JOIN series s ON p.series = s.id WHERE {where} "
            "AND p.ts >= ? AND p.ts < ? "
            "GROUP BY s.key, bucket HAVING value IS NOT NULL "
        )
        params: list[Any] = [start, start, interval, interval, start, end]
        if limit is not None:
            sql += f"QUALIFY row_number() OVER (PARTITION BY s.key ORDER BY bucket {direction}) "
            sql += "<= ? "
            params.append(limit)
        return self._fetch(sql + f"ORDER BY s.key, bucket {direction}", params, AGG_SCHEMA)

    def latest(self, tenant: str, device: str, keys: Sequence[str] | None = None) -> pa.Table:
        """The point with the greatest ts of each key."""
        where = self._where(tenant, device, keys)
        if where is None:
            return RAW_SCHEMA.empty_table()
        sql = (
            f"{_SELECT} WHERE {where} "
            "QUALIFY row_number() OVER (PARTITION BY p.series ORDER BY p.ts DESC) = 1 "
            "ORDER BY s.key"
        )
        return self._fetch(sql, [], RAW_SCHEMA)

    def keys(self, tenant: str, device: str) -> list[str]:
        """Keys with at least one point, sorted."""
        where = self._where(tenant, device, None)
        if where is None:
            return []
        sql = f"SELECT DISTINCT s.key FROM points p JOIN series s ON p.series = s.id WHERE {where}"
        with self._cursor() as con:
            rows = con.execute(sql + " ORDER BY s.key").fetchall()
        return [str(r[0]) for r in rows]

    def delete_before(self, tenant: str, ts: int, device: str | None = None) -> int:
        """Retention: drop points older than ``ts``."""
        if device is not None:
            where = self._where(tenant, device, None)
            return 0 if where is None else self._delete(f"{where} AND p.ts < ?", [ts])
        return self._delete(f"{_OF_TENANT} AND p.ts < ?", [tenant, ts])

    def delete_device(self, tenant: str, device: str) -> int:
        """Drop every point and series of ``device``."""
        where = self._where(tenant, device, None)
        if where is None:
            return 0
        deleted = self._delete(where, [])
        with self._cursor() as con:
            ids = self._index.forget(tenant, device)
            con.execute(f"DELETE FROM series WHERE id IN ({', '.join(map(str, ids))})").fetchall()
        return deleted

    def delete_tenant(self, tenant: str) -> int:
        """Drop every point and series of the tenant."""
        with self._lock:
            devices = self._index.devices(tenant)
        return sum(self.delete_device(tenant, device) for device in devices)

    def _delete(self, where: str, params: list[Any]) -> int:
        with self._cursor() as con:
            rows = con.execute(f"DELETE FROM points p WHERE {where}", params).fetchall()
        return int(rows[0][0]) if rows else 0

    def count(self, tenant: str) -> int:
        """Points held for the tenant."""
        with self._cursor() as con:
            rows = con.execute(f"SELECT count(*) FROM points p WHERE {_OF_TENANT}", [tenant])
            found = rows.fetchall()
        return int(found[0][0]) if found else 0

    def _fetch(self, sql: str, params: list[Any], schema: pa.Schema) -> pa.Table:
        with self._cursor() as con:
            table = con.sql(sql, params=params).to_arrow_table()
        return table.rename_columns(schema.names).cast(schema)

    def close(self) -> None:
        """Checkpoint and close the database file."""
        with self._lock:
            self._con.close()


def _from_strings(con: ddb.DuckDBPyConnection) -> None:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'telemetry'"
    ).fetchall()
    if found and found[0][0]:
        con.execute(_FROM_STRINGS).fetchall()


# Hashing every column makes DuckDB read (and checksum) every block of every table.
_READ_ALL = (
    "SELECT count(*), sum(hash(id, tenant, device, key)) FROM series",
    "SELECT count(*), sum(hash(series, ts, value, text, kind)) FROM points",
    "SELECT count(*), sum(hash(position)) FROM applied",
)


def _read_all(con: ddb.DuckDBPyConnection) -> None:
    """Read every row of every table (about 0.1 s per 10 million points)."""
    for sql in _READ_ALL:
        con.execute(sql).fetchall()


def _open_error(path: Path | str, err: ddb.Error) -> StoreError:
    """The opening failure in one line that says why."""
    reason = str(err).splitlines()[0].removeprefix("IO Error: ") if str(err) else repr(err)
    if "Corrupt database file" in reason or "not a valid DuckDB database" in reason:
        return StoreDamaged(f"the telemetry store at {path} is damaged: {reason}", str(err))
    if "Could not set lock" in reason:
        reason = "another process (another aiot?) has it open"
    elif "Permission denied" in reason or "Read-only file system" in reason:
        reason = f"the data folder cannot be written ({reason.rsplit(': ', 1)[-1].lower()})"
    return StoreError(f"cannot open the telemetry store at {path}: {reason}", str(err))


def _index(con: ddb.DuckDBPyConnection) -> SeriesIndex:
    rows = con.execute("SELECT id, tenant, device, key FROM series").fetchall()
    newest = con.execute("SELECT series, max(ts) FROM points GROUP BY series").fetchall()
    return SeriesIndex(
        [(int(i), str(t), str(d), str(k)) for i, t, d, k in rows],
        {int(sid): int(ts) for sid, ts in newest},
    )


# Kind is referenced in SQL by number; keep the two in step.
assert (int(Kind.NUMBER), int(Kind.BOOL)) == (0, 1)
