"""Batch and stream computations of the same feature agree exactly."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmls.data import SQLiteEventLog
from dmls.data.processing import (ClicksInWindow, _iso_to_ms, clicks_in_window_batch, clicks_in_window_stream,
                                  publish)
from dmls.world import RandomPolicy, World


@pytest.fixture(scope="module")
def busy_log():
    """Users who visit many times a day, so that hour windows often hold several clicks."""
    world = World(seed=4, n_users=600, n_items=400, n_sellers=40, sessions_per_user_day=12.0)
    return world.run(days=3, policy=RandomPolicy())


@pytest.fixture(scope="module")
def published(busy_log, tmp_path_factory):
    events = SQLiteEventLog(str(tmp_path_factory.mktemp("log") / "events.db"))
    n = publish(busy_log, events, partitions=3)
    return events, n


def test_publish_writes_every_event_keyed_by_user(busy_log, published):
    events, n = published
    assert n == sum(len(busy_log.tables[t]) for t in ("sessions", "impressions", "clicks", "purchases", "returns"))
    assert sum(events.end_offsets("events")) == n
    assert events.topics() == ["events"]  # no dead-letter topic: the schema holds for every event
    for record in events.read("events", 1, 0, 200):
        assert int(record.key) == record.value["user_id"]


@pytest.mark.parametrize("window", ["10min", "1h", "1D"])
def test_stream_equals_batch(busy_log, published, window, tmp_path):
    events, _ = published
    stream, stats = clicks_in_window_stream(events, group=f"g-{window}", window=window)
    busy_log.impressions.to_parquet(tmp_path / "impressions.parquet")
    busy_log.clicks.to_parquet(tmp_path / "clicks.parquet")
    batch = clicks_in_window_batch(tmp_path / "impressions.parquet", tmp_path / "clicks.parquet", window=window)
    assert len(stream) == len(busy_log.impressions)
    pd.testing.assert_frame_equal(stream, batch, check_dtype=False)
    assert stream["clicks_last_window"].max() >= 2  # the windows do hold clicks: the check is not vacuous
    assert stats["events"] > 0 and stats["events_per_s"] > 0
    # The consumer group committed everything it read.
    assert events.committed(f"g-{window}", "events") == events.end_offsets("events")


def test_batch_reads_dataframes_too(busy_log):
    from_frames = clicks_in_window_batch(busy_log.impressions, busy_log.clicks)
    assert len(from_frames) == len(busy_log.impressions)


def test_interleaving_between_users_does_not_matter(busy_log):
    """Only each user's own order matters, which is what partitioning by user preserves."""
    events = list(busy_log.events(["impressions", "clicks"]))
    in_order = list(ClicksInWindow("1h").run(events))
    by_user: dict[int, list] = {}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    rng = np.random.default_rng(0)
    queues = [list(v) for v in by_user.values()]
    shuffled = []
    while queues:  # merge users' streams in a random order, keeping each user's order
        i = rng.integers(len(queues))
        shuffled.append(queues[i].pop(0))
        if not queues[i]:
            queues.pop(i)
    assert sorted(ClicksInWindow("1h").run(shuffled)) == sorted(in_order)


@st.composite
def user_streams(draw):
    n = draw(st.integers(1, 40))
    times = sorted(draw(st.lists(st.integers(0, 10_000_000), min_size=n, max_size=n)))
    kinds = draw(st.lists(st.sampled_from(["click", "impression", "session"]), min_size=n, max_size=n))
    users = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    return list(zip(times, kinds, users))


@settings(max_examples=200, deadline=None)
@given(stream=user_streams(), window_s=st.integers(1, 5_000))
def test_stream_processor_matches_brute_force(stream, window_s):
    base = pd.Timestamp("2026-03-02").value // 1_000_000
    events, expected = [], []
    for i, (t, kind, user) in enumerate(stream):
        ts = (pd.Timestamp(base + t, unit="ms").strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]) + "Z"
        events.append({"event": kind, "ts": ts, "user_id": user, "impression_id": i})
        if kind == "impression":
            expected.append((i, sum(1 for (s, k, u) in stream[:i]
                                    if k == "click" and u == user and t - window_s * 1000 <= s < t)))
    assert list(ClicksInWindow(f"{window_s}s").run(events)) == expected


def test_event_times_parse_exactly():
    for text in ["2026-03-02T00:00:04.931Z", "2026-12-31T23:59:59.999Z", "2024-02-29T12:00:00.000Z"]:
        assert _iso_to_ms(text) == pd.Timestamp(text[:-1]).value // 1_000_000


@pytest.mark.parametrize("window", ["0s", "-1h", "soon"])
def test_bad_windows_are_rejected(window):
    with pytest.raises(ValueError):
        ClicksInWindow(window)


def test_duplicated_deliveries_are_counted_once_by_both_paths(tmp_path):
    """At-least-once delivery repeats impressions and clicks (the DuplicateEvents scenario).

    The batch query used to join a repeated impression to its clicks twice and group it into one
    row with twice the count, while the stream gave two rows: the two disagreed on 36 of 8,670
    impressions. Both must count each click once and give one value per impression."""
    from dmls.world import DuplicateEvents

    world = World(seed=811, n_users=500, n_items=300, n_sellers=30, sessions_per_user_day=10.0,
                  scenarios=[DuplicateEvents(onset=0.5, rate=0.08, tables=("impressions", "clicks"))])
    log = world.run(days=2, policy=RandomPolicy())
    assert log.impressions["impression_id"].duplicated().sum() > 100 and log.clicks["impression_id"].duplicated().any()
    events = SQLiteEventLog(str(tmp_path / "events.db"))
    publish(log, events, partitions=2)
    stream, _ = clicks_in_window_stream(events, window="2h")
    batch = clicks_in_window_batch(log.impressions, log.clicks, window="2h")
    pd.testing.assert_frame_equal(stream, batch, check_dtype=False)
    assert not stream["impression_id"].duplicated().any()
    # ... and both equal the feature on the deduplicated data.
    clean = clicks_in_window_batch(log.impressions.drop_duplicates(), log.clicks.drop_duplicates(), window="2h")
    pd.testing.assert_frame_equal(batch, clean, check_dtype=False)
    assert clean["clicks_last_window"].max() >= 2
    events.close()
