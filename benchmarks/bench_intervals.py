#!/usr/bin/env python3
"""How fast the book's intervals are, against the obvious way of computing them in the same run.

The obvious way resamples row indices and calls scikit-learn's metric once per resample. The
library computes linear metrics from per-unit totals (one dot product per resample) and ROC AUC
with DeLong's closed form, so that every comparison in a chapter can carry its interval and the
chapter still runs in well under a minute. Target: at least 5x the obvious way for both, on
the same rows and the same number of resamples (a ratio, so it means something on a busy machine).

Usage: bench_intervals.py [--rows N] [--resamples B] [--check] [--json PATH]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import sys
import time

TARGET_SPEEDUP = 5.0


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(rows: int, resamples: int) -> list[dict]:
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    from dmls.evaluation import metric_interval

    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.05).astype(int)
    score = rng.normal(size=rows) + y
    prob = 1 / (1 + np.exp(3 - score))

    def naive(metric, *arrays):
        r = np.random.default_rng(1)
        for _ in range(resamples):
            idx = r.integers(0, rows, rows)
            metric(*(a[idx] for a in arrays))

    cases = [
        ("ROC AUC (DeLong vs resampled scikit-learn)", lambda: metric_interval("roc_auc", y, score),
         lambda: naive(roc_auc_score, y, score)),
        ("log loss (unit totals vs resampled scikit-learn)",
         lambda: metric_interval("log_loss", y, prob, n_resamples=resamples), lambda: naive(log_loss, y, prob)),
    ]
    out = []
    for name, ours, obvious in cases:
        a, b = _seconds(ours), _seconds(obvious)
        out.append({"case": name, "rows": rows, "resamples": resamples, "dmls_s": a, "obvious_s": b,
                    "speedup": b / a})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--check", action="store_true", help=f"fail below {TARGET_SPEEDUP:.0f}x")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    results = measure(args.rows, args.resamples)
    for r in results:
        print(f"{r['case']}: {r['rows']:,} rows, {r['resamples']} resamples: dmls {r['dmls_s']:.2f} s, "
              f"obvious {r['obvious_s']:.2f} s, speed-up {r['speedup']:.1f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.check and min(r["speedup"] for r in results) < TARGET_SPEEDUP:
        print(f"below the {TARGET_SPEEDUP:.0f}x target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
