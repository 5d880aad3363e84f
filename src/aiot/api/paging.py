"""Raw telemetry pages: each key cut to the limit, and headers that say where it was cut.

The body keeps ThingsBoard's shape ``{key: [{"ts": ms, "value": v}]}``; a top-level field of
aiot's own could collide with a telemetry key, so a page that was cut says so in headers:
``Aiot-Truncated-Keys`` lists the keys that had more points than the limit (percent-encoded,
comma-separated) and ``Link: <...>; rel="next"`` is the query for the rest of them. The store is
asked for ``limit + 1`` points per key: the extra one tells a cut key from one that had exactly
``limit``.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import URL

from aiot.api.render import Series
from aiot.store.base import Order

__all__ = ["TRUNCATED_KEYS", "cut_to_limit", "page_headers"]

TRUNCATED_KEYS = "Aiot-Truncated-Keys"


def cut_to_limit(series: Series, limit: int) -> list[str]:
    """Drop each key's points past ``limit``, in place; return the keys that lost some, sorted."""
    cut = sorted(key for key, points in series.items() if len(points) > limit)
    for key in cut:
        del series[key][limit:]
    return cut


def page_headers(
    url: URL, series: Series, cut: list[str], order: Order, start: int, end: int, step: int = 1
) -> dict[str, str]:
    """The truncation header and the next page's ``Link``; nothing when no key was cut.

    The next page asks only for the cut keys, from just after the earliest cut (ascending) or
    up to the oldest point of the latest cut (descending), so that no point of any cut key is
    skipped; a key cut further along repeats some points, which carry their ts. For aggregates
    ``step`` is the bucket width: the next start is the next bucket's, so the buckets stay
    aligned to the first page's start.
    """
    if not cut:
        return {}
    edges = [series[key][-1]["ts"] for key in cut]  # the last point kept of each cut key
    if order == "asc":
        start = min(edges) + step
    else:
        end = max(edges)
    following = url.include_query_params(start=start, end=end, keys=",".join(cut))
    return {
        TRUNCATED_KEYS: ",".join(quote(key, safe="") for key in cut),
        "Link": f'<{following}>; rel="next"',
    }
