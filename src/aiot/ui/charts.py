"""ECharts options for a device's telemetry: one small chart per key (their scales differ),
a model's scores and threshold together in a chart of their own, alarm periods shaded red
and the simulator's injected faults orange on every chart.

Pure functions of plain data, so that the shape of a chart is tested without a browser.
"""

from __future__ import annotations

from typing import Any

from aiot.domain import Alarm

__all__ = ["add_points", "chart_options", "group_of", "groups", "periods"]

Points = dict[str, list[list[Any]]]
_MODEL = ("score/", "threshold/")


def group_of(key: str) -> str:
    """The chart a key is drawn in: its own, or its model's (``score/x``, ``threshold/x``)."""
    for prefix in _MODEL:
        if key.startswith(prefix):
            return "model " + key[len(prefix) :]
    return key


def groups(points: Points) -> dict[str, Points]:
    """Points split by chart, the device's keys first, then each model's."""
    found: dict[str, Points] = {}
    for key in sorted(points, key=lambda k: (k.startswith(_MODEL), k)):
        found.setdefault(group_of(key), {})[key] = points[key]
    return found


def _series(key: str, data: list[list[Any]]) -> dict[str, Any]:
    return {
        "name": key,
        "type": "line",
        "showSymbol": False,
        "sampling": "lttb",
        "lineStyle": {"width": 1, "type": "dashed" if key.startswith("threshold/") else "solid"},
        "data": data,
    }


def periods(alarms: list[Alarm], faults: list[dict[str, Any]], now_ms: int) -> list[Any]:
    """markArea data: one red band per alarm (open ones up to now), orange per fault."""
    bands: list[Any] = [
        [
            {
                "xAxis": a.start_ms,
                "name": f"alarm: {a.type}",
                "itemStyle": {"color": "rgba(220, 38, 38, 0.15)"},
            },
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


def chart_options(
    title: str, points: Points, bands: list[Any], start_ms: int, end_ms: int
) -> dict[str, Any]:
    """One chart: its keys as lines by name, the bands on the first, time on x."""
    series = [_series(key, data) for key, data in sorted(points.items())]
    if series:
        # right-aligned: a recent (narrow, right-hand) band keeps its name inside the chart
        label = {"position": "insideTopRight", "fontSize": 10, "color": "#7f1d1d"}
        series[0]["markArea"] = {"silent": True, "label": label, "data": bands}
    return {
        "animation": False,
        "title": {"text": title, "left": 10, "top": 0, "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"show": len(series) > 1, "right": 10, "top": 0},
        "grid": {"left": 60, "right": 30, "top": 30, "bottom": 25},
        "xAxis": {"type": "time", "min": start_ms, "max": end_ms},
        "yAxis": {"type": "value", "scale": True},
        "dataZoom": [{"type": "inside"}],
        "series": series,
    }


def add_points(options: dict[str, Any], fresh: Points, start_ms: int, end_ms: int) -> int:
    """Append live points (numbers newer than the line's last), drop those before ``start_ms``;
    how many were added. A point already drawn from the query is not drawn twice."""
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
        newer = [p for p in numbers if not kept or p[0] > kept[-1][0]]
        by_name[key]["data"] = kept + newer
        added += len(newer)
    options["xAxis"].update(min=start_ms, max=end_ms)
    return added
