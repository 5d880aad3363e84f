"""Rules: alarm policies as JSON data, and the chain that turns scores into alarm transitions.

An ``AlarmPolicy`` (frozen, parsed from JSON by ``AlarmPolicy.parse``, which raises
``InvalidInput`` naming each bad field) says how scores become alarms. An ``AlarmChain`` holds
one series' (or one device's) state under a policy and runs the chain on each batch:

1. calibrate: without a fixed ``threshold``, the first ``calibrate.warmup`` finite scores of
   the series itself are collected and the threshold becomes their
   ``1 - calibrate.false_alarm_rate`` quantile times ``margin``. Until then ``threshold`` is
   None and no point is evaluated, so nothing can be raised.
2. threshold: a point exceeds when its score is above the threshold.
3. hits in a window: the condition holds at a point when at least ``hits`` of the last
   ``window`` scored points (counted since the last clear) exceed; it must hold on every
   point for ``min_duration_ms`` (by the points' ts) before the alarm is raised.
4. suppress repeats: an open alarm never raises again; it clears after ``clear_after``
   consecutive normal points (score below ``clear_below`` × threshold), and the evidence for
   the next alarm starts afresh after the clear.

``AlarmChain.step(ts, scores)`` takes points in ts order (NaN scores are skipped: not scored
yet) and returns the ``Transition`` list of raises and clears. Splitting a stream into any
batches, or saving ``state_dict()`` (arrays and scalars, never pickle) and continuing from
``load_state_dict``, gives exactly the transitions of one batch.
"""

from __future__ import annotations

from aiot.rules.chain import AlarmChain, Transition
from aiot.rules.policy import AlarmPolicy, Calibration

__all__ = ["AlarmChain", "AlarmPolicy", "Calibration", "Transition"]
