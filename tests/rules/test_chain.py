"""The alarm chain raises, suppresses and clears as its policy says, in any batches."""

from __future__ import annotations

import io
import itertools
import math
from collections import deque
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiot.errors import InvalidInput
from aiot.rules import AlarmChain, AlarmPolicy, Transition
from aiot.rules import chain as chain_module

MINUTE = 60_000
Array = np.ndarray[Any, Any]


def run(policy: AlarmPolicy, scores: list[float], step_ms: int = 1000) -> list[Transition]:
    """The transitions of one batch of scores taken ``step_ms`` apart."""
    ts = np.arange(len(scores), dtype=np.int64) * step_ms
    return AlarmChain(policy).step(ts, np.asarray(scores, dtype=np.float64))


def kinds(found: list[Transition]) -> list[tuple[str, int]]:
    return [(t.kind, t.index) for t in found]


def test_a_fixed_threshold_raises_on_the_first_point_above_it() -> None:
    found = run(AlarmPolicy(threshold=1.0), [0.2, 0.5, 1.0, 3.5, 0.1])
    assert found == [Transition("raise", ts=3000, score=3.5, threshold=1.0, index=3)]


def test_an_open_alarm_does_not_raise_again() -> None:
    found = run(AlarmPolicy(threshold=1.0, clear_after=3), [2.0, 5.0, 0.1, 4.0, 9.0, 0.1])
    assert kinds(found) == [("raise", 0)]


def test_three_of_five_ignores_isolated_spikes_and_raises_on_a_burst() -> None:
    policy = AlarmPolicy(threshold=1.0, hits=3, window=5)
    spikes = [0.0] * 20
    spikes[3] = spikes[12] = 9.0
    assert run(policy, spikes) == []
    two_close = [0.0, 9.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0]  # 4 apart: never 3 in 5
    assert run(policy, two_close) == []
    burst = [0.0, 0.0, 9.0, 0.0, 9.0, 0.0, 9.0, 9.0, 0.0]
    assert kinds(run(policy, burst)) == [("raise", 6)]


def test_hysteresis_clears_only_after_clear_after_normal_points() -> None:
    policy = AlarmPolicy(threshold=10.0, clear_below=0.8, clear_after=3)
    # 9 is below the threshold but not below 0.8 × 10: it is not normal yet.
    scores = [20.0, 9.0, 9.0, 9.0, 9.0, 5.0, 5.0, 9.0, 5.0, 5.0, 5.0, 5.0]
    assert kinds(run(policy, scores)) == [("raise", 0), ("clear", 10)]


def test_after_a_clear_a_new_alarm_needs_new_evidence() -> None:
    policy = AlarmPolicy(threshold=1.0, hits=2, window=10, clear_after=1)
    scores = [5.0, 5.0, 0.0, 0.0, 5.0, 0.0, 5.0]
    # Cleared at 2; the hits at 0 and 1 no longer count, so the second alarm waits for 6.
    assert kinds(run(policy, scores)) == [("raise", 1), ("clear", 2), ("raise", 6)]


def test_min_duration_delays_raising_until_the_condition_held_that_long() -> None:
    policy = AlarmPolicy(threshold=1.0, min_duration_ms=5 * MINUTE)
    short = [0.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0]  # above for 3 minutes only
    assert run(policy, short, step_ms=MINUTE) == []
    long = [0.0] + [2.0] * 8
    found = run(policy, long, step_ms=MINUTE)
    assert kinds(found) == [("raise", 6)]
    assert found[0].ts == 6 * MINUTE  # 5 minutes after the first point above, at 1 minute


def test_min_duration_counts_from_when_hits_in_window_began() -> None:
    policy = AlarmPolicy(threshold=1.0, hits=2, window=3, min_duration_ms=2 * MINUTE)
    # Held from point 2 (two of the last three above) and still held at 4: raised at 4.
    scores = [0.0, 2.0, 2.0, 0.0, 2.0, 0.0, 0.0]
    assert kinds(run(policy, scores, step_ms=MINUTE)) == [("raise", 4)]


def test_nan_scores_are_skipped_and_indices_point_into_the_batch() -> None:
    nan = math.nan
    policy = AlarmPolicy(threshold=1.0, hits=2, window=2, clear_after=2)
    scores = [2.0, nan, nan, 3.0, nan, 0.0, nan, 0.0]
    assert kinds(run(policy, scores)) == [("raise", 3), ("clear", 7)]


