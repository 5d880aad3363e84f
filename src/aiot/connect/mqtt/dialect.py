"""What differs between MQTT 3.1, 3.1.1 and 5 in one session: packet forms and v5's limits.

A :class:`Dialect` is made from the CONNECT: it parses the packets that carry properties in
v5, builds the answers in the client's version, resolves the client's topic aliases, and keeps
every packet aiot sends within the client's Maximum Packet Size (a bigger one is dropped and
counted, as MQTT 5.0, 3.1.2.11.4 asks). aiot sends QoS 0 only, so the client's Receive
Maximum (unacknowledged QoS 1 messages towards it) is never approached.
"""

from __future__ import annotations

from aiot.connect.mqtt import codec, v5

__all__ = ["LEVELS", "TOPIC_ALIASES", "Dialect"]

LEVELS = {3: "3.1", 4: "3.1.1", 5: "5"}  # protocol levels aiot speaks
TOPIC_ALIASES = 64  # topic aliases a v5 client may set per session (CONNACK Topic Alias Maximum)


class Dialect:
    """One session's MQTT version and what its CONNECT asked for."""

    def __init__(self, connect: codec.Connect | None = None) -> None:
        self.level = connect.level if connect is not None else 4
        self.v5 = self.level == 5
        props = connect.properties if connect is not None else {}
        self.max_out: int = props.get(v5.MAX_PACKET_SIZE, 0) or (1 << 28)  # 0: no limit
        self.aliases: dict[int, str] = {}
        self.dropped = 0  # packets not sent: bigger than the client's maximum

    def connack(self, accepted: bool, receive_maximum: int, max_packet: int) -> bytes:
        """CONNACK: accepted, or refused as not authorized; aiot's limits in v5."""
        if not self.v5:
            return codec.connack(
                codec.CONNACK_ACCEPTED if accepted else codec.CONNACK_NOT_AUTHORIZED
            )
        if not accepted:
            return v5.connack(v5.CONNACK_NOT_AUTHORIZED)
        limits = {
            v5.RECEIVE_MAXIMUM: receive_maximum,
            v5.MAX_PACKET_SIZE: max_packet,
            v5.TOPIC_ALIAS_MAXIMUM: TOPIC_ALIASES,
            v5.MAXIMUM_QOS: 1,
        }
        return v5.connack(0, limits)

    def parse_publish(self, packet: codec.Packet) -> codec.Publish:
        """The PUBLISH, its topic alias resolved (an unknown alias is a protocol error)."""
        if not self.v5:
            return codec.parse_publish(packet.flags, packet.body)
        msg = v5.parse_publish(packet.flags, packet.body)
        if not msg.alias:
            return msg
        if msg.alias > TOPIC_ALIASES:
            raise codec.ProtocolViolation(f"topic alias {msg.alias} is above {TOPIC_ALIASES}")
        if msg.topic:
            self.aliases[msg.alias] = msg.topic
            return msg
        topic = self.aliases.get(msg.alias)
        if topic is None:
            raise codec.ProtocolViolation(f"topic alias {msg.alias} was never set")
        return msg._replace(topic=topic)

    def parse_subscribe(self, body: bytes) -> tuple[int, list[tuple[str, int]]]:
        """SUBSCRIBE's packet id and filters."""
        return v5.parse_subscribe(body) if self.v5 else codec.parse_subscribe(body)

    def parse_unsubscribe(self, body: bytes) -> tuple[int, list[str]]:
        """UNSUBSCRIBE's packet id and filters."""
        return v5.parse_unsubscribe(body) if self.v5 else codec.parse_unsubscribe(body)

    def suback(self, packet_id: int, codes: list[int]) -> bytes:
        """SUBACK in the client's version."""
        return v5.suback(packet_id, codes) if self.v5 else codec.suback(packet_id, codes)

    def unsuback(self, packet_id: int, removed: list[bool]) -> bytes:
        """UNSUBACK in the client's version (v5: a reason code per filter)."""
        if not self.v5:
            return codec.unsuback(packet_id)
        return v5.unsuback(packet_id, [0x00 if r else 0x11 for r in removed])

    def publish(self, topic: str, payload: bytes) -> bytes:
        """A QoS 0 PUBLISH to the client, or nothing when it is above the client's maximum."""
        packet = v5.publish(topic, payload) if self.v5 else codec.publish(topic, payload)
        if len(packet) > self.max_out:
            self.dropped += 1
            return b""
        return packet

    def goodbye(self, err: codec.ProtocolViolation, too_large: bool) -> bytes:
        """What to send before closing for a violation: v5 says why, 3.1.1 cannot."""
        if not self.v5:
            return b""
        return v5.disconnect(v5.PACKET_TOO_LARGE if too_large else v5.PROTOCOL_ERROR)
