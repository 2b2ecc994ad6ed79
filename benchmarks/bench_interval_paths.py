#!/usr/bin/env python3
"""The general intervals against the special-case modules they replaced, measured in the same run.

``metric_interval`` and ``difference_interval`` once needed help to be fast: a session-grouped ROC
AUC went through ``grouped_auc`` (a pair-count matrix), average precision through
``average_precision`` (one call per resample), repeated intervals on one test set through
``shared_resamples`` (160 MB count matrices kept). The general functions now do all of that
themselves. This script loads the library as it was before (``git show <rev>:lib/dmls/...`` into a
temporary package), runs both on the same data with the same seeds, checks that the intervals are
the same (``bit-identical`` means every float equal), and prints the times and their ratio.
Target: the general functions at least as fast as the special module in every case (a ratio, so
it means something on a busy machine).

Usage: bench_interval_paths.py [--scale F] [--baseline REV] [--check] [--json PATH]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "f201f6d"  # the last commit with the special-case modules in use
TARGET_SPEEDUP = 1.0
_OLD_FILES = ["_validation.py", "evaluation/_checks.py", "evaluation/uncertainty.py", "evaluation/grouped_auc.py",
              "evaluation/average_precision.py", "evaluation/shared_resamples.py"]


def load_baseline(rev: str, folder: Path):
    """The evaluation modules as they were at ``rev``, as the package ``dmls_before``."""
    package = folder / "dmls_before"
    (package / "evaluation").mkdir(parents=True)
    (package / "__init__.py").write_text('"""The library before (benchmark baseline)."""\n')
    (package / "evaluation" / "__init__.py").write_text('"""Evaluation before."""\n')
    for name in _OLD_FILES:
        try:
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:lib/dmls/{name}"], check=True,
                                  capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as error:
            raise SystemExit(f"cannot read lib/dmls/{name} at {rev} from git: {error}") from None
        (package / name).write_text(text)
    sys.path.insert(0, str(folder))
    return {name: importlib.import_module(f"dmls_before.evaluation.{name}")
            for name in ("uncertainty", "grouped_auc", "average_precision", "shared_resamples")}


def _best(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _peak_mb(fn) -> float:
    """The most memory numpy and Python held at once while ``fn`` ran (what it kept included)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _numbers(intervals):
    intervals = intervals if isinstance(intervals, list) else [intervals]
    return [(iv.estimate, iv.low, iv.high) for iv in intervals]


def _agreement(a, b) -> str:
    a, b = _numbers(a), _numbers(b)
    if a == b:
        return "bit-identical"
    worst = max(abs(x - y) for pa, pb in zip(a, b) for x, y in zip(pa, pb))
    return f"differ by at most {worst:.1e}"


