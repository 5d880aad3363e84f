"""Every registered model passes every conformance check."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aiot.models import registry
from aiot.models.base import BaseDetector
from aiot.models.checks import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", registry.names())
def test_model_conforms(name: str, check: Callable[[BaseDetector], None]) -> None:
    cls = registry.load_class(name)
    check(cls(**getattr(cls, "check_params", {})))
