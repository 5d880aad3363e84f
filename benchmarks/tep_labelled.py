"""Write the Tennessee Eastman runs as labelled CSVs for ``aiot eval labelled``.

Each ``dXX.csv`` is normal operation (``d00``, 500 rows, label 0) followed by the faulty run
``dXX`` (480 rows, label 1), one row per 3-minute sample (``t`` in seconds from 0). Then::

    python benchmarks/tep_labelled.py ../shared/data/tep /tmp/tep-labelled
    aiot eval labelled --data /tmp/tep-labelled --time-col t --label-col fault \\
        --train-until 90000 --detector pca
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from aiot.models.eval.tep import FAULTS, load_normal

SAMPLE_S = 180.0


def main(source: Path, target: Path) -> None:
    """One labelled CSV per fault under ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    normal = load_normal(source)
    for fault in FAULTS:
        faulty = np.loadtxt(source / f"{fault}.dat")
        values = np.vstack([normal, faulty])
        t = np.arange(len(values)) * SAMPLE_S
        label = np.r_[np.zeros(len(normal)), np.ones(len(faulty))]
        header = ",".join(["t", *(f"v{i + 1}" for i in range(values.shape[1])), "fault"])
        rows = np.column_stack([t, values, label])
        np.savetxt(target / f"{fault}.csv", rows, delimiter=",", header=header, comments="")
    print(f"{len(FAULTS)} files -> {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
