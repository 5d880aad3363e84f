"""Streaming helpers for the context detector: windowed statistics, log tails, mean shifts.

``mean_shift`` compares the mean of the last ``short`` values with the mean of the ``long``
values before them, in units of the long window's standard deviation (floored at ``floor``
times the running range, so a flat series does not divide by zero). ``log_tail`` turns a
statistic and the mean and deviation of its own history into Numenta's log-scaled anomaly
likelihood on [0, 1]. Every function takes the stored tail of the past (``past``) and the new
values, so a batch gives exactly what one-point calls give.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from aiot.models.base import Array

__all__ = ["log_tail", "mean_shift", "moving_mean", "prefix_sums", "tail", "window_stats"]

_LOG_FLOOR = math.log(1e-10)
SHIFT_FLOOR = 0.01
SHIFT_WARM = 50


def tail(a: Any, k: int) -> Any:
    """The last ``k`` items of ``a`` (none when ``k`` is 0)."""
    return a[max(0, len(a) - k) :] if k > 0 else a[:0]


def _sums(seq: Array) -> tuple[Array, Array]:
    c1 = np.concatenate([[0.0], np.cumsum(seq)])
    c2 = np.concatenate([[0.0], np.cumsum(seq * seq)])
    return c1, c2


def _stats(c1: Array, c2: Array, start: Any, end: Any) -> tuple[Array, Array, Array]:
    count = np.maximum(end - start, 1)
    mean = (c1[end] - c1[start]) / count
    var = np.maximum((c2[end] - c2[start]) / count - mean * mean, 0.0)
    return mean, var, end - start


def window_stats(past: Array, new: Array, size: int) -> tuple[Array, Array]:
    """Mean and variance of the ``size`` values before each of ``new`` (past then new)."""
    c1, c2 = _sums(np.concatenate([past, new]))
    end = np.arange(len(past), len(past) + len(new))
    mean, var, _ = _stats(c1, c2, np.maximum(0, end - size), end)
    return mean, var


def moving_mean(past: Array, new: Array, size: int) -> Array:
    """Mean of the last ``size`` values up to and including each of ``new``.

    Summed term by term in a fixed order, so a batch gives bit for bit what one-point calls
    give (the result is learned state).
    """
    seq = np.concatenate([np.zeros(size - 1), past, new])
    total, count = np.zeros(len(new)), np.zeros(len(new))
    first = len(seq) - len(new)
    for lag in range(size - 1, -1, -1):
        total = total + seq[first - lag : len(seq) - lag]
        count = count + (np.arange(first - lag, len(seq) - lag) >= size - 1)
    return total / count


def log_tail(value: Array, mean: Array, sd: Array) -> Array:
    """Upper Gaussian tail of ``value``, log-scaled so that a probability of 1e-10 gives 1."""
    upper = ndtr((value - mean) / sd)
    out: Array = np.clip(np.log(1.0000000001 - upper) / _LOG_FLOOR, 0.0, 1.0)
    return out


def prefix_sums(past: Array, new: Array) -> Array:
    """Running sums of ``new`` continuing ``past`` (whose last item is the total so far).

    ``np.cumsum`` adds in order, so the sums do not depend on how the stream was batched.
    """
    return np.concatenate([past[:-1], np.cumsum(np.concatenate([past[-1:], new]))])


def mean_shift(c1: Array, c2: Array, n_new: int, span: Array, sizes: tuple[int, int]) -> Array:
    """|mean of the last short values - mean of the long ones before| / long deviation.

    ``c1`` and ``c2`` are running sums of the values and of their squares (a leading 0 for
    a fresh stream, at least ``short + long`` past sums otherwise) ending with the ``n_new`` new
    values; ``span`` is the running range at each new value, whose ``SHIFT_FLOOR`` share floors
    the deviation. The statistic is 0 until the long window holds ``SHIFT_WARM`` values.
    """
    short, long = sizes
    end = np.arange(len(c1) - n_new, len(c1))
    now, _, _ = _stats(c1, c2, np.maximum(0, end - short), end)
    cut = np.maximum(0, end - short)
    before, var, count = _stats(c1, c2, np.maximum(0, cut - long), cut)
    eps = SHIFT_FLOOR * span + 1e-9
    z = np.abs(now - before) / np.sqrt(var + eps * eps)
    return np.where(count >= SHIFT_WARM, z, 0.0)
