"""Bad input to the sampling functions fails at the boundary, naming the parameter (issue: input validation).

Each call here was accepted silently, or failed deep inside pandas/numpy, before the checks were added.
"""
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from dmls.data import interaction_graph
from dmls.sampling import (Reservoir, allocate, choice_probabilities, convenience_sample, ips, reservoir_sample,
                           simple_random, snips, snowball_sample, stratified, top_slot, weighted)
from dmls.world import OraclePolicy, World


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(917)
    return pd.DataFrame({"g": rng.choice(["a", "b", "c"], 60), "w": rng.random(60), "v": rng.normal(size=60)})


@pytest.fixture(scope="module")
def small_world():
    world = World(seed=917, n_users=300, n_items=150, n_sellers=15)
    world.run(days=2)
    return world, world.copy().run(days=2, record_candidates=True)


R, T, P = np.array([0.0, 1.0, 1.0]), np.full(3, 0.5), np.full(3, 0.5)


@pytest.mark.parametrize("call, error, message", [
    (lambda f: simple_random(f, 3, seed=1.5), TypeError, "seed must be an integer"),
    (lambda f: simple_random(f, 3, seed=True), TypeError, "seed must be an integer"),
    (lambda f: simple_random(f, 3, seed="a"), TypeError, "seed must be an integer"),
    (lambda f: simple_random(f, 3, seed=-1), ValueError, "seed must be >= 0"),
    (lambda f: simple_random(f, 3, seed=2**64), ValueError, "seed must be <="),
    (lambda f: allocate(pd.Series(["a", "b"]), 1), TypeError, "sizes must hold numbers"),
    (lambda f: allocate(pd.Series([True, False]), 1), TypeError, "sizes must hold numbers"),
    (lambda f: allocate(pd.Series([1.5, 2.5]), 2), ValueError, "stratum sizes must be whole numbers"),
    (lambda f: allocate(np.ones((2, 2)), 1), ValueError, "sizes must be 1-d"),
    (lambda f: stratified(f, ["g"], 5), TypeError, "by must be a column name"),
    (lambda f: stratified(f, "g", 5, min_per_stratum=-1), ValueError, "min_per_stratum must be >= 0"),
    (lambda f: stratified(f, "g", 5, min_per_stratum=1.5), TypeError, "min_per_stratum must be an integer"),
    (lambda f: stratified(f, "g", 5, min_per_stratum=float("nan")), TypeError, "min_per_stratum must be an integer"),
    (lambda f: stratified(f, "g", 5, seed=1.5), TypeError, "seed must be an integer"),
    (lambda f: stratified(f.assign(g=f["g"].where(f.index > 5)), "g", 60), ValueError, r"'g' \(by\) has 6 missing"),
    (lambda f: weighted(f, 3, "nope"), ValueError, "no column 'nope' for weights"),
    (lambda f: weighted(f, 3, ["a"] * 60), TypeError, "weights must hold numbers"),
    (lambda f: weighted(f, 3, pd.Series(np.ones(60), index=np.arange(100, 160))), ValueError, "weights is a Series"),
    (lambda f: weighted(f, 3, "w", replace="no"), TypeError, "replace must be True or False"),
    (lambda f: weighted(f, 3, "w", replace=1), TypeError, "replace must be True or False"),
    (lambda f: weighted(f, 3, "w", seed=1.5), TypeError, "seed must be an integer"),
])
def test_bad_probability_sampling_input_is_named(frame, call, error, message):
    with pytest.raises(error, match=message):
        call(frame)


@pytest.mark.parametrize("call, error, message", [
    (lambda: Reservoir(3, seed=1.5), TypeError, "seed must be None or an integer"),
    (lambda: Reservoir(3, seed="x"), TypeError, "seed must be None or an integer"),
    (lambda: Reservoir(3, seed=True), TypeError, "seed must be None or an integer"),
    (lambda: Reservoir(3, seed=-1), ValueError, "seed must be >= 0"),
    (lambda: reservoir_sample(5, 3), TypeError, "items must be an iterable"),
])
def test_bad_reservoir_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_reservoir_still_takes_none_as_a_seed():
    assert len(Reservoir(2, seed=None).extend(range(10))) == 2


def test_bad_nonprobability_input_is_named(small_world):
    _, log = small_world
    graph = interaction_graph(log.clicks)
    user = int(log.clicks["user_id"].iloc[0])
    with pytest.raises(TypeError, match="sessions must be a DataFrame"):
        convenience_sample([1, 2], 1)
    with pytest.raises(ValueError, match="sessions has no column 'user_id'"):
        convenience_sample(log.sessions.drop(columns="user_id"), 1)
    with pytest.raises(TypeError, match="graph must be a networkx Graph"):
        snowball_sample([1], [user], 3)
    with pytest.raises(TypeError, match="seeds must be a list of user ids"):
        snowball_sample(graph, user, 3)
    with pytest.raises(TypeError, match="seeds must be a list of user ids"):
        snowball_sample(graph, str(user), 3)
    for bad in ([str(user)], [float(user)], [True]):
        with pytest.raises(TypeError, match="seeds must be integer user ids"):
            snowball_sample(graph, bad, 3)
    with pytest.raises(ValueError, match="seeds is empty"):
        snowball_sample(graph, [], 3)
    with pytest.raises(ValueError, match="seeds repeats users"):
        snowball_sample(graph, [user, user], 3)
    assert isinstance(graph, nx.Graph) and snowball_sample(graph, np.array([user]), 2)[0] == user


@pytest.mark.parametrize("call, error, message", [
    (lambda: ips([np.nan, 1, 0], T, P), ValueError, "rewards must be finite"),
    (lambda: ips([np.inf, 1, 0], T, P), ValueError, "rewards must be finite"),
    (lambda: snips([np.inf, 1, 0], T, P), ValueError, "rewards must be finite"),
    (lambda: ips(["a", "b", "c"], T, P), TypeError, "rewards must hold numbers"),
    (lambda: ips(["1", "0", "1"], T, P), TypeError, "rewards must hold numbers"),
    (lambda: ips(R, ["0.5"] * 3, P), TypeError, "target must hold numbers"),
    (lambda: ips(R, T, [None] * 3), TypeError, "logging must hold numbers"),
])
def test_bad_importance_weights_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_importance_sampling_still_takes_boolean_rewards():
    assert ips(np.array([True, False, True]), T, P) == pytest.approx(2 / 3)


def test_logs_and_worlds_are_checked(small_world):
    world, log = small_world
    with pytest.raises(TypeError, match="log must be a dmls.world.Log"):
        top_slot(log.sessions)
    with pytest.raises(TypeError, match="log must be a dmls.world.Log"):
        choice_probabilities(OraclePolicy(), world, None)
    with pytest.raises(TypeError, match="world must be a dmls.world.World"):
        choice_probabilities(OraclePolicy(), None, log)
