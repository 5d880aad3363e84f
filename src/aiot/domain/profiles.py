"""Device profiles: what a device type is, how devices of it provision themselves, its limits.

A profile is named after the device type it describes (``device.type == profile.name``), as
ThingsBoard's device profile is. Its provisioning strategy is one of ThingsBoard's:

- ``disabled``: provisioning requests with its key are refused;
- ``allow_create`` ("Allow to create new devices"): a request creates a device of this type;
- ``check_pre_provisioned`` ("Check for pre-provisioned devices"): a request only succeeds
  for a device of this type that exists already, and gets its credentials.

The provision key names the profile across the whole installation (a device knows no tenant
before it is provisioned); the secret proves the device was built to join it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

__all__ = ["PROVISION_STRATEGIES", "Profile", "ProvisionStrategy"]

ProvisionStrategy = Literal["disabled", "allow_create", "check_pre_provisioned"]
PROVISION_STRATEGIES: tuple[str, ...] = get_args(ProvisionStrategy)


@dataclass(frozen=True)
class Profile:
    """A device profile of one tenant; ``provision_secret`` is held sealed in the catalog."""

    id: str
    tenant: str
    name: str
    created_at: datetime
    description: str = ""
    provision: ProvisionStrategy = "disabled"
    provision_key: str | None = None
    provision_secret: str | None = field(default=None, repr=False)
    limits: dict[str, Any] = field(default_factory=dict)
    firmware_id: str | None = None
    software_id: str | None = None

    def public(self, show_secret: bool = False) -> dict[str, Any]:
        """The profile as listed to users; the secret only when ``show_secret`` (operators)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "description": self.description,
            "provision": self.provision,
            "provision_key": self.provision_key,
            "provision_secret": self.provision_secret if show_secret else None,
            "limits": dict(self.limits),
            "firmware_id": self.firmware_id,
            "software_id": self.software_id,
            "created_at": self.created_at.isoformat(),
        }