def test_calibration_holds_alarms_until_the_warmup_is_seen() -> None:
    chain = AlarmChain(AlarmPolicy(calibrate={"warmup": 100}))
    first = np.r_[np.ones(98), math.inf, 50.0]  # inf is no part of the warmup: 99 scores
    assert chain.threshold is None
    assert chain.step(np.arange(100, dtype=np.int64), first) == []  # even 50 is only warmup
    assert chain.threshold is None
    found = chain.step(np.arange(100, 104, dtype=np.int64), np.array([0.5, 0.5, 2.0, 0.5]))
    expected = float(np.quantile(np.r_[np.ones(98), 50.0, 0.5], 0.99))  # the 100th is 0.5
    assert chain.threshold == pytest.approx(expected)
    assert found == [Transition("raise", ts=102, score=2.0, threshold=expected, index=2)]


def test_a_margin_scales_the_calibrated_threshold() -> None:
    rng = np.random.default_rng(7)
    scores = np.abs(rng.normal(size=200))
    ts = np.arange(200, dtype=np.int64)
    plain = AlarmChain(AlarmPolicy(calibrate={"warmup": 200}))
    wide = AlarmChain(AlarmPolicy(calibrate={"warmup": 200}, margin=2.0))
    plain.step(ts, scores)
    wide.step(ts, scores)
    assert plain.threshold is not None and wide.threshold is not None
    assert wide.threshold == pytest.approx(2.0 * plain.threshold)


@pytest.mark.parametrize("rate", [0.01, 0.05])
def test_a_calibrated_threshold_gives_about_the_asked_false_alarm_rate(rate: float) -> None:
    rng = np.random.default_rng(2024)
    warmup, fresh = 5000, 200_000
    policy = AlarmPolicy(
        calibrate={"false_alarm_rate": rate, "warmup": warmup}, clear_below=1.0, clear_after=1
    )
    chain = AlarmChain(policy)
    ts = np.arange(warmup + fresh, dtype=np.int64) * 1000
    scores = rng.normal(size=warmup + fresh)
    assert chain.step(ts[:warmup], scores[:warmup]) == []
    found = chain.step(ts[warmup:], scores[warmup:])
    raises = sum(t.kind == "raise" for t in found)
    # Every run of points above the threshold is one alarm: P(above, previous not) per point.
    assert raises / fresh == pytest.approx(rate * (1 - rate), rel=0.25)
    assert chain.threshold is not None
    assert np.mean(scores[warmup:] > chain.threshold) == pytest.approx(rate, rel=0.25)


def test_state_is_arrays_and_scalars_that_npz_stores_without_pickle() -> None:
    chain = AlarmChain(AlarmPolicy(calibrate={"warmup": 20}, hits=2, window=4))
    chain.step(np.arange(30, dtype=np.int64), np.linspace(0.0, 3.0, 30))
    state = chain.state_dict()
    assert all(isinstance(v, np.ndarray | float | int | bool) for v in state.values())
    buffer = io.BytesIO()
    np.savez(buffer, **state)  # type: ignore[arg-type]
    buffer.seek(0)
    loaded = dict(np.load(buffer, allow_pickle=False))
    again = AlarmChain(chain.policy)
    again.load_state_dict(loaded)
    assert again.state_dict().keys() == state.keys()
    assert again.threshold == chain.threshold
    assert again.open == chain.open


def test_a_state_of_another_policy_is_refused() -> None:
    saved = AlarmChain(AlarmPolicy(threshold=1.0, hits=3, window=5))
    saved.step(np.arange(4, dtype=np.int64), np.array([2.0, 0.0, 2.0, 0.0]))
    with pytest.raises(InvalidInput, match="window"):
        AlarmChain(AlarmPolicy(threshold=1.0, hits=1, window=2)).load_state_dict(saved.state_dict())
    with pytest.raises(InvalidInput, match="threshold"):
        AlarmChain(AlarmPolicy(threshold=2.0, hits=3, window=5)).load_state_dict(saved.state_dict())
    with pytest.raises(InvalidInput, match="lacks"):
        AlarmChain(saved.policy).load_state_dict({"threshold": 1.0})


def test_points_out_of_ts_order_are_refused() -> None:
    chain = AlarmChain(AlarmPolicy(threshold=1.0))
    with pytest.raises(InvalidInput, match="ts order"):
        chain.step(np.array([0, 2, 1], dtype=np.int64), np.zeros(3))
    chain.step(np.array([5, 5, 6], dtype=np.int64), np.zeros(3))  # equal ts are in order
    with pytest.raises(InvalidInput, match="ts order"):
        chain.step(np.array([4], dtype=np.int64), np.zeros(1))
    with pytest.raises(InvalidInput, match="one length"):
        chain.step(np.array([7, 8], dtype=np.int64), np.zeros(3))


def test_an_empty_batch_changes_nothing() -> None:
    chain = AlarmChain(AlarmPolicy(threshold=1.0))
    assert chain.step(np.empty(0, dtype=np.int64), np.empty(0)) == []
    assert chain.state_dict()["last_ts"] == AlarmChain(chain.policy).state_dict()["last_ts"]


