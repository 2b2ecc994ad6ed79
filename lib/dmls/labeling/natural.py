"""Natural labels: outcomes the system observes by itself, each after its own delay.

Introduced in chapter 4 ("Natural Labels"). A click is known within seconds; a purchase
within hours or days; the longer we wait before calling an impression "not bought", the more
right the label and the staler the data it trains on.
"""
from __future__ import annotations

import datetime
import numbers
from collections.abc import Iterable

import numpy as np
import pandas as pd

from dmls.world import Log


def label_delays(log: Log) -> pd.DataFrame:
    """How long each natural label took to arrive: click after impression, purchase after click,
    return after purchase (in hours).

    Raises
    ------
    TypeError
        If ``log`` is not a :class:`dmls.world.Log`.

    Introduced in chapter 4 ("Natural Labels").
    """
    _check_log(log)
    shown = log.impressions.drop_duplicates("impression_id").set_index("impression_id")["shown_at"]
    clicks = log.clicks.drop_duplicates("impression_id").set_index("impression_id")["clicked_at"]
    buys = log.purchases.drop_duplicates("purchase_id")
    returns = log.returns.drop_duplicates("purchase_id")
    hours = pd.Timedelta(hours=1)
    parts = [
        pd.DataFrame({"label": "click", "hours": (clicks - shown.reindex(clicks.index)).to_numpy() / hours}),
        pd.DataFrame({"label": "purchase", "hours": (buys["purchased_at"].to_numpy()
                                                     - clicks.reindex(buys["impression_id"]).to_numpy()) / hours}),
        pd.DataFrame({"label": "return", "hours": (returns["returned_at"].to_numpy()
                                                   - buys.set_index("purchase_id")["purchased_at"]
                                                   .reindex(returns["purchase_id"]).to_numpy()) / hours}),
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[np.isfinite(out["hours"])]


def window_tradeoff(log: Log, windows) -> pd.DataFrame:
    """For each label window: the share of eventual purchases it catches, and the share of
    clicks it labels "not bought" that were in fact bought later (false negatives).

    ``log`` should extend well past the clicks considered so that late purchases are in it:
    only clicks made at least the longest window before the log's end are counted.

    ``windows`` is a list of durations: Timedeltas, timedeltas or strings such as ``"6h"`` or
    ``"2D"``. Bare numbers are refused, since pandas would read 3600 as 3600 nanoseconds.

    Raises
    ------
    TypeError
        If ``log`` is not a :class:`dmls.world.Log`, or ``windows`` is not a list of durations
        (a single string or number, or a list holding numbers).
    ValueError
        If ``windows`` is empty, a window cannot be read as a duration or is not positive, or no
        click is old enough for the longest window.

    Introduced in chapter 4 ("Natural Labels").
    """
    _check_log(log)
    windows = _durations(windows)
    if not windows or min(windows) <= pd.Timedelta(0):
        raise ValueError("windows must be positive durations")
    clicks = log.clicks.drop_duplicates("impression_id")
    clicks = clicks[clicks["clicked_at"] <= log.end - max(windows)]
    if clicks.empty:
        raise ValueError("no click is old enough for the longest window: extend the log")
    buys = log.purchases.drop_duplicates("purchase_id").merge(clicks[["impression_id", "clicked_at"]],
                                                               on="impression_id")
    delay = buys["purchased_at"] - buys["clicked_at"]
    eventual = len(buys)
    rows = []
    for w in windows:
        caught = int((delay <= w).sum())
        negatives = len(clicks) - caught
        rows.append({"window": w, "purchases caught": caught / eventual if eventual else np.nan,
                     "'not bought' labels that are wrong": (eventual - caught) / negatives if negatives else np.nan})
    return pd.DataFrame(rows).set_index("window")


def _check_log(log) -> None:
    if not isinstance(log, Log):
        raise TypeError(f"log must be a dmls.world.Log (what World.run returns), got {type(log).__name__}")


def _durations(windows) -> list[pd.Timedelta]:
    if isinstance(windows, (str, bytes, pd.Timedelta, datetime.timedelta)) or not isinstance(windows, Iterable):
        raise TypeError(f"windows must be a list of durations such as ['6h', '2D'], got {windows!r}")
    out = []
    for w in windows:
        if isinstance(w, numbers.Number) and not isinstance(w, np.timedelta64):  # bools are numbers too
            raise TypeError(f"windows must hold durations such as '6h' or pd.Timedelta(hours=6), not the bare number "
                            f"{w!r} (its unit cannot be guessed)")
        try:
            duration = pd.Timedelta(w)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"windows holds {w!r}, which is not a duration: {exc}") from None
        if duration is pd.NaT:
            raise ValueError(f"windows holds {w!r}, which is not a duration")
        out.append(duration)
    return out
