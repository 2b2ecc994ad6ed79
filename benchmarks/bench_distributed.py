#!/usr/bin/env python3
"""Data-parallel training over torch.distributed: two processes against one, on this machine.

Chapter 6 trains the same model in one process and, with gradients summed by an all-reduce, in two.
This reports training samples per second for each and their ratio, measured in the same run, for
two workloads: a logistic regression, whose tiny steps are dominated by the all-reduce, and a
multilayer perceptron, whose steps are heavy enough for a second worker to pay. Process start-up
is not counted (``TrainingResult.seconds`` times the training steps only). It also checks that the
two runs end with the same weights.

Target: on a machine with at least two cores, two processes train the MLP at least 1.2 times as
fast as one.

Usage: bench_distributed.py [--rows N] [--check] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

TARGET_MLP_SPEEDUP = 1.2
WORKLOADS = {
    "logistic regression, batch 256": {"hidden": (), "batch_size": 256, "lr": 0.5},
    "MLP (256, 256), batch 4096": {"hidden": (256, 256), "batch_size": 4096, "lr": 0.1},
}


def measure(rows: int, features: int = 30, epochs: int = 2, seed: int = 0) -> list[dict]:
    from dmls.models.distributed import train_data_parallel

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) + rng.normal(size=rows) > 1.5).astype(np.int64)
    results = []
    for name, params in WORKLOADS.items():
        runs = {k: train_data_parallel(X, y, world_size=k, epochs=epochs, seed=seed, **params) for k in (1, 2)}
        difference = max(float(np.abs(runs[1].weights[k] - runs[2].weights[k]).max()) for k in runs[1].weights)
        results.append({
            "workload": name, "rows": rows, "epochs": epochs,
            "samples_per_s_1": round(runs[1].samples_per_second), "samples_per_s_2": round(runs[2].samples_per_second),
            "speedup_2_over_1": round(runs[2].samples_per_second / runs[1].samples_per_second, 2),
            "max_weight_difference": difference,
        })
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--check", action="store_true",
                    help=f"exit 1 if two processes train the MLP less than {TARGET_MLP_SPEEDUP}x as fast as one")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    results = measure(args.rows)
    print(f"Data-parallel training, {args.rows:,} rows x 30 features, 2 epochs; one thread per process")
    print(f"{'workload':<34}{'1 process /s':>14}{'2 processes /s':>16}{'speed-up':>10}{'max |dw|':>10}")
    for r in results:
        print(f"{r['workload']:<34}{r['samples_per_s_1']:>14,}{r['samples_per_s_2']:>16,}"
              f"{r['speedup_2_over_1']:>9.2f}x{r['max_weight_difference']:>10.0e}")
    print(f"target: the MLP at least {TARGET_MLP_SPEEDUP}x faster with 2 processes (needs 2 cores)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    mlp = results[-1]
    if args.check and (os.cpu_count() or 1) >= 2 and mlp["speedup_2_over_1"] < TARGET_MLP_SPEEDUP:
        print(f"below target: {mlp['speedup_2_over_1']}x")
        return 1
    if any(r["max_weight_difference"] > 1e-4 for r in results):
        print("the two runs ended with different weights")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
