"""Stored artifacts load with identical scores; exports import safely or are refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from aiot.errors import InvalidInput
from aiot.models import hub, registry
from aiot.models.checks import synthetic_stream


def test_save_load_export_import_keeps_scores(tmp_path: Path) -> None:
    xs, _ = synthetic_stream(600, 1)
    model = registry.create("holt")
    model.learn_many(xs[:400])
    hub.save(tmp_path / "a", "acme", model, "2", {"nab_standard": 1.0})
    out = hub.export(tmp_path / "a", "acme", "holt", "2", tmp_path / "holt.zip")
    card = hub.import_file(out, tmp_path / "b", "other")
    assert card.metrics == {"nab_standard": 1.0}
    loaded = hub.load(tmp_path / "b", "other", "holt", "2")
    np.testing.assert_array_equal(loaded.score_many(xs[400:]), model.score_many(xs[400:]))
    assert [c.name for c in hub.list_versions(tmp_path / "b", "other")] == ["holt"]


def test_import_refuses_pickles_and_strange_members(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("card.json", '{"name": "holt"}')
        zf.writestr("config.json", '{"model": "holt", "params": {}}')
        buf = tmp_path / "s.npz"
        np.savez(buf, level=np.array([object()], dtype=object))
        zf.write(buf, "state.npz")
    with pytest.raises(InvalidInput):
        hub.import_file(bad, tmp_path / "store", "acme")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../card.json", "{}")
    with pytest.raises(InvalidInput):
        hub.import_file(tmp_path / "evil.zip", tmp_path / "store", "acme")
