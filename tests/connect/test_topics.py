"""The topic grammar: every builder's output parses back to what built it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiot.connect.topics import (
    DEVICE_FILTERS,
    DeviceTopic,
    TopicTemplate,
    filter_matches,
    parse_device_topic,
)

_IDS = st.integers(min_value=0, max_value=999_999_999)
_LEVEL = st.text(
    alphabet=st.characters(blacklist_characters="/+#{}", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
)


@given(st.sampled_from(["telemetry", "attributes"]) | st.just("with-id"), _IDS, st.booleans())
def test_device_topics_round_trip(kind: str, request_id: int, rpc: bool) -> None:
    if kind == "with-id":
        kind = "rpc_request" if rpc else "attribute_response"
        topic = DeviceTopic(kind, request_id)  # type: ignore[arg-type]
    else:
        topic = DeviceTopic(kind)  # type: ignore[arg-type]
    assert parse_device_topic(topic.build()) == topic


@given(_LEVEL, _LEVEL)
def test_templates_round_trip(device: str, key: str) -> None:
    for template in (TopicTemplate("plant/{device}/{key}"), TopicTemplate("{key}/x/{device}")):
        assert template.parse(template.build(device, key)) == {"device": device, "key": key}
        assert filter_matches(template.subscription, template.build(device, key))
    json_form = TopicTemplate("site/{device}/json")
    assert json_form.parse(json_form.build(device)) == {"device": device}


@pytest.mark.parametrize(
    "topic",
    ["v1/devices/other/telemetry", "v1/devices/me/telemetry/x", "v1/gateway/telemetry/x",
     "v1/devices/me/rpc/request/abc", "v1/devices/me/rpc/request/", "",
     "v2/fw/request/1/chunk/", "v2/fw/response/1/chunk/0", "v2/xw/request/1/chunk/0"],
)  # fmt: skip
def test_other_topics_are_not_device_topics(topic: str) -> None:
    assert parse_device_topic(topic) is None


@pytest.mark.parametrize(
    "bad",
    [
        "plant/{key}",
        "plant/{device}x/{key}",
        "plant/+/{device}",
        "a//{device}",
        "{device}/{device}",
    ],
)
def test_bad_templates_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        TopicTemplate(bad)


def test_filters() -> None:
    assert filter_matches("v1/devices/me/rpc/request/+", "v1/devices/me/rpc/request/7")
    assert filter_matches("v1/devices/me/#", "v1/devices/me/attributes")
    assert not filter_matches("v1/devices/me/rpc/request/+", "v1/devices/me/rpc/request/7/x")
    assert not filter_matches("v1/devices/me/attributes", "v1/devices/me/attributes/response/1")


def test_only_the_device_filters_are_grantable_and_hash_is_last_or_nothing() -> None:
    assert {
        "v1/devices/me/attributes",
        "v1/devices/me/attributes/response/+",
        "v1/devices/me/rpc/request/+",
        "v1/devices/me/rpc/response/+",
    } == DEVICE_FILTERS
    assert filter_matches("#", "v1/devices/me/attributes")
    assert not filter_matches("#/x", "v1/devices/me/attributes")  # was granted before
    assert not filter_matches("v1/#/x", "v1/devices/me/attributes")


@pytest.mark.parametrize(
    ("topic", "kind", "request_id", "chunk"),
    [("v1/devices/me/claim", "claim", None, None),
     ("v2/fw/request/7/chunk/0", "fw_request", 7, 0),
     ("v2/sw/request/1/chunk/12", "sw_request", 1, 12),
     ("v1/gateway/connect", "gateway_connect", None, None),
     ("v1/gateway/attributes/request", "gateway_attribute_request", None, None),
     ("v1/gateway/rpc", "gateway_rpc", None, None)],
)  # fmt: skip
def test_claim_package_and_gateway_topics(
    topic: str, kind: str, request_id: int | None, chunk: int | None
) -> None:
    parsed = parse_device_topic(topic)
    assert parsed is not None
    assert (parsed.kind, parsed.request_id, parsed.chunk) == (kind, request_id, chunk)
    if not kind.endswith("_request") or kind.startswith("gateway"):
        assert parsed.build() == topic
