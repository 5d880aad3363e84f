"""Alarm policies parse from JSON with working defaults, round trip, and refuse mistakes by name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from aiot.domain import Severity
from aiot.errors import InvalidInput
from aiot.rules import AlarmPolicy


def test_an_empty_policy_calibrates_with_the_defaults() -> None:
    policy = AlarmPolicy.parse({})
    assert policy.type == "anomaly"
    assert policy.severity is Severity.MAJOR
    assert policy.threshold is None
    assert policy.calibrate is not None
    assert (policy.calibrate.false_alarm_rate, policy.calibrate.warmup) == (0.01, 500)
    assert (policy.margin, policy.hits, policy.window) == (1.0, 1, 1)
    assert (policy.clear_below, policy.clear_after, policy.min_duration_ms) == (0.8, 5, 0)


def test_a_fixed_threshold_needs_no_calibration() -> None:
    policy = AlarmPolicy.parse({"threshold": 3, "hits": 3, "window": 5, "severity": "CRITICAL"})
    assert policy.threshold == 3.0
    assert policy.calibrate is None
    assert policy.severity is Severity.CRITICAL


def test_a_partial_calibration_keeps_the_other_defaults() -> None:
    policy = AlarmPolicy.parse({"calibrate": {"false_alarm_rate": 0.05}, "margin": 1.5})
    assert policy.calibrate is not None
    assert (policy.calibrate.false_alarm_rate, policy.calibrate.warmup) == (0.05, 500)
    assert policy.margin == 1.5


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"threshold": 2.5, "window": 10, "hits": 4, "min_duration_ms": 300_000},
        {"type": "leak", "calibrate": {"warmup": 50}, "clear_below": 0.5, "clear_after": 1},
    ],
)
def test_to_dict_is_json_that_parses_to_the_same_policy(data: dict[str, Any]) -> None:
    policy = AlarmPolicy.parse(data)
    again = AlarmPolicy.parse(json.loads(json.dumps(policy.to_dict())))
    assert again == policy
    assert again.to_dict() == policy.to_dict()


def test_a_policy_cannot_be_changed_once_made() -> None:
    policy = AlarmPolicy.parse({"threshold": 1.0})
    with pytest.raises(ValidationError):
        policy.threshold = 2.0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"hits": 6, "window": 5}, "hits"),
        ({"window": -1}, "window"),
        ({"window": 0}, "window"),
        ({"hwindow": 3}, "hwindow"),
        ({"calibrate": {"false_alarm_rate": 0.7}}, "calibrate.false_alarm_rate"),
        ({"calibrate": {"false_alarm_rate": 0}}, "calibrate.false_alarm_rate"),
        ({"calibrate": {"warmup": 5}}, "calibrate.warmup"),
        ({"calibrate": {"warmups": 50}}, "calibrate.warmups"),
        ({"threshold": 1.0, "calibrate": {}}, "calibrate"),
        ({"threshold": 1.0, "margin": 2.0}, "margin"),
        ({"margin": 0.5}, "margin"),
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"severity": "HUGE"}, "severity"),
        ({"clear_below": 1.5}, "clear_below"),
        ({"clear_after": 0}, "clear_after"),
        ({"min_duration_ms": -1}, "min_duration_ms"),
        ({"type": ""}, "type"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        AlarmPolicy.parse(data)
    err = caught.value
    assert (err.code, err.status) == ("invalid_input", 400)
    assert f"{field}: " in err.message
    assert [e["field"] for e in err.detail["errors"]] == [field]
    json.dumps(err.to_dict())  # the API can render it


def test_each_bad_field_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        AlarmPolicy.parse({"hits": 0, "clear_after": -2, "colour": "red"})
    fields = {e["field"] for e in caught.value.detail["errors"]}
    assert fields == {"hits", "clear_after", "colour"}
    assert "colour: unknown field" in caught.value.message


def test_hits_above_window_says_both_numbers() -> None:
    with pytest.raises(InvalidInput, match=r"hits \(6\) must not exceed window \(5\)"):
        AlarmPolicy.parse({"hits": 6, "window": 5})


def test_a_policy_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        AlarmPolicy.parse([1, 2])  # type: ignore[arg-type]
