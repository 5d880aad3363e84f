from __future__ import annotations

import numpy as np
import pytest

from aiot.sim import Fault, ReactorSimulator
from aiot.sim.reactor import C0, DH, E_R, K0, RHO_CP

from .helpers import HOUR, START, arrays, window

FAULTS = [t.name for t in ReactorSimulator.fault_types]


def _run(faults: list[Fault] | None = None, noise: bool = True, hours: float = 12) -> dict:
    sim = ReactorSimulator(len(FAULTS), seed=11, faults=faults or [], noise=noise)
    return {"sim": sim, **arrays(sim, hours)}


@pytest.fixture(scope="module")
def quiet() -> dict:
    return _run(noise=False, hours=24)


@pytest.fixture(scope="module")
def paired() -> tuple[dict, dict]:
    faults = [
        Fault(START + 4 * HOUR, START + 10 * HOUR, f"reactor-{i + 1:03d}", name)
        for i, name in enumerate(FAULTS)
    ]
    return _run(), _run(faults)


def test_mass_balance_of_the_reactant_closes(quiet: dict) -> None:
    sim, dt = quiet["sim"], quiet["sim"].dt_s
    flow, ca = quiet["feed_flow"] / 3600, quiet["outlet_conc"]
    t = quiet["reactor_temp"] + C0
    rate = K0 * np.exp(-E_R / t) * ca
    net = flow * (quiet["feed_conc"] - ca) - sim.volume * rate
    accumulated = sim.volume * (ca[-1] - ca[0])
    inflow = np.trapezoid(flow * quiet["feed_conc"], dx=dt, axis=0)
    assert np.all(np.abs(np.trapezoid(net, dx=dt, axis=0) - accumulated) < 0.005 * inflow)


def test_energy_balance_closes(quiet: dict) -> None:
    sim, dt = quiet["sim"], quiet["sim"].dt_s
    flow, ca = quiet["feed_flow"] / 3600, quiet["outlet_conc"]
    t, tj = quiet["reactor_temp"] + C0, quiet["jacket_temp"] + C0
    released = -DH * sim.volume * K0 * np.exp(-E_R / t) * ca
    net = RHO_CP * flow * (quiet["feed_temp"] + C0 - t) + released - sim.ua * (t - tj)
    accumulated = RHO_CP * sim.volume * (t[-1] - t[0])
    total = np.trapezoid(released, dx=dt, axis=0)
    assert np.all(np.abs(np.trapezoid(net, dx=dt, axis=0) - accumulated) < 0.005 * total)


def test_soft_sensor_agrees_with_the_analyser(quiet: dict) -> None:
    analysed = 100 * (1 - quiet["outlet_conc"] / quiet["feed_conc"])
    settled = slice(len(analysed) // 4, None)
    assert np.abs(quiet["conversion"][settled] - analysed[settled]).mean() < 0.5
    assert np.all((analysed > 70) & (analysed < 95))


def test_temperature_is_held_at_set_point_in_normal_operation(paired: tuple) -> None:
    clean = paired[0]
    assert np.all(np.abs(clean["reactor_temp"] + C0 - clean["sim"].t_sp) < 2.0)
    assert np.all(clean["coolant_flow"] >= 0) and np.all(clean["outlet_conc"] >= 0)


def _delta(paired: tuple, key: str, fault: str, start_h: float = 6, end_h: float = 10) -> float:
    clean, faulty = paired
    j = FAULTS.index(fault)
    rows = window(clean["sim"], start_h, end_h)
    return float(faulty[key][rows, j].mean() - clean[key][rows, j].mean())


def test_cooling_failure_heats_the_reactor(paired: tuple) -> None:
    assert _delta(paired, "reactor_temp", "cooling_failure", 4.5, 6) > 5.0
    assert _delta(paired, "coolant_flow", "cooling_failure", 4.5, 6) < -5.0


def test_catalyst_deactivation_lowers_conversion(paired: tuple) -> None:
    assert _delta(paired, "outlet_conc", "catalyst_deactivation", 8, 10) > 0.05
    assert _delta(paired, "conversion", "catalyst_deactivation", 8, 10) < -1.0


def test_feed_composition_step_raises_feed_and_duty(paired: tuple) -> None:
    assert _delta(paired, "feed_conc", "feed_composition_step") == pytest.approx(0.8, abs=0.1)
    assert _delta(paired, "coolant_flow", "feed_composition_step") > 3.0


def test_fouling_demands_more_coolant_at_a_colder_jacket(paired: tuple) -> None:
    assert _delta(paired, "coolant_flow", "fouling", 8, 10) > 2.0
    assert _delta(paired, "jacket_temp", "fouling", 8, 10) < -2.0


def test_transmitter_faults_change_only_the_reported_temperature(paired: tuple) -> None:
    clean, faulty = paired
    assert _delta(paired, "reactor_temp", "sensor_bias") == pytest.approx(4.0, abs=0.1)
    assert _delta(paired, "jacket_temp", "sensor_bias") == 0.0
    rows = window(clean["sim"], 4, 10)
    j = FAULTS.index("sensor_drift")
    drift = faulty["reactor_temp"][rows, j] - clean["reactor_temp"][rows, j]
    assert drift[-1] == pytest.approx(1.5 * 6, abs=0.1) and np.all(np.diff(drift) > 0)
    frozen = faulty["reactor_temp"][rows, FAULTS.index("sensor_freeze")]
    assert np.ptp(frozen) == 0.0 and np.ptp(clean["reactor_temp"][rows, 0]) > 0.1
