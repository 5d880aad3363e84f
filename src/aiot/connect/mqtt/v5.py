"""MQTT 5 beside 3.1.1: properties, and the v5 forms of the packets a device endpoint uses.

Every v5 packet aiot reads carries a property list (a variable byte integer length, then
``id, value`` pairs; OASIS MQTT 5.0, 2.2.2). The properties aiot honours are kept by id;
user properties and the rest a device may send are read past safely; an unknown id or a
value that runs past its packet raises :class:`~aiot.connect.mqtt.codec.ProtocolViolation`.
"""

from __future__ import annotations

import struct
from typing import Any

from aiot.connect.mqtt import codec
from aiot.connect.mqtt.codec import Connect, ProtocolViolation, Publish

__all__ = [
    "CONNACK_BAD_PROTOCOL",
    "CONNACK_NOT_AUTHORIZED",
    "MAX_PACKET_SIZE",
    "RECEIVE_MAXIMUM",
    "SESSION_EXPIRY",
    "TOPIC_ALIAS",
    "TOPIC_ALIAS_MAXIMUM",
    "connack",
    "disconnect",
    "parse_connect",
    "parse_publish",
    "parse_subscribe",
    "parse_unsubscribe",
    "properties",
    "publish",
    "suback",
    "unsuback",
]

SESSION_EXPIRY, RECEIVE_MAXIMUM, MAX_PACKET_SIZE = 0x11, 0x21, 0x27
TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS, MAXIMUM_QOS = 0x22, 0x23, 0x24
CONNACK_BAD_PROTOCOL, CONNACK_NOT_AUTHORIZED = 0x84, 0x87  # v5 CONNACK reason codes
PROTOCOL_ERROR, TOPIC_ALIAS_INVALID, PACKET_TOO_LARGE = 0x82, 0x94, 0x95  # DISCONNECT reasons

# property id → its value's form (MQTT 5.0, 2.2.2.2); 0x26 (user property) is a string pair
_BYTE, _U16, _U32, _VARINT, _STR, _BIN, _PAIR = range(7)
_FORMS = {
    0x01: _BYTE, 0x02: _U32, 0x03: _STR, 0x08: _STR, 0x09: _BIN, 0x0B: _VARINT, 0x11: _U32,
    0x12: _STR, 0x13: _U16, 0x15: _STR, 0x16: _BIN, 0x17: _BYTE, 0x18: _U32, 0x19: _BYTE,
    0x1A: _STR, 0x1C: _STR, 0x1F: _STR, 0x21: _U16, 0x22: _U16, 0x23: _U16, 0x24: _BYTE,
    0x25: _BYTE, 0x26: _PAIR, 0x27: _U32, 0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}  # fmt: skip
_U16S, _U32S = struct.Struct("!H"), struct.Struct("!I")


