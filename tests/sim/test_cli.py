from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from aiot.cli import simulate as simulate_module
from aiot.cli.main import app
from aiot.cli.simulate import parse_duration_ms, parse_faults
from aiot.client import Client

runner = CliRunner()
START = "2024-01-08T00:00:00Z"


def _simulate(*args: str) -> Any:
    result = runner.invoke(app, ["simulate", *args, "--start", START])
    assert result.exit_code == 0, result.output
    return result


def test_parquet_run_writes_readings_and_labels(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    _simulate(
        "reactor",
        "--devices",
        "2",
        "--duration",
        "2h",
        "--faults",
        "cooling_failure:24",
        "--out",
        str(out),
    )
    readings = pq.read_table(out)
    labels = pq.read_table(tmp_path / "r.labels.parquet")
    assert readings.num_rows == 2 * 9 * 720
    assert readings.column_names == ["device", "key", "ts", "value"]
    assert labels.num_rows >= 1
    assert set(labels.column("fault").to_pylist()) == {"cooling_failure"}
    assert set(labels.column("vertical").to_pylist()) == {"reactor"}


def test_csv_runs_of_one_seed_are_identical(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _simulate(
            "traffic",
            "--devices",
            "2",
            "--duration",
            "6h",
            "--interval",
            "5m",
            "--faults",
            "4",
            "--seed",
            "3",
            "--out",
            str(tmp_path / f"{name}.csv"),
        )
    assert pa_csv.read_csv(tmp_path / "a.csv").equals(pa_csv.read_csv(tmp_path / "b.csv"))
    labels = pa_csv.read_csv(tmp_path / "a.labels.csv")
    assert labels.column_names == ["vertical", "fault", "device", "start_ms", "end_ms", "detail"]
    assert pa_csv.read_csv(tmp_path / "a.csv").num_rows == 2 * 12 * 72


def test_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    for args in (
        ["volcano", "--out", str(tmp_path / "x.parquet")],
        ["reactor", "--out", str(tmp_path / "x.txt")],
        ["reactor", "--duration", "soon", "--out", str(tmp_path / "x.csv")],
        ["reactor", "--faults", "meteor", "--out", str(tmp_path / "x.csv")],
        ["reactor"],
    ):
        result = runner.invoke(app, ["simulate", *args])
        assert result.exit_code == 1 and "error:" in result.output, args


def test_options_parse_as_documented() -> None:
    assert parse_duration_ms("7d") == 7 * 86_400_000
    assert parse_duration_ms("10s") == 10_000 and parse_duration_ms("1m") == 60_000
    assert parse_faults("none") == (0.0, None) and parse_faults("0.5") == (0.5, None)
    assert parse_faults("fouling,sensor_bias:2") == (2.0, ["fouling", "sensor_bias"])


def test_a_fleet_sent_to_a_running_aiot_arrives_complete(
    api_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def client(url: str, api_key: str | None, tenant: str | None = None) -> Client:
        made = Client(url, api_key)
        made._http = api_client
        made.close = lambda: None  # type: ignore[method-assign]  # the fixture owns it
        return made

    monkeypatch.setattr(simulate_module, "Client", client)
    _simulate(
        "mixed",
        "--devices",
        "1",
        "--duration",
        "20m",
        "--url",
        "http://testserver",
        "--key",
        "unused",
    )
    expected = {"traffic-001": 20, "oilwell-001": 120, "reactor-001": 120}
    for name, points in expected.items():
        device = api_client.get(f"/api/devices/{name}").json()
        keys = api_client.get(f"/api/devices/{device['id']}/keys").json()
        series = api_client.get(
            f"/api/devices/{device['id']}/telemetry", params={"start": 0, "keys": ",".join(keys)}
        ).json()
        assert len(keys) in (9, 12) and all(len(series[k]) == points for k in keys), name
    assert api_client.get("/api/ingest/stats").json()
