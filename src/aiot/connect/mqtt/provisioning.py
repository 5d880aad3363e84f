"""The provisioning state of an MQTT connection: user name ``provision``, one request, one answer.

As ThingsBoard's provision-only session, it may subscribe to ``/provision/response`` (any other
filter is refused), publish once on ``/provision/request``, ping and disconnect; anything else
is a protocol violation that closes it. The connection stays at the endpoint's gate until it
is answered: the request must come and be answered within the CONNECT deadline, and such
connections count against the gate's limit of waiting ones, so a crowd of silent provisioning
clients is closed as a crowd of silent CONNECTs is. After the answer aiot closes it within
:data:`LINGER` seconds (ThingsBoard: 60), or when the client disconnects first.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiot.connect import provision, topics
from aiot.connect.mqtt import codec
from aiot.errors import AiotError

if TYPE_CHECKING:
    from aiot.connect.mqtt.session import DeviceSession

__all__ = ["LINGER", "USER_NAME", "Provisioning"]

log = logging.getLogger("aiot.mqtt")

USER_NAME = provision.USER_NAME
LINGER = 3.0  # seconds from the answer to the close: the client reads it and disconnects
TRANSPORT = "mqtt"


class Provisioning:
    """What a provisioning session does with each packet after its CONNECT."""

    def __init__(self, session: DeviceSession, write: Callable[[bytes], None]) -> None:
        self.session, self.write = session, write
        self.asked = False
        self.task: asyncio.Task[None] | None = None

    def handle(self, packet: codec.Packet) -> None:
        """Serve one packet; ProtocolViolation for what a provisioning client never sends."""
        session, kind = self.session, packet.type
        if kind == codec.PUBLISH:
            self._request(session.dialect.parse_publish(packet))
        elif kind == codec.SUBSCRIBE:
            packet_id, wanted = session.dialect.parse_subscribe(packet.body)
            codes = [0 if f == topics.PROVISION_RESPONSE else 0x80 for f, _ in wanted]
            self.write(session.dialect.suback(packet_id, codes))
        elif kind == codec.UNSUBSCRIBE:
            packet_id, filters = session.dialect.parse_unsubscribe(packet.body)
            removed = [f == topics.PROVISION_RESPONSE for f in filters]
            self.write(session.dialect.unsuback(packet_id, removed))
        elif kind == codec.PINGREQ:
            self.write(codec.PINGRESP)
        elif kind == codec.DISCONNECT:
            session.close()
        elif kind != codec.PUBACK:
            raise codec.ProtocolViolation(f"unexpected packet type {kind} while provisioning")

    def _request(self, msg: codec.Publish) -> None:
        if msg.topic != topics.PROVISION_REQUEST:
            only = topics.PROVISION_REQUEST
            raise codec.ProtocolViolation(f"a provisioning client publishes on {only} only")
        if self.asked:
            raise codec.ProtocolViolation("a provisioning client sends one request")
        self.asked = True
        self.task = asyncio.create_task(self._answer(msg), name="aiot-mqtt-provision")

    async def _answer(self, msg: codec.Publish) -> None:
        session = self.session
        try:
            answer = await provision.provision(session.ingest, TRANSPORT, msg.payload)
        except Exception as err:  # the catalog failed: nothing decided, the client asks again
            message = err.message if isinstance(err, AiotError) else repr(err)
            session.endpoint.limited.warning(
                "provision_failed",
                "MQTT provisioning from %s not answered: %s", session.peer(), message,
            )  # fmt: skip
            session.close()
            return
        if session.state != "provision":  # closed meanwhile (the gate's deadline, a DISCONNECT)
            return
        payload = json.dumps(answer, separators=(",", ":")).encode()
        acks = codec.pubacks([msg.packet_id]) if msg.qos else b""
        self.write(acks + session.dialect.publish(topics.PROVISION_RESPONSE, payload))
        session.endpoint.gate.passed(session)  # answered: out of the door's count
        asyncio.get_running_loop().call_later(LINGER, session.close)
