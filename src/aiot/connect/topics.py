"""The whole MQTT topic grammar of aiot: compiled patterns with named groups, builders beside.

Device topics are ThingsBoard's (``me`` is the connected device itself, so a device can only
ever address its own data)::

    v1/devices/me/telemetry                      device → aiot
    v1/devices/me/attributes                     device → aiot (client), aiot → device (shared)
    v1/devices/me/attributes/request/{id}        device → aiot
    v1/devices/me/attributes/response/{id}       aiot → device
    v1/devices/me/rpc/request/{id}               aiot → device (command)
    v1/devices/me/rpc/response/{id}              device → aiot (its answer)
    v1/devices/me/claim                          device → aiot (may be claimed, with a secret)
    v2/fw/request/{id}/chunk/{n}                 device → aiot (a firmware chunk; v2/sw/: software)
    v2/fw/response/{id}/chunk/{n}                aiot → device (its bytes)

A gateway device publishes for the devices behind it, each named in the payload::

    v1/gateway/connect, disconnect, telemetry, attributes, attributes/request, rpc, claim
    v1/gateway/attributes, attributes/response, rpc   aiot → gateway

A device being provisioned connects with the user name ``provision`` and publishes on
``/provision/request``; the answer comes on ``/provision/response``.

Bridge templates name topic levels of an external broker: ``plant/{device}/{key}`` (the
payload is one value of ``key``) or ``site/{device}/json`` (the payload is ThingsBoard JSON).

>>> parse_device_topic(rpc_request(7))
DeviceTopic(kind='rpc_request', request_id=7)
>>> TopicTemplate("plant/{device}/{key}").parse("plant/pump-1/temp")
{'device': 'pump-1', 'key': 'temp'}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_RESPONSES",
    "CLAIM",
    "DEVICE_FILTERS",
    "GATEWAY_ATTRIBUTES",
    "GATEWAY_ATTRIBUTE_RESPONSES",
    "GATEWAY_FILTERS",
    "GATEWAY_RPC",
    "OTA_FILTERS",
    "PROVISION_REQUEST",
    "PROVISION_RESPONSE",
    "RPC_REQUESTS",
    "RPC_RESPONSES",
    "TELEMETRY",
    "DeviceTopic",
    "TopicTemplate",
    "attribute_request",
    "attribute_response",
    "filter_matches",
    "ota_response",
    "parse_device_topic",
    "rpc_request",
    "rpc_response",
]

Kind = Literal[
    "telemetry",
    "attributes",
    "attribute_request",
    "attribute_response",
    "rpc_request",
    "rpc_response",
    "claim",
    "fw_request",
    "sw_request",
    "gateway_connect",
    "gateway_disconnect",
    "gateway_telemetry",
    "gateway_attributes",
    "gateway_attribute_request",
    "gateway_rpc",
    "gateway_claim",
]

_ME = "v1/devices/me"
TELEMETRY = f"{_ME}/telemetry"
ATTRIBUTES = f"{_ME}/attributes"
RPC_REQUESTS = f"{_ME}/rpc/request/+"
ATTRIBUTE_RESPONSES = f"{_ME}/attributes/response/+"
RPC_RESPONSES = f"{_ME}/rpc/response/+"  # ThingsBoard's client-side RPC answers (none sent yet)
# The only filters a device may subscribe to, as ThingsBoard grants them: exact strings, so a
# session holds at most four short filters whatever it asks for (``#/...`` was granted before).
DEVICE_FILTERS = frozenset((ATTRIBUTES, ATTRIBUTE_RESPONSES, RPC_REQUESTS, RPC_RESPONSES))
CLAIM = f"{_ME}/claim"
# Where packages come back: ThingsBoard's SDK subscribes to ``v2/fw/response/+`` and yet
# receives ``v2/fw/response/{id}/chunk/{n}``, so a chunk is sent to whoever asked for it.
OTA_FILTERS = frozenset(
    ("v2/fw/response/+", "v2/sw/response/+", "v2/fw/response/#", "v2/sw/response/#")
)
GATEWAY_ATTRIBUTES = "v1/gateway/attributes"
GATEWAY_ATTRIBUTE_RESPONSES = "v1/gateway/attributes/response"
GATEWAY_RPC = "v1/gateway/rpc"
GATEWAY_FILTERS = frozenset((GATEWAY_ATTRIBUTES, GATEWAY_ATTRIBUTE_RESPONSES, GATEWAY_RPC))
PROVISION_REQUEST = "/provision/request"
PROVISION_RESPONSE = "/provision/response"

_DEVICE_TOPIC = re.compile(
    r"^v1/devices/me/(?:"
    r"(?P<telemetry>telemetry)"
    r"|(?P<attributes>attributes)"
    r"|attributes/(?P<attr>request|response)/(?P<attr_id>[0-9]{1,9})"
    r"|rpc/(?P<rpc>request|response)/(?P<rpc_id>[0-9]{1,9})"
    r"|(?P<claim>claim)"
    r")$"
)
_OTA_TOPIC = re.compile(
    r"^v2/(?P<ota>fw|sw)/request/(?P<id>[0-9]{1,9})/chunk/(?P<chunk>[0-9]{1,9})$"
)
_GATEWAY_TOPIC = re.compile(
    r"^v1/gateway/(?P<what>connect|disconnect|telemetry|attributes|attributes/request|rpc|claim)$"
)
_GATEWAY_KINDS: dict[str, Kind] = {
    "connect": "gateway_connect",
    "disconnect": "gateway_disconnect",
    "telemetry": "gateway_telemetry",
    "attributes": "gateway_attributes",
    "attributes/request": "gateway_attribute_request",
    "rpc": "gateway_rpc",
    "claim": "gateway_claim",
}


@dataclass(frozen=True)
class DeviceTopic:
    """A parsed device topic: what it is, the request id it carries, if any, and the chunk."""

    kind: Kind
    request_id: int | None = None
    chunk: int | None = None

    def build(self) -> str:
        """The topic string again."""
        return _BUILDERS[self.kind](self.request_id or 0)


def parse_device_topic(topic: str) -> DeviceTopic | None:
    """The device topic ``topic`` is, or None if it is not one of ThingsBoard's."""
    match = _DEVICE_TOPIC.match(topic)
    if match is None:
        return _other_topic(topic)
    if match["claim"]:
        return DeviceTopic("claim")
    if match["telemetry"]:
        return DeviceTopic("telemetry")
    if match["attributes"]:
        return DeviceTopic("attributes")
    if match["attr"]:
        kind: Kind = "attribute_request" if match["attr"] == "request" else "attribute_response"
        return DeviceTopic(kind, int(match["attr_id"]))
    kind = "rpc_request" if match["rpc"] == "request" else "rpc_response"
    return DeviceTopic(kind, int(match["rpc_id"]))