def _varint(body: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for shift in (0, 7, 14, 21):
        if pos >= len(body):
            raise ProtocolViolation("a variable byte integer runs past the packet")
        byte = body[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
    raise ProtocolViolation("a variable byte integer is longer than four bytes")


def _value(form: int, body: bytes, pos: int, end: int) -> tuple[Any, int]:
    if form == _VARINT:
        return _varint(body[:end], pos)
    if form in (_STR, _BIN, _PAIR):
        first, pos = codec._binary(body[:end], pos)
        if form == _PAIR:
            _, pos = codec._binary(body[:end], pos)  # a user property: read past, ignored
        return first, pos
    size = {_BYTE: 1, _U16: 2, _U32: 4}[form]
    if pos + size > end:
        raise ProtocolViolation("a property runs past the packet")
    return int.from_bytes(body[pos : pos + size], "big"), pos + size


def properties(body: bytes, pos: int) -> tuple[dict[int, Any], int]:
    """The properties at ``pos`` by id (user properties left out), and the position after."""
    size, pos = _varint(body, pos)
    end = pos + size
    if end > len(body):
        raise ProtocolViolation("the properties run past the packet")
    found: dict[int, Any] = {}
    while pos < end:
        prop = body[pos]
        form = _FORMS.get(prop)
        if form is None:
            raise ProtocolViolation(f"unknown MQTT 5 property 0x{prop:02x}")
        value, pos = _value(form, body, pos + 1, end)
        if form != _PAIR:  # user properties mean nothing to aiot: read past, never kept
            found[prop] = value
    return found, end


def parse_connect(body: bytes) -> Connect:
    """CONNECT of any level aiot knows; MQTT 5's properties land in ``Connect.properties``."""
    _, pos = codec._string(body, 0)
    if pos >= len(body) or body[pos] != 5:
        return codec.parse_connect(body)
    if pos + 4 > len(body):
        raise ProtocolViolation("not an MQTT CONNECT")
    flags = body[pos + 1]
    (keepalive,) = _U16S.unpack_from(body, pos + 2)
    props, pos = properties(body, pos + 4)
    client_id, pos = codec._string(body, pos)
    if flags & 0x04:  # a will: its properties, topic and message, unused here
        _, pos = properties(body, pos)
        _, pos = codec._string(body, pos)
        _, pos = codec._binary(body, pos)
    username = password = None
    if flags & 0x80:
        username, pos = codec._string(body, pos)
    if flags & 0x40:
        password, pos = codec._binary(body, pos)
    return Connect(5, client_id, keepalive, username, password, bool(flags & 0x02), props)


def parse_publish(flags: int, body: bytes) -> Publish:
    """A v5 PUBLISH body; its topic alias (0: none) comes back in ``Publish.alias``."""
    qos = (flags >> 1) & 0x03
    if qos > 1:
        raise ProtocolViolation("QoS 2 is not supported; publish with QoS 0 or 1")
    topic, pos = codec._string(body, 0)
    packet_id = 0
    if qos:
        if pos + 2 > len(body):
            raise ProtocolViolation("a QoS 1 PUBLISH without packet id")
        (packet_id,) = _U16S.unpack_from(body, pos)
        pos += 2
    props, pos = properties(body, pos)
    alias = props.get(TOPIC_ALIAS, 0)
    return Publish(topic, qos, packet_id, body[pos:], bool(flags & 0x01), alias)


def parse_subscribe(body: bytes) -> tuple[int, list[tuple[str, int]]]:
    """The packet id and (filter, QoS) pairs of a v5 SUBSCRIBE (options beyond QoS ignored)."""
    if len(body) < 2:
        raise ProtocolViolation("a SUBSCRIBE without packet id")
    _, pos = properties(body, 2)
    return codec.parse_subscribe(body[:2] + body[pos:])


def parse_unsubscribe(body: bytes) -> tuple[int, list[str]]:
    """The packet id and filters of a v5 UNSUBSCRIBE."""
    if len(body) < 2:
        raise ProtocolViolation("an UNSUBSCRIBE without packet id")
    _, pos = properties(body, 2)
    return codec.parse_unsubscribe(body[:2] + body[pos:])


def _props(values: dict[int, int]) -> bytes:
    out = bytearray()
    for prop, value in values.items():
        size = 1 if _FORMS[prop] == _BYTE else 2 if _FORMS[prop] == _U16 else 4
        out += bytes((prop,)) + value.to_bytes(size, "big")
    return codec._length(len(out)) + bytes(out)


def _packet(head: int, body: bytes) -> bytes:
    return bytes((head,)) + codec._length(len(body)) + body


def connack(reason: int, props: dict[int, int] | None = None) -> bytes:
    """A v5 CONNACK: no session present, a reason code and aiot's limits as properties."""
    return _packet(0x20, bytes((0, reason)) + _props(props or {}))


def publish(topic: str, payload: bytes) -> bytes:
    """A v5 QoS 0 PUBLISH, with no properties."""
    name = topic.encode()
    return _packet(0x30, _U16S.pack(len(name)) + name + b"\x00" + payload)


def suback(packet_id: int, codes: list[int]) -> bytes:
    """A v5 SUBACK: a reason code per filter, no properties."""
    return _packet(0x90, _U16S.pack(packet_id) + b"\x00" + bytes(codes))


def unsuback(packet_id: int, codes: list[int]) -> bytes:
    """A v5 UNSUBACK: a reason code per filter (0x00 removed, 0x11 there was none)."""
    return _packet(0xB0, _U16S.pack(packet_id) + b"\x00" + bytes(codes))


def disconnect(reason: int) -> bytes:
    """A v5 DISCONNECT from aiot, saying why (protocol error, topic alias invalid...)."""
    return _packet(0xE0, bytes((reason,)) + b"\x00")
