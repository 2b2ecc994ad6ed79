"""How fast this machine is right now, for benchmarks whose targets are absolute.

These machines are shared: the same notebook has taken 43 s and 85 s on one of them, and a
simulator's impressions per second move as much. A target such as "a chapter in under 60 s" or
"a million impressions a second" is meant for the machine as it runs when quiet. So a benchmark
with such a target times :func:`reference_seconds` (a fixed, single-threaded workload of NumPy and
pure-Python work) before and after its own measurements, and :func:`slowness` says how much slower
than :data:`REFERENCE_S` the faster of the two was: the target is scaled by it, never eased below
the nominal one. A slow machine then moves the target with it, and a slow program still fails.
"""
from __future__ import annotations

import time

#: reference_seconds() on the machine the targets are meant for: this one, quiet (2026-12-02 07:58,
#: twelve timings of 0.049-0.052 s, median 0.050; the lower end, so that the targets are not eased).
REFERENCE_S = 0.049


def workload():
    """The fixed work that is timed: a seeded matrix product, a sort and a Python loop; returns the matrix.

    ``cos`` keeps every entry of the matrix in [cos 1, 1], so the products never reach subnormal
    numbers, whose arithmetic costs a microcode assist on some CPUs and not on others: the first
    version, ``tanh(a @ a / 400)``, decayed to 1e-314 and spent 0.29 of its 0.34 s there on one
    machine, which made it a measure of that CPU's subnormal handling rather than of its speed.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((400, 400)), rng.random((400, 400))
    for _ in range(10):
        a = np.cos(a @ b / 400)
    np.sort(rng.random(1_000_000))
    total = 0
    for i in range(300_000):
        total += i % 7
    return a


def reference_seconds(repeats: int = 5) -> float:
    """Median seconds of :func:`workload` on one thread."""
    from threadpoolctl import threadpool_limits

    times = []
    with threadpool_limits(1):
        for _ in range(repeats):
            start = time.perf_counter()
            workload()
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def slowness(before: float, after: float) -> float:
    """How many times slower than REFERENCE_S the machine ran, by the faster of two timings; at least 1.

    The faster counts, so a burst of load during one reference timing does not excuse a slow
    program; a machine faster than the nominal one keeps the nominal target.
    """
    if not (before > 0 and after > 0):
        raise ValueError(f"reference timings must be positive, got {before!r} and {after!r}")
    return max(min(before, after) / REFERENCE_S, 1.0)
