"""Offshore subsea oil wells: reservoir inflow, tubing, flowline and riser, topside choke.

The well is a chain of pressure drops from the reservoir to the separator, solved for the
liquid rate ``q`` (m³/d) at every sample, vectorised across time and devices::

    p_pdg = p_res - q / PI                                     (straight-line inflow, PDG)
    p_pdg - p_tpt = rho g H_t (1 - a_t) + c_t q² / v²          (tubing; DHSV opening v)
    p_tpt - p_mon = rho g H_r (1 - a_r) + c_f q²               (flowline and riser to topside)
    p_mon - p_sep = c_k (u0 / u)² q²                           (production choke, opening u)

so ``c q² + q / PI - D = 0`` with ``D = p_res - p_sep - rho g (H_t (1-a_t) + H_r (1-a_r))``
gives ``q = 2 D / (1/PI + sqrt(1/PI² + 4 c D))``. Mixture density follows the water cut
(oil 850, brine 1030 kg/m³) with gas void fractions ``a_t = 0.4`` and ``a_r = 0.55``. Each
well draws its reservoir pressure (240-300 bar), productivity index (25-45 m³/d/bar), depths
(tubing 1800-2600 m, water depth 900-1500 m), water cut and choke opening; friction splits the
remaining drive 35/25/40 between tubing, flowline and choke, with half the drive as drawdown.
Temperatures follow Ramey's steady wellbore solution ``T = T_sea + (T_res - T_sea) exp(-H/L)``
with a relaxation length ``L`` proportional to the rate, plus Joule-Thomson cooling of
0.3 °C/bar across the choke. Wellbore storage and thermal inertia appear as first-order lags
(30 min on the PDG pressure, 3 min on the other pressures and the rate, 40 min on
temperatures). The tags follow the public Petrobras 3W data set (Vargas et al., 2019):
P-PDG, T-PDG, P-TPT, T-TPT, P-MON-CKP, T-JUS-CKP.

Faults are the 3W undesirable events: ``abrupt_water_cut_increase`` (+30 points of BSW),
``spurious_dhsv_closure`` (valve closes in 60 s: flow stops, PDG builds up, the tree cools),
``severe_slugging`` (30 min cycles of riser-base pressure build-up and blow-out),
``flow_instability`` (irregular oscillation of rate and pressures), ``rapid_productivity_loss``
(PI falls 60 % with a 1 h time constant), ``quick_choke_restriction`` (effective choke area
-60 % within 10 min), ``choke_scaling`` (-50 % over 24 h) and ``hydrate_in_production_line``
(flowline friction grows sixteenfold over 6 h).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aiot.sim.base import GridSimulator
from aiot.sim.faults import FaultType, Floats
from aiot.sim.noise import FirstOrderLag, OrnsteinUhlenbeck, Sensors

__all__ = ["OilWellSimulator"]

G, RHO_OIL, RHO_WATER = 9.81, 850.0, 1030.0
VOID_TUBING, VOID_RISER = 0.4, 0.55
P_SEP, T_SEA, T_TOPSIDE, JT = 12.0, 4.0, 25.0, 0.3  # bar, °C, °C, °C/bar
HOUR = 3600.0


class OilWellSimulator(GridSimulator):
    """Subsea wells with 3W-style tags; pressures in bar, temperatures in °C, rate in m³/d."""

    vertical: ClassVar[str] = "oilwell"
    device_type: ClassVar[str] = "subsea_well"
    default_interval_ms: ClassVar[int] = 10_000
    key_names: ClassVar[tuple[str, ...]] = (
        "p_pdg",
        "t_pdg",
        "p_tpt",
        "t_tpt",
        "p_mon_ckp",
        "t_jus_ckp",
        "choke_opening",
        "flow_liquid",
        "water_cut",
    )
    fault_types: ClassVar[tuple[FaultType, ...]] = (
        FaultType("abrupt_water_cut_increase", 6 * HOUR, 48 * HOUR),
        FaultType("spurious_dhsv_closure", HOUR, 6 * HOUR),
        FaultType("severe_slugging", 2 * HOUR, 12 * HOUR),
        FaultType("flow_instability", HOUR, 6 * HOUR),
        FaultType("rapid_productivity_loss", 2 * HOUR, 8 * HOUR),
        FaultType("quick_choke_restriction", 1800, 3 * HOUR),
        FaultType("choke_scaling", 24 * HOUR, 72 * HOUR),
        FaultType("hydrate_in_production_line", 3 * HOUR, 12 * HOUR),
    )

    def _setup(self, rng: np.random.Generator) -> None:
        n = len(self.devices)
        self.p_res = rng.uniform(240.0, 300.0, n)
        self.pi = rng.uniform(25.0, 45.0, n)
        self.h_t = rng.uniform(1800.0, 2600.0, n)
        self.h_r = rng.uniform(900.0, 1500.0, n)
        self.wc0 = rng.uniform(0.05, 0.35, n)
        self.u0 = rng.uniform(0.45, 0.75, n)
        self.t_res = rng.uniform(75.0, 95.0, n)
        drive = self._drive(self.wc0, P_SEP)
        self.q0 = 0.5 * drive * self.pi
        c = 0.5 * drive / self.q0**2
        self.c_t, self.c_f, self.c_k = 0.35 * c, 0.25 * c, 0.40 * c
        self.relax = self.h_t / (0.45 * self.q0)  # m per m³/d: tree at ~64 % of T_res - T_sea

    def _drive(self, wc: Floats, p_sep: Floats | float) -> Floats:
        rho = wc * RHO_WATER + (1.0 - wc) * RHO_OIL
        head = G * rho * (self.h_t * (1 - VOID_TUBING) + self.h_r * (1 - VOID_RISER)) / 1e5
        return np.asarray(self.p_res - p_sep - head, dtype=np.float64)

    def _init_state(self, seq: np.random.SeedSequence) -> None:
        n, dt = len(self.devices), self.dt_s
        sep, prod, wc, unstable, meas = (np.random.default_rng(s) for s in seq.spawn(5))
        self._sep = OrnsteinUhlenbeck(sep, 0.3, 1800.0, dt, n)
        self._prod = OrnsteinUhlenbeck(prod, 0.01, 6 * HOUR, dt, n)
        self._wc = OrnsteinUhlenbeck(wc, 0.005, 12 * HOUR, dt, n)
        self._unstable = OrnsteinUhlenbeck(unstable, 1.0, 300.0, dt, n)
        self._meas = Sensors(meas, 8, self.noise)
        p, t = self._steady(np.ones(n), self.wc0, np.full(n, P_SEP), self.u0, np.ones((3, n)))
        self._lag_pdg = FirstOrderLag(p[0], 1800.0, dt)
        self._lag_p = FirstOrderLag(np.concatenate(p[1:]), 180.0, dt)
        self._lag_t = FirstOrderLag(np.concatenate(t), 2400.0, dt)

    def _steady(
        self, pi_f: Floats, wc: Floats, p_sep: Floats, u: Floats, mult: Floats
    ) -> tuple[list[Floats], list[Floats]]:
        """Steady pressures [pdg, tpt, mon, q] and temperatures [pdg, tpt, jus] for the inputs."""
        dhsv, hydrate, _ = mult
        pi = self.pi * pi_f
        drive = np.maximum(self._drive(wc, p_sep), 0.0)
        c_choke = self.c_k * (self.u0 / u) ** 2
        c = self.c_t / dhsv**2 + self.c_f * hydrate + c_choke
        b = 1.0 / pi
        q = 2.0 * drive / (b + np.sqrt(b * b + 4.0 * c * drive))
        rho = wc * RHO_WATER + (1.0 - wc) * RHO_OIL
        p_mon = p_sep + c_choke * q**2
        p_tpt = p_mon + G * rho * self.h_r * (1 - VOID_RISER) / 1e5 + self.c_f * hydrate * q**2
        length = self.relax * np.maximum(q, 1e-6)
        t_tpt = T_SEA + (self.t_res - T_SEA) * np.exp(-self.h_t / length)
        arrival = T_SEA + (t_tpt - T_SEA) * np.exp(-1.5 * self.h_r / length)
        share = q / (q + 0.1 * self.q0)
        t_jus = share * (arrival - JT * (p_mon - p_sep)) + (1.0 - share) * T_TOPSIDE
        t_pdg = self.t_res - 2.0 + np.minimum(q / self.q0, 1.5)
        return [self.p_res - q / pi, p_tpt, p_mon, q], [t_pdg, t_tpt, t_jus]

    def _faulted_inputs(self, ts: np.ndarray) -> tuple[Floats, ...]:
        n_t = len(ts)
        e = {t.name: self.elapsed_s(t.name, ts) for t in self.fault_types}
        on = {k: ~np.isnan(v) for k, v in e.items()}
        z = {k: np.nan_to_num(v, nan=0.0) for k, v in e.items()}
        p_sep = P_SEP + self._sep.sample(n_t)
        pi_f = 1.0 + self._prod.sample(n_t)
        pi_f *= 1.0 - 0.6 * (1.0 - np.exp(-z["rapid_productivity_loss"] / HOUR))
        wc = self.wc0 + self._wc.sample(n_t) + 0.3 * on["abrupt_water_cut_increase"]
        wc = np.clip(wc, 0.0, 0.95)
        u = self.u0 * (1.0 - 0.6 * np.minimum(z["quick_choke_restriction"] / 600.0, 1.0))
        u = u * (1.0 - 0.5 * np.minimum(z["choke_scaling"] / (24 * HOUR), 1.0))
        dhsv = np.where(on["spurious_dhsv_closure"], 1.0 - z["spurious_dhsv_closure"] / 60.0, 1.0)
        hydrate = 1.0 + 15.0 * np.minimum(z["hydrate_in_production_line"] / (6 * HOUR), 1.0) ** 2
        mult = np.stack([np.maximum(dhsv, 1e-3), hydrate, np.zeros_like(hydrate)])
        return pi_f, wc, p_sep, u, mult

    def _step(self, ts: np.ndarray) -> list[Floats]:
        pi_f, wc, p_sep, u, mult = self._faulted_inputs(ts)
        slug_t = self.elapsed_s("severe_slugging", ts)
        slugging, unstable = ~np.isnan(slug_t), ~np.isnan(self.elapsed_s("flow_instability", ts))
        slug_t = np.nan_to_num(slug_t, nan=0.0)
        p, t = self._steady(pi_f, wc, p_sep, u, mult)
        n = len(self.devices)
        p_pdg = self._lag_pdg(p[0])
        lagged = self._lag_p(np.concatenate(p[1:], axis=1))
        p_tpt, p_mon, q = lagged[:, :n], lagged[:, n : 2 * n], lagged[:, 2 * n :]
        temps = self._lag_t(np.concatenate(t, axis=1))
        # slugging: riser-base pressure builds for 85 % of a 30 min cycle, then blows out
        phase = (slug_t / 1800.0) % 1.0
        build = np.where(phase < 0.85, phase / 0.85, (1.0 - phase) / 0.15) * slugging
        burst = np.where(phase < 0.85, 0.3, 4.97)
        wave = self._unstable.sample(len(ts)) * unstable
        q = q * np.where(slugging, burst, 1.0) * (1.0 + 0.15 * wave)
        p_tpt = p_tpt + 12.0 * build + 3.0 * wave
        p_pdg = p_pdg + 8.0 * build + 1.5 * wave
        p_mon = p_mon + 4.0 * build + 2.0 * wave
        return self._readings([p_pdg, p_tpt, p_mon, q], temps, wc, u)

    def _readings(self, p: list[Floats], temps: Floats, wc: Floats, u: Floats) -> list[Floats]:
        p_pdg, p_tpt, p_mon, q = p
        n = len(self.devices)
        e = 0.05 * self._meas.sample(len(q), n)  # 0.05 bar, 0.05 °C
        return [
            p_pdg + e[0],
            temps[:, :n] + e[1],
            p_tpt + e[2],
            temps[:, n : 2 * n] + e[3],
            p_mon + e[4],
            temps[:, 2 * n :] + e[5],
            np.broadcast_to(100.0 * self.u0, q.shape).copy(),
            np.maximum(q * (1.0 + 0.2 * e[6]), 0.0),  # 1 %
            np.clip(100.0 * wc + 6.0 * e[7], 0.0, 100.0),  # 0.3 points
        ]
