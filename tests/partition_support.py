"""A lattice of square atoms for the partition search tests (``test_partition_search``, ``test_partition_compiled``)."""

from __future__ import annotations

import numpy as np

from gridgeo.partition.units import Atoms


def lattice(rng: np.random.Generator, rows: int, cols: int) -> Atoms:
    """Square cells 10 m wide; random households, random shares of each shared edge off the streets."""
    n = rows * cols
    u, v = [], []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols:
                u.append(i)
                v.append(i + 1)
            if r + 1 < rows:
                u.append(i)
                v.append(i + cols)
    ne = len(u)
    length = np.full(ne, 10.0)
    ns = np.round(rng.random(ne) * 10.0, 3)
    nbr_ns = np.bincount(u, ns, n) + np.bincount(v, ns, n)
    return Atoms(of_piece=np.arange(n, dtype=np.int64), w=rng.integers(20, 140, size=n).astype(np.int64),
                 area=np.full(n, 100.0), perim=np.full(n, 40.0), ns_perim=nbr_ns,
                 u=np.asarray(u, dtype=np.int64), v=np.asarray(v, dtype=np.int64), length=length, ns=ns,
                 pen=np.where(rng.random(ne) < 0.2, 500.0, 0.0), keys=[f"B:{i}" for i in range(n)])
