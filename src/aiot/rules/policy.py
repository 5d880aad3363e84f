"""Alarm policies: how a deployment turns its scores into alarms, as JSON data.

>>> policy = AlarmPolicy.parse({"threshold": 3.0, "hits": 3, "window": 5})
>>> policy.calibrate is None, policy.clear_after
(True, 5)
>>> AlarmPolicy.parse({}).calibrate.false_alarm_rate  # no threshold: calibrate one
0.01
>>> hook = {"webhook": {"url": "https://ops.example/hook", "secret": "s3"}}
>>> AlarmPolicy.parse({"threshold": 3.0, "notify": [hook]}).notify[0].webhook.on
('raise', 'clear')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from aiot.domain import Severity
from aiot.errors import InvalidInput

__all__ = ["AlarmPolicy", "Calibration", "CommandAction", "Event", "NotifyAction", "WebhookAction"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

Event = Literal["raise", "clear"]


class Calibration(BaseModel):
    """A threshold learnt from the series' own first ``warmup`` finite scores."""

    model_config = _FROZEN

    false_alarm_rate: float = Field(0.01, gt=0.0, lt=0.5)
    warmup: int = Field(500, ge=20)

    @property
    def quantile(self) -> float:
        """The quantile of the warmup scores the threshold is put at."""
        return 1.0 - self.false_alarm_rate


class WebhookAction(BaseModel):
    """POST the alarm's JSON to ``url``, signed with HMAC-SHA256 when a ``secret`` is set."""

    model_config = _FROZEN

    url: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(None, min_length=1)
    on: tuple[Event, ...] = Field(("raise", "clear"), min_length=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """Only http and https URLs with a host can be delivered to."""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


class CommandAction(BaseModel):
    """Send the RPC ``{method, params}`` to the alarm's device through the command path."""

    model_config = _FROZEN

    method: str = Field(min_length=1, max_length=200)
    params: Any = Field(default_factory=dict)
    oneway: bool = False
    timeout: float = Field(10.0, gt=0.0, le=60.0)
    on: tuple[Event, ...] = Field(("raise",), min_length=1)

    @field_validator("method")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        """A method of blanks names nothing a device could run."""
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class NotifyAction(BaseModel):
    """One thing done when an alarm is raised or cleared: a webhook or a command."""

    model_config = _FROZEN

    webhook: WebhookAction | None = None
    command: CommandAction | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> NotifyAction:
        """Each item is either a webhook or a command, never both or neither."""
        if (self.webhook is None) == (self.command is None):
            raise ValueError("give exactly one of webhook or command")
        return self

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """As JSON, without the kind of action that is not given."""
        return {k: v for k, v in handler(self).items() if v is not None}

    @property
    def on(self) -> tuple[Event, ...]:
        """The events this action runs on."""
        chosen = self.webhook if self.webhook is not None else self.command
        assert chosen is not None
        return chosen.on


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
    # "No data for T": a selected device silent this long raises a ``no_data`` alarm.
    no_data_ms: int | None = Field(None, ge=1000)
    notify: tuple[NotifyAction, ...] = ()

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