def _other_topic(topic: str) -> DeviceTopic | None:
    if topic.startswith("v2/"):
        ota = _OTA_TOPIC.match(topic)
        if ota is None:
            return None
        kind: Kind = "fw_request" if ota["ota"] == "fw" else "sw_request"
        return DeviceTopic(kind, int(ota["id"]), int(ota["chunk"]))
    gateway = _GATEWAY_TOPIC.match(topic)
    return None if gateway is None else DeviceTopic(_GATEWAY_KINDS[gateway["what"]])


def ota_response(kind: str, request_id: int, chunk: int) -> str:
    """Where a device receives chunk ``chunk`` of a package (``kind``: fw or sw)."""
    return f"v2/{kind}/response/{request_id}/chunk/{chunk}"


def attribute_request(request_id: int) -> str:
    """Where a device asks for its attributes."""
    return f"{_ME}/attributes/request/{request_id}"


def attribute_response(request_id: int) -> str:
    """Where aiot answers an attribute request."""
    return f"{_ME}/attributes/response/{request_id}"


def rpc_request(request_id: int) -> str:
    """Where a device receives a command."""
    return f"{_ME}/rpc/request/{request_id}"


def rpc_response(request_id: int) -> str:
    """Where a device answers a command."""
    return f"{_ME}/rpc/response/{request_id}"


_BUILDERS: dict[str, Callable[[int], str]] = {
    "telemetry": lambda _: TELEMETRY,
    "attributes": lambda _: ATTRIBUTES,
    "attribute_request": attribute_request,
    "attribute_response": attribute_response,
    "rpc_request": rpc_request,
    "rpc_response": rpc_response,
    "claim": lambda _: CLAIM,
}


def _fixed(topic: str) -> Callable[[int], str]:
    return lambda _: topic


_BUILDERS.update({kind: _fixed(f"v1/gateway/{what}") for what, kind in _GATEWAY_KINDS.items()})


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Whether an MQTT subscription filter (``+``, ``#``) matches a topic name."""
    want, have = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(want):
        if level == "#":  # valid only as the last level: ``#/x`` matches nothing
            return i == len(want) - 1
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)


_PLACEHOLDER = re.compile(r"\{(device|key)\}")
_LEVEL = "[^/+#]+"


class TopicTemplate:
    """A bridge topic template: ``{device}`` and optionally ``{key}``, each a whole level."""

    def __init__(self, template: str) -> None:
        levels = template.split("/")
        names = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
        if "device" not in names or len(names) != len(set(names)):
            raise ValueError("a template names {device} once, and {key} at most once")
        if any(_PLACEHOLDER.search(lv) and not _PLACEHOLDER.fullmatch(lv) for lv in levels):
            raise ValueError("a placeholder must be a whole topic level")
        if any(c in template for c in "+#") or "" in levels:
            raise ValueError("a template has no wildcards and no empty levels")
        self.template = template
        self.has_key = "key" in names
        parts = [
            f"(?P<{lv[1:-1]}>{_LEVEL})" if _PLACEHOLDER.fullmatch(lv) else re.escape(lv)
            for lv in levels
        ]
        self._pattern = re.compile("^" + "/".join(parts) + "$")
        self.subscription = "/".join("+" if _PLACEHOLDER.fullmatch(lv) else lv for lv in levels)

    def parse(self, topic: str) -> dict[str, str] | None:
        """The device (and key) a topic names, or None if it does not fit the template."""
        match = self._pattern.match(topic)
        return None if match is None else match.groupdict()

    def build(self, device: str, key: str | None = None) -> str:
        """The topic of ``device`` (and ``key``) under this template."""
        return self.template.replace("{device}", device).replace("{key}", key or "")

    def __repr__(self) -> str:
        return f"TopicTemplate({self.template!r})"
