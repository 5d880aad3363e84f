from __future__ import annotations

import numpy as np
import pytest

from aiot.sim import Fault, TrafficSimulator

from .helpers import HOUR, START, arrays, window


def _run(faults: list[Fault], hours: float = 24) -> dict:
    sim = TrafficSimulator(4, seed=9, faults=faults)
    return {"sim": sim, **arrays(sim, hours)}


@pytest.fixture(scope="module")
def paired() -> tuple[dict, dict]:
    faults = [
        Fault(START + 7 * HOUR, START + 9 * HOUR, "traffic-001", "accident", detail="north"),
        Fault(START + 7 * HOUR, START + 9 * HOUR, "traffic-002", "detector_stuck", detail="east"),
        Fault(START + 7 * HOUR, START + 9 * HOUR, "traffic-003", "detector_dead", detail="south"),
        Fault(
            START + 7 * HOUR,
            START + 9 * HOUR,
            "traffic-004",
            "signal_timing_failure",
            detail="west",
        ),
    ]
    return _run([]), _run(faults)


def test_counts_are_non_negative_integers_and_readings_physical(paired: tuple) -> None:
    clean = paired[0]
    for key, values in clean.items():
        if key.endswith("_count"):
            assert np.all(values >= 0) and np.array_equal(values, np.round(values)), key
        elif key.endswith("_speed"):
            assert np.all((values >= 3) & (values <= 80)), key
        elif key.endswith("_occupancy"):
            assert np.all((values >= 0) & (values <= 100)), key


def test_rush_hours_dominate_a_weekday_and_not_a_weekend() -> None:
    sim = TrafficSimulator(3, seed=2, fault_rate=0)
    counts = arrays(sim, 24 * 7)["north_count"].sum(axis=1).reshape(7, 24, 60).sum(axis=2)
    monday, sunday = counts[0], counts[6]
    assert monday[8] > 4 * monday[3] and monday[17] > 4 * monday[3]
    assert monday[8] > 1.5 * monday[12]
    assert sunday[8] < 0.6 * monday[8] and sunday[13] > sunday[8]


def _mean(run: dict, key: str, device: int, start_h: float, end_h: float) -> float:
    return float(run[key][window(run["sim"], start_h, end_h), device].mean())


def test_an_accident_queues_and_spills_back_on_its_approach(paired: tuple) -> None:
    clean, faulty = paired
    assert _mean(faulty, "north_count", 0, 7.5, 9) < 0.4 * _mean(clean, "north_count", 0, 7.5, 9)
    assert _mean(faulty, "north_occupancy", 0, 8, 9) > 50
    assert _mean(faulty, "north_speed", 0, 8, 9) < 15
    assert _mean(faulty, "north_count", 0, 9, 9.5) > _mean(clean, "north_count", 0, 9, 9.5)
    assert np.array_equal(faulty["east_count"][:, 0], clean["east_count"][:, 0])


def test_detector_faults_flatline_their_approach(paired: tuple) -> None:
    clean, faulty = paired
    rows = window(clean["sim"], 7, 9)
    assert np.all(faulty["east_occupancy"][rows, 1] == 100) and np.all(
        faulty["east_count"][rows, 1] == 0
    )
    for key in ("south_count", "south_speed", "south_occupancy"):
        assert np.all(faulty[key][rows, 2] == 0)
    assert clean["south_count"][rows, 2].sum() > 100


def test_signal_timing_failure_starves_its_approach(paired: tuple) -> None:
    clean, faulty = paired
    assert _mean(faulty, "west_count", 3, 7.5, 9) < 0.5 * _mean(clean, "west_count", 3, 7.5, 9)
    assert _mean(faulty, "west_speed", 3, 7.5, 9) < 0.7 * _mean(clean, "west_speed", 3, 7.5, 9)
