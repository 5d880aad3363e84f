"""The innovation T² detector, and SKAB's evaluation streaming the test part."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiot.errors import InvalidInput
from aiot.models import registry
from aiot.models.eval import skab
from aiot.models.eval.labelled import calibrate
from aiot.models.innovation import InnovationT2


def _drift_and_noise(n: int, seed: int = 1) -> np.ndarray:
    """Column 0 wanders slowly (a random walk), column 1 is white noise around 0."""
    rng = np.random.default_rng(seed)
    return np.column_stack([np.cumsum(0.1 * rng.standard_normal(n)), rng.standard_normal(n)])


def test_scores_zero_until_fitted_then_frozen() -> None:
    model = InnovationT2(warmup=50)
    xs = _drift_and_noise(120)
    scores = model.score_learn_many(xs)
    assert np.all(scores[:50] == 0.0) and model.fitted
    assert np.all(scores[50:] > 0.0)
    frozen = model.state_dict()
    model.learn_many(xs[:20])
    np.testing.assert_array_equal(model.state_dict()["precision"], frozen["precision"])


@pytest.mark.parametrize("params", [{"order": -1}, {"window": 0}, {"order": 5, "warmup": 7}])
def test_bad_parameters_are_refused(params: dict[str, int]) -> None:
    with pytest.raises(InvalidInput):
        InnovationT2(**params)


def test_drift_of_a_slow_variable_is_tolerated_a_level_shift_is_not() -> None:
    xs = _drift_and_noise(1200)
    xs[:, 0] += np.concatenate([np.zeros(300), np.linspace(0.0, 30.0, 900)])
    xs[1000:, 1] += 6.0
    model, pca = InnovationT2(warmup=300), registry.create("pca", statistic="t2", warmup=300)
    model.learn_many(xs[:300])
    pca.learn_many(xs[:300])
    replay = model.clone()
    replay.load_state_dict(model.state_dict())
    threshold = calibrate(replay.score_learn_many(xs[:300])[30:], 0.01)
    scores = model.score_learn_many(xs[300:])
    drift, shift = scores[:700], scores[710:]
    assert np.mean(drift > threshold) < 0.05
    assert np.mean(shift > threshold) > 0.95
    pca_threshold = calibrate(pca.score_many(xs[:300]), 0.01)
    assert np.mean(pca.score_many(xs[300:1000]) > pca_threshold) > 0.5


def _skab_folder(root: Path, rows: int = 700) -> Path:
    rng = np.random.default_rng(4)
    data = rng.standard_normal((rows, 8))
    labels = np.zeros(rows)
    data[500:600, 3] += 5.0
    labels[500:600] = 1.0
    folder = root / "data" / "valve1"
    folder.mkdir(parents=True)
    header = "datetime;" + ";".join(f"s{i}" for i in range(8)) + ";anomaly;changepoint"
    lines = [header] + [
        f"2020-01-01 00:00:{i % 60:02d};" + ";".join(f"{v:.6f}" for v in row) + f";{lab};0"
        for i, (row, lab) in enumerate(zip(data, labels, strict=True))
    ]
    (folder / "0.csv").write_text("\n".join(lines) + "\n")
    return root


def test_skab_streams_the_test_part_and_calibrates_on_a_replay(tmp_path: Path) -> None:
    root = _skab_folder(tmp_path)
    path = skab.experiments(root)[0]
    data, labels, scores, threshold = skab.score_experiment(path, "innovation", train=400)
    model = registry.create("innovation", warmup=400)
    model.learn_many(data[:400])
    replay = model.clone()
    replay.load_state_dict(model.state_dict())
    replayed = replay.score_learn_many(data[:400])
    np.testing.assert_array_equal(scores[:400], replayed)
    assert threshold == calibrate(replayed[40:], 0.01)
    np.testing.assert_array_equal(scores[400:], model.score_learn_many(data[400:]))
    figures = skab.evaluate(root, "innovation")
    assert set(figures) == {"f1", "far_pct", "mar_pct"} and figures["f1"] > 0.8
    assert labels.sum() == 100
