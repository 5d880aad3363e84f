"""The conformance suite every registered detector must pass (run it with ``check_all``)."""

from __future__ import annotations

import inspect
import io
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from aiot.errors import InvalidInput
from aiot.models import npz
from aiot.models.base import Array, BaseDetector, State
from aiot.models.params import Range

__all__ = ["CHECKS", "check_all", "synthetic_stream"]


def synthetic_stream(n: int, dims: int, seed: int = 7) -> tuple[Array, Array]:
    """A seasonal noisy stream with labelled spikes and level shifts after ``n // 3``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = np.sin(2 * np.pi * t / 50)[:, None] * np.linspace(1.0, 2.0, dims)[None, :]
    xs = base + 0.1 * rng.standard_normal((n, dims))
    labels = np.zeros(n)
    for start in np.linspace(n // 3, n - 40, 8).astype(int):
        xs[start : start + 5] += 2.5 * np.sign(rng.standard_normal(dims))
        labels[start : start + 5] = 1.0
    return xs, labels


def _stream_for(model: BaseDetector, n: int, seed: int = 7) -> tuple[Array, Array]:
    return synthetic_stream(n, 3 if model.multivariate else 1, seed)


def _roundtrip(state: State) -> State:
    buf = io.BytesIO()
    arrays: dict[str, Any] = {k: np.asarray(v) for k, v in state.items()}
    np.savez(buf, allow_pickle=False, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _state_bytes(state: State) -> int:
    return sum(np.asarray(v).nbytes for v in state.values())


def _assert_same_state(a: State, b: State) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def check_clone(model: BaseDetector) -> None:
    """A clone has the same parameters and no learned state."""
    xs, _ = _stream_for(model, 400)
    trained = model.clone()
    trained.learn_many(xs)
    fresh = trained.clone()
    assert fresh.get_params() == model.get_params()
    _assert_same_state(fresh.state_dict(), model.clone().state_dict())


def check_config_roundtrip(model: BaseDetector) -> None:
    """Parameters survive JSON and rebuild an equal model."""
    params = json.loads(json.dumps(model.get_params()))
    assert type(model)(**params).get_params() == model.get_params()


def check_save_load(model: BaseDetector) -> None:
    """Save → load through ``.npz`` (no pickle) gives identical scores afterwards."""
    xs, _ = _stream_for(model, 1200)
    first = model.clone()
    first.score_learn_many(xs[:800])
    second = model.clone()
    second.load_state_dict(_roundtrip(first.state_dict()))
    expected = first.score_learn_many(xs[800:])
    np.testing.assert_array_equal(expected, second.score_learn_many(xs[800:]))


def check_batch_equals_one(model: BaseDetector) -> None:
    """``score_many``/``score_learn_many``/``learn_many`` equal loops of one-point calls."""
    xs, _ = _stream_for(model, 900)
    one, many = model.clone(), model.clone()
    singles = []
    for row in xs[:700]:
        singles.append(one.score_one(row))
        one.learn_one(row)
    np.testing.assert_allclose(many.score_learn_many(xs[:700]), singles, rtol=1e-9, atol=1e-12)
    before = many.state_dict()
    np.testing.assert_allclose(
        many.score_many(xs[700:]), [one.score_one(r) for r in xs[700:]], rtol=1e-9, atol=1e-12
    )
    _assert_same_state(before, many.state_dict())
    one.learn_many(xs[700:])
    for row in xs[700:]:
        many.learn_one(row)
    _assert_same_state(one.state_dict(), many.state_dict())


def check_bounded_memory(model: BaseDetector) -> None:
    """The learned state stops growing on a long stream."""
    xs, _ = _stream_for(model, 6000)
    trained = model.clone()
    trained.learn_many(xs[:2000])
    early = _state_bytes(trained.state_dict())
    trained.learn_many(xs[2000:])
    assert _state_bytes(trained.state_dict()) <= early * 1.05 + 1024


def check_better_than_chance(model: BaseDetector) -> None:
    """Scores rank the labelled anomalies of a synthetic stream well above chance (AUC)."""
    xs, labels = _stream_for(model, 3000)
    scores = model.clone().score_learn_many(xs)[1000:]
    y = labels[1000:]
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 1.0
    pos = y == 1
    auc = (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())
    assert auc > 0.75, f"AUC {auc:.3f}"


def check_causal(model: BaseDetector) -> None:
    """A score at time t does not change when the data after t changes."""
    xs, _ = _stream_for(model, 1500)
    cut = 1100
    other = xs.copy()
    other[cut:] = np.random.default_rng(3).standard_normal(other[cut:].shape) * 5
    a = model.clone().score_learn_many(xs)
    b = model.clone().score_learn_many(other)
    np.testing.assert_array_equal(a[:cut], b[:cut])


def check_declared_ranges(model: BaseDetector) -> None:
    """Every hyperparameter has a finite declared range holding its default and checked value."""
    cls = type(model)
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(cls.ranges) == sorted(names), f"ranges {sorted(cls.ranges)} for {names}"
    defaults = cls().get_params()
    for name, spec in cls.ranges.items():
        assert spec.admits(defaults[name]), f"default {name}={defaults[name]!r} out of range"
        assert spec.admits(model.get_params()[name]), f"{name} out of range"
        if isinstance(spec, Range):
            assert math.isfinite(spec.low) and math.isfinite(spec.high), name


def _edges(model: BaseDetector) -> Iterator[tuple[str, Any]]:
    for name, spec in type(model).ranges.items():
        if isinstance(spec, Range):
            for edge in (spec.low, spec.high):
                value = int(edge) if spec.integer else float(edge)
                yield name, [value] if spec.items else value


def check_range_edges(model: BaseDetector) -> None:
    """At each edge of each range the model builds (or refuses clearly), learns, and stays small."""
    xs, _ = _stream_for(model, 300)
    for name, value in _edges(model):
        try:
            edge = type(model)(**{**model.get_params(), name: value})
        except InvalidInput:  # a constraint between parameters, refused with a clear error
            continue
        edge.score_learn_many(xs)
        npz.check(edge.state_dict())


CHECKS: list[Callable[[BaseDetector], None]] = [
    check_declared_ranges,
    check_range_edges,
    check_clone,
    check_config_roundtrip,
    check_save_load,
    check_batch_equals_one,
    check_bounded_memory,
    check_better_than_chance,
    check_causal,
]


def check_all(model: BaseDetector, **_: Any) -> None:
    """Run every check on ``model``."""
    for check in CHECKS:
        check(model)
