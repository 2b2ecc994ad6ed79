"""The shipped benchmarks keep working (their figures are read by people, not asserted here)."""
import json
import runpy
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script: str, args: list[str], tmp_path, capsys):
    """Run a benchmark's main() on a small input; return what it printed and the JSON it wrote."""
    out_file = tmp_path / "results.json"
    main = runpy.run_path(str(BENCHMARKS / script))["main"]
    assert main([*args, "--json", str(out_file)]) == 0
    return capsys.readouterr().out, json.loads(out_file.read_text())


def test_world_benchmark_runs_and_reports(tmp_path, capsys):
    text, results = run("bench_world.py", ["--impressions", "1000"], tmp_path, capsys)
    assert "impr/s" in text and "popularity" in text and "random" in text
    assert {r["policy"] for r in results} == {"popularity", "random"}
    assert all(r["impressions"] >= 1000 and r["impressions_per_s"] > 0 and r["peak_traced_mb"] > 0 for r in results)


def test_data_benchmark_runs_and_reports(tmp_path, capsys):
    text, results = run("bench_data.py", ["--days", "0.25"], tmp_path, capsys)
    assert "Parquet" in text and "DuckDB" in text and "stream processor" in text
    assert {r["format"] for r in results["formats"]} == {"JSON lines", "CSV", "Parquet"}
    assert results["stream_vs_batch"]["events"] > 0


def test_distributed_benchmark_runs_and_reports(tmp_path, capsys):
    text, results = run("bench_distributed.py", ["--rows", "2000"], tmp_path, capsys)
    assert "2 processes" in text and "speed-up" in text
    assert [r["workload"] for r in results] == ["logistic regression, batch 256", "MLP (256, 256), batch 4096"]
    assert all(r["samples_per_s_1"] > 0 and r["samples_per_s_2"] > 0 for r in results)
    assert all(r["max_weight_difference"] < 1e-4 for r in results)


def test_notebook_benchmark_times_a_notebook(tmp_path, capsys):
    """Run on a one-cell notebook of its own (the chapters are timed by make bench)."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = sum(range(1000))\nprint(x)")])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    text, results = run("bench_notebooks.py", [str(path), "--check"], tmp_path, capsys)
    assert "tiny.ipynb" in text and "reference workload" in text
    [row] = results["notebooks"]
    assert row["notebook"] == "tiny.ipynb" and 0 < row["seconds"] < 60
    assert len(results["reference_s"]) == 2 and min(results["reference_s"]) > 0
    assert results["target_s"] >= 60 and row["target_s"] == round(results["target_s"], 1) and row["over"] is False


def test_notebook_target_scales_with_the_slower_machine_only():
    bench = runpy.run_path(str(BENCHMARKS / "bench_notebooks.py"))
    ref, target = bench["REFERENCE_S"], bench["target_seconds"]
    assert target(ref, ref) == 60.0
    assert target(2 * ref, 3 * ref) == 120.0  # the faster of the two reference timings counts
    assert target(ref / 2, ref / 2) == 60.0  # a faster machine keeps the 60 s
    speed = runpy.run_path(str(BENCHMARKS / "machine_speed.py"))
    assert speed["slowness"](ref, 4 * ref) == 1.0
    with pytest.raises(ValueError, match="positive"):
        speed["slowness"](0.0, ref)


def test_reference_workload_never_reaches_subnormal_numbers():
    # their arithmetic is slow on some CPUs only, which would make the reference time a CPU feature
    a = runpy.run_path(str(BENCHMARKS / "machine_speed.py"))["workload"]()
    assert np.isfinite(a).all() and np.abs(a).min() > 0.5


def test_interval_benchmark_runs_and_reports(tmp_path, capsys):
    text, results = run("bench_intervals.py", ["--rows", "2000", "--resamples", "100"], tmp_path, capsys)
    assert "DeLong" in text and "speed-up" in text
    assert len(results) == 2 and all(r["dmls_s"] > 0 and r["obvious_s"] > 0 for r in results)


def test_serving_benchmark_runs_both_services_and_reports(tmp_path, capsys):
    text, results = run("bench_serving.py", ["--requests", "32", "--workers", "1"], tmp_path, capsys)
    assert "naive" in text and "fast / naive" in text and "in-process" in text
    assert {(r["service"], r["endpoint"], r["concurrency"]) for r in results["http"]} == {
        (s, e, c) for s in ("naive", "fast") for e in ("/rank", "/predict") for c in (1, 8)}
    assert all(r["errors"] == 0 and r["rps"] > 0 and r["p50_ms"] <= r["p99_ms"] for r in results["http"])
    assert results["slate_in_process_p50_ms"] > 0 and set(results["throughput_ratio"]) == {
        "/rank c=1", "/rank c=8", "/predict c=1", "/predict c=8"}
    # the absolute targets move with a slow machine, never below the nominal ones
    assert results["slowness"] >= 1 and results["targets"]["rank_p99_ms"] >= 5.0
    assert results["targets"]["slate_p50_ms"] == pytest.approx(0.5 * results["slowness"], rel=1e-3)
