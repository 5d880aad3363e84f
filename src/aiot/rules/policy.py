"""Alarm policies: how a deployment turns its scores into alarms, as JSON data.

>>> policy = AlarmPolicy.parse({"threshold": 3.0, "hits": 3, "window": 5})
>>> policy.calibrate is None, policy.clear_after
(True, 5)
>>> AlarmPolicy.parse({}).calibrate.false_alarm_rate  # no threshold: calibrate one
0.01
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aiot.domain import Severity
from aiot.errors import InvalidInput

__all__ = ["AlarmPolicy", "Calibration"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Calibration(BaseModel):
    """A threshold learnt from the series' own first ``warmup`` finite scores."""

    model_config = _FROZEN

    false_alarm_rate: float = Field(0.01, gt=0.0, lt=0.5)
    warmup: int = Field(500, ge=20)

    @property
    def quantile(self) -> float:
        """The quantile of the warmup scores the threshold is put at."""
        return 1.0 - self.false_alarm_rate


class AlarmPolicy(BaseModel):
    """Calibrate → threshold → ``hits`` of the last ``window`` points → raise once → clear."""

    model_config = _FROZEN

    type: str = Field("anomaly", min_length=1)
    severity: Severity = Severity.MAJOR
    threshold: float | None = Field(None, allow_inf_nan=False)
    calibrate: Calibration | None = None
    margin: float = Field(1.0, ge=1.0, allow_inf_nan=False)
    # window before hits, so that the check of hits can see a valid window.
    window: int = Field(1, ge=1)
    hits: int = Field(1, ge=1)
    clear_below: float = Field(0.8, ge=0.0, le=1.0)
    clear_after: int = Field(5, ge=1)
    min_duration_ms: int = Field(0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _calibrate_by_default(cls, data: Any) -> Any:
        """Without a threshold, the default calibration applies."""
        if not isinstance(data, Mapping) or data.get("threshold") is not None:
            return data
        if data.get("calibrate") is None:
            return {**data, "calibrate": {}}
        return data

    @field_validator("calibrate")
    @classmethod
    def _one_threshold(cls, value: Calibration | None, info: ValidationInfo) -> Calibration | None:
        """A fixed threshold and a calibrated one exclude each other."""
        if value is not None and info.data.get("threshold") is not None:
            raise ValueError("give either threshold or calibrate, not both")
        return value

    @field_validator("margin")
    @classmethod
    def _margin_calibrated(cls, value: float, info: ValidationInfo) -> float:
        """A margin scales only a calibrated threshold; beside a fixed one it is a mistake."""
        if value != 1.0 and info.data.get("threshold") is not None:
            raise ValueError("margin applies only to a calibrated threshold, not a fixed one")
        return value

    @field_validator("hits")
    @classmethod
    def _hits_fit(cls, value: int, info: ValidationInfo) -> int:
        """At least ``hits`` of ``window`` points can only hold if hits <= window."""
        window = info.data.get("window")
        if window is not None and value > window:
            raise ValueError(f"hits ({value}) must not exceed window ({window})")
        return value

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> AlarmPolicy:
        """The policy in a JSON object, or InvalidInput naming each bad field."""
        if not isinstance(data, Mapping):
            raise InvalidInput("an alarm policy must be a JSON object", {"errors": []})
        try:
            return cls.model_validate(dict(data))
        except ValidationError as err:
            errors = [_error(e) for e in err.errors(include_url=False)]
            text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise InvalidInput(f"invalid alarm policy: {text}", {"errors": errors}) from err

    def to_dict(self) -> dict[str, Any]:
        """As JSON; ``parse`` gives the same policy back."""
        return self.model_dump(mode="json")


def _error(error: Mapping[str, Any]) -> dict[str, str]:
    """One pydantic error as ``{field, message}``, in words a user of the JSON reads."""
    field = ".".join(str(part) for part in error["loc"]) or "policy"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return {"field": field, "message": message}
