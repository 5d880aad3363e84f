"""Fuzzing the device-facing decoders: bad bytes get their refusal, never another exception."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiot.app import Platform
from aiot.connect.mqtt import codec
from aiot.connect.payloads import decode_attributes, decode_telemetry, decode_telemetry_many
from aiot.domain import Batch
from aiot.errors import PayloadRejected
from tests.conftest import free_port
from tests.connect.mqtt_helpers import Device, Running

# Bounded: the whole module runs in a few seconds; a slow example fails (a hang would).
FUZZ = settings(
    max_examples=300,
    deadline=timedelta(milliseconds=500),
    suppress_health_check=[HealthCheck.too_slow],
)

_VALID = [
    codec.connect("dev-1", username="token", keepalive=30),
    codec.publish("v1/devices/me/telemetry", b'{"t": 21.5}', qos=1, packet_id=7),
    codec.publish("v1/devices/me/attributes/request/1", b"{}"),
    b"\x82\x20\x00\x01\x00\x1bv1/devices/me/rpc/request/+\x01",  # SUBSCRIBE
    b"\xa2\x1f\x00\x02\x00\x1bv1/devices/me/rpc/request/+",  # UNSUBSCRIBE
    codec.puback(7),
    b"\xc0\x00",  # PINGREQ
    b"\xe0\x00",  # DISCONNECT
]
_PARSERS: dict[int, Any] = {
    codec.CONNECT: lambda p: codec.parse_connect(p.body),
    codec.PUBLISH: lambda p: codec.parse_publish(p.flags, p.body),
    codec.SUBSCRIBE: lambda p: codec.parse_subscribe(p.body),
    codec.UNSUBSCRIBE: lambda p: codec.parse_unsubscribe(p.body),
}


def _parse_stream(data: bytes) -> None:
    """What a session does with received bytes: frame them, then parse each packet."""
    buffer = bytearray(data)
    try:
        packets, used = codec.split(buffer, 65_536)
        assert 0 <= used <= len(buffer)
        for packet in packets:
            parse = _PARSERS.get(packet.type)
            if parse is not None:
                parse(packet)
    except codec.ProtocolViolation:
        pass  # the codec's refusal: the session closes that connection


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    packets = draw(st.lists(st.sampled_from(_VALID), min_size=1, max_size=6))
    data = bytearray(b"".join(packets))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["flip", "insert", "cut", "truncate"]))
        if how == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "cut":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(_mutated())
def test_mutated_mqtt_packets_raise_only_the_protocol_error(data: bytes) -> None:
    _parse_stream(data)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_the_protocol_error(data: bytes) -> None:
    _parse_stream(data)


def test_a_remaining_length_that_never_ends_is_refused_not_awaited() -> None:
    try:
        codec.split(bytearray(b"\x30" + b"\xff" * 10), 65_536)
    except codec.ProtocolViolation:
        return
    raise AssertionError("five continuation bytes must be refused")


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_TELEMETRY = st.dictionaries(st.sampled_from(["ts", "values", "t", ""]), _JSON, max_size=3)


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def _jsonish(draw: st.DrawFn) -> bytes:
    doc = draw(_TELEMETRY | st.lists(_TELEMETRY, max_size=3) | _JSON)
    data = bytearray(_json_bytes(doc))
    if draw(st.booleans()) and data:  # and now and then a broken one
        at = draw(st.integers(0, len(data) - 1))
        data[at : at + 1] = draw(st.binary(max_size=3))
    return bytes(data)


@FUZZ
@given(_jsonish())
def test_jsonish_payloads_decode_to_columns_or_are_refused(body: bytes) -> None:
    try:
        batch = decode_telemetry(body, "t", "d", 1_000, max_points=50)
    except PayloadRejected as err:
        assert err.code and err.message  # a reason a user can read
    else:
        assert isinstance(batch, Batch) and 0 < len(batch) <= 50
    with contextlib.suppress(PayloadRejected):
        decode_attributes(body)


@FUZZ
@given(st.lists(_jsonish(), min_size=1, max_size=5))
def test_a_burst_refuses_each_bad_message_alone(bodies: list[bytes]) -> None:
    batch, refused = decode_telemetry_many(bodies, "t", "d", 1_000, max_points=50)
    alone = []
    for body in bodies:
        try:
            alone.append(len(decode_telemetry(body, "t", "d", 1_000, max_points=50)))
        except PayloadRejected:
            alone.append(0)
    assert [r is None for r in refused] == [n > 0 for n in alone]
    assert (len(batch) if batch is not None else 0) == sum(alone)


@pytest.fixture
def endpoint(platform_factory: Callable[..., Platform]) -> Iterator[tuple[Running, str]]:
    """A running MQTT endpoint and a device's token."""
    running = Running(platform_factory(store={"backend": "memory"}, mqtt={"port": free_port()}))
    token = running.platform.catalog.create_device("default", "fuzzed").access_token
    yield running, token
    running.stop()


def test_mutated_streams_never_break_a_session_or_the_endpoint(
    endpoint: tuple[Running, str], caplog: pytest.LogCaptureFixture
) -> None:
    running, token = endpoint
    login = codec.connect("fuzz", username=token)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_mutated())
    def send(data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", running.port), timeout=2) as sock:
            sock.sendall(login)
            assert sock.recv(4) == codec.connack(codec.CONNACK_ACCEPTED)  # in the session now
            sock.sendall(data)
            sock.settimeout(0.02)
            with contextlib.suppress(OSError):
                while sock.recv(65_536):
                    pass  # until aiot closes, or answers and waits for more

    with caplog.at_level(logging.ERROR, "asyncio"):
        send()
        time.sleep(0.2)  # an error in a callback is logged by the endpoint's loop
    assert not [r for r in caplog.records if r.name == "asyncio"]  # no callback blew up
    device = Device(running.port, token)  # and the endpoint serves on
    assert device.wait_connack() == "Success"
    device.publish("v1/devices/me/telemetry", '{"after": 1}')
    device.close()
