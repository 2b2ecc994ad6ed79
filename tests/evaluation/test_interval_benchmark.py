"""The benchmark of the general intervals against the special-case modules runs, and finds them equal.

It rebuilds the library as it was before from git; every interval must come out bit-identical
(the figures themselves are read by people, not asserted here). Chapters 4, 5 and 6.
"""
import json
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _baseline_available(rev):
    if shutil.which("git") is None:
        return False
    return subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{rev}^{{commit}}"],
                          capture_output=True).returncode == 0


def test_interval_paths_benchmark_runs_and_the_intervals_are_unchanged(tmp_path, capsys):
    main = runpy.run_path(str(ROOT / "benchmarks" / "bench_interval_paths.py"))
    if not _baseline_available(main["BASELINE"]):
        pytest.skip("no git history to rebuild the library before from")
    out = tmp_path / "results.json"
    assert main["main"](["--scale", "0.03", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert [r["case"] for r in results] == ["grouped ROC AUC difference", "grouped average precision",
                                            "ungrouped average precision", "log-loss difference x 40, one test set"]
    for r in results:
        assert r["vs_special"] == "bit-identical" and r["vs_general_before"] == "bit-identical", r
        assert r["general_now_s"] > 0 and r["special_s"] > 0 and r["general_now_peak_mb"] > 0
    assert "grouped_auc" in text and "shared_resamples" in text
