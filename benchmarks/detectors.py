"""Points per second of ``score_many`` and ``score_learn_many``/``score_one`` for each built-in.

Run on one core: ``taskset -c 0 .venv/bin/python benchmarks/detectors.py``.
"""

from __future__ import annotations

import time

from aiot.models import registry
from aiot.models.checks import synthetic_stream


def rate(fn: object, n: int) -> float:
    """Points per second of one call over ``n`` points."""
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return n / (time.perf_counter() - start)


def main() -> None:
    """Print one line per built-in model."""
    n = 4000
    for name in registry.BUILTINS:
        model = registry.create(name)
        xs, _ = synthetic_stream(2 * n, 3 if model.multivariate else 1)
        model.learn_many(xs[:n])
        test = xs[n:]
        many = rate(lambda m=model, t=test: m.score_many(t), n)
        one = rate(lambda m=model, t=test: [m.score_one(x) for x in t], n)
        stream = rate(lambda m=model, t=test: m.score_learn_many(t), n)
        print(
            f"{name:10s} score_many {many:10.0f}/s  score_one {one:10.0f}/s  "
            f"score_learn_many {stream:10.0f}/s"
        )


if __name__ == "__main__":
    main()
