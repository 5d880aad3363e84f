"""ECharts options for a device's telemetry: lines of its keys, scores and thresholds on
their own axis, alarm periods shaded red and the simulator's injected faults orange.

Pure functions of plain data, so that the shape of a chart is tested without a browser.
"""

from __future__ import annotations

from typing import Any

from aiot.domain import Alarm

__all__ = ["add_points", "chart_options", "periods"]

Points = dict[str, list[list[float]]]


def _series(key: str, data: list[list[float]]) -> dict[str, Any]:
    score = key.startswith(("score/", "threshold/"))  # a model's, on the right-hand axis
    return {
        "name": key,
        "type": "line",
        "showSymbol": False,
        "sampling": "lttb",
        "yAxisIndex": 1 if score else 0,
        "lineStyle": {"width": 1, "type": "dashed" if score else "solid"},
        "data": data,
    }


def periods(alarms: list[Alarm], faults: list[dict[str, Any]], now_ms: int) -> list[Any]:
    """markArea data: one red band per alarm (open ones up to now), orange per fault."""
    bands: list[Any] = [
        [
            {"xAxis": a.start_ms, "itemStyle": {"color": "rgba(220, 38, 38, 0.15)"}},
            {"xAxis": a.end_ms or now_ms},
        ]
        for a in alarms
    ]
    bands += [
        [
            {
                "xAxis": f["start_ms"],
                "name": f"fault: {f['fault']}",
                "itemStyle": {"color": "rgba(234, 88, 12, 0.12)"},
            },
            {"xAxis": f["end_ms"]},
        ]
        for f in faults
    ]
    return bands


def chart_options(points: Points, bands: list[Any], start_ms: int, end_ms: int) -> dict[str, Any]:
    """The whole chart: keys by name, bands on the first series, time on x."""
    series = [_series(key, data) for key, data in sorted(points.items())]
    if series:
        series[0]["markArea"] = {"silent": True, "data": bands}
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 60, "right": 60, "top": 40, "bottom": 70},
        "xAxis": {"type": "time", "min": start_ms, "max": end_ms},
        "yAxis": [
            {"type": "value", "scale": True, "name": "value"},
            {"type": "value", "scale": True, "name": "score", "splitLine": {"show": False}},
        ],
        "dataZoom": [{"type": "inside"}, {"type": "slider", "bottom": 10}],
        "series": series,
    }


def add_points(options: dict[str, Any], fresh: Points, start_ms: int, end_ms: int) -> int:
    """Append live points (numbers only), drop those before ``start_ms``; how many were added."""
    by_name = {s["name"]: s for s in options["series"]}
    added = 0
    for key, data in fresh.items():
        numbers = [p for p in data if isinstance(p[1], int | float) and not isinstance(p[1], bool)]
        if not numbers:
            continue
        if key not in by_name:
            by_name[key] = _series(key, [])
            options["series"].append(by_name[key])
        kept = [p for p in by_name[key]["data"] if p[0] >= start_ms]
        by_name[key]["data"] = kept + numbers
        added += len(numbers)
    options["xAxis"].update(min=start_ms, max=end_ms)
    return added
