"""Sampling: exact allocations, honest reservoirs, importance weights that recover the truth."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dmls.data import interaction_graph
from dmls.sampling import (Reservoir, allocate, choice_probabilities, convenience_sample, ips, reservoir_sample,
                           simple_random, snips, snowball_sample, stratified, top_slot, weighted)
from dmls.world import OraclePolicy, RandomPolicy, World


@pytest.fixture(scope="module")
def people():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"group": rng.choice(["big", "mid", "rare"], size=5_000, p=[0.7, 0.28, 0.02]),
                         "value": rng.normal(size=5_000), "weight": rng.random(5_000)})


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 1_000), min_size=1, max_size=8), frac=st.floats(0, 1))
def test_allocation_is_exact_and_proportional(sizes, frac):
    sizes = pd.Series(sizes)
    n = int(frac * sizes.sum())
    counts = allocate(sizes, n)
    assert counts.sum() == n and (counts >= 0).all() and (counts <= sizes).all()
    if sizes.sum():
        assert (np.abs(counts - sizes * n / sizes.sum()) < 1).all()  # within one unit of the exact share


def test_stratified_sample_keeps_every_stratum_in_proportion(people):
    sample = stratified(people, "group", n=500, seed=1)
    expected = allocate(people["group"].value_counts(sort=False), 500)
    assert sample["group"].value_counts().to_dict() == expected.to_dict()
    assert sample.index.is_unique and sample.index.isin(people.index).all()
    guaranteed = stratified(people, "group", n=50, seed=1, min_per_stratum=5)
    assert guaranteed["group"].value_counts()["rare"] >= 5 and len(guaranteed) == 50


def test_simple_random_sampling_misses_rare_groups_often(people):
    misses = sum((simple_random(people, 50, seed=s)["group"] == "rare").sum() == 0 for s in range(300))
    p_miss = (1 - (people["group"] == "rare").mean()) ** 50  # about 0.36
    assert abs(misses / 300 - p_miss) < 4 * np.sqrt(p_miss * (1 - p_miss) / 300)


def test_weighted_sampling_follows_the_weights():
    frame = pd.DataFrame({"w": [1.0, 2.0, 7.0]})
    draws = weighted(frame, 20_000, "w", seed=3, replace=True).index.value_counts().sort_index()
    assert stats.chisquare(draws.to_numpy(), 20_000 * np.array([0.1, 0.2, 0.7])).pvalue > 1e-3
    assert set(weighted(frame.assign(w=[0.0, 1.0, 1.0]), 2, "w").index) == {1, 2}


@pytest.mark.parametrize("call, message", [
    (lambda p: simple_random(p, len(p) + 1), "cannot draw"),
    (lambda p: simple_random(p, -1), "non-negative integer"),
    (lambda p: stratified(p, "nope", 10), "no column 'nope'"),
    (lambda p: stratified(p, "group", 10, min_per_stratum=5), "min_per_stratum"),
    (lambda p: weighted(p, 3, -p["weight"]), "non-negative"),
    (lambda p: weighted(p, 3, np.zeros(len(p))), "at least one weight"),
    (lambda p: weighted(p, 3, [1.0, 2.0]), "one weight per row"),
    (lambda p: weighted(p.head(3).assign(weight=[0, 0, 1.0]), 2, "weight"), "cannot draw 2"),
    (lambda p: simple_random(p.to_numpy(), 3), "expected a DataFrame"),
])
def test_bad_requests_are_named(people, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(people)


def test_reservoir_keeps_each_item_with_probability_k_over_n():
    """Statistical test: over many runs, inclusion counts are uniform across positions."""
    n, k, runs = 40, 8, 4_000
    counts = np.zeros(n)
    for seed in range(runs):
        for item in reservoir_sample(range(n), k, seed=seed):
            counts[item] += 1
    assert stats.chisquare(counts, np.full(n, runs * k / n)).pvalue > 1e-3
    # Nor is any position favoured in particular: first, middle and last items alike.
    assert abs(counts[0] / runs - k / n) < 4 * np.sqrt(k / n * (1 - k / n) / runs)


def test_reservoir_memory_is_constant():
    r = Reservoir(5, seed=0)
    for i in range(100_000):
        r.add(i)
        assert len(r) <= 5
    assert r.seen == 100_000 and len(set(r.items)) == 5
    assert reservoir_sample([1, 2], 5) == [1, 2]
    assert reservoir_sample(iter([]), 3) == []
    with pytest.raises(ValueError, match="positive integer"):
        Reservoir(0)


@pytest.fixture(scope="module")
def logged():
    world = World(seed=1, n_users=4_000, n_items=1_000, n_sellers=100)
    world.run(days=5)
    before = world.copy()
    return world, before, world.run(days=3, record_candidates=True)


@pytest.mark.parametrize("policy", [RandomPolicy(), OraclePolicy(temperature=0.5)], ids=["random", "oracle"])
def test_importance_sampling_recovers_a_new_policys_click_rate(logged, policy):
    world, before, log = logged
    estimate = choice_probabilities(policy, world, log)
    truth = top_slot(before.copy().run(days=3, policy=policy))["p_click"].mean()  # same sessions, new policy
    naive = estimate["clicked"].mean()
    weights = estimate["target"] / estimate["propensity"]
    se = np.std(estimate["clicked"] * weights) / np.sqrt(len(estimate))
    for value in (ips(estimate["clicked"], estimate["target"], estimate["propensity"]),
                  snips(estimate["clicked"], estimate["target"], estimate["propensity"])):
        assert abs(value - truth) < 4 * se
    assert abs(naive - truth) > 4 * se  # the logged click rate alone is the wrong answer


def test_choice_probabilities_are_a_distribution(logged):
    world, _, log = logged
    est = choice_probabilities(OraclePolicy(temperature=1.0), world, log)
    assert ((est["target"] > 0) & (est["target"] <= 1)).all()
    uniform = choice_probabilities(RandomPolicy(), world, log)
    np.testing.assert_allclose(uniform["target"], 1 / world.config.n_candidates)


def test_importance_sampling_rejects_what_it_cannot_reweight(logged):
    world, _, log = logged
    with pytest.raises(ValueError, match="record_candidates"):
        choice_probabilities(RandomPolicy(), world, World(seed=1, n_users=500, n_items=100).run(days=1))
    with pytest.raises(ValueError, match="logging probabilities must be in"):
        ips([1.0], [0.5], [0.0])
    with pytest.raises(ValueError, match="same, non-zero length"):
        snips([1.0, 0.0], [0.5], [0.5])
    with pytest.raises(ValueError, match="never makes any logged choice"):
        snips([1.0], [0.0], [0.5])


def test_convenience_and_snowball_samples(logged):
    _, _, log = logged
    early = convenience_sample(log.sessions, 100)
    assert len(early) == 100 and early.is_unique
    graph = interaction_graph(log.clicks)
    seed_user = int(log.clicks["user_id"].iloc[0])
    ball = snowball_sample(graph, [seed_user], 50)
    assert ball[0] == seed_user and len(ball) <= 50 and ball.is_unique
    with pytest.raises(ValueError, match="not in the graph"):
        snowball_sample(graph, [10**9], 5)
    with pytest.raises(ValueError, match="only"):
        convenience_sample(log.sessions, 10**9)
