#!/usr/bin/env python3
"""How long each chapter notebook takes to run top to bottom in a fresh kernel.

Target (issue 9): each chapter in under 60 s on the 2-core machine the book is tested on. The
time is a measurement, so it lives here and not in `make test`, which fails only past a runaway
ceiling: these machines are shared, and the same notebook has taken 43 s and 85 s on one of
them. Beside each absolute figure the benchmark reports the machine's speed in the same run, as
the time of a fixed reference workload (numpy and pure-Python work, measured before and after
the notebooks), so that a slow figure can be told apart from a slow machine. Notebooks run one
at a time, each with a fresh kernel, with the thread settings `make` uses.

Usage: bench_notebooks.py [NOTEBOOK ...] [--check] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 60.0


def reference_seconds(repeats: int = 5) -> float:
    """Median seconds of a fixed workload: a seeded matrix product, a sort and a Python loop."""
    import numpy as np

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rng = np.random.default_rng(0)
        a = rng.random((400, 400))
        for _ in range(10):
            a = np.tanh(a @ a / 400)
        np.sort(rng.random(1_000_000))
        total = 0
        for i in range(300_000):
            total += i % 7
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def run_notebook(path: Path) -> float:
    """Seconds to execute ``path`` in a fresh kernel, from the notebooks folder, outputs discarded."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if a notebook takes {TARGET_S:.0f} s or more")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "2")
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))

    before = reference_seconds()
    results = []
    for path in paths:
        seconds = run_notebook(path.resolve())
        results.append({"notebook": path.name, "seconds": round(seconds, 1), "target_s": TARGET_S})
        print(f"{seconds:7.1f} s  {path.name}{'  OVER TARGET' if seconds >= TARGET_S else ''}", flush=True)
    after = reference_seconds()
    print(f"reference workload: {before:.3f} s before, {after:.3f} s after "
          f"(a difference of more than a quarter means the machine's speed changed during the run)")
    print(f"target: under {TARGET_S:.0f} s a notebook; slowest {max(r['seconds'] for r in results):.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"notebooks": results, "reference_s": [before, after]}, indent=1) + "\n")
    over = [r["notebook"] for r in results if r["seconds"] >= TARGET_S]
    if args.check and over:
        print(f"over the target: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
