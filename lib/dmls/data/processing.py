"""Batch and stream processing of the same feature: a user's clicks in the last hour.

Introduced in chapter 3 ("Batch Processing Versus Stream Processing"). The batch path is one SQL
query over stored tables (DuckDB); the stream path is a processor that reads events from the
event log one at a time and keeps a window of recent clicks per user. Both compute, for every
impression shown at time ``t``, the number of that user's clicks in ``[t - window, t)``, and
they must agree exactly. Chapter 7 comes back to unifying the two pipelines.

Delivery is at least once (chapter 3's log, the ``DuplicateEvents`` scenario), so an event may
arrive twice. Both paths count each click once, by its id (the impression it answers), and give
one value per impression id: the batch query deduplicates its inputs, the stream processor
ignores a click it already holds, and its results are keyed by impression id (an idempotent
sink: a repeated impression gives the same value again and is kept once).

Keeping the feature fresh is where the two differ: :func:`batch_refresh` is the batch job run on a
schedule (every run reads the whole window again; between runs the value goes stale), and
:attr:`ClicksInWindow.click_touches` counts the stream processor's work in the same unit, click
records touched.
"""
from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Iterator

import duckdb
import numpy as np
import pandas as pd

from dmls.world import Log

from .._validation import check_column
from .eventlog import EventLog
from .schemas import EVENT_SCHEMA

def _window_ms(window) -> int:
    ms = int(pd.Timedelta(window).total_seconds() * 1000)
    if ms <= 0:
        raise ValueError(f"window must be a positive duration, got {window!r}")
    return ms


def publish(log: Log, events: EventLog, topic: str = "events", partitions: int = 4, batch: int = 5_000) -> int:
    """Publish a world log's events to ``topic``, keyed by user so that each user's events stay
    in order in one partition. The topic carries the event schema. Returns the events written.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """
    events.create_topic(topic, partitions=partitions, schema=EVENT_SCHEMA)
    written = 0
    chunk: list[dict] = []
    for event in log.events():
        chunk.append(event)
        if len(chunk) == batch:
            events.append_many(topic, chunk, keys=[str(e["user_id"]) for e in chunk])
            written += len(chunk)
            chunk = []
    if chunk:
        events.append_many(topic, chunk, keys=[str(e["user_id"]) for e in chunk])
        written += len(chunk)
    return written


_ZERO = datetime(1970, 1, 1)
_MINUTE_MS: dict[str, int] = {}


def _iso_to_ms(iso: str) -> int:
    """Epoch milliseconds of an event time such as "2026-03-02T00:00:04.931Z" (UTC, fixed layout)."""
    minute = iso[:16]
    base = _MINUTE_MS.get(minute)
    if base is None:
        moment = datetime(int(iso[0:4]), int(iso[5:7]), int(iso[8:10]), int(iso[11:13]), int(iso[14:16]))
        base = _MINUTE_MS[minute] = (moment - _ZERO) // timedelta(milliseconds=1)
    return base + int(iso[17:19] + iso[20:23])  # "04" + "931" -> 4931 ms into the minute


class ClicksInWindow:
    """Stream processor: for each impression, the user's clicks in the preceding window.

    Feed it events in the order they happened for each user (the order of a partition keyed
    by user); events of different users may interleave in any way. State is one short queue of
    click times (and click ids) per user, trimmed as time moves on. A click delivered twice is
    counted once; an impression delivered twice is answered twice, with the same value.

    Introduced in chapter 3 ("Batch Processing Versus Stream Processing").
    """

    def __init__(self, window="1h"):
        self.window_ms = _window_ms(window)
        self._clicks: dict[int, deque] = defaultdict(deque)
        self._click_ids: dict[int, deque] = defaultdict(deque)
        self.processed = 0
        #: Click records the state took in and let go of: the processor's work on the feature.
        self.clicks_added = 0
        self.clicks_expired = 0

    def process(self, event: dict) -> tuple[int, int] | None:
        """Consume one event; for an impression, return ``(impression_id, clicks in window)``."""
        out: list = []
        self.process_many([event], out)
        return out[0] if out else None

    def process_many(self, events: Iterable[dict], out: list) -> None:
        """Consume events in order, appending ``(impression_id, clicks in window)`` to ``out``."""
        clicks, click_ids, window, to_ms = self._clicks, self._click_ids, self.window_ms, _iso_to_ms
        n = added = expired = 0
        for event in events:
            n += 1
            kind = event["event"]
            if kind != "click" and kind != "impression":
                continue
            t = to_ms(event["ts"])
            user = event["user_id"]
            q = clicks[user]
            if q and q[0] < t - window:
                ids = click_ids[user]
                held = len(q)
                while q and q[0] < t - window:
                    q.popleft()
                    ids.popleft()
                expired += held - len(q)
            if kind == "click":
                ids = click_ids[user]
                if event["impression_id"] not in ids:  # a repeated delivery of a click it holds
                    q.append(t)
                    ids.append(event["impression_id"])
                    added += 1
            else:
                # The window is [t - window, t): clicks stamped exactly t do not count, even if
                # they arrived first.
                n_in = len(q)
                while n_in and q[n_in - 1] >= t:
                    n_in -= 1
                out.append((event["impression_id"], n_in))
        self.processed += n
        self.clicks_added += added
        self.clicks_expired += expired

    def run(self, events: Iterable[dict]) -> Iterator[tuple[int, int]]:
        for event in events:
            out = self.process(event)
            if out is not None:
                yield out

    @property
    def state_size(self) -> int:
        """Click times currently held, across all users."""
        return sum(len(q) for q in self._clicks.values())

    @property
    def click_touches(self) -> int:
        """Click records the processor has touched: each added once and, once out of the window, dropped once.

        The unit of work that :func:`batch_refresh` counts for a batch job (click records read), so
        that the two ways of keeping the feature fresh can be compared on the same scale.
        """
        return self.clicks_added + self.clicks_expired


