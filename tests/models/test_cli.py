"""The eval and models commands print plain figures a script can read."""

from __future__ import annotations

import json

from tests.conftest import shared_data
from typer.testing import CliRunner

from aiot.cli.main import app


def test_models_list_json_names_every_model_with_its_task() -> None:
    result = CliRunner().invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {"name": "pca", "task": "anomaly-detection"} in rows


def test_eval_tep_prints_detection_rate_per_fault() -> None:
    result = CliRunner().invoke(app, ["eval", "tep", "--data", str(shared_data("tep"))])
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.output.splitlines())
    assert float(lines["d01"]) > 0.9
