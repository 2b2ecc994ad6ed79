"""Checked exercises of chapter 2 ("Introduction to Machine Learning Systems Design").

Each checker computes its truth from the library (a small world of its own, so that a check takes
a fraction of a second) and caches it.
"""
from __future__ import annotations

import functools

import numpy as np

from . import as_number, close_to, exercise

_SEED, _USERS = 7, 2_000


@functools.cache
def _small_world_log():
    from ..world import World

    world = World(seed=_SEED, n_users=_USERS, n_items=1_000, n_sellers=100)
    return world, world.run(days=7)


@functools.cache
def _peak_to_mean() -> float:
    _, log = _small_world_log()
    started = log.sessions["started_at"]
    per_hour = started.dt.floor("h").value_counts()
    hours = int((log.end - log.start) / np.timedelta64(1, "h"))
    return float(per_hour.max() / (len(started) / hours))


@functools.cache
def _oracle_minus_random() -> float:
    from ..world import OraclePolicy, RandomPolicy
    from ..world.outcomes import session_outcomes

    world, _ = _small_world_log()
    means = {}
    for name, policy in {"oracle": OraclePolicy(), "random": RandomPolicy()}.items():
        twin = world.copy()
        means[name] = 1_000 * session_outcomes(twin, twin.run(days=1, policy=policy))["expected purchases"].mean()
    return float(means["oracle"] - means["random"])


@functools.cache
def _blend_ranks_like_revenue(gamma: float) -> bool:
    rng = np.random.default_rng(0)
    p_click = rng.uniform(0.001, 0.2, size=(200, 30))
    p_buy = rng.uniform(0.01, 0.5, size=(200, 30))
    price = np.exp(rng.uniform(np.log(2), np.log(500), size=(200, 30)))
    blend = 0.5 * np.log(p_click) + 0.5 * np.log(p_buy) + gamma * np.log(price)
    revenue = p_click * p_buy * price
    return bool((np.argsort(-blend, axis=1) == np.argsort(-revenue, axis=1)).all())


@exercise(
    "2.1",
    question="At α = 1/2, add the price to the blend: ½·log P(click) + ½·log P(purchase | click) + "
             "γ·log price. For which γ does it rank every slate exactly as the expected revenue "
             "P(click)·P(purchase | click)·price does?",
    hint="The log of a product is a sum of logs; the first two terms already carry weight one half each.",
    wrong_answers=(1.0, 0.0, 1 / 3, 0.25),
)
def _(answer):
    gamma = as_number(answer, "γ")
    if not -10 <= gamma <= 10:
        return False, "γ is a weight of the same order as the others."
    if _blend_ranks_like_revenue(round(gamma, 9)):
        return True, "at γ = 0.5 the blend is half the log of the expected revenue, which ranks the same."
    return False, f"at γ = {gamma:g} the blend orders some slates differently from the expected revenue."


@exercise(
    "2.2",
    question="Run World(seed=7, n_users=2_000, n_items=1_000, n_sellers=100) for 7 days. How many times the "
             "mean hourly number of sessions is the busiest hour's?",
    hint="Count sessions per hour with started_at.dt.floor('h'); divide the largest count by the total "
         "number of sessions over the 168 hours.",
    wrong_answers=(12.45, 1.13, 0.395),  # per minute, per day, mean over peak
)
def _(answer):
    return close_to(answer, _peak_to_mean(), abs=0.02, what="the peak-to-mean ratio")


@exercise(
    "2.3",
    question="In the same world after its 7 days, let OraclePolicy() (it ranks by each item's true "
             "attraction to the user, the best possible ranker for clicks, though not for purchases) and "
             "RandomPolicy() each rank a copy (World.copy()) for one more day. By how many expected "
             "purchases per 1,000 sessions (session_outcomes) does the oracle beat random?",
    hint="session_outcomes(twin, log)['expected purchases'].mean() for each copy, times 1,000, then the "
         "difference oracle minus random.",
    wrong_answers=(-145.66, 0.1457, 0.0),  # sign flipped, per session, none
)
def _(answer):
    return close_to(answer, _oracle_minus_random(), abs=0.05, what="the difference")
