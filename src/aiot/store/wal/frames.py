"""How a record lies on disk: a 20-byte header, the tenant, then one Arrow IPC message.

::

    magic   u32  0x324C4941 ("AIL2" little-endian): this layout, and the batch schema below
    length  u32  bytes that follow the header
    offset  u64  the log offset of the record's first point
    crc     u32  CRC-32 of the three fields above and of everything that follows
    tenant  u16 length, then UTF-8
    points  an Arrow IPC encapsulated record-batch message of :data:`~aiot.domain.BATCH_SCHEMA`

The schema is not repeated in every record: the magic names it, and a log written with
another schema gets another magic. A header whose magic, length or CRC does not check out
ends the readable part of a segment: it is where a crash cut a write short.
"""

from __future__ import annotations

import struct
import zlib

import pyarrow as pa

from aiot.domain import BATCH_SCHEMA, Batch

__all__ = ["HEADER", "Frame", "decode", "encode", "parse_header"]

MAGIC = 0x324C4941
HEADER = struct.Struct("<IIQI")
_CHECKED = struct.Struct("<IIQ")
_TENANT = struct.Struct("<H")
_CRC = struct.Struct("<I")
MAX_RECORD = 1 << 31  # a length above this is a damaged header, not a record


class Frame:
    """A parsed header: where its body lies and what it must check to."""

    __slots__ = ("crc", "length", "offset")

    def __init__(self, length: int, offset: int, crc: int) -> None:
        self.length, self.offset, self.crc = length, offset, crc

    @property
    def size(self) -> int:
        """Header and body together, in bytes."""
        return HEADER.size + self.length


def encode(offset: int, batch: Batch) -> bytes:
    """The bytes of one record: header, tenant and Arrow IPC message."""
    tenant = batch.tenant.encode()
    table = batch.table.combine_chunks()
    points = table.to_batches()[0].serialize() if table.num_rows else b""
    body = _TENANT.pack(len(tenant)) + tenant + bytes(points)
    checked = _CHECKED.pack(MAGIC, len(body), offset)
    return checked + _CRC.pack(zlib.crc32(body, zlib.crc32(checked))) + body


def parse_header(raw: bytes) -> Frame | None:
    """The header at the start of ``raw``, or None if it is not a valid one."""
    if len(raw) < HEADER.size:
        return None
    magic, length, offset, crc = HEADER.unpack_from(raw)
    if magic != MAGIC or length > MAX_RECORD:
        return None
    return Frame(length, offset, crc)


def decode(frame: Frame, body: bytes) -> Batch | None:
    """The batch of a record, or None if the body is short or fails its checksum."""
    if len(body) != frame.length:
        return None
    checked = _CHECKED.pack(MAGIC, frame.length, frame.offset)
    if zlib.crc32(body, zlib.crc32(checked)) != frame.crc or len(body) < _TENANT.size:
        return None
    (size,) = _TENANT.unpack_from(body)
    try:
        tenant = body[_TENANT.size : _TENANT.size + size].decode()
        # Sliced out as its own bytes: aligned, as Arrow's compute kernels want their buffers.
        message = pa.py_buffer(body[_TENANT.size + size :])
        points = pa.ipc.read_record_batch(message, BATCH_SCHEMA)
    except (UnicodeDecodeError, pa.ArrowInvalid):  # a checksum collision on damaged bytes
        return None
    return Batch(tenant, pa.Table.from_batches([points]))
