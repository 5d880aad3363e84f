"""aiot: an open AIoT-as-a-Service platform.

Devices send telemetry (MQTT, HTTP); aiot stores it, runs AI models on it as it arrives,
raises alarms and learns from operators' feedback. See ``docs/architecture.md``.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
