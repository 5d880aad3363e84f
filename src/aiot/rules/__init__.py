"""Rules: alarm policies as JSON data (the chain that turns scores into alarms comes next)."""

from __future__ import annotations

from aiot.rules.policy import AlarmPolicy, Calibration

__all__ = ["AlarmPolicy", "Calibration"]
