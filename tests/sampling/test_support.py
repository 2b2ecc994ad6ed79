"""The support check of chapter 4's importance sampling (dmls.sampling.support)."""
import numpy as np
import pytest

from dmls.sampling import choice_probabilities
from dmls.sampling.support import candidate_probabilities, support_gap
from dmls.world import OraclePolicy, RandomPolicy, World


@pytest.fixture(scope="module")
def logged():
    world = World(seed=917, n_users=300, n_items=150, n_sellers=15)
    before = world.copy()
    return world, before, world.run(days=2, record_candidates=True)


def test_candidate_probabilities_agree_with_choice_probabilities(logged):
    world, _, log = logged
    policy = OraclePolicy(temperature=0.5)
    top, probabilities, was_logged = candidate_probabilities(policy, world, log)
    assert probabilities.shape == was_logged.shape == (len(top), was_logged.shape[1])
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (was_logged.sum(axis=1) == 1).all()
    expected = choice_probabilities(policy, world, log)["target"].to_numpy()
    assert np.allclose((probabilities * was_logged).sum(axis=1), expected)


def test_the_logging_policy_reproduces_the_logged_propensities_on_the_first_day(logged):
    _, before, log = logged
    top, probabilities, was_logged = candidate_probabilities(before.default_policy, before, log)
    first_day = (top["shown_at"] < log.start + np.timedelta64(1, "D")).to_numpy()
    assert np.allclose((probabilities * was_logged).sum(axis=1)[first_day], top["propensity"].to_numpy()[first_day])


def test_support_gap():
    target = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    logging = np.array([[0.2, 0.3, 0.5], [0.1, 0.0, 0.9]])
    assert support_gap(target, logging) == pytest.approx(0.1)
    assert support_gap(np.zeros((1, 2)), np.ones((1, 2))) == float("inf")
    # a choice the logging policy never makes breaks the condition
    assert support_gap(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        support_gap(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="tol"):
        support_gap(target, logging, tol=-1)


def test_bad_input(logged):
    world, _, log = logged
    with pytest.raises(TypeError, match="ScoringPolicy"):
        candidate_probabilities(object(), world, log)
    with pytest.raises(TypeError, match="World"):
        candidate_probabilities(RandomPolicy(), object(), log)
    with pytest.raises(TypeError, match="Log"):
        candidate_probabilities(RandomPolicy(), world, object())
    with pytest.raises(ValueError, match="record_candidates"):
        candidate_probabilities(RandomPolicy(), world, world.copy().run(days=1))
