"""MQTT 3.1 and 3.1.1 packets (v5 forms: :mod:`.v5`): framing, parsing, building.

:func:`split` cuts whole packets off a receive buffer; ``parse_*`` read one packet's body;
the builders return ready-to-write bytes. Anything malformed raises :class:`ProtocolViolation`,
and the connection that sent it is closed (never the endpoint).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "CONNACK_ACCEPTED",
    "CONNACK_BAD_PROTOCOL",
    "CONNACK_NOT_AUTHORIZED",
    "PINGRESP",
    "Connect",
    "Packet",
    "ProtocolViolation",
    "Publish",
    "connack",
    "parse_connect",
    "parse_publish",
    "parse_subscribe",
    "parse_unsubscribe",
    "puback",
    "pubacks",
    "publish",
    "split",
    "suback",
    "unsuback",
]

CONNECT, PUBLISH, PUBACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT = 1, 3, 4, 8, 10, 12, 14
CONNACK_ACCEPTED, CONNACK_BAD_PROTOCOL, CONNACK_NOT_AUTHORIZED = 0, 1, 5
TOPIC_NAME_INVALID = 0x90  # MQTT 5 PUBACK reason code
PINGRESP = b"\xd0\x00"
_U16 = struct.Struct("!H")
_PUBACK = struct.Struct("!BBH")


class ProtocolViolation(Exception):
    """The peer sent bytes that are not MQTT as aiot accepts it."""


class Packet(NamedTuple):  # a tuple: cheaper to build than a frozen dataclass, per packet
    """One framed packet: its type, the four flag bits and its body."""

    type: int
    flags: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Connect:
    """The fields of CONNECT that matter here."""

    level: int
    client_id: str
    keepalive: int
    username: str | None
    password: bytes | None
    clean_session: bool
    properties: dict[int, Any] = field(default_factory=dict)  # MQTT 5 only


class Publish(NamedTuple):
    """A PUBLISH: topic, QoS, packet id (QoS > 0) and payload."""

    topic: str
    qos: int
    packet_id: int
    payload: bytes
    retain: bool = False
    alias: int = 0  # MQTT 5 topic alias (0: none)


def split(buffer: bytearray, max_size: int) -> tuple[list[Packet], int]:
    """Whole packets at the start of ``buffer`` and how many bytes they used."""
    packets: list[Packet] = []
    pos, end = 0, len(buffer)
    while end - pos >= 2:
        length, shift, i = 0, 0, pos + 1
        while True:
            if i >= end:
                return packets, pos
            byte = buffer[i]
            length |= (byte & 0x7F) << shift
            i += 1
            if not byte & 0x80:
                break
            shift += 7
            if shift > 21:
                raise ProtocolViolation("the remaining length is longer than four bytes")
        if length > max_size:
            raise ProtocolViolation(f"a packet of {length} bytes is above the limit")
        if i + length > end:
            return packets, pos
        head = buffer[pos]
        packets.append(Packet(head >> 4, head & 0x0F, bytes(buffer[i : i + length])))
        pos = i + length
    return packets, pos


def _string(body: bytes, pos: int) -> tuple[str, int]:
    raw, pos = _binary(body, pos)
    try:
        return raw.decode("utf-8"), pos
    except UnicodeDecodeError as err:
        raise ProtocolViolation("a string is not UTF-8") from err


def _binary(body: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(body):
        raise ProtocolViolation("a field runs past the packet")
    (size,) = _U16.unpack_from(body, pos)
    if pos + 2 + size > len(body):
        raise ProtocolViolation("a field runs past the packet")
    return body[pos + 2 : pos + 2 + size], pos + 2 + size


def parse_connect(body: bytes) -> Connect:
    """CONNECT's fields; MQTT 3.1 (``MQIsdp``) and 3.1.1 (``MQTT``) are accepted."""
    name, pos = _string(body, 0)
    if name not in ("MQTT", "MQIsdp") or pos + 4 > len(body):
        raise ProtocolViolation("not an MQTT CONNECT")
    level, flags = body[pos], body[pos + 1]
    (keepalive,) = _U16.unpack_from(body, pos + 2)
    client_id, pos = _string(body, pos + 4)
    if flags & 0x04:  # a will: topic and message, unused here
        _, pos = _string(body, pos)
        _, pos = _binary(body, pos)
    username = password = None
    if flags & 0x80:
        username, pos = _string(body, pos)
    if flags & 0x40:
        password, pos = _binary(body, pos)
    return Connect(level, client_id, keepalive, username, password, bool(flags & 0x02))


