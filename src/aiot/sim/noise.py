"""Vectorised stochastic and dynamic building blocks, carried across chunks.

* :class:`OrnsteinUhlenbeck`: slow disturbances (feed flow, ambient temperature, separator
  pressure). Sampled exactly on the grid as the AR(1) recursion
  ``x[k] = a x[k-1] + sigma sqrt(1 - a^2) e[k]`` with ``a = exp(-dt / tau)``, ``e ~ N(0, 1)``,
  whose stationary standard deviation is ``sigma``.
* :class:`Sensors`: white measurement noise, drawn time-major so chunking cannot change it.
* :class:`FirstOrderLag`: the response ``tau dy/dt = u - y`` of a sensor, a wellbore or a
  pipeline to a changing steady state, discretised with a zero-order hold on ``u``:
  ``y[k] = a y[k-1] + (1 - a) u[k]``.

Both run through :func:`scipy.signal.lfilter` along the time axis, so a chunk of any length
costs a handful of array operations, and their filter state passes from chunk to chunk.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from aiot.sim.faults import Floats

__all__ = ["FirstOrderLag", "OrnsteinUhlenbeck", "Sensors"]


class OrnsteinUhlenbeck:
    """Mean-reverting noise per device with time constant ``tau_s`` and std ``sigma``."""

    def __init__(
        self, rng: np.random.Generator, sigma: Floats | float, tau_s: float, dt_s: float, n: int
    ) -> None:
        self.rng = rng
        self.sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (n,))
        self.a = float(np.exp(-dt_s / tau_s))
        self.unit = rng.standard_normal(n)

    def sample(self, n_t: int) -> Floats:
        """The next ``n_t`` values, shape (time, device)."""
        e = self.rng.standard_normal((n_t, len(self.unit)))
        b = np.sqrt(1.0 - self.a**2)
        y, _ = lfilter([b], [1.0, -self.a], e, axis=0, zi=(self.a * self.unit)[None])
        self.unit = y[-1].copy()
        return np.asarray(y * self.sigma, dtype=np.float64)


class FirstOrderLag:
    """A first-order lag with time constant ``tau_s`` per device, started at ``y0``."""

    def __init__(self, y0: Floats, tau_s: float, dt_s: float) -> None:
        self.a = float(np.exp(-dt_s / tau_s))
        self.state = np.asarray(y0, dtype=np.float64).copy()

    def __call__(self, u: Floats) -> Floats:
        """The lagged response to the input ``u`` of shape (time, device)."""
        y, _ = lfilter([1.0 - self.a], [1.0, -self.a], u, axis=0, zi=(self.a * self.state)[None])
        self.state = y[-1].copy()
        return np.asarray(y, dtype=np.float64)


class Sensors:
    """Unit Gaussian measurement noise for ``n_keys`` transmitters, drawn time-major."""

    def __init__(self, rng: np.random.Generator, n_keys: int, scale: float = 1.0) -> None:
        self.rng = rng
        self.n_keys = n_keys
        self.scale = scale

    def sample(self, n_t: int, n_devices: int) -> Floats:
        """Noise of shape (key, time, device); drawn time-first so chunking cannot change it."""
        e = self.rng.standard_normal((n_t, self.n_keys, n_devices))
        return np.asarray(self.scale * e.transpose(1, 0, 2), dtype=np.float64)
