"""Chapter 5's exercises (Feature Engineering): missing values, the boundaries of buckets, and hash
collisions, each checked against what the library computes.

Introduced in chapter 5 ("Exercises").
"""
from __future__ import annotations

import functools
import numbers

import numpy as np

from . import close_to, exercise

#: The users and items of the chapter's marketplace (chapter 5, "Handling Missing Values").
SEED, N_USERS, N_ITEMS, N_SELLERS = 5, 10_000, 3_000, 300


#: The MNAR strength of exercise 5.1: weaker than the section's 2.0, so the answer is not in the text.
EXERCISE_STRENGTH = 1.0


@functools.cache
def _mnar_deletion_bias(strength: float = EXERCISE_STRENGTH) -> float:
    from ..world import MissingValues, World

    truth = World(seed=SEED, n_users=N_USERS).users["age"].mean()
    scenario = MissingValues(table="users", column="age", mechanism="MNAR", rate=0.3, strength=strength,
                             onset="2000-01-01")
    observed = World(seed=SEED, n_users=N_USERS, scenarios=[scenario]).users["age"].mean()
    return float(truth - observed)


@exercise("5.1",
          question="Under MNAR with a weaker pull of age on missingness than the section's — MissingValues(table='users', "
                   "column='age', mechanism='MNAR', rate=0.3, strength=1.0, onset='2000-01-01') on "
                   "World(seed=5, n_users=10_000) — by how many years does deletion underestimate the users' true "
                   "average age?",
          hint="build the world with that scenario, average the ages that are left, and subtract that from the true "
               "average of all 10,000 users (World(seed=5, n_users=10_000).users, a positive number of years).",
          wrong_answers=(0.0, -3.73, 5.49, 18.05, 0.70))
def _(answer):
    return close_to(answer, _mnar_deletion_bias(), abs=0.02, what="the bias")


@functools.cache
def _age_buckets():
    from sklearn.preprocessing import KBinsDiscretizer

    from ..world import World

    ages = World(seed=SEED, n_users=N_USERS).users[["age"]].dropna()
    return KBinsDiscretizer(n_bins=6, encode="ordinal", strategy="quantile", random_state=0).fit(ages)


def _bucket(age: float) -> int:
    import pandas as pd

    return int(_age_buckets().transform(pd.DataFrame({"age": [float(age)]}))[0, 0])


def _pair(value, gap: int, what: str) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{what} should be a pair of ages, like (30, {30 + gap})")
    a, b = value
    for x in (a, b):
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x) or not 18 <= x <= 90:
            raise ValueError(f"{what} should hold two ages between 18 and 90, got {value!r}")
    if abs(float(b) - float(a)) != gap:
        raise ValueError(f"the ages of {what} should be {gap} year{'s' * (gap > 1)} apart, got {value!r}")
    return float(a), float(b)


#: The pair one year apart that the Discretization section itself shows across an edge.
TEXT_PAIR = (42.0, 43.0)


@exercise("5.2",
          question="With 6 quantile buckets fitted to the ages of the users of World(seed=5, n_users=10_000), give two ages one year apart that land "
                   "in different buckets (not the section's 42 and 43) and two ages eleven years apart that share one: "
                   "answer = ((a, a + 1), (b, b + 11)).",
          hint="look at the bucket edges (bins.bin_edges_): a pair across an edge, and a pair inside a bucket "
               "that is wider than eleven years.",
          wrong_answers=(((36, 37), (37, 48)), ((40, 41), (43, 54)), ((42, 43), (43, 54)), ((42, 43), (52, 63))))
def _(answer):
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__") or len(answer) != 2:
        raise ValueError("the answer is a pair of pairs: ((a, a + 1), (b, b + 11))")
    near, far = _pair(answer[0], 1, "the first pair"), _pair(answer[1], 11, "the second pair")
    edges = np.round(_age_buckets().bin_edges_[0], 1).tolist()
    if near == TEXT_PAIR:
        return False, (f"{near[0]:g} and {near[1]:g} are the pair the Discretization section shows; find "
                       f"another pair across an edge (edges {edges}).")
    if _bucket(near[0]) == _bucket(near[1]):
        return False, f"{near[0]:g} and {near[1]:g} share bucket {_bucket(near[0])} (edges {edges})."
    if _bucket(far[0]) != _bucket(far[1]):
        return False, (f"{far[0]:g} and {far[1]:g} land in buckets {_bucket(far[0])} and {_bucket(far[1])} "
                       f"(edges {edges}).")
    return True, (f"{near[0]:g} and {near[1]:g} are split by an edge; {far[0]:g} and {far[1]:g} share bucket "
                  f"{_bucket(far[0])} (edges {edges}).")


@functools.cache
def _brand_collisions(n_buckets: int = 1_024) -> float:
    from ..features import HashingEncoder
    from ..world import World

    brands = World(seed=SEED, n_users=N_USERS, n_items=N_ITEMS, n_sellers=N_SELLERS).items[["brand"]]
    tokens = HashingEncoder(n_buckets=n_buckets).fit(brands).buckets(brands)
    return float(tokens["bucket"].duplicated(keep=False).mean())


@exercise("5.3",
          question="Hash the brands of the 3,000 items of World(seed=5, n_users=10_000, n_items=3_000, "
                   "n_sellers=300) (the chapter's world without the wave of new listings) into 1,024 buckets with HashingEncoder. What "
                   "share of the distinct brands share their bucket with at least one other brand?",
          hint="HashingEncoder(n_buckets=1_024).fit(items[['brand']]).buckets(items[['brand']]) lists each "
               "brand's bucket; count the brands whose bucket appears more than once.",
          wrong_answers=(0.0, 1.0, 0.302, 0.309, 0.36))
def _(answer):
    return close_to(answer, _brand_collisions(), abs=0.003, what="the collision rate")
