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


def test_a_level_shift_inside_the_range_raises_the_shift_likelihood() -> None:
    rng = np.random.default_rng(2)
    noisy = np.clip(rng.standard_normal(3000), -2.5, 2.5)
    noisy[[5, 10]] = [-4.0, 4.0]
    shifted = np.clip(1.5 + rng.standard_normal(100), -2.5, 2.5)
    scores = {}
    for weight in (0.0, 0.85):
        model = ContextNovelty(shift_weight=weight)
        model.learn_many(noisy)
        scores[weight] = model.score_learn_many(shifted).max()
    assert scores[0.85] > scores[0.0] + 0.2


def test_batches_learn_the_same_state_as_one_pass() -> None:
    x = np.random.default_rng(1).standard_normal(600).cumsum()
    whole, parts = ContextNovelty(shift_long=200), ContextNovelty(shift_long=200)
    whole.learn_many(x)
    for chunk in np.array_split(x, 7):
        parts.learn_many(chunk)
    for key, value in whole.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(parts.state_dict()[key]))