def parse_publish(flags: int, body: bytes) -> Publish:
    """A PUBLISH body; QoS 2 is refused (devices use 0 or 1)."""
    qos = (flags >> 1) & 0x03
    if qos > 1:
        raise ProtocolViolation("QoS 2 is not supported; publish with QoS 0 or 1")
    topic, pos = _string(body, 0)
    packet_id = 0
    if qos:
        if pos + 2 > len(body):
            raise ProtocolViolation("a QoS 1 PUBLISH without packet id")
        (packet_id,) = _U16.unpack_from(body, pos)
        pos += 2
    return Publish(topic, qos, packet_id, body[pos:], bool(flags & 0x01))


def parse_subscribe(body: bytes) -> tuple[int, list[tuple[str, int]]]:
    """The packet id and (filter, QoS) pairs of a SUBSCRIBE."""
    if len(body) < 2:
        raise ProtocolViolation("a SUBSCRIBE without packet id")
    (packet_id,) = _U16.unpack_from(body, 0)
    pos, wanted = 2, []
    while pos < len(body):
        topic, pos = _string(body, pos)
        if pos >= len(body):
            raise ProtocolViolation("a SUBSCRIBE filter without QoS")
        wanted.append((topic, body[pos] & 0x03))
        pos += 1
    if not wanted:
        raise ProtocolViolation("a SUBSCRIBE with no filter")
    return packet_id, wanted


def parse_unsubscribe(body: bytes) -> tuple[int, list[str]]:
    """The packet id and filters of an UNSUBSCRIBE."""
    if len(body) < 2:
        raise ProtocolViolation("an UNSUBSCRIBE without packet id")
    (packet_id,) = _U16.unpack_from(body, 0)
    pos, topics = 2, []
    while pos < len(body):
        topic, pos = _string(body, pos)
        topics.append(topic)
    return packet_id, topics


def _length(size: int) -> bytes:
    out = bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        out.append(byte | 0x80 if size else byte)
        if not size:
            return bytes(out)


def connack(code: int, session_present: bool = False) -> bytes:
    """CONNACK with a return code."""
    return bytes((0x20, 2, 1 if session_present and code == 0 else 0, code))


def puback(packet_id: int) -> bytes:
    """PUBACK for a QoS 1 PUBLISH."""
    return _PUBACK.pack(0x40, 2, packet_id)


def refused(packet_id: int, version: int, reason: int = TOPIC_NAME_INVALID) -> int:
    """The PUBACK entry of a refused PUBLISH: MQTT 5 carries the reason, 3.1.1 cannot."""
    return packet_id | reason << 16 if version == 5 else packet_id


def _ack(entry: int) -> bytes:
    if entry <= 0xFFFF:
        return _PUBACK.pack(0x40, 2, entry)
    return _PUBACK.pack(0x40, 3, entry & 0xFFFF) + bytes((entry >> 16,))  # v5: + reason code


def pubacks(packet_ids: list[int]) -> bytes:
    """PUBACKs for many QoS 1 PUBLISH packets, in order, built as one array."""
    if len(packet_ids) < 8 or max(packet_ids) > 0xFFFF:
        return b"".join(map(_ack, packet_ids))
    out = np.empty((len(packet_ids), 2), dtype=">u2")
    out[:, 0] = 0x4002  # PUBACK, remaining length 2
    out[:, 1] = packet_ids
    return out.tobytes()


def suback(packet_id: int, codes: list[int]) -> bytes:
    """SUBACK: a granted QoS (or 0x80, refused) per filter."""
    return bytes((0x90,)) + _length(2 + len(codes)) + _U16.pack(packet_id) + bytes(codes)


def unsuback(packet_id: int) -> bytes:
    """UNSUBACK."""
    return bytes((0xB0, 2)) + _U16.pack(packet_id)


def publish(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0) -> bytes:
    """A PUBLISH packet, for messages from aiot to a device (and the load generator)."""
    name = topic.encode()
    head = _U16.pack(len(name)) + name + (_U16.pack(packet_id) if qos else b"")
    return bytes((0x30 | qos << 1,)) + _length(len(head) + len(payload)) + head + payload


def connect(client_id: str, username: str | None = None, keepalive: int = 60) -> bytes:
    """A CONNECT packet (clean session), for the load generator and tests."""
    flags = 0x02 | (0x80 if username is not None else 0)
    body = _U16.pack(4) + b"MQTT" + bytes((4, flags)) + _U16.pack(keepalive)
    cid = client_id.encode()
    body += _U16.pack(len(cid)) + cid
    if username is not None:
        user = username.encode()
        body += _U16.pack(len(user)) + user
    return bytes((0x10,)) + _length(len(body)) + body


__all__ += ["connect"]
