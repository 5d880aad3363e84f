"""The stream stage: deployed models scoring acknowledged telemetry as it arrives.

:class:`~aiot.stream.runner.StreamRunner` is a consumer of the ingest log (``aiot.store.wal``)
with its own checkpointed position. For every record it hands each running deployment of the
record's tenant the points of its selected devices and keys; a deployment keeps one model and
one alarm chain per series (univariate) or per device (multivariate), scores each batch with
one ``score_learn_many`` call per series, stores the scores as telemetry beside the data
(``score/<deployment>``, ``score/<deployment>/<key>`` when it reads several keys one by one)
and turns the chain's transitions into alarms. Points older than a series' last scored point
are counted as late and not scored. Every few seconds the models, the chains and the position
are written to one ``.npz`` file (arrays and strings only) before the position is released to
the log, so that after a restart or a crash scoring resumes exactly where the checkpoint left
it: the points after it are scored again from the same state, giving the same scores and the
same alarms (an alarm is found again by its deployment, device and start).
"""

from __future__ import annotations

from aiot.stream.runner import StreamRunner

__all__ = ["StreamRunner"]