def clicks_in_window_stream(events: EventLog, topic: str = "events", group: str = "clicks-last-hour",
                            window="1h", commit_every: int = 50_000) -> tuple[pd.DataFrame, dict]:
    """Run :class:`ClicksInWindow` over everything in ``topic`` as consumer group ``group``.

    Commits its offsets as it goes. Returns the feature per impression and throughput figures.

    Introduced in chapter 3 ("Batch Processing Versus Stream Processing").
    """
    consumer = events.consumer(group, topic)
    processor = ClicksInWindow(window)
    results: list[tuple[int, int]] = []
    start = time.perf_counter()
    since_commit = 0
    while batch := consumer.poll(20_000):
        processor.process_many([record[4] for record in batch], results)  # record.value
        since_commit += len(batch)
        if since_commit >= commit_every:
            consumer.commit()
            since_commit = 0
    consumer.commit()
    seconds = time.perf_counter() - start
    frame = pd.DataFrame(np.asarray(results, dtype=np.int64).reshape(-1, 2),
                         columns=["impression_id", "clicks_last_window"])
    frame = frame.drop_duplicates("impression_id", keep="first")  # keyed by impression: at-least-once in, once out
    stats = {"events": processor.processed, "seconds": seconds,
             "events_per_s": processor.processed / seconds if seconds else float("nan")}
    return frame.sort_values("impression_id", ignore_index=True), stats


_BATCH_SQL = """
SELECT i.impression_id, count(c.clicked_ms) AS clicks_last_window
FROM (SELECT DISTINCT impression_id, user_id, epoch_ms(shown_at::TIMESTAMP) AS shown_ms FROM impressions_in) AS i
LEFT JOIN (SELECT DISTINCT impression_id, user_id, epoch_ms(clicked_at::TIMESTAMP) AS clicked_ms FROM clicks_in) AS c
  ON c.user_id = i.user_id AND c.clicked_ms >= i.shown_ms - $window_ms AND c.clicked_ms < i.shown_ms
GROUP BY i.impression_id
ORDER BY i.impression_id
"""


