"""The shipped benchmarks keep working (their figures are read by people, not asserted here)."""
import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_world.py"


def test_world_benchmark_runs_and_reports(tmp_path, capsys):
    main = runpy.run_path(str(BENCH))["main"]
    out_file = tmp_path / "world.json"
    assert main(["--impressions", "1000", "--json", str(out_file)]) == 0
    text = capsys.readouterr().out
    assert "impr/s" in text and "popularity" in text and "random" in text
    import json
    results = json.loads(out_file.read_text())
    assert {r["policy"] for r in results} == {"popularity", "random"}
    assert all(r["impressions"] >= 1000 and r["impressions_per_s"] > 0 and r["peak_traced_mb"] > 0 for r in results)


def test_data_benchmark_runs_and_reports(tmp_path, capsys):
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_data.py"
    main = runpy.run_path(str(bench))["main"]
    out_file = tmp_path / "data.json"
    assert main(["--days", "0.25", "--json", str(out_file)]) == 0
    text = capsys.readouterr().out
    assert "Parquet" in text and "DuckDB" in text and "stream processor" in text
    import json
    results = json.loads(out_file.read_text())
    assert {r["format"] for r in results["formats"]} == {"JSON lines", "CSV", "Parquet"}
    assert results["stream_vs_batch"]["events"] > 0
