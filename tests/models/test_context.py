"""The context detector: one alarm per event, and new patterns inside the usual range."""

from __future__ import annotations

import numpy as np

from aiot.models.context import ContextNovelty


def _square_wave(n: int) -> np.ndarray:
    return np.where((np.arange(n) // 20) % 2 == 0, 0.0, 1.0)


def test_a_value_beyond_the_range_alarms_once() -> None:
    model = ContextNovelty()
    model.learn_many(_square_wave(2000))
    scores = model.score_learn_many(np.full(50, 5.0))
    assert scores[0] == 1.0
    assert (scores[1:] < model.alarm).all()


def test_a_new_pattern_inside_the_range_alarms() -> None:
    model = ContextNovelty()
    model.learn_many(_square_wave(2000))
    assert model.score_learn_many(_square_wave(400)).max() < model.alarm
    flicker = np.tile([0.0, 1.0], 20)
    assert model.score_learn_many(flicker).max() >= model.alarm
