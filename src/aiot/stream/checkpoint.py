"""The stream stage's checkpoint: one ``.npz`` of every model, chain and the log position.

Written to a temporary file, fsynced and renamed over the last one, so a crash leaves either
the old checkpoint or the new one whole. Arrays and strings only: ``np.load`` runs with
``allow_pickle=False``, so a checkpoint never runs code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Checkpoint", "read", "write"]

_META = "__meta__"


@dataclass
class Checkpoint:
    """The log position, the series of each deployment, and their arrays."""

    position: int
    series: dict[str, list[str]]  # deployment id → series names, in the order of the arrays
    arrays: dict[str, Any]


def write(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the checkpoint at ``path`` atomically."""
    meta = json.dumps({"position": checkpoint.position, "series": checkpoint.series})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        np.savez(handle, allow_pickle=False, **{_META: np.array(meta)}, **checkpoint.arrays)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> Checkpoint | None:
    """The checkpoint at ``path``, or None when there is none."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays.pop(_META)))
    return Checkpoint(int(meta["position"]), dict(meta["series"]), arrays)
