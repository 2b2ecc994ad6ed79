"""What a logged slate was worth in truth: expected clicks and purchases from the world's own probabilities.

A policy's online result is a sample: the same slates shown again would get other clicks and other
purchases. The simulator knows the probabilities behind each draw, so the *expected* number of
clicks and purchases of every session can be computed exactly, which separates what a policy did
from what luck added. Two copies of a world (``World.copy``) meet the same sessions with the same
candidates, so per-session outcomes of two policies are paired and their difference has a tight
interval (``dmls.evaluation.difference_interval`` with ``groups=`` the users).

Introduced in chapter 2 ("Objective Functions": decoupling objectives, judged online).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .log import Log
from .simulator import World


def purchase_probability(world: World, impressions: pd.DataFrame) -> np.ndarray:
    """True probability that a click on each impression turns into a purchase.

    ``impressions`` has ``user_id``, ``item_id`` and ``shown_at`` (a log's impressions table);
    the user's taste is taken at ``shown_at``, so concept drift is respected.

    Introduced in chapter 2 ("Objective Functions").
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a dmls.world.World, got {type(world).__name__}")
    if not isinstance(impressions, pd.DataFrame):
        raise TypeError(f"impressions must be a DataFrame, got {type(impressions).__name__}")
    missing = [c for c in ("user_id", "item_id", "shown_at") if c not in impressions.columns]
    if missing:
        raise ValueError(f"impressions lack the columns {missing}")
    user = impressions["user_id"].to_numpy(dtype=np.int64)
    item = impressions["item_id"].to_numpy(dtype=np.int64)
    if len(user) and (user.min() < 0 or user.max() >= len(world.users)
                      or item.min() < 0 or item.max() >= len(world.items)):
        raise ValueError("impressions name users or items this world does not have (was it run this far?)")
    time_ms = impressions["shown_at"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    affinity = world._affinity(user, item, time_ms)
    return world.response.purchase_probability(affinity, world.truth.item_quality[item],
                                               world._item_log_price_ratio[item], world._user_region[user])


def session_outcomes(world: World, log: Log) -> pd.DataFrame:
    """Per session of ``log``: expected and observed clicks and purchases, and revenue.

    Expected values use the true probabilities (``p_click`` of each impression times its
    :func:`purchase_probability`); observed ones count the log's events, purchases by the
    impression they came from, so a purchase still pending when the run ended counts as none.
    One row per session (``session_id`` index), with its ``user_id``, in session order.

    Introduced in chapter 2 ("Objective Functions"): a policy's online result with and without luck.
    """
    if not isinstance(log, Log):
        raise TypeError(f"log must be a dmls.world.Log, got {type(log).__name__}")
    imp = log.impressions
    p_buy = purchase_probability(world, imp)
    clicked = imp["impression_id"].isin(log.clicks["impression_id"]).to_numpy()
    bought = imp["impression_id"].isin(log.purchases["impression_id"]).to_numpy()
    price = imp["price"].to_numpy(dtype=float)
    per = pd.DataFrame({
        "session_id": imp["session_id"].to_numpy(),
        "expected clicks": imp["p_click"].to_numpy(),
        "expected purchases": imp["p_click"].to_numpy() * p_buy,
        "expected revenue": imp["p_click"].to_numpy() * p_buy * price,
        "clicks": clicked.astype(float),
        "purchases": bought.astype(float),
    }).groupby("session_id", sort=True).sum()
    users = log.sessions.drop_duplicates("session_id").set_index("session_id")["user_id"]
    per.insert(0, "user_id", users.reindex(per.index).to_numpy())
    return per


__all__ = ["purchase_probability", "session_outcomes"]
