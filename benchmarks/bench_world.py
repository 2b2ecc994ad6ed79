#!/usr/bin/env python3
"""How fast the marketplace simulator generates impressions, and how much memory it needs.

Target (foundation issue): at least 1 M impressions per second on one core, for a run of at
least 1 M impressions, on the machine as fast as it is quiet: the target is divided by the run's
slowness against a reference workload timed before and after (`machine_speed.py`). The run is pinned to one CPU with one BLAS thread. Beside the absolute
figure it reports a ratio against a baseline measured in the same run on the same machine: the
time NumPy takes just to draw the random numbers such a run needs at the very least (one uniform
per slot for the click, one Gumbel per candidate for the ranking), so the ratio says how much the
simulator costs on top of its unavoidable randomness, whatever the machine.

Usage: bench_world.py [--impressions N] [--check] [--json PATH]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_speed import reference_seconds, slowness  # noqa: E402

#: On the quiet machine (machine_speed.REFERENCE_S); divided by the run's slowness on a slower one.
TARGET_PER_S = 1_000_000


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def measure(impressions: int, policy_name: str, seed: int = 0) -> dict:
    """Simulate whole days until at least ``impressions`` impressions; time it and trace memory."""
    from dmls.world import PopularityPolicy, RandomPolicy, World

    _one_core()
    # 300k impressions a day at 100k users: enough days to reach the target count.
    n_users = 100_000
    t = time.perf_counter()
    world = World(seed=seed, n_users=n_users, n_items=20_000, n_sellers=2_000)
    init_s = time.perf_counter() - t
    per_day = n_users * world.config.sessions_per_user_day * world.config.slate_size
    days = max(1, int(np.ceil(impressions / per_day)))
    policy = PopularityPolicy() if policy_name == "popularity" else RandomPolicy()
    tracemalloc.start()
    t = time.perf_counter()
    log = world.run(days=days, policy=policy)
    run_s = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(log.impressions)

    # Baseline: the random draws alone, for the same numbers of slots and candidates.
    rng = np.random.default_rng(seed)
    sessions = len(log.sessions)
    t = time.perf_counter()
    rng.random(n)
    rng.gumbel(size=sessions * world.config.n_candidates)
    floor_s = time.perf_counter() - t
    return {
        "policy": policy_name, "days": days, "impressions": n, "sessions": sessions, "clicks": len(log.clicks),
        "init_s": round(init_s, 3), "run_s": round(run_s, 3),
        "impressions_per_s": round(n / run_s), "floor_s": round(floor_s, 4),
        "ratio_to_random_draws": round(run_s / floor_s, 1),
        "peak_traced_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impressions", type=int, default=1_000_000)
    ap.add_argument("--check", action="store_true", help=f"exit 1 if below {TARGET_PER_S:,} impressions/s (scaled by the machine's speed)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--child", choices=["popularity", "random"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:  # one measurement per fresh process, so that peak memory is this run's alone
        print(json.dumps(measure(args.impressions, args.child)))
        return 0
    before = reference_seconds()
    results = []
    for policy in ("popularity", "random"):
        out = subprocess.run([sys.executable, __file__, "--child", policy, "--impressions", str(args.impressions)],
                             check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    after = reference_seconds()
    target = TARGET_PER_S / slowness(before, after)
    print(f"World simulator, one core, >= {args.impressions:,} impressions per run")
    print(f"{'policy':<11}{'impressions':>12}{'seconds':>9}{'impr/s':>12}{'x random draws':>16}"
          f"{'peak traced MB':>16}{'max RSS MB':>12}")
    for r in results:
        print(f"{r['policy']:<11}{r['impressions']:>12,}{r['run_s']:>9.2f}{r['impressions_per_s']:>12,}"
              f"{r['ratio_to_random_draws']:>16.1f}{r['peak_traced_mb']:>16.1f}{r['max_rss_mb']:>12.1f}")
    print(f"target: {target:,.0f} impressions/s ({TARGET_PER_S:,} on the quiet machine; reference workload "
          f"{before:.3f} s before, {after:.3f} s after)")
    for r in results:
        r["target_per_s"] = round(target)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    slow = [r for r in results if r["impressions_per_s"] < target]
    if args.check and slow:
        print("below target: " + ", ".join(r["policy"] for r in slow))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
