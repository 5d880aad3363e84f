"""Webhook secrets of alarm policies, sealed in the catalog and opened when read.

A policy is stored with each ``notify[].webhook.secret`` replaced by ``secret_sealed`` (a
Fernet token); reading it back gives the policy as it was given. Everything else in the
policy is stored as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiot.store.secrets import SecretBox

__all__ = ["open_policy", "seal_policy"]

SEALED = "secret_sealed"


def seal_policy(policy: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """The policy as stored: webhook secrets sealed."""
    return _hooks(policy, lambda hook: _swap(hook, "secret", SEALED, box.encrypt))


def open_policy(policy: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """The policy as given: webhook secrets opened."""
    return _hooks(policy, lambda hook: _swap(hook, SEALED, "secret", box.decrypt))


def _hooks(
    policy: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    actions = policy.get("notify")
    if not isinstance(actions, list):
        return policy
    changed = []
    for action in actions:
        hook = action.get("webhook") if isinstance(action, dict) else None
        changed.append({**action, "webhook": change(hook)} if isinstance(hook, dict) else action)
    return {**policy, "notify": changed}


def _swap(
    hook: dict[str, Any], old: str, new: str, convert: Callable[[str], str]
) -> dict[str, Any]:
    value = hook.get(old)
    if not isinstance(value, str):
        return hook
    rest = {k: v for k, v in hook.items() if k != old}
    return {**rest, new: convert(value)}
