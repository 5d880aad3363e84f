"""``aiot eval``: score detectors on public benchmarks the way each benchmark scores itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer

from aiot.cli import report
from aiot.cli.labelled import labelled_cmd
from aiot.models import registry
from aiot.models.eval import nab, skab, tep
from aiot.models.eval.labelled import runs

__all__ = ["app"]

app = typer.Typer(
    name="eval", help="Evaluate detectors on labelled benchmarks.", no_args_is_help=True
)

DataOpt = typer.Option(..., "--data", help="Benchmark folder, e.g. ../shared/data/nab")
DetectorOpt = typer.Option("ensemble", "--detector", help="Registered model name")
ParamsOpt = typer.Option("{}", "--params", help="Hyperparameters as JSON")
JsonOpt = typer.Option(False, "--json", help="Print every figure as JSON")
ReportOpt = typer.Option(None, "--report", help="Write report.md, report.json, plot.png here")
_TEP_COLUMNS = [f"xmeas{i}" for i in range(1, 42)] + [f"xmv{i}" for i in range(1, 12)]
NAB_PLOT = "realKnownCause/machine_temperature_system_failure.csv"

app.command("labelled")(labelled_cmd)


def _seconds(ts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(ts.astype("datetime64[ms]").astype(np.int64), np.float64) / 1000.0


def _nab_plot(files: list[nab.NabFile], scores: dict[str, Any], threshold: float) -> report.Plot:
    f = next((f for f in files if f.name == NAB_PLOT), max(files, key=lambda f: len(f.windows)))
    x = _seconds(f.timestamps)
    return report.Plot(
        title=f"NAB {f.name}",
        x=x,
        values=f.values,
        scores=scores[f.name],
        threshold=threshold,
        windows=[(float(x[lo]), float(x[hi])) for lo, hi in f.windows],
        columns=["value"],
        train_end=float(x[nab.probation_length(len(x))]),
    )


def _skab_plot(path: Path, detector: str, params: dict[str, Any]) -> report.Plot:
    values, labels, scores, threshold = skab.score_experiment(path, detector, params)
    return report.Plot(
        title=f"SKAB {path.parent.name}/{path.name}",
        x=np.arange(len(values), dtype=float),
        values=values,
        scores=scores,
        threshold=threshold,
        windows=[(float(a), float(b)) for a, b in runs(labels)],
        columns=skab.sensor_names(path),
        train_end=400.0,
        epoch=False,
    )


def _tep_plot(root: Path, detector: str, params: dict[str, Any], fault: str) -> report.Plot:
    held, faulty, threshold = tep.fault_scores(root, detector, fault, params)
    normal = tep.load_normal(root)
    values = np.vstack([normal, np.loadtxt(root / f"{fault}.dat")])
    n = float(len(normal))
    return report.Plot(
        title=f"TEP d00 (scored by held-out folds) then {fault}",
        x=np.arange(len(values), dtype=float),
        values=values,
        scores=np.concatenate([held, faulty]),
        threshold=threshold,
        windows=[(n, float(len(values) - 1))],
        columns=_TEP_COLUMNS,
        train_end=n,
        epoch=False,
    )


@app.command("nab")
def nab_cmd(
    data: Path = DataOpt,
    detector: str = DetectorOpt,
    params: str = ParamsOpt,
    as_json: bool = JsonOpt,
    optimiser: str = typer.Option("nab", help="nab (NAB's own search) or sweep (global best)"),
    workers: int = typer.Option(1, help="Processes, one file each"),
    report_dir: Path | None = ReportOpt,
) -> None:
    """NAB score per cost profile (null detector 0, perfect 100)."""
    registry.load_class(detector)
    files = nab.load_corpus(data)
    with report.progress() as bar:
        task = bar.add_task(f"{detector} on NAB", total=len(files))
        scores = nab.run_detector(
            files, detector, report.params_json(params), workers, lambda _: bar.advance(task)
        )
    results = nab.score_corpus(files, scores, nab.load_profiles(data), optimiser)
    if as_json:
        typer.echo(json.dumps({r.profile: r.__dict__ for r in results}, indent=2))
    else:
        for r in results:
            typer.echo(f"{r.profile.removeprefix('reward_')} {r.score:.2f}")
    if report_dir is not None:
        figures = {r.profile.removeprefix("reward_"): r.score for r in results}
        detail = {"profiles": {r.profile: r.__dict__ for r in results}, "detector": detector}
        plot = _nab_plot(files, scores, results[0].threshold)
        report.write(report_dir, f"{detector} on NAB", figures, plot, detail)


@app.command("skab")
def skab_cmd(
    data: Path = DataOpt,
    detector: str = typer.Option("pca", "--detector"),
    params: str = ParamsOpt,
    as_json: bool = JsonOpt,
    report_dir: Path | None = ReportOpt,
) -> None:
    """SKAB outlier detection: F1, false-alarm and missed-alarm rates (%)."""
    files = skab.experiments(data)
    chosen = report.params_json(params)
    with report.progress() as bar:
        task = bar.add_task(f"{detector} on SKAB", total=len(files))
        figures = skab.evaluate(data, detector, chosen, on_done=lambda _: bar.advance(task))
    report.emit(figures, as_json)
    if report_dir is not None:
        plot = _skab_plot(files[0], detector, chosen)
        report.write(report_dir, f"{detector} on SKAB", figures, plot, {"detector": detector})


@app.command("tep")
def tep_cmd(
    data: Path = DataOpt,
    detector: str = typer.Option("pca", "--detector"),
    params: str = ParamsOpt,
    as_json: bool = JsonOpt,
    report_dir: Path | None = ReportOpt,
    plot_fault: str = typer.Option("d01", "--plot-fault", help="Faulty run drawn in the report"),
) -> None:
    """Tennessee Eastman: detection rate per fault at 1% false alarms on normal data."""
    chosen = report.params_json(params)
    figures = tep.detection_rates(data, detector, chosen)
    rates = [v for k, v in figures.items() if k != "threshold"]
    figures = {**figures, "mean": float(sum(rates) / len(rates))}
    report.emit(figures, as_json)
    if report_dir is not None:
        plot = _tep_plot(data, detector, chosen, plot_fault)
        report.write(report_dir, f"{detector} on TEP", figures, plot, {"detector": detector})
