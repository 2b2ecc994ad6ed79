"""Natural labels: outcomes the system observes by itself, each after its own delay.

Introduced in chapter 4 ("Natural Labels"). A click is known within seconds; a purchase
within hours or days; the longer we wait before calling an impression "not bought", the more
right the label and the staler the data it trains on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dmls.world import Log


def label_delays(log: Log) -> pd.DataFrame:
    """How long each natural label took to arrive: click after impression, purchase after click,
    return after purchase (in hours).

    Introduced in chapter 4 ("Natural Labels").
    """
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

    Introduced in chapter 4 ("Natural Labels").
    """
    windows = [pd.Timedelta(w) for w in windows]
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
