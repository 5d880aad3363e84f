"""A jacketed CSTR with an exothermic first-order reaction A -> B under PI temperature control.

Balances (liquid volume ``V`` constant, perfectly mixed reactor and jacket)::

    dCA/dt = F/V (CAf - CA) - r,                 r = k0 a exp(-E/(R T)) CA
    dT/dt  = F/V (Tf - T) + (-dH) r / (rho cp) - UA (T - Tj) / (rho cp V)
    dTj/dt = Fc/Vj (Tcin - Tj) + UA (T - Tj) / (rho_c cp_c Vj)
    Fc     = clip(Fc_ss + Kc e + Kc/tau_i integral(e dt), 0, Fc_max),   e = T - T_sp

The kinetics (``E/R = 8750 K``) and the open-loop unstable character follow the CSTR example of
Seborg, Edgar, Mellichamp and Doyle, *Process Dynamics and Control* (after Pottmann and Seborg,
1992), scaled to a 10 m³ plant reactor: residence time 20 min, 4 kmol/m³ feed, heat of
reaction -80 MJ/kmol (adiabatic rise 80 K), so that at the 350 K set point about 85 % converts
and the jacket removes about 1 MW. Each device draws its own volume, set point and ``UA``.
Feed flow, feed composition and temperatures wander as Ornstein-Uhlenbeck processes with
a daily swing on the feed and cooling-water temperatures.

Integration is exponential Euler: each balance is linear in its own state for frozen
coefficients, so each step relaxes exactly towards its momentary equilibrium. It is stable
for any step; steps longer than 10 s are split. It steps in time and is vectorised across
devices. ``conversion`` is the soft sensor a plant would run: the energy-balance estimate
``(Fc rho_c cp_c (Tj - Tcin) + F rho cp (T - Tf)) / ((-dH) F CAf)`` from measured values, smoothed
with a 10 min first-order filter (it neglects accumulation, so it is exact only near steady
state) and clipped to 0-100 %; sensor faults corrupt it as they would in the plant.

Faults: ``cooling_failure`` (coolant pump trips to 10 % flow: the temperature runs away),
``catalyst_deactivation`` (activity ``a`` decays with a 24 h time constant), ``fouling``
(``UA`` falls by up to 60 % with a 12 h time constant), ``feed_composition_step`` (``CAf``
+20 %), and on the reactor temperature transmitter ``sensor_bias`` (+4 K), ``sensor_drift``
(+1.5 K/h) and ``sensor_freeze`` (holds its last value). The controller reads an independent
control sensor, so transmitter faults change only what is reported.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.sim.base import GridSimulator
from aiot.sim.faults import FaultType, Floats
from aiot.sim.noise import FirstOrderLag, OrnsteinUhlenbeck, Sensors

__all__ = ["ReactorSimulator"]

K0, E_R, DH = 3.39e8, 8750.0, -8.0e7  # 1/s, K, J/kmol
RHO_CP, RHO_CP_C = 4.0e6, 4.18e6  # J/(m³ K), process and cooling water
CAF, TF, TCIN, TAU = 4.0, 310.0, 293.0, 1200.0  # kmol/m³, K, K, s
KC, TAU_I, MAX_STEP_S = 1.5e-3, 300.0, 10.0  # m³/s per K, s, s
C0 = 273.15
SOFT_SENSOR_TAU_S = 600.0  # the soft sensor smooths its estimate, as plant ones do
HOUR = 3600.0


class ReactorSimulator(GridSimulator):
    """Jacketed CSTRs under PI temperature control; readings in m³/h, kmol/m³, °C and %."""

    vertical: ClassVar[str] = "reactor"
    device_type: ClassVar[str] = "cstr"
    default_interval_ms: ClassVar[int] = 10_000
    key_names: ClassVar[tuple[str, ...]] = (
        "feed_flow",
        "feed_conc",
        "feed_temp",
        "reactor_temp",
        "jacket_temp",
        "coolant_flow",
        "coolant_temp",
        "outlet_conc",
        "conversion",
    )
    fault_types: ClassVar[tuple[FaultType, ...]] = (
        FaultType("cooling_failure", 900, 2 * HOUR),
        FaultType("catalyst_deactivation", 6 * HOUR, 48 * HOUR),
        FaultType("feed_composition_step", HOUR, 8 * HOUR),
        FaultType("fouling", 12 * HOUR, 72 * HOUR),
        FaultType("sensor_drift", 2 * HOUR, 12 * HOUR, ("reactor_temp",)),
        FaultType("sensor_bias", HOUR, 8 * HOUR, ("reactor_temp",)),
        FaultType("sensor_freeze", 1800, 4 * HOUR, ("reactor_temp",)),
    )

    def _setup(self, rng: np.random.Generator) -> None:
        n = len(self.devices)
        self.volume = rng.uniform(8.0, 12.0, n)
        self.t_sp = rng.uniform(346.0, 354.0, n)
        self.ua = rng.uniform(35e3, 45e3, n)
        self.f0 = self.volume / TAU
        k = K0 * np.exp(-E_R / self.t_sp)
        ca = CAF / (1.0 + k * TAU)
        duty = -DH * self.volume * k * ca - RHO_CP * self.f0 * (self.t_sp - TF)
        tj = self.t_sp - duty / self.ua
        self.fc0 = duty / (RHO_CP_C * (tj - TCIN))
        self.fc_max = 3.0 * self.fc0
        self.v_jacket = 0.15 * self.volume
        self._steady = (ca, self.t_sp.copy(), tj, self.fc0.copy())

    def _init_state(self, seq: np.random.SeedSequence) -> None:
        n, dt = len(self.devices), self.dt_s
        feed, conc, temps, meas = (np.random.default_rng(s) for s in seq.spawn(4))
        self._feed = OrnsteinUhlenbeck(feed, 0.03, 2 * HOUR, dt, n)
        self._conc = OrnsteinUhlenbeck(conc, 0.015, 4 * HOUR, dt, n)
        self._temps = OrnsteinUhlenbeck(temps, 1.0, HOUR, dt, 2 * n)
        self._meas = Sensors(meas, 8, self.noise)
        ca, t, tj, fc = self._steady
        self.state = np.stack([ca, t, tj, fc])
        self._frozen: dict[tuple[int, int], float] = {}
        self._last_temp = self.t_sp - C0
        self._soft = FirstOrderLag(100.0 * (1.0 - ca / CAF), SOFT_SENSOR_TAU_S, dt)

    def _inputs(self, ts: np.ndarray) -> tuple[Floats, ...]:
        n_t, n = len(ts), len(self.devices)
        day = 2 * np.pi * ((ts / 1000.0) % 86_400.0) / 86_400.0 - 2 * np.pi * 15 / 24
        swing = np.cos(day)[:, None]
        temps = self._temps.sample(n_t)
        flow = self.f0 * (1.0 + self._feed.sample(n_t))
        conc = CAF * (1.0 + self._conc.sample(n_t))
        conc = conc * np.where(self._on("feed_composition_step", ts), 1.2, 1.0)
        t_feed = TF + 3.0 * swing + temps[:, :n]
        t_cool = TCIN + 2.0 * swing + 0.5 * temps[:, n:]
        return flow, conc, t_feed, t_cool

    def _factors(self, ts: np.ndarray) -> tuple[Floats, Floats, Floats]:
        decay = np.nan_to_num(self.elapsed_s("catalyst_deactivation", ts), nan=0.0)
        activity = np.exp(-decay / (24 * HOUR))
        fouled = np.nan_to_num(self.elapsed_s("fouling", ts), nan=0.0)
        ua = self.ua * (1.0 - 0.6 * (1.0 - np.exp(-fouled / (12 * HOUR))))
        cooling = np.where(self._on("cooling_failure", ts), 0.1, 1.0)
        return activity, ua, cooling

    def _on(self, fault: str, ts: np.ndarray) -> np.ndarray:
        return ~np.isnan(self.elapsed_s(fault, ts))

    def _step(self, ts: np.ndarray) -> list[Floats]:
        flow, conc, t_feed, t_cool = self._inputs(ts)
        activity, ua, cooling = self._factors(ts)
        states = self._integrate(flow, conc, t_feed, t_cool, activity, ua, cooling)
        return self._readings(ts, states, flow, conc, t_feed, t_cool)

    def _integrate(self, *inputs: Floats) -> Floats:
        flow, conc, t_feed, t_cool, activity, ua, cooling = inputs
        n_sub = max(int(np.ceil(self.dt_s / MAX_STEP_S)), 1)
        h = self.dt_s / n_sub
        dil = flow / self.volume
        rows = zip(
            dil,
            dil * conc,
            dil * t_feed,
            K0 * activity,
            ua / (self.volume * RHO_CP),
            ua / (self.v_jacket * RHO_CP_C),
            cooling / self.v_jacket,
            t_cool,
            strict=True,
        )
        ca, t, tj, integral = self.state
        out = np.empty((len(flow), 4, len(self.devices)))
        t_sp, fc_max, gain_i = self.t_sp, self.fc_max, KC * h / TAU_I
        for i, (d, d_ca, d_t, k_a, cool, gain, pump, t_c) in enumerate(rows):
            out[i] = ca, t, tj, np.clip(integral + KC * (t - t_sp), 0.0, fc_max) * pump
            out[i, 3] *= self.v_jacket
            for _ in range(n_sub):
                k = k_a * np.exp(-E_R / t)
                rate = d + k
                ca = d_ca / rate + (ca - d_ca / rate) * np.exp(-rate * h)
                rate = d + cool
                t_eq = (d_t + (-DH / RHO_CP) * k * ca + cool * tj) / rate
                t = t_eq + (t - t_eq) * np.exp(-rate * h)
                fc = np.clip(integral + KC * (t - t_sp), 0.0, fc_max) * pump
                rate = fc + gain
                tj_eq = (fc * t_c + gain * t) / rate
                tj = tj_eq + (tj - tj_eq) * np.exp(-rate * h)
                integral = np.clip(integral + gain_i * (t - t_sp), 0.0, fc_max)
        self.state = np.stack([ca, t, tj, integral])
        return out

    def _readings(self, ts: np.ndarray, states: Floats, *inputs: Floats) -> list[Floats]:
        flow, conc, t_feed, t_cool = inputs
        ca, t, tj, fc = (states[:, j] for j in range(4))
        e = self._meas.sample(len(ts), len(self.devices))
        q = [
            np.maximum(flow * 3600 + 0.2 * e[0], 0.0),
            conc + 0.01 * e[1],
            t_feed - C0 + 0.1 * e[2],
            self._transmitter(ts, t - C0 + 0.1 * e[3]),
            tj - C0 + 0.1 * e[4],
            np.maximum(fc * 3600 + 0.2 * e[5], 0.0),
            t_cool - C0 + 0.1 * e[6],
            np.maximum(ca + 0.01 * e[7], 0.0),
        ]
        return [*q, np.clip(self._soft(soft_conversion(q)), 0.0, 100.0)]

    def _transmitter(self, ts: np.ndarray, reading: Floats) -> Floats:
        reading = reading + np.where(self._on("sensor_bias", ts), 4.0, 0.0)
        drift = np.nan_to_num(self.elapsed_s("sensor_drift", ts), nan=0.0)
        reading = reading + 1.5 * drift / HOUR
        for j, f in self.schedule.windows("sensor_freeze", int(ts[0]), int(ts[-1]) + 1):
            inside = (ts >= f.start_ms) & (ts < f.end_ms)
            first = int(np.argmax(inside))
            held = reading[first - 1, j] if first > 0 else self._last_temp[j]
            value = self._frozen.setdefault((j, f.start_ms), float(held))
            reading[inside, j] = value
        self._last_temp = reading[-1].copy()
        return reading


def soft_conversion(readings: list[Floats]) -> Floats:
    """Conversion (%) estimated from the energy balance over measured flows and temperatures."""
    flow, conc, t_feed, t_reactor, t_jacket, coolant, t_cool = readings[:7]
    removed = coolant * RHO_CP_C * (t_jacket - t_cool) + flow * RHO_CP * (t_reactor - t_feed)
    released = np.maximum(-DH * flow * conc, 1e-9)
    return np.asarray(100.0 * removed / released, dtype=np.float64)
