"""Stored artifacts load with identical scores; exports import safely or are refused."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
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


def _bomb(path: Path, claimed_bytes: int) -> Path:
    """An artifact whose state.npz holds one array of zeros, deflated from ``claimed_bytes``."""
    inner = io.BytesIO()
    count = claimed_bytes // 8
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (count,)}
    )
    with (
        zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("resid.data.npy", "w", force_zip64=True) as member,
    ):
        member.write(header.getvalue())
        chunk = bytes(8 * 1024 * 1024)
        for _ in range(claimed_bytes // len(chunk)):
            member.write(chunk)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("card.json", json.dumps({"name": "zscore"}))
        zf.writestr("config.json", json.dumps({"model": "zscore", "params": {}}))
        zf.writestr("state.npz", inner.getvalue())
    return path


def test_import_refuses_a_decompression_bomb_quickly_and_without_the_memory(
    tmp_path: Path,
) -> None:
    bomb = _bomb(tmp_path / "bomb.zip", 384 * 1024 * 1024)
    assert bomb.stat().st_size < 64 * 1024  # a few KB that claim hundreds of MB
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InvalidInput, match="state"):
            hub.import_file(bomb, tmp_path / "store", "acme")
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB allocated"
    assert elapsed < 2.0
    assert hub.list_versions(tmp_path / "store", "acme") == []


def test_import_refuses_an_array_larger_than_its_member(tmp_path: Path) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("resid.data.npy", header.getvalue() + bytes(64))
    with zipfile.ZipFile(tmp_path / "liar.zip", "w") as zf:
        zf.writestr("card.json", json.dumps({"name": "zscore"}))
        zf.writestr("config.json", json.dumps({"model": "zscore", "params": {}}))
        zf.writestr("state.npz", inner.getvalue())
    with pytest.raises(InvalidInput, match="expand"):
        hub.import_file(tmp_path / "liar.zip", tmp_path / "store", "acme")


def test_import_refuses_parameters_outside_the_models_ranges(tmp_path: Path) -> None:
    model = registry.create("zscore")
    hub.save(tmp_path / "a", "acme", model, "1")
    out = hub.export(tmp_path / "a", "acme", "zscore", "1", tmp_path / "z.zip")
    with zipfile.ZipFile(out) as zf:
        members = {name: zf.read(name) for name in hub.MEMBERS}
    members["config.json"] = json.dumps({"model": "zscore", "params": {"window": 10**9}}).encode()
    with zipfile.ZipFile(tmp_path / "huge.zip", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(InvalidInput, match=r"window must be an integer in \[2, 100000\]"):
        hub.import_file(tmp_path / "huge.zip", tmp_path / "b", "acme")
