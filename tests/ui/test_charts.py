"""The device chart's options: keys as lines, scores on their own axis, alarms shaded."""

from __future__ import annotations

from aiot.domain import Alarm, AlarmStatus, Severity
from aiot.ui.charts import add_points, chart_options, periods


def _alarm(start: int, end: int | None) -> Alarm:
    status = AlarmStatus.ACTIVE_UNACK if end is None else AlarmStatus.CLEARED_UNACK
    return Alarm("a", "t", "anomaly", "d", Severity.MAJOR, status, start, end)


def test_keys_become_lines_and_alarm_periods_bands() -> None:
    points = {"temp": [[1, 20.0], [2, 21.0]], "score/hst": [[1, 0.1]]}
    bands = periods([_alarm(1, 2), _alarm(5, None)], [], now_ms=9)
    options = chart_options(points, bands, 0, 10)
    names = [s["name"] for s in options["series"]]
    assert names == ["score/hst", "temp"]
    assert options["series"][0]["yAxisIndex"] == 1 and options["series"][1]["yAxisIndex"] == 0
    area = options["series"][0]["markArea"]["data"]
    assert [(a["xAxis"], b["xAxis"]) for a, b in area] == [(1, 2), (5, 9)]  # open: up to now


def test_live_points_append_and_old_ones_scroll_out() -> None:
    options = chart_options({"temp": [[1, 20.0], [2, 21.0]]}, [], 0, 10)
    added = add_points(options, {"temp": [[11, 22.0]], "mode": [[11, "idle"]]}, 2, 12)
    assert added == 1  # text values are not charted
    assert options["series"][0]["data"] == [[2, 21.0], [11, 22.0]]
    assert options["xAxis"]["min"] == 2 and options["xAxis"]["max"] == 12
    add_points(options, {"flow": [[12, 1.5]]}, 2, 13)
    assert [s["name"] for s in options["series"]] == ["temp", "flow"]
