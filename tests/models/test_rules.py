"""Value and rate rules: the value or its change is the score, for alarms that need no model."""

from __future__ import annotations

import numpy as np

from aiot.models.rules import RateOfChange, ValueRule
from aiot.rules import AlarmChain, AlarmPolicy


def test_a_value_above_its_threshold_raises_and_clears() -> None:
    values = np.array([80.0, 85, 91, 92, 93, 70, 70, 70])
    scores = ValueRule(side="above").score_learn_many(values[:, None])
    chain = AlarmChain(
        AlarmPolicy.parse({"threshold": 90, "hits": 2, "window": 3, "clear_after": 2})
    )
    changes = chain.step(np.arange(len(values)) * 1000, scores)
    assert [(c.kind, c.index) for c in changes] == [("raise", 3), ("clear", 6)]


def test_a_fall_of_more_than_a_step_over_lag_readings_scores_above_it() -> None:
    pressure = np.array([10.0, 10, 10, 9.9, 9.8, 7.0, 6.9, 6.9])
    scores = RateOfChange(side="below", lag=2).score_learn_many(pressure[:, None])
    assert scores[5] > 2.5 > scores[3]
    assert scores[:2].tolist() == [0.0, 0.0]  # nothing to compare with yet
