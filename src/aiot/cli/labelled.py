"""``aiot eval labelled``: any labelled CSV/Parquet data set, one series per file or device."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import typer

from aiot.cli import datasets, report
from aiot.cli.common import command
from aiot.errors import InvalidInput
from aiot.models import registry, train
from aiot.models.eval import labelled
from aiot.models.eval.labelled import SeriesRun

__all__ = ["labelled_cmd", "train_rows"]


def train_rows(seconds: np.ndarray[Any, Any], spec: str) -> int:
    """Rows in the training part: ``30%`` of the rows, or those before a time (ISO or epoch)."""
    spec = spec.strip()
    if spec.endswith("%"):
        return int(len(seconds) * float(spec[:-1]) / 100.0)
    try:
        stamp = float(spec)
        stamp = stamp / 1000.0 if abs(stamp) > 1e11 else stamp
    except ValueError:
        parsed = datetime.fromisoformat(spec.replace("Z", "+00:00"))
        stamp = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return int(np.searchsorted(seconds, stamp, side="left"))


def _run(
    s: datasets.Series, detector: str, params: dict[str, Any], until: str, far: float
) -> SeriesRun:
    rows = train_rows(s.seconds, until)
    model = train.fresh(detector, params, rows)
    if s.values.shape[1] > 1 and not model.multivariate:
        raise InvalidInput(f"{detector} reads one variable; choose one with --columns")
    return labelled.run_series(model, s.values, s.truth, s.seconds, rows, far, s.name)


def _per_series(done: list[SeriesRun]) -> list[dict[str, Any]]:
    rows = []
    for r in done:
        figures = labelled.summarise([r]).to_dict()
        keep = ("f1", "recall", "events", "event_detection_rate", "false_alarms_per_day")
        head = {"series": r.name, "rows": len(r.scores), "train": r.train}
        rows.append(head | {k: figures[k] for k in keep} | {"threshold": r.threshold})
    return rows


def _plot(series: list[datasets.Series], done: list[SeriesRun], title: str) -> report.Plot:
    best = max(range(len(done)), key=lambda i: float(done[i].truth.sum() > 0))
    s, r = series[best], done[best]
    windows = [(float(s.seconds[a]), float(s.seconds[b])) for a, b in labelled.runs(s.truth)]
    return report.Plot(
        title=f"{title}: {s.name}",
        x=s.seconds,
        values=s.values,
        scores=r.scores,
        threshold=r.threshold,
        windows=windows,
        columns=s.columns,
        train_end=float(s.seconds[r.train]) if r.train < len(s.seconds) else None,
        epoch=bool(np.median(np.abs(s.seconds)) > 1e8),
    )


@command
def labelled_cmd(
    data: Path = typer.Option(..., "--data", help="A CSV/Parquet file or a folder of them"),
    time_col: str = typer.Option("ts", "--time-col", help="Time column"),
    label_col: str | None = typer.Option(None, "--label-col", help="0/1 point-label column"),
    labels: Path | None = typer.Option(None, "--labels", help="Windows file: start, end[, device]"),
    columns: str | None = typer.Option(None, "--columns", help="Comma-separated variables"),
    train_until: str = typer.Option(
        "30%", "--train-until", help="End of the training part: ISO time, epoch, or 30%"
    ),
    far: float = typer.Option(0.01, "--far", help="Share of normal training scores above"),
    detector: str = typer.Option("pca", "--detector", help="Registered model name"),
    params: str = typer.Option("{}", "--params", help="Hyperparameters as JSON"),
    sep: str = typer.Option(",", "--sep", help="CSV delimiter"),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as JSON"),
    report_dir: Path | None = typer.Option(None, "--report", help="Write a report here"),
) -> None:
    """Precision, recall, F1, events detected, false alarms per day and delay on any data."""
    registry.load_class(detector)
    wanted = [c.strip() for c in columns.split(",")] if columns else None
    series = datasets.load(data, time_col, label_col, labels, wanted, sep)
    chosen = report.params_json(params)
    done: list[SeriesRun] = []
    with report.progress() as bar:
        task = bar.add_task(f"{detector} on {data.name}", total=len(series))
        for s in series:
            done.append(_run(s, detector, chosen, train_until, far))
            bar.advance(task)
    figures: dict[str, Any] = labelled.summarise(done).to_dict() | {"series": float(len(done))}
    report.emit(figures | ({"per_series": _per_series(done)} if as_json else {}), as_json)
    if report_dir is not None:
        title = f"{detector} on {data.name}"
        plot = _plot(series, done, title)
        detail = {"series": _per_series(done), "detector": detector, "params": chosen}
        report.write(report_dir, title, figures, plot, detail)
