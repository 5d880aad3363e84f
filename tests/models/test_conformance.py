"""Every registered model passes every conformance check."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from aiot.models import registry
from aiot.models.base import BaseDetector
from aiot.models.checks import CHECKS
from aiot.models.pca import PcaT2Spe


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", registry.names())
def test_model_conforms(name: str, check: Callable[[BaseDetector], None]) -> None:
    cls = registry.load_class(name)
    check(cls(**getattr(cls, "check_params", {})))


def test_pca_contributions_add_up_to_the_score_and_name_the_faulty_variable() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(400, 1))
    noise = rng.normal(0, 0.1, (400, 3))
    normal = np.hstack([base, base * 2, -base]) + noise  # three readings of one state
    model = PcaT2Spe(warmup=300)
    model.learn_many(normal)
    broken = normal[-1].copy()
    broken[1] += 5.0  # the second variable leaves its correlation with the first
    parts = model.contributions(broken)
    assert np.isclose(parts.sum(), model.score_one(broken))
    assert int(np.argmax(parts)) == 1
