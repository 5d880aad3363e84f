"""The device charts' options: a chart per key, a model's score and threshold together,
alarm periods shaded, live points appended and old ones scrolled out.
"""

from __future__ import annotations

from aiot.domain import Alarm, AlarmStatus, Severity
from aiot.ui.charts import add_points, chart_options, groups, periods


def _alarm(start: int, end: int | None) -> Alarm:
    status = AlarmStatus.ACTIVE_UNACK if end is None else AlarmStatus.CLEARED_UNACK
    return Alarm("a", "t", "anomaly", "d", Severity.MAJOR, status, start, end)


def test_each_key_has_its_chart_and_a_model_one_for_score_and_threshold() -> None:
    points = {
        "temp": [[1, 20.0]],
        "score/hst": [[1, 0.1]],
        "threshold/hst": [[1, 3.0]],
        "flow": [[1, 2.0]],
    }
    found = groups(points)
    assert list(found) == ["flow", "temp", "model hst"]
    assert list(found["model hst"]) == ["score/hst", "threshold/hst"]


def test_alarm_periods_are_bands_on_the_chart() -> None:
    bands = periods([_alarm(1, 2), _alarm(5, None)], [], now_ms=9)
    options = chart_options("temp", {"temp": [[1, 20.0], [2, 21.0]]}, bands, 0, 10)
    area = options["series"][0]["markArea"]["data"]
    assert [(a["xAxis"], b["xAxis"]) for a, b in area] == [(1, 2), (5, 9)]  # open: up to now
    assert options["xAxis"] == {"type": "time", "min": 0, "max": 10}


def test_live_points_append_and_old_ones_scroll_out() -> None:
    options = chart_options("temp", {"temp": [[1, 20.0], [2, 21.0]]}, [], 0, 10)
    added = add_points(options, {"temp": [[11, 22.0]], "mode": [[11, "idle"]]}, 2, 12)
    assert added == 1  # text values are not charted
    assert options["series"][0]["data"] == [[2, 21.0], [11, 22.0]]
    assert options["xAxis"]["min"] == 2 and options["xAxis"]["max"] == 12
    assert add_points(options, {"temp": [[11, 22.0], [12, 23.0]]}, 2, 13) == 1  # 11 is drawn
    assert options["series"][0]["data"][-2:] == [[11, 22.0], [12, 23.0]]
