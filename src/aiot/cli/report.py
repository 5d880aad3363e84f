"""Evaluation reports: ``report.md``, ``report.json`` and a PNG of one series with its scores.

The plot has two panels on one time axis: the series (each variable standardised when there
are several) and the detector's score with the alarm threshold; labelled windows are shaded
on both and a dashed line marks where the training part ends. matplotlib is imported only
when a report is written, with the Agg backend (no display needed).
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress

from aiot.models.base import Array

__all__ = ["Plot", "emit", "params_json", "progress", "write"]

_MAX_LINES = 8


@dataclass(frozen=True)
class Plot:
    """What to draw: x (epoch seconds or row numbers), values, scores, threshold, windows."""

    title: str
    x: Array
    values: Array
    scores: Array
    threshold: float
    windows: list[tuple[float, float]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    train_end: float | None = None
    epoch: bool = True


def progress() -> Progress:
    """A transient progress bar on stderr (a terminal only), so stdout keeps only figures."""
    console = Console(stderr=True)
    return Progress(console=console, transient=True, disable=not console.is_terminal)


def params_json(raw: str) -> dict[str, Any]:
    """``--params`` as a dict (it must be a JSON object)."""
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise typer.BadParameter("--params must be a JSON object")
    return value


def emit(figures: dict[str, Any], as_json: bool) -> None:
    """Headline figures as ``name value`` lines, or all of them as JSON."""
    if as_json:
        typer.echo(json.dumps(_clean(figures), indent=2, default=str))
        return
    for key, value in figures.items():
        if isinstance(value, float):
            typer.echo(f"{key} {value:.2f}" if abs(value) >= 1 else f"{key} {value:.3f}")


def _axis(plot: Plot, x: Array) -> Any:
    return x.astype("datetime64[s]") if plot.epoch else x


def _draw_values(ax: Any, plot: Plot, x: Any) -> None:
    values = plot.values.reshape(len(plot.values), -1)[:, :_MAX_LINES]
    several = values.shape[1] > 1
    if several:
        std = np.nanstd(values, axis=0)
        values = (values - np.nanmean(values, axis=0)) / np.where(std > 0, std, 1.0)
    names = plot.columns or [f"x{i}" for i in range(values.shape[1])]
    for j in range(values.shape[1]):
        ax.plot(x, values[:, j], lw=0.7, label=names[j])
    ax.set_ylabel("standardised value" if several else (names[0] if names else "value"))


def _draw_scores(ax: Any, plot: Plot, x: Any) -> None:
    scores = np.where(np.isfinite(plot.scores), plot.scores, np.nan)
    ax.plot(x, scores, lw=0.7, color="tab:purple", label="score")
    ax.axhline(plot.threshold, color="tab:red", ls="--", lw=1.0, label="threshold")
    positive = scores[np.isfinite(scores)]
    wide = len(positive) and positive.min() >= 0 and positive.max() > 20 * plot.threshold
    if wide and plot.threshold > 0:
        ax.set_yscale("symlog", linthresh=plot.threshold)
        ax.set_ylim(bottom=0)
    ax.set_ylabel("score")


def _png(plot: Plot, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 6.5), sharex=True, dpi=110)
    x = _axis(plot, plot.x)
    _draw_values(top, plot, x)
    _draw_scores(bottom, plot, x)
    for ax in (top, bottom):
        for i, (start, end) in enumerate(plot.windows):
            span = _axis(plot, np.array([start, end]))
            label = "labelled" if i == 0 and ax is top else None
            ax.axvspan(span[0], span[1], color="tab:orange", alpha=0.25, label=label)
        if plot.train_end is not None:
            ax.axvline(_axis(plot, np.array([plot.train_end]))[0], color="grey", ls=":", lw=1)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=7, ncol=_MAX_LINES + 1, framealpha=0.8)
    top.set_title(f"{plot.title}   (shaded: labelled; dotted: end of training part)", fontsize=10)
    bottom.set_xlabel("time (UTC)" if plot.epoch else "row")
    if plot.epoch:
        fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _markdown(
    title: str, command: str, figures: dict[str, Any], detail: dict[str, Any], image: str | None
) -> str:
    lines = [f"# {title}", "", "```", command, "```", "", "| figure | value |", "| --- | --- |"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in figures.items() if not isinstance(v, dict)]
    rows = detail.get("series") or []
    if rows:
        head = list(rows[0])
        lines += ["", "## Per series", "", "| " + " | ".join(head) + " |"]
        lines += ["| " + " | ".join("---" for _ in head) + " |"]
        lines += ["| " + " | ".join(_cell(r.get(h)) for h in head) + " |" for r in rows]
    if image:
        lines += ["", f"![{image}]({image})"]
    return "\n".join(lines) + "\n"


def write(
    folder: Path,
    title: str,
    figures: dict[str, Any],
    plot: Plot | None = None,
    detail: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the report files into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["aiot", *sys.argv[1:]])
    detail = detail or {}
    image = "plot.png" if plot is not None else None
    body = {"title": title, "command": command, "figures": figures, **detail}
    paths = [folder / "report.json", folder / "report.md"]
    paths[0].write_text(json.dumps(_clean(body), indent=2, default=str) + "\n")
    paths[1].write_text(_markdown(title, command, figures, detail, image))
    if plot is not None:
        _png(plot, folder / "plot.png")
        paths.append(folder / "plot.png")
    return paths
