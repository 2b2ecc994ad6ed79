"""The batch job on a schedule (what it serves, what it reads), the stream's counters, and the measuring helpers."""
from __future__ import annotations

import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest

from dmls.data import BatchRefresh, ClicksInWindow, batch_refresh, clicks_in_window_batch
from dmls.data.measure import Timing, duckdb_bytes_read, parquet_column_bytes, sqlite_bytes_read, time_call, time_calls
from dmls.world import RandomPolicy, World

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def busy_log():
    world = World(seed=4, n_users=400, n_items=300, n_sellers=30, sessions_per_user_day=12.0)
    return world.run(days=2, policy=RandomPolicy())


def _ms(stamps) -> np.ndarray:
    return pd.to_datetime(stamps).to_numpy("datetime64[ms]").astype(np.int64)


def test_exact_values_are_the_batch_querys(busy_log):
    refresh = batch_refresh(busy_log.impressions, busy_log.clicks, window="1h", every="30min")
    query = clicks_in_window_batch(busy_log.impressions, busy_log.clicks, window="1h")
    assert isinstance(refresh, BatchRefresh)
    np.testing.assert_array_equal(refresh.values["impression_id"], query["impression_id"])
    np.testing.assert_array_equal(refresh.values["exact"], query["clicks_last_window"])
    assert refresh.values["exact"].max() >= 2  # the check is not vacuous


@pytest.mark.parametrize("every", ["10min", "1h", "6h"])
def test_served_values_and_reads_by_brute_force(busy_log, every):
    imps, clicks = busy_log.impressions, busy_log.clicks
    refresh = batch_refresh(imps, clicks, window="1h", every=every)
    every_ms = int(pd.Timedelta(every).total_seconds() * 1000)
    t, users = _ms(imps["shown_at"]), imps["user_id"].to_numpy()
    ct, cu = _ms(clicks["clicked_at"]), clicks["user_id"].to_numpy()
    sample = np.random.default_rng(0).choice(len(imps), 300, replace=False)
    values = refresh.values.set_index("impression_id")
    for i in sample:
        run = t[i] // every_ms * every_ms
        served = int(((cu == users[i]) & (ct >= run - HOUR_MS) & (ct < run)).sum())
        assert values.loc[imps["impression_id"].iloc[i], "served"] == served
        assert values.loc[imps["impression_id"].iloc[i], "age_s"] == (t[i] - run) / 1000
    runs = np.arange(t.min() // every_ms * every_ms, t.max() // every_ms * every_ms + 1, every_ms)
    assert refresh.runs == len(runs)
    assert refresh.click_reads == sum(int(((ct >= r - HOUR_MS) & (ct < r)).sum()) for r in runs)


def test_staleness_grows_with_the_period_and_vanishes_when_run_for_every_impression(busy_log):
    shares = [batch_refresh(busy_log.impressions, busy_log.clicks, every=p).wrong.mean() for p in ("5min", "1h", "1D")]
    assert shares[0] < shares[1] < shares[2]
    always = batch_refresh(busy_log.impressions, busy_log.clicks, every=None)
    assert not always.wrong.any() and always.every is None
    assert always.runs == busy_log.impressions["impression_id"].nunique()
    assert (always.values["age_s"] == 0).all()


def test_duplicated_clicks_are_counted_once():
    imps = pd.DataFrame({"impression_id": [1, 2, 3], "user_id": [7, 7, 7],
                         "shown_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-02 10:10", "2026-03-02 10:40"])})
    clicks = pd.DataFrame({"impression_id": [1, 1], "user_id": [7, 7],
                           "clicked_at": pd.to_datetime(["2026-03-02 10:01", "2026-03-02 10:01"])})
    refresh = batch_refresh(imps, clicks, window="1h", every="30min")
    assert refresh.values["exact"].tolist() == [0, 1, 1]
    assert refresh.values["served"].tolist() == [0, 0, 1]  # the 10:30 run sees the click; 10:00 does not
    assert refresh.runs == 2 and refresh.click_reads == 1


