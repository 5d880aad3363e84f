"""A fixed-size ring buffer of rows whose state is two arrays, so detectors stay bounded."""

from __future__ import annotations

import numpy as np

from aiot.errors import InvalidInput
from aiot.models.base import Array, State

__all__ = ["Ring"]


class Ring:
    """The last ``size`` rows of ``width`` floats, oldest first when read."""

    def __init__(self, size: int, width: int = 1) -> None:
        self.size = size
        self.width = width
        self.data: Array = np.zeros((size, width), dtype=np.float64)
        self.count = 0

    def push(self, row: Array) -> None:
        """Append a row, dropping the oldest when full."""
        self.data[self.count % self.size] = row
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, self.size)

    def view(self) -> Array:
        """The stored rows in arrival order (a copy)."""
        n = len(self)
        if self.count <= self.size:
            return self.data[:n].copy()
        start = self.count % self.size
        return np.concatenate([self.data[start:], self.data[:start]])

    def last(self, k: int) -> Array:
        """The most recent ``k`` rows (fewer if not yet seen), oldest first."""
        k = min(k, len(self))
        idx = (self.count - k + np.arange(k)) % self.size
        return self.data[idx]

    def state(self, prefix: str) -> State:
        """The buffer as state entries under ``prefix``."""
        return {f"{prefix}.data": self.data.copy(), f"{prefix}.count": self.count}

    def load(self, state: State, prefix: str) -> None:
        """Restore from ``state`` entries under ``prefix``."""
        data = np.asarray(state[f"{prefix}.data"], dtype=np.float64)
        if data.shape != (self.size, self.width):
            raise InvalidInput(f"{prefix}: expected shape {(self.size, self.width)}")
        self.data = data.copy()
        self.count = int(state[f"{prefix}.count"])
