"""Bridges: subscriptions to brokers that plants already run, mapped onto devices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Bridge"]


@dataclass(frozen=True)
class Bridge:
    """A subscription to an external MQTT broker with topic templates.

    ``topics`` are templates such as ``plant/{device}/{key}`` (the payload is one value) or
    ``site/{device}/json`` (the payload is ThingsBoard JSON). ``{device}`` names the device
    in ``tenant``; unknown names are created when ``create_devices`` is set.
    """

    id: str
    tenant: str
    name: str
    url: str
    topics: tuple[str, ...]
    created_at: datetime
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    create_devices: bool = False
    device_type: str = "default"
    ca_pem: str | None = field(default=None, repr=False)  # the CA bundle's PEM, for mqtts
    ca_file: str | None = None  # a server path, kept only from bridges of older versions

    def public(self) -> dict[str, Any]:
        """The bridge as listed to users; the password never leaves the server."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "url": self.url,
            "topics": list(self.topics),
            "username": self.username,
            "password_set": self.password is not None,
            "create_devices": self.create_devices,
            "device_type": self.device_type,
            "ca_pem_set": self.ca_pem is not None,
            "created_at": self.created_at.isoformat(),
        }
