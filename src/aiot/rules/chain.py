"""The alarm chain of one series: calibrate → threshold → hits in a window → raise once → clear.

>>> import numpy as np
>>> chain = AlarmChain(AlarmPolicy(threshold=1.0, clear_after=2))
>>> ts = np.arange(6, dtype=np.int64) * 1000
>>> [(t.kind, t.index) for t in chain.step(ts, np.array([0.1, 2.0, 3.0, 0.1, 0.1, 0.1]))]
[('raise', 1), ('clear', 4)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from aiot.errors import InvalidInput
from aiot.rules.policy import AlarmPolicy

__all__ = ["AlarmChain", "Transition"]

# Points examined at once after a transition; doubled while nothing happens, so that a batch
# with many alarms costs O(points + alarms × _FIRST_CHUNK), never O(points × alarms).
_FIRST_CHUNK = 256
_NO_TS = np.iinfo(np.int64).min
_STATE_KEYS = frozenset(
    ("threshold", "calibration", "recent", "open", "normal_run", "held", "held_since", "last_ts")
)

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Transition:
    """An alarm raised or cleared at the point ``index`` of the batch given to ``step``."""

    kind: Literal["raise", "clear"]
    ts: int
    score: float
    threshold: float
    index: int


class AlarmChain:
    """Per-series state of an alarm policy; ``step`` turns batches of scores into transitions."""

    def __init__(self, policy: AlarmPolicy) -> None:
        self.policy = policy
        self._threshold: float | None = policy.threshold
        self._calibration: Floats = np.empty(0, dtype=np.float64)
        self._recent: Bools = np.empty(0, dtype=np.bool_)  # exceedances since the last reset
        self._open = False
        self._normal_run = 0  # consecutive normal points while open
        self._held_since: int | None = None  # ts the hits-in-window condition began at
        self._last_ts = int(_NO_TS)

    @property
    def threshold(self) -> float | None:
        """The threshold in force; None while calibrating, when no alarm can be raised."""
        return self._threshold

    @property
    def open(self) -> bool:
        """Whether an alarm is raised and not yet cleared."""
        return self._open

    def step(self, ts: Ints, scores: Floats) -> list[Transition]:
        """Process one batch of scored points in ts order; NaN scores are not scored yet."""
        ts, scores = self._columns(ts, scores)
        where = np.flatnonzero(~np.isnan(scores))
        t, s = ts[where], scores[where]
        found: list[Transition] = []
        p, chunk = self._calibrate(s), _FIRST_CHUNK
        while p < len(s):
            stop = min(len(s), p + chunk)
            i = self._find_clear(s, p, stop) if self._open else self._find_raise(t, s, p, stop)
            if i is None:
                p, chunk = stop, chunk * 2
                continue
            found.append(self._transition(t, s, i, int(where[i])))
            p, chunk = i + 1, _FIRST_CHUNK
        if len(ts):
            self._last_ts = int(ts[-1])
        return found

    def _columns(self, ts: Any, scores: Any) -> tuple[Ints, Floats]:
        """The batch as 1-D int64 and float64 columns, refused unless in ts order."""
        t = np.asarray(ts, dtype=np.int64)
        s = np.asarray(scores, dtype=np.float64)
        if t.ndim != 1 or t.shape != s.shape:
            raise InvalidInput(f"ts and scores must be 1-D of one length, not {t.shape}, {s.shape}")
        if len(t) and (t[0] < self._last_ts or bool(np.any(t[1:] < t[:-1]))):
            raise InvalidInput("scores must come in ts order, within and across batches")
        return t, s

    def _calibrate(self, s: Floats) -> int:
        """Take warmup scores until the threshold is known; the index scoring starts at."""
        cal = self.policy.calibrate
        if self._threshold is not None or cal is None:
            return 0
        finite = np.flatnonzero(np.isfinite(s))[: cal.warmup - len(self._calibration)]
        self._calibration = np.concatenate([self._calibration, s[finite]])
        if len(self._calibration) < cal.warmup:
            return len(s)
        q = float(np.quantile(self._calibration, cal.quantile))
        # "times margin" for the usual non-negative scores, and still above q when q < 0.
        self._threshold = q + (self.policy.margin - 1.0) * abs(q)
        self._calibration = np.empty(0, dtype=np.float64)
        return int(finite[-1]) + 1

    def _find_raise(self, t: Ints, s: Floats, start: int, stop: int) -> int | None:
        """The first point of ``start:stop`` that raises, or None with the state carried on."""
        assert self._threshold is not None
        policy = self.policy
        recent = np.concatenate([self._recent, s[start:stop] > self._threshold])
        sums = np.concatenate([[0], np.cumsum(recent)])
        end = np.arange(len(self._recent), len(recent)) + 1
        held = sums[end] - sums[np.maximum(end - policy.window, 0)] >= policy.hits
        since = self._held_ts(t[start:stop], held)
        ready = held & (t[start:stop] - since >= policy.min_duration_ms)
        if ready.any():
            return start + int(np.argmax(ready))
        self._recent = recent[max(len(recent) - policy.window + 1, 0) :]  # the last window - 1
        self._held_since = int(since[-1]) if held[-1] else None
        return None

    def _held_ts(self, t: Ints, held: Bools) -> Ints:
        """For each point, the ts its run of held conditions began at (meaningful where held)."""
        begins = held.copy()
        begins[1:] &= ~held[:-1]
        if self._held_since is not None:
            begins[0] = False  # the run carried in from before began earlier
        first = np.maximum.accumulate(np.where(begins, np.arange(len(t)), -1))
        carried = self._held_since if self._held_since is not None else _NO_TS
        return np.where(first >= 0, t[np.maximum(first, 0)], carried)

    def _find_clear(self, s: Floats, start: int, stop: int) -> int | None:
        """The first point of ``start:stop`` that clears, or None with the state carried on."""
        normal = s[start:stop] < self._clear_level()
        at = np.arange(len(normal))
        last_bad = np.maximum.accumulate(np.where(normal, -1, at))
        run = np.where(last_bad >= 0, at - last_bad, self._normal_run + at + 1)
        done = run >= self.policy.clear_after
        if done.any():
            return start + int(np.argmax(done))
        self._normal_run = int(run[-1])
        return None

    def _clear_level(self) -> float:
        """Below this a point is normal: ``clear_below`` × threshold, mirrored when negative."""
        assert self._threshold is not None
        return self._threshold - (1.0 - self.policy.clear_below) * abs(self._threshold)

    def _transition(self, t: Ints, s: Floats, i: int, index: int) -> Transition:
        """Flip the alarm at scored point ``i``; either way the evidence starts afresh."""
        assert self._threshold is not None
        self._open = not self._open
        self._recent = self._recent[:0]
        self._normal_run = 0
        self._held_since = None
        kind: Literal["raise", "clear"] = "raise" if self._open else "clear"
        return Transition(kind, int(t[i]), float(s[i]), self._threshold, index)

    def state_dict(self) -> dict[str, NDArray[Any] | float | int | bool]:
        """The state as arrays and scalars (``np.savez`` stores it; no pickle)."""
        return {
            "threshold": math.nan if self._threshold is None else self._threshold,
            "calibration": self._calibration.copy(),
            "recent": self._recent.copy(),
            "open": self._open,
            "normal_run": self._normal_run,
            "held": self._held_since is not None,
            "held_since": self._held_since if self._held_since is not None else int(_NO_TS),
            "last_ts": self._last_ts,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state_dict()``; InvalidInput if it does not fit this policy."""
        missing = _STATE_KEYS - set(state)
        if missing:
            raise InvalidInput(f"alarm chain state lacks {sorted(missing)}")
        threshold = float(state["threshold"])
        calibration = np.asarray(state["calibration"], dtype=np.float64).reshape(-1)
        recent = np.asarray(state["recent"], dtype=np.bool_).reshape(-1)
        self._check_fits(threshold, calibration, recent)
        if math.isnan(threshold) and bool(state["open"]):
            raise InvalidInput("alarm chain state is open without a threshold")
        self._threshold = None if math.isnan(threshold) else threshold
        self._calibration, self._recent = calibration.copy(), recent.copy()
        self._open = bool(state["open"])
        self._normal_run = int(state["normal_run"])
        self._held_since = int(state["held_since"]) if bool(state["held"]) else None
        self._last_ts = int(state["last_ts"])

    def _check_fits(self, threshold: float, calibration: Floats, recent: Bools) -> None:
        """Refuse a state saved under another policy's threshold, warmup or window."""
        fixed, cal = self.policy.threshold, self.policy.calibrate
        if fixed is not None and threshold != fixed:
            raise InvalidInput(f"state has threshold {threshold}, the policy fixes {fixed}")
        if cal is not None and len(calibration) >= cal.warmup:
            raise InvalidInput(f"state holds {len(calibration)} warmup scores of {cal.warmup}")
        if len(recent) >= self.policy.window:
            window = self.policy.window
            raise InvalidInput(f"state holds {len(recent)} recent points for a window of {window}")