@pytest.mark.parametrize("bad", [dict(window="0s"), dict(every="-1h"), dict(every="soon")])
def test_bad_durations_are_rejected(busy_log, bad):
    with pytest.raises(ValueError):
        batch_refresh(busy_log.impressions, busy_log.clicks, **bad)


def test_bad_frames_are_rejected(busy_log):
    with pytest.raises(TypeError, match="impressions must be a DataFrame"):
        batch_refresh("impressions.parquet", busy_log.clicks)
    with pytest.raises(ValueError, match="no column 'clicked_at'"):
        batch_refresh(busy_log.impressions, busy_log.clicks.drop(columns="clicked_at"))


def test_stream_counts_each_click_added_once_and_dropped_once(busy_log):
    processor = ClicksInWindow("1h")
    processor.process_many(busy_log.events(), [])
    clicks = busy_log.clicks.drop_duplicates("impression_id")
    assert processor.clicks_added == len(clicks)
    assert processor.clicks_expired + processor.state_size == processor.clicks_added
    assert processor.click_touches == processor.clicks_added + processor.clicks_expired


def test_time_call_repeats_and_summarises():
    calls = []
    timing = time_call(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and timing.repeats == 4
    assert timing.min <= timing.median <= timing.max
    assert Timing((3.0, 1.0, 2.0)).median == 2.0
    with pytest.raises(ValueError):
        time_call(lambda: None, repeats=0)
    with pytest.raises(TypeError):
        time_call("not callable")


def test_time_calls_interleaves_rotating_rounds_and_keeps_the_order_given():
    order = []
    timings = time_calls({"b": lambda: order.append("b"), "a": lambda: order.append("a")}, repeats=3, warmup=1)
    # one warm-up round, then three timed rounds, each calling both, each starting one call later
    assert order == ["b", "a", "b", "a", "a", "b", "b", "a"]
    assert list(timings) == ["b", "a"] and all(t.repeats == 3 for t in timings.values())


def test_time_calls_rejects_bad_input_naming_it():
    with pytest.raises(ValueError, match="non-empty mapping"):
        time_calls({})
    with pytest.raises(TypeError, match=r"calls\['x'\]"):
        time_calls({"ok": lambda: None, "x": 3})
    with pytest.raises(ValueError):
        time_calls({"ok": lambda: None}, repeats=0)


@pytest.mark.skipif(not __import__("pathlib").Path("/proc/thread-self/io").exists(), reason="Linux only")
def test_sqlite_bytes_read_follow_the_plan(tmp_path):
    path = tmp_path / "rows.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (k INTEGER, v TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?)", ((i % 500, "x" * 200) for i in range(20_000)))
    con.execute("CREATE INDEX t_k ON t (k)")
    con.commit()
    con.close()
    lookup = sqlite_bytes_read(path, "SELECT v FROM t WHERE k = ?", [7])
    scan = sqlite_bytes_read(path, "SELECT count(*), max(v) FROM t")
    assert 0 < lookup < scan
    assert scan >= 20_000 * 200  # every row read in full
    assert sqlite_bytes_read(path, "SELECT v FROM t WHERE k = ?", [7]) == lookup  # no cache carried over
    with pytest.raises(FileNotFoundError):
        sqlite_bytes_read(tmp_path / "missing.db", "SELECT 1")


def test_duckdb_and_parquet_bytes_read_only_the_columns_asked_for(tmp_path):
    frame = pd.DataFrame({"a": np.arange(50_000), "b": np.random.default_rng(0).random(50_000),
                          "c": ["text"] * 50_000})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    one, every = parquet_column_bytes(path, ["a"]), parquet_column_bytes(path)
    assert 0 < one < every < path.stat().st_size
    with pytest.raises(ValueError, match="no columns"):
        parquet_column_bytes(path, ["zzz"])
    con = duckdb.connect()
    con.register("t", con.read_parquet(str(path)))
    read_a = duckdb_bytes_read(con, "SELECT sum(a) FROM t")
    read_ab = duckdb_bytes_read(con, "SELECT sum(a), sum(b) FROM t")
    assert 0 < read_a < read_ab
    con.execute("SELECT 1").fetchall()  # profiling is off again: the connection still works as before
    with pytest.raises(TypeError):
        duckdb_bytes_read("not a connection", "SELECT 1")
