"""Chapter 3's checked exercises: compression, a second stream feature, the cost of a batch schedule.

Every truth is computed from the library on the chapter's own week of the marketplace (the world
the notebook builds), cached after the first check.

Introduced in chapter 3 ("Data Engineering Fundamentals"), section "Exercises".
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from . import close_to, exercise


@functools.cache
def _week():
    """The notebook's world and week: ``World(seed=3, n_users=5_000, ...)`` run for 7 days."""
    from dmls.world import World

    return World(seed=3, n_users=5_000, n_items=1_500, n_sellers=150).run(days=7)


@functools.cache
def _gzip_saving() -> float:
    impressions = _week().impressions
    with tempfile.TemporaryDirectory(prefix="dmls-ex-3-1-") as folder:
        sizes = {}
        for codec in ("gzip", None):
            path = Path(folder) / f"impressions-{codec}.parquet"
            impressions.to_parquet(path, compression=codec, index=False)
            sizes[codec] = path.stat().st_size
    return sizes[None] / sizes["gzip"]


@functools.cache
def _impressions_in_last_hour() -> float:
    from dmls.data import batch_refresh

    impressions = _week().impressions
    # The same windowed count as the clicks feature, with the user's impressions as the "clicks".
    shown = impressions.rename(columns={"shown_at": "clicked_at"})
    return float(batch_refresh(impressions, shown, window="1h", every=None).values["exact"].mean())


@functools.cache
def _ten_minute_batch_over_stream() -> float:
    from dmls.data import ClicksInWindow, batch_refresh

    log = _week()
    processor = ClicksInWindow("1h")
    processor.process_many(log.events(), [])
    return batch_refresh(log.impressions, log.clicks, window="1h", every="10min").click_reads / processor.click_touches


@exercise("3.1", question="Size of the week's impressions as uncompressed Parquet divided by their size with gzip.",
          hint="write impressions.to_parquet(path, compression=None) and compression='gzip', and divide the "
               "first file's size (path.stat().st_size) by the second's, not the other way round",
          wrong_answers=(0.625, 1.275, 1.254, 1.0))
def _(answer):
    return close_to(answer, _gzip_saving(), rel=0.01, what="the size ratio")


@exercise("3.2", question="Mean over the week's impressions of the user's impressions shown in the hour before, "
                          "in the window [t - 1h, t): strictly before t, and one exactly an hour earlier counts.",
          hint="count only impressions shown strictly before (the other slots of the same slate share its time) "
               "and at most one hour before: the window is [t - 1h, t)",
          wrong_answers=(9.503, 10.503, 0.966, 8.683))
def _(answer):
    return close_to(answer, _impressions_in_last_hour(), rel=1e-3, what="the mean")


@exercise("3.3", question="Click records read by the hourly-window batch job run every 10 minutes, per click record "
                          "the stream processor touches over the week.",
          hint="use batch_refresh(log.impressions, log.clicks, window='1h', every='10min').click_reads and divide "
               "by ClicksInWindow('1h').click_touches after processing the week (added and dropped clicks both count)",
          wrong_answers=(5.982, 0.280, 2.383))
def _(answer):
    return close_to(answer, _ten_minute_batch_over_stream(), rel=0.005, what="the ratio")