def cases(scale: float):
    import numpy as np

    rng = np.random.default_rng(0)
    # Chapter 6's test set: 36,880 impressions in about 3,700 sessions, two models
    n = int(36_880 * scale)
    sessions = np.sort(rng.integers(0, max(2, n // 10), n))
    y = (rng.random(n) < 0.04).astype(int)
    a = np.round(rng.random(n) + 0.5 * y, 4)
    b = np.round(a + 0.2 * rng.random(n), 4)
    yield ("grouped ROC AUC difference", f"{n:,} rows, {len(np.unique(sessions)):,} sessions, 1,000 resamples",
           lambda m: m.difference_interval("roc_auc", y, a, b, groups=sessions),
           "grouped_auc", lambda old: old.grouped_auc_difference(y, a, b, groups=sessions), None, 3)
    # Chapter 4's test set: 100,000 impressions in sessions of 10, PR AUC
    n4 = int(100_000 * scale)
    sessions4 = np.arange(n4) // 10
    y4 = (rng.random(n4) < 0.03).astype(int)
    s4 = rng.random(n4) + 0.4 * y4
    yield ("grouped average precision", f"{n4:,} rows, {n4 // 10:,} sessions, 200 resamples",
           lambda m: m.metric_interval("average_precision", y4, s4, groups=sessions4, n_resamples=200),
           "average_precision",
           lambda old: old.average_precision_interval(y4, s4, groups=sessions4, n_resamples=200),
           lambda m, old: m.metric_interval(old.average_precision, y4, s4, groups=sessions4, n_resamples=200), 3)
    yield ("ungrouped average precision", f"{n4:,} rows, 1,000 resamples",
           lambda m: m.metric_interval("average_precision", y4, s4),
           "average_precision", lambda old: old.average_precision_interval(y4, s4),
           lambda m, old: m.metric_interval(old.average_precision, y4, s4), 2)
    # Chapter 5's pattern: one test set of 20,000 users, 40 user-grouped log-loss differences
    n5, users = int(200_000 * scale), max(2, int(20_000 * scale))
    user_ids = rng.integers(0, users, n5)
    y5 = (rng.random(n5) < 0.1).astype(int)
    p5 = np.clip(0.1 + 0.1 * y5 + rng.normal(0, 0.03, n5), 0.01, 0.99)
    others = [np.clip(p5 + rng.normal(0, 0.02, n5), 0.01, 0.99) for _ in range(4)]

    def repeated(module):
        return [module.difference_interval("log_loss", y5, p5, others[i % 4], groups=user_ids) for i in range(40)]

    yield ("log-loss difference x 40, one test set", f"{n5:,} rows, {len(np.unique(user_ids)):,} users, "
           "1,000 resamples each", repeated, "shared_resamples", repeated, None, 1)


def measure(scale: float, baseline: str) -> list[dict]:
    from dmls.evaluation import uncertainty

    out = []
    with tempfile.TemporaryDirectory() as folder:
        before = load_baseline(baseline, Path(folder))
        for name, size, new, special, old, general_before, repeats in cases(scale):
            uncertainty.clear_kept_counts()
            before["shared_resamples"].clear()
            special_s, special_iv = _best(lambda: old(before[special]), repeats)
            if general_before is None:  # the same call, to the library before
                general_before_s, general_before_iv = _best(lambda: new(before["uncertainty"]), 1)
            else:  # the named metric did not exist: the callable of the special module
                general_before_s, general_before_iv = _best(
                    lambda: general_before(before["uncertainty"], before[special]), 1)
            now_s, now_iv = _best(lambda: (uncertainty.clear_kept_counts(), new(uncertainty))[1], repeats)
            uncertainty.clear_kept_counts()
            before["shared_resamples"].clear()
            special_mb = _peak_mb(lambda: old(before[special]))
            now_mb = _peak_mb(lambda: new(uncertainty))
            out.append({"case": name, "size": size, "special_module": special, "special_s": special_s,
                        "general_before_s": general_before_s, "general_now_s": now_s,
                        "special_peak_mb": special_mb, "general_now_peak_mb": now_mb,
                        "speedup_vs_special": special_s / now_s, "speedup_vs_general_before": general_before_s / now_s,
                        "vs_special": _agreement(now_iv, special_iv),
                        "vs_general_before": _agreement(now_iv, general_before_iv)})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the chapters' sizes")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the library before")
    parser.add_argument("--check", action="store_true", help=f"fail below {TARGET_SPEEDUP:.0f}x the special modules")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    results = measure(args.scale, args.baseline)
    for r in results:
        print(f"{r['case']} ({r['size']}): now {r['general_now_s']:.2f} s, peak {r['general_now_peak_mb']:.0f} MB; "
              f"{r['special_module']} {r['special_s']:.2f} s, peak {r['special_peak_mb']:.0f} MB "
              f"({r['speedup_vs_special']:.1f}x, {r['vs_special']}); general function before "
              f"{r['general_before_s']:.2f} s ({r['speedup_vs_general_before']:.1f}x, {r['vs_general_before']})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.check and min(r["speedup_vs_special"] for r in results) < TARGET_SPEEDUP:
        print(f"below the {TARGET_SPEEDUP:.0f}x target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