def clicks_in_window_batch(impressions, clicks, window="1h", con: duckdb.DuckDBPyConnection | None = None
                           ) -> pd.DataFrame:
    """The same feature as one DuckDB query over stored tables.

    ``impressions`` and ``clicks`` are DataFrames or paths of Parquet files with the columns of
    :class:`dmls.world.Log`. The window is a query parameter; the inputs are bound to fixed
    names, so nothing the caller passes becomes SQL text.

    Introduced in chapter 3 ("Batch Processing Versus Stream Processing").
    """
    own = con is None
    con = duckdb.connect() if own else con
    try:
        for name, source in (("impressions_in", impressions), ("clicks_in", clicks)):
            relation = con.read_parquet(str(source)) if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__") \
                else con.from_df(source)
            con.register(name, relation)
        return con.execute(_BATCH_SQL, {"window_ms": _window_ms(window)}).df()
    finally:
        for name in ("impressions_in", "clicks_in"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass
        if own:
            con.close()


@dataclass(frozen=True)
class BatchRefresh:
    """What a batch job that recomputes the feature on a schedule serves, and what it reads.

    ``values`` has one row per impression: ``exact`` (the user's clicks in the window right before
    the impression, what the stream processor gives), ``served`` (the value of the last batch run
    before the impression) and ``age_s`` (how old that run is). ``click_reads`` counts the click
    records the runs read, each run reading every click of its window.

    Introduced in chapter 3 ("Batch Processing Versus Stream Processing"); returned by
    :func:`batch_refresh`.
    """

    window: str
    every: str | None
    runs: int
    click_reads: int
    values: pd.DataFrame

    @property
    def wrong(self) -> np.ndarray:
        """True for each impression whose served value differs from the exact one."""
        return (self.values["served"] != self.values["exact"]).to_numpy()


def _epoch_ms(values, name: str) -> np.ndarray:
    try:
        stamps = pd.to_datetime(values)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must hold timestamps: {err}") from None
    if stamps.isna().any():
        raise ValueError(f"{name} contains missing timestamps")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.to_numpy("datetime64[ms]").astype(np.int64)


def batch_refresh(impressions: pd.DataFrame, clicks: pd.DataFrame, window="1h", every="1h") -> BatchRefresh:
    """The clicks-in-window feature as a batch job that recomputes it every ``every``.

    A run at time ``r`` (runs fall on multiples of ``every`` since the epoch, from the first
    impression to the last) reads every click of ``[r - window, r)`` and counts them per user;
    an impression at ``t`` is served the value of the last run at or before ``t``, which misses the
    clicks since the run. With ``every=None`` the job runs again for every impression, which makes
    every value exact at the price of reading the whole window each time. Clicks are counted once
    per impression id (at-least-once delivery), as both :func:`clicks_in_window_batch` and
    :class:`ClicksInWindow` do.

    Parameters
    ----------
    impressions, clicks : DataFrame
        With ``impression_id``, ``user_id`` and ``shown_at`` (impressions) or ``clicked_at``
        (clicks), as in :class:`dmls.world.Log`.
    window : duration
        The feature's window (``"1h"``).
    every : duration or None
        How often the batch job runs (``"15min"``, ``"1D"``), or None for a run per impression.

    Raises ValueError for a non-positive duration or a missing column, TypeError for inputs
    that are not DataFrames.

    Introduced in chapter 3 ("Batch Processing Versus Stream Processing").
    """
    for name, frame, time_column in (("impressions", impressions, "shown_at"), ("clicks", clicks, "clicked_at")):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame, got {type(frame).__name__}")
        for column in ("impression_id", "user_id", time_column):
            check_column(frame, column, name, f"{name} has no column {column!r}")
    window_ms = _window_ms(window)
    every_ms = None if every is None else _window_ms(every)
    shows = impressions.drop_duplicates("impression_id")
    taken = clicks.drop_duplicates("impression_id")
    t = _epoch_ms(shows["shown_at"], "shown_at")
    users = shows["user_id"].to_numpy(np.int64)
    click_t = _epoch_ms(taken["clicked_at"], "clicked_at")
    click_users = taken["user_id"].to_numpy(np.int64)
    if (users < 0).any() or (click_users < 0).any():
        raise ValueError("user_id must be non-negative")
    # One sorted key per click, user first, so that a user's clicks in [a, b) are one searchsorted.
    shift = np.int64(1) << np.int64(42)  # epoch milliseconds stay below 2**42 until the year 2109
    keys = np.sort(click_users * shift + click_t)
    all_times = np.sort(click_t)

    def per_user(ends: np.ndarray) -> np.ndarray:
        base = users * shift
        return np.searchsorted(keys, base + ends, "left") - np.searchsorted(keys, base + ends - window_ms, "left")

    def in_window(ends: np.ndarray) -> np.ndarray:
        return np.searchsorted(all_times, ends, "left") - np.searchsorted(all_times, ends - window_ms, "left")

    exact = per_user(t)
    if every_ms is None:
        run_at, runs, reads = t, len(t), int(in_window(t).sum()) if len(t) else 0
    else:
        run_at = (t // every_ms) * every_ms
        if len(t):
            schedule = np.arange(run_at.min(), run_at.max() + 1, every_ms, dtype=np.int64)
            runs, reads = len(schedule), int(in_window(schedule).sum())
        else:
            runs, reads = 0, 0
    values = pd.DataFrame({
        "impression_id": shows["impression_id"].to_numpy(), "user_id": users,
        "shown_at": shows["shown_at"].to_numpy(), "exact": exact, "served": per_user(run_at),
        "age_s": (t - run_at) / 1000.0,
    }).sort_values("impression_id", ignore_index=True)
    return BatchRefresh(str(window), None if every is None else str(every), int(runs), reads, values)