# --- the chain equals the definition, point by point, however the stream is cut ---------------


def reference(policy: AlarmPolicy, ts: Array, scores: Array) -> list[Transition]:
    """The chain written as the definition reads, one point at a time."""
    threshold, warm = policy.threshold, []
    recent: deque[bool] = deque(maxlen=policy.window)
    since: int | None = None
    is_open, normal, found = False, 0, list[Transition]()
    for i, (t, s) in enumerate(zip(ts.tolist(), scores.tolist(), strict=True)):
        if math.isnan(s):
            continue
        if threshold is None:
            assert policy.calibrate is not None
            if math.isfinite(s):
                warm.append(s)
            if len(warm) == policy.calibrate.warmup:
                q = float(np.quantile(np.array(warm), policy.calibrate.quantile))
                threshold = q + (policy.margin - 1) * abs(q)
            continue
        if is_open:
            level = threshold - (1 - policy.clear_below) * abs(threshold)
            normal = normal + 1 if s < level else 0
            if normal >= policy.clear_after:
                found.append(Transition("clear", t, s, threshold, i))
                is_open, normal, since = False, 0, None
                recent.clear()
            continue
        recent.append(s > threshold)
        if sum(recent) < policy.hits:
            since = None
            continue
        since = t if since is None else since
        if t - since >= policy.min_duration_ms:
            found.append(Transition("raise", t, s, threshold, i))
            is_open, normal = True, 0
    return found


@st.composite
def policies(draw: st.DrawFn) -> AlarmPolicy:
    window = draw(st.integers(1, 6))
    data: dict[str, Any] = {
        "window": window,
        "hits": draw(st.integers(1, window)),
        "clear_below": draw(st.sampled_from([0.0, 0.5, 0.8, 1.0])),
        "clear_after": draw(st.integers(1, 4)),
        "min_duration_ms": draw(st.sampled_from([0, 0, 3, 10])),
    }
    if draw(st.booleans()):
        data["threshold"] = draw(st.sampled_from([-1.0, 0.0, 1.0]))
    else:
        data["calibrate"] = {"warmup": 20, "false_alarm_rate": draw(st.sampled_from([0.1, 0.3]))}
        data["margin"] = draw(st.sampled_from([1.0, 1.5]))
    return AlarmPolicy.parse(data)


@st.composite
def streams(draw: st.DrawFn) -> tuple[Array, Array]:
    n = draw(st.integers(0, 120))
    gaps = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    values = st.one_of(
        st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 0.9, 1.0, 1.5, 3.0]),
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.floats(-3, 3),
    )
    scores = draw(st.lists(values, min_size=n, max_size=n))
    return np.cumsum(gaps, dtype=np.int64), np.array(scores, dtype=np.float64)


def in_batches(
    policy: AlarmPolicy, ts: Array, scores: Array, bounds: list[int], save: bool
) -> list[Transition]:
    """The transitions of the stream cut at ``bounds``, indices made relative to the whole."""
    chain, found = AlarmChain(policy), []
    for lo, hi in itertools.pairwise(bounds):
        if save:  # a restart: a new chain continues from the saved arrays
            state = {k: np.asarray(v) for k, v in chain.state_dict().items()}
            chain = AlarmChain(policy)
            chain.load_state_dict(state)
        got = chain.step(ts[lo:hi], scores[lo:hi])
        found += [Transition(t.kind, t.ts, t.score, t.threshold, t.index + lo) for t in got]
    return found


@settings(max_examples=300, deadline=None)
@given(policy=policies(), stream=streams())
def test_one_batch_follows_the_definition(policy: AlarmPolicy, stream: tuple[Array, Array]) -> None:
    ts, scores = stream
    assert AlarmChain(policy).step(ts, scores) == reference(policy, ts, scores)


@settings(max_examples=300, deadline=None)
@given(policy=policies(), stream=streams(), data=st.data(), save=st.booleans())
def test_any_batches_and_restarts_give_the_transitions_of_one_batch(
    policy: AlarmPolicy,
    stream: tuple[Array, Array],
    data: st.DataObject,
    save: bool,
) -> None:
    ts, scores = stream
    bounds = sorted(set(data.draw(st.lists(st.integers(0, len(ts)), max_size=6))) | {0, len(ts)})
    whole = AlarmChain(policy).step(ts, scores)
    assert in_batches(policy, ts, scores, bounds, save) == whole


@settings(max_examples=100, deadline=None)
@given(policy=policies(), stream=streams())
def test_small_inner_chunks_change_nothing(
    policy: AlarmPolicy, stream: tuple[Array, Array]
) -> None:
    ts, scores = stream
    expected = reference(policy, ts, scores)
    with mock.patch.object(chain_module, "_FIRST_CHUNK", 1):
        assert AlarmChain(policy).step(ts, scores) == expected
