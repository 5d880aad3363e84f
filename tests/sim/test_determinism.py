from __future__ import annotations

import itertools

import numpy as np
import pytest

from aiot.sim import VERTICALS, Fault, labels_table, simulator

from .helpers import HOUR, START, table

VERTICAL_NAMES = sorted(VERTICALS)


@pytest.mark.parametrize("vertical", VERTICAL_NAMES)
def test_same_seed_same_data_other_seed_other_data(vertical: str) -> None:
    first = table(simulator(vertical, 2, seed=3, fault_rate=4.0), 12)
    again = table(simulator(vertical, 2, seed=3, fault_rate=4.0), 12)
    other = table(simulator(vertical, 2, seed=4, fault_rate=4.0), 12)
    assert first.equals(again)
    assert not first.equals(other)


@pytest.mark.parametrize("vertical", VERTICAL_NAMES)
def test_chunking_does_not_change_the_data(vertical: str) -> None:
    whole = table(simulator(vertical, 2, seed=5, fault_rate=4.0), 12)
    pieces = table(simulator(vertical, 2, seed=5, fault_rate=4.0), 12, chunk_ms=HOUR // 3)
    assert whole.equals(pieces)


@pytest.mark.parametrize("vertical", VERTICAL_NAMES)
def test_a_fault_changes_nothing_before_it_starts(vertical: str) -> None:
    kind = VERTICALS[vertical].fault_types[0]
    fault = Fault(START + 6 * HOUR, START + 8 * HOUR, f"{vertical}-001", kind.name)
    clean = table(simulator(vertical, 2, seed=1, faults=[]), 10)
    faulty = table(simulator(vertical, 2, seed=1, faults=[fault]), 10)
    before = clean.column("ts").to_numpy() < fault.start_ms
    assert clean.filter(before).equals(faulty.filter(before))
    assert not clean.equals(faulty)


@pytest.mark.parametrize("vertical", VERTICAL_NAMES)
def test_faults_are_rare_labelled_and_never_overlap(vertical: str) -> None:
    sim = simulator(vertical, 20, seed=2, interval_ms=300_000)
    for _ in sim.generate(START, START + 7 * 24 * HOUR):
        pass
    labels = sim.labels
    assert 10 < len(labels) < 100  # 0.2 per device-day over 140 device-days
    faulty_ms = sum(f.end_ms - f.start_ms for f in labels)
    assert faulty_ms / (140 * 24 * HOUR) < 0.15
    known = {t.name for t in VERTICALS[vertical].fault_types}
    for device in sim.devices:
        mine = [f for f in labels if f.device == device]
        assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(mine))
    assert {f.fault for f in labels} <= known
    assert {f.vertical for f in labels} == {vertical}
    assert all(START <= f.start_ms < f.end_ms <= START + 7 * 24 * HOUR for f in labels)
    assert labels_table(labels).num_rows == len(labels)


def test_no_faults_at_rate_zero_and_unknown_fault_types_are_refused() -> None:
    sim = simulator("reactor", 3, fault_rate=0.0)
    table(sim, 48)
    assert sim.labels == []
    with pytest.raises(ValueError, match="unknown fault types"):
        simulator("reactor", 1, fault_types=["meteor"])


def test_a_window_starting_in_the_past_yields_only_new_points() -> None:
    sim = simulator("oilwell", 1)
    first = list(sim.generate(START, START + HOUR))
    again = list(sim.generate(START, START + 2 * HOUR))
    ts = np.concatenate([b.table.column("ts").to_numpy() for b in again])
    assert sum(len(b) for b in first) == sum(len(b) for b in again)
    assert ts.min() == START + HOUR
