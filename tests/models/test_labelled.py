"""aiot eval labelled: wide files with point labels, the simulator's long files with windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from typer.testing import CliRunner

from aiot.cli import datasets
from aiot.cli.main import app
from aiot.models import registry
from aiot.models.eval import labelled


def _figures(output: str) -> dict[str, float]:
    return {k: float(v) for k, v in (line.split() for line in output.splitlines())}


def _wide_csv(path: Path, n: int = 2000) -> Path:
    rng = np.random.default_rng(1)
    base = rng.normal(size=n)
    a, b = base + 0.1 * rng.normal(size=n), 2 * base + 0.1 * rng.normal(size=n)
    label = np.zeros(n, dtype=np.int64)
    label[1500:1550] = 1
    b[1500:1550] -= 3.0  # the correlation breaks for 50 rows
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = [(start + timedelta(minutes=i)).isoformat() for i in range(n)]
    pa_csv.write_csv(pa.table({"time": times, "a": a, "b": b, "fault": label}), path)
    return path


def test_wide_csv_with_point_labels_reports_lines_json_and_files(tmp_path: Path) -> None:
    data = _wide_csv(tmp_path / "plant.csv")
    args = ["eval", "labelled", "--data", str(data), "--time-col", "time", "--label-col", "fault"]
    result = CliRunner().invoke(app, [*args, "--report", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    figures = _figures(result.output)
    assert figures["event_detection_rate"] == 1.0 and figures["f1"] > 0.7
    assert figures["events"] == 1.0 and figures["mean_delay_s"] < 300
    as_json = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    assert as_json["per_series"][0]["train"] == 600  # 30% of the rows by default
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {
        "report.md",
        "report.json",
        "plot.png",
    }
    assert (tmp_path / "rep" / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert "| f1 |" in (tmp_path / "rep" / "report.md").read_text()


def test_simulated_fleet_is_pivoted_per_device_and_windows_label_it(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    made = CliRunner().invoke(
        app,
        [
            "simulate",
            "reactor",
            "--devices",
            "2",
            "--duration",
            "12h",
            "--faults",
            "4",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert made.exit_code == 0, made.output
    series = datasets.load(out, labels=tmp_path / "r.labels.parquet")
    assert [s.name for s in series] == ["reactor-001", "reactor-002"]
    assert series[0].values.shape[1] == 9 and sum(s.truth.sum() for s in series) > 0
    args = ["eval", "labelled", "--data", str(out), "--labels", str(tmp_path / "r.labels.parquet")]
    result = CliRunner().invoke(app, [*args, "--detector", "pca"])
    assert result.exit_code == 0, result.output
    assert _figures(result.output)["series"] == 2.0


def test_pooled_events_false_alarms_and_delay() -> None:
    seconds = np.arange(200, dtype=float) * 864.0  # 200 rows = 2 days
    truth = np.zeros(200)
    truth[150:160] = 1
    scores = np.zeros(200)
    scores[[120, 155]] = 5.0
    run = labelled.SeriesRun("s", seconds, truth, scores, 100, 1.0)
    result = labelled.summarise([run, run])
    assert (result.events, result.event_detection_rate) == (2.0, 1.0)
    assert result.mean_delay_s == 5 * 864.0
    assert abs(result.false_alarms_per_day - 2 / (2 * 99 * 864 / 86400)) < 1e-9


def test_threshold_is_set_on_unlabelled_training_rows_only() -> None:
    values = np.concatenate([np.zeros(300), np.full(100, 50.0), np.zeros(600)])
    values += np.random.default_rng(0).normal(scale=0.1, size=1000)
    truth = np.zeros(1000)
    truth[300:400] = 1
    model = registry.create("zscore")
    run = labelled.run_series(model, values, truth, np.arange(1000.0), 500)
    assert run.threshold < 10  # the labelled burst in the training part did not raise it
