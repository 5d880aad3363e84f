"""``aiot eval``: score detectors on public benchmarks the way each benchmark scores itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress

from aiot.models import registry
from aiot.models.eval import nab, skab, tep

__all__ = ["app"]

app = typer.Typer(
    name="eval", help="Evaluate detectors on labelled benchmarks.", no_args_is_help=True
)

DataOpt = typer.Option(..., "--data", help="Benchmark folder, e.g. ../shared/data/nab")
DetectorOpt = typer.Option("ensemble", "--detector", help="Registered model name")
ParamsOpt = typer.Option("{}", "--params", help="Hyperparameters as JSON")
JsonOpt = typer.Option(False, "--json", help="Print every figure as JSON")


def _params(raw: str) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise typer.BadParameter("--params must be a JSON object")
    return value


def _emit(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        if isinstance(value, float):
            typer.echo(f"{key} {value:.2f}" if abs(value) >= 1 else f"{key} {value:.3f}")


@app.command("nab")
def nab_cmd(
    data: Path = DataOpt,
    detector: str = DetectorOpt,
    params: str = ParamsOpt,
    as_json: bool = JsonOpt,
    optimiser: str = typer.Option("nab", help="nab (NAB's own search) or sweep (global best)"),
    workers: int = typer.Option(1, help="Processes, one file each"),
) -> None:
    """NAB score per cost profile (null detector 0, perfect 100)."""
    registry.load_class(detector)
    files = nab.load_corpus(data)
    with Progress(transient=True) as bar:
        task = bar.add_task(f"{detector} on NAB", total=len(files))
        scores = nab.run_detector(
            files, detector, _params(params), workers, lambda _: bar.advance(task)
        )
    results = nab.score_corpus(files, scores, nab.load_profiles(data), optimiser)
    if as_json:
        typer.echo(json.dumps({r.profile: r.__dict__ for r in results}, indent=2))
        return
    for r in results:
        typer.echo(f"{r.profile.removeprefix('reward_')} {r.score:.2f}")


@app.command("skab")
def skab_cmd(
    data: Path = DataOpt,
    detector: str = typer.Option("pca", "--detector"),
    params: str = ParamsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """SKAB outlier detection: F1, false-alarm and missed-alarm rates (%)."""
    files = skab.experiments(data)
    with Progress(transient=True) as bar:
        task = bar.add_task(f"{detector} on SKAB", total=len(files))
        figures = skab.evaluate(
            data, detector, _params(params), on_done=lambda _: bar.advance(task)
        )
    _emit(figures, as_json)


@app.command("tep")
def tep_cmd(
    data: Path = DataOpt,
    detector: str = typer.Option("pca", "--detector"),
    params: str = ParamsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Tennessee Eastman: detection rate per fault at 1% false alarms on normal data."""
    figures = tep.detection_rates(data, detector, _params(params))
    rates = [v for k, v in figures.items() if k != "threshold"]
    _emit({**figures, "mean": float(sum(rates) / len(rates))}, as_json)
