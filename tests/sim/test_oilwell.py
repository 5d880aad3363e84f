from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from aiot.sim import Fault, OilWellSimulator
from aiot.sim.oilwell import P_SEP, T_SEA

from .helpers import HOUR, START, arrays, window

FAULTS = [t.name for t in OilWellSimulator.fault_types]


def _run(faults: list[Fault]) -> dict:
    sim = OilWellSimulator(len(FAULTS), seed=5, faults=faults)
    return {"sim": sim, **arrays(sim, 10)}


@pytest.fixture(scope="module")
def paired() -> tuple[dict, dict]:
    faults = [
        Fault(START + 3 * HOUR, START + 9 * HOUR, f"oilwell-{i + 1:03d}", name)
        for i, name in enumerate(FAULTS)
    ]
    return _run([]), _run(faults)


def test_pressures_stay_in_their_envelope_in_normal_operation(paired: tuple) -> None:
    clean = paired[0]
    p_res = clean["sim"].p_res
    assert np.all(clean["p_mon_ckp"] > P_SEP + 5)
    assert np.all(clean["p_mon_ckp"] < clean["p_tpt"])
    assert np.all(clean["p_tpt"] < clean["p_pdg"])
    assert np.all(clean["p_pdg"] < p_res)
    assert np.all((clean["t_tpt"] > T_SEA) & (clean["t_tpt"] < clean["t_pdg"]))
    assert np.all(clean["flow_liquid"] > 300) and np.all(clean["water_cut"] < 50)


Check = Callable[[np.ndarray, np.ndarray], bool]


def _drop(ratio: float) -> Check:
    return lambda faulty, clean: faulty.mean() < ratio * clean.mean()


def _rise(by: float) -> Check:
    return lambda faulty, clean: faulty.mean() > clean.mean() + by


def _wilder(ratio: float) -> Check:
    return lambda faulty, clean: faulty.std() > ratio * clean.std()


EXPECTED: dict[str, list[tuple[str, Check]]] = {
    "abrupt_water_cut_increase": [("water_cut", _rise(20)), ("flow_liquid", _drop(0.97))],
    "spurious_dhsv_closure": [
        ("flow_liquid", _drop(0.05)),
        ("p_pdg", _rise(20)),
        ("t_tpt", _drop(0.5)),
        ("p_tpt", _drop(0.9)),
    ],
    "severe_slugging": [("p_tpt", _wilder(10)), ("flow_liquid", _wilder(10))],
    "flow_instability": [("flow_liquid", _wilder(3)), ("p_tpt", _wilder(3))],
    "rapid_productivity_loss": [("flow_liquid", _drop(0.8)), ("p_pdg", _drop(0.95))],
    "quick_choke_restriction": [("p_mon_ckp", _rise(10)), ("flow_liquid", _drop(0.9))],
    "choke_scaling": [("p_mon_ckp", _rise(0.3)), ("flow_liquid", _drop(0.999))],
    "hydrate_in_production_line": [
        ("p_tpt", _rise(5)),
        ("p_mon_ckp", _drop(0.95)),
        ("flow_liquid", _drop(0.95)),
    ],
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_event_changes_the_signals_it_should(paired: tuple, fault: str) -> None:
    clean, faulty = paired
    j, rows = FAULTS.index(fault), window(clean["sim"], 5, 9)
    for key, check in EXPECTED[fault]:
        assert check(faulty[key][rows, j], clean[key][rows, j]), (fault, key)
    before = window(clean["sim"], 0, 3)
    assert np.array_equal(faulty["p_pdg"][before, j], clean["p_pdg"][before, j])
