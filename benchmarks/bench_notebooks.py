#!/usr/bin/env python3
"""How long each chapter notebook takes to run top to bottom in a fresh kernel.

Target (issue 9): each chapter in under 60 s on the 2-core machine the book is tested on. The
time is a measurement, so it lives here and not in `make test`, which fails only past a runaway
ceiling: these machines are shared, and the same notebook has taken 43 s and 85 s on one of
them. So the benchmark also times a fixed reference workload before and after the notebooks
(`machine_speed.py`), and the target is a ratio to it: 60 s on a machine that runs the reference
in REFERENCE_S (this machine, quiet), proportionally more on a slower run. A slow machine then
moves the target with it, and a slow notebook still fails. Notebooks run one at a time, each
with a fresh kernel, with the thread settings `make` uses.

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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_speed import REFERENCE_S, reference_seconds, slowness  # noqa: E402

TARGET_S = 60.0


def target_seconds(before: float, after: float) -> float:
    """The target for this run: TARGET_S, scaled up by how much slower than REFERENCE_S the machine is."""
    return TARGET_S * slowness(before, after)


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
    parser.add_argument("--check", action="store_true", help=f"exit 1 if a notebook takes longer than the target ({TARGET_S:.0f} s, scaled by the machine's speed)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "2")
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))

    before = reference_seconds()
    results = []
    for path in paths:
        seconds = run_notebook(path.resolve())
        results.append({"notebook": path.name, "seconds": round(seconds, 1)})
        print(f"{seconds:7.1f} s  {path.name}", flush=True)
    after = reference_seconds()
    target = target_seconds(before, after)
    for r in results:
        r["target_s"] = round(target, 1)
        r["over"] = r["seconds"] >= target
    print(f"reference workload: {before:.3f} s before, {after:.3f} s after; {REFERENCE_S:.3f} s on the machine "
          f"the {TARGET_S:.0f} s are for (a difference of more than a quarter between the two means the "
          f"machine's speed changed during the run)")
    print(f"target: under {target:.1f} s a notebook ({TARGET_S:.0f} s x {target / TARGET_S:.2f}, the machine's "
          f"slowness, never below {TARGET_S:.0f} s); slowest {max(r['seconds'] for r in results):.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"notebooks": results, "reference_s": [before, after],
                                         "target_s": target}, indent=1) + "\n")
    over = [r["notebook"] for r in results if r["over"]]
    if args.check and over:
        print(f"over the target: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
