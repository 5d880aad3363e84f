"""How a record lies on disk: a 20-byte header, then one Arrow IPC stream.

::

    magic  u32  0x574C4941 ("AILW" little-endian)
    length u32  bytes of the Arrow IPC stream that follows
    offset u64  the log offset of the record's first point
    crc    u32  CRC-32 of the three fields above and the stream

The tenant travels in the stream's schema metadata. A header whose magic, length or CRC does
not check out ends the readable part of a segment: it is where a crash cut a write short.
"""

from __future__ import annotations

import struct
import zlib

import pyarrow as pa

from aiot.domain import BATCH_SCHEMA, Batch

__all__ = ["HEADER", "Frame", "decode", "encode", "parse_header"]

MAGIC = 0x574C4941
HEADER = struct.Struct("<IIQI")
_CHECKED = struct.Struct("<IIQ")
MAX_RECORD = 1 << 31  # a length above this is a damaged header, not a record


class Frame:
    """A parsed header: where its stream lies and what it must check to."""

    __slots__ = ("crc", "length", "offset")

    def __init__(self, length: int, offset: int, crc: int) -> None:
        self.length, self.offset, self.crc = length, offset, crc

    @property
    def size(self) -> int:
        """Header and stream together, in bytes."""
        return HEADER.size + self.length


def encode(offset: int, batch: Batch) -> bytes:
    """The bytes of one record: header and Arrow IPC stream."""
    schema = BATCH_SCHEMA.with_metadata({"tenant": batch.tenant})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(batch.table.replace_schema_metadata(schema.metadata), max_chunksize=None)
    stream: bytes = sink.getvalue().to_pybytes()
    checked = _CHECKED.pack(MAGIC, len(stream), offset)
    crc = zlib.crc32(stream, zlib.crc32(checked))
    return checked + struct.pack("<I", crc) + stream


def parse_header(raw: bytes) -> Frame | None:
    """The header at the start of ``raw``, or None if it is not a valid one."""
    if len(raw) < HEADER.size:
        return None
    magic, length, offset, crc = HEADER.unpack_from(raw)
    if magic != MAGIC or length > MAX_RECORD:
        return None
    return Frame(length, offset, crc)


def decode(frame: Frame, stream: bytes) -> Batch | None:
    """The batch of a record, or None if the stream is short or fails its checksum."""
    if len(stream) != frame.length:
        return None
    checked = _CHECKED.pack(MAGIC, frame.length, frame.offset)
    if zlib.crc32(stream, zlib.crc32(checked)) != frame.crc:
        return None
    try:
        table = pa.ipc.open_stream(pa.py_buffer(stream)).read_all()
    except pa.ArrowInvalid:  # a checksum collision on damaged bytes: as good as torn
        return None
    tenant = (table.schema.metadata or {}).get(b"tenant", b"").decode()
    return Batch(tenant, table.replace_schema_metadata(None))
