"""The data folder is aiot's alone: the folder 0700, every file in it 0600.

aiot keeps secrets there (``admin.key``, ``secret.key``), and the catalog, the ingest log and
the telemetry store hold every tenant's data. ``make_private`` sets the process's umask to
0077, once, so that every file aiot (SQLite, DuckDB, the log, checkpoints, the model hub)
creates afterwards is private from its first byte, and tightens what an older version left
readable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["make_private"]

PRIVATE_UMASK = 0o077


def make_private(folder: Path) -> None:
    """Create ``folder`` (0700) and keep everything in it, now and later, to its owner."""
    os.umask(PRIVATE_UMASK)  # SQLite and DuckDB take no mode: the umask is the one place
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(folder)
    for path in folder.rglob("*"):
        _tighten(path)


def _tighten(path: Path) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & 0o077:
        return  # a link's target is not ours to change
    os.chmod(path, stat.S_IMODE(mode) & 0o700)
