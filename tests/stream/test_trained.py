"""A trained hub version deployed on live data starts from what it learnt, per series."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from aiot.app import Platform
from aiot.domain import Batch, Selector
from aiot.errors import NotFound
from aiot.models.train import TrainSpec
from aiot.operations import DeploymentSpec


def test_a_trained_version_scores_live_points_from_its_learnt_state(
    platform_factory: Callable[..., Platform],
) -> None:
    platform = platform_factory()
    pump = platform.catalog.create_device("default", "pump-1", "pump")
    values = 20 + np.random.default_rng(2).normal(0, 0.5, 600)
    platform.store.write(Batch.numeric("default", pump.id, "temp", np.arange(600) * 1000, values))
    card = platform.train_model(
        "default", pump.id, TrainSpec("zscore", ["temp"], 0, 600_000, name="pump-temp")
    )
    spec = DeploymentSpec(
        "live",
        f"{card.name}@{card.version}",
        ("temp",),
        Selector(device="pump-1"),
        policy={"threshold": 6.0},
    )
    platform.ops.deploy("default", spec)
    runner = platform.stream
    runner._sync()
    spike = np.r_[np.full(5, 20.0), [60.0]]
    platform.ingest.wal.append(
        [Batch.numeric("default", pump.id, "temp", 600_000 + np.arange(6) * 1000, spike)]
    )
    while runner._step():
        pass
    scores = platform.store.query("default", pump.id, ["score/live"], 0, 10**9)
    assert scores.num_rows == 6
    assert scores.column("value")[0].as_py() < 3  # it knows normal from the start: no warm-up
    assert [a.start_ms for a in platform.catalog.alarms("default")] == [605_000]
    missing = DeploymentSpec("x", "pump-temp@9", ("temp",), Selector(device="pump-1"))
    with pytest.raises(NotFound):
        platform.ops.deploy("default", missing)
