"""NAB's scoring reimplemented: it reproduces the published Numenta HTM scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.conftest import shared_data

from aiot.models.eval import nab


@pytest.fixture(scope="module")
def nab_dir() -> Path:
    return shared_data("nab")


@pytest.fixture(scope="module")
def corpus(nab_dir: Path) -> list[nab.NabFile]:
    return nab.load_corpus(nab_dir)


def test_stored_htm_results_reproduce_published_scores(
    corpus: list[nab.NabFile], nab_dir: Path
) -> None:
    scores = nab.read_detector_results(nab_dir / "results", "numenta")
    profiles = nab.load_profiles(nab_dir)
    got = {s.profile: s.score for s in nab.score_corpus(corpus, scores, profiles)}
    assert got["standard"] == pytest.approx(70.1, abs=0.1)
    assert got["reward_low_FP_rate"] == pytest.approx(63.1, abs=0.1)
    assert got["reward_low_FN_rate"] == pytest.approx(74.3, abs=0.1)


def test_global_sweep_is_never_below_nab_search(corpus: list[nab.NabFile], nab_dir: Path) -> None:
    scores = nab.read_detector_results(nab_dir / "results", "numenta")
    local = nab.score_corpus(corpus, scores)
    best = nab.score_corpus(corpus, scores, optimiser="sweep")
    assert all(b.score >= a.score - 1e-9 for a, b in zip(local, best, strict=True))


def test_null_scores_zero_and_perfect_scores_hundred(corpus: list[nab.NabFile]) -> None:
    null = {f.name: np.zeros(len(f.values)) for f in corpus}
    perfect = {}
    for f in corpus:
        s = np.zeros(len(f.values))
        s[[lo for lo, _ in f.windows]] = 1.0
        perfect[f.name] = s
    assert all(r.score == pytest.approx(0.0) for r in nab.score_corpus(corpus, null))
    assert all(r.score == pytest.approx(100.0) for r in nab.score_corpus(corpus, perfect))
