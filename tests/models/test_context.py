"""The context detector: one alarm per event, and new patterns inside the usual range."""

from __future__ import annotations

import numpy as np

from aiot.models.context import ContextNovelty
from aiot.models.seasonal import find_period


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


def _daily(days: int, period: int = 96, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    phase = np.arange(days * period) % period
    peak = np.exp(-(((phase - period / 2) / (period / 10)) ** 2))
    return peak + 0.05 * rng.standard_normal(days * period)


def test_the_period_is_found_from_the_data_and_absent_from_noise() -> None:
    assert find_period(_daily(20)[-1500:], 0.3) == 96
    noise = np.random.default_rng(5).standard_normal(1500)
    assert find_period(noise, 0.3) == 0
    assert find_period(noise.cumsum(), 0.3) == 0


def test_a_missing_daily_peak_raises_the_seasonal_likelihood() -> None:
    x = _daily(40)
    missing = x.copy()
    missing[35 * 96 : 36 * 96] = 0.05 * np.random.default_rng(6).standard_normal(96)
    scores = {}
    for weight in (0.0, 0.85):
        model = ContextNovelty(season_weight=weight)
        model.learn_many(x[: 35 * 96])
        scores[weight] = model.score_learn_many(missing[35 * 96 : 36 * 96]).max()
    assert scores[0.0] < model.alarm <= scores[0.85]
