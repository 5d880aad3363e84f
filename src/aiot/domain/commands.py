"""Commands back to devices: the one call that runs against the flow of data.

Stages after ``connect`` (the API, later rules and alarms) send a :class:`Command` through a
:class:`DeviceChannel`; ``aiot.app`` wires the MQTT endpoint in as that channel, so no stage
imports the transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Command", "DeviceChannel"]


@dataclass(frozen=True)
class Command:
    """A remote procedure call for a device, ThingsBoard's ``{method, params}``."""

    method: str
    params: Any = field(default_factory=dict)
    oneway: bool = False
    timeout: float = 10.0

    def message(self) -> dict[str, Any]:
        """The JSON the device receives."""
        return {"method": self.method, "params": self.params}


class DeviceChannel(Protocol):
    """Reaches connected devices: commands and shared-attribute updates."""

    def online(self, tenant: str, device_id: str) -> bool:
        """Whether the device is connected and listens for commands."""
        ...

    async def call(self, tenant: str, device_id: str, command: Command) -> Any:
        """Send ``command``; its answer for a two-way command, None for one-way.

        Raises DeviceOffline when the device cannot receive it, CommandTimeout when a
        two-way command gets no answer within ``command.timeout`` seconds.
        """
        ...

    def push_attributes(self, tenant: str, device_id: str, values: dict[str, Any]) -> None:
        """Tell a connected device that shared attributes changed (any thread)."""
        ...
