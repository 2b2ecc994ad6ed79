"""Ranking policies: correct slates and honest propensities."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from dmls.world import ModelPolicy, OraclePolicy, PopularityPolicy, RandomPolicy
from dmls.world.policies import ScoringPolicy, plackett_luce

from .conftest import small_world


@st.composite
def score_matrices(draw):
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(2, 12))
    return draw(arrays(np.float64, (rows, cols), elements=st.floats(-20, 20)))


@settings(max_examples=60, deadline=None)
@given(scores=score_matrices(), k=st.integers(1, 12), temperature=st.sampled_from([0.0, 0.1, 1.0, 5.0]),
       seed=st.integers(0, 2**16))
def test_plackett_luce_returns_valid_slates(scores, k, temperature, seed):
    k = min(k, scores.shape[1])
    cols, p = plackett_luce(scores, k, temperature, np.random.default_rng(seed))
    assert cols.shape == p.shape == (scores.shape[0], k)
    assert all(len(set(row)) == k for row in cols)
    assert ((cols >= 0) & (cols < scores.shape[1])).all()
    assert ((p > 0) & (p <= 1 + 1e-12)).all()
    if temperature == 0:
        picked = np.take_along_axis(scores, cols, axis=1)
        assert (np.diff(picked, axis=1) <= 0).all()  # best first
        assert (picked[:, -1:] >= np.sort(scores, axis=1)[:, ::-1][:, k - 1:k]).all()


def test_plackett_luce_samples_match_their_propensities():
    """Over many draws, the top pick follows softmax(score / T), and the second pick follows the
    softmax over the rest, given the first: the propensities are the true sampling probabilities."""
    scores = np.array([[2.0, 1.0, 0.5, 0.0, -1.0]])
    temperature, n = 0.8, 40_000
    cols, p = plackett_luce(np.repeat(scores, n, axis=0), 2, temperature, np.random.default_rng(0))
    soft = np.exp(scores[0] / temperature) / np.exp(scores[0] / temperature).sum()
    counts = np.bincount(cols[:, 0], minlength=5)
    assert stats.chisquare(counts, soft * n).pvalue > 1e-3
    np.testing.assert_allclose(p[:, 0], soft[cols[:, 0]])
    first = cols[:, 0] == 0
    second = np.bincount(cols[first, 1], minlength=5)[1:]
    rest = soft[1:] / soft[1:].sum()
    assert stats.chisquare(second, rest * first.sum()).pvalue > 1e-3
    np.testing.assert_allclose(p[first, 1], rest[cols[first, 1] - 1])


def test_random_policy_propensities():
    world = small_world()
    log = world.run(days=1, policy=RandomPolicy())
    c = world.config.n_candidates
    expected = 1 / (c - log.impressions["position"] + 1)
    np.testing.assert_allclose(log.impressions["propensity"], expected)


def test_deterministic_policy_has_propensity_one():
    log = small_world().run(days=1, policy=PopularityPolicy(temperature=0.0))
    assert (log.impressions["propensity"] == 1).all()


def test_popularity_policy_learns_from_what_it_observes():
    world = small_world(seed=3)
    policy = PopularityPolicy(temperature=0.0)
    first = world.run(days=1, policy=policy)
    counts = np.bincount(first.clicks["item_id"], minlength=len(world.items))
    np.testing.assert_array_equal(policy.clicks_[:len(counts)], counts)
    second = world.run(days=1, policy=policy)
    # From the second day on, every slate is sorted by the clicks seen so far.
    slate = second.impressions.groupby("session_id")["item_id"].apply(lambda s: counts[s.to_numpy()])
    assert all((np.diff(v) <= 0).all() for v in slate.head(200))


def test_popularity_policy_forgets_with_a_half_life():
    world = small_world(seed=3)
    policy = PopularityPolicy(half_life_days=2.0)
    world.run(days=1, policy=policy)
    after_one_day = policy.clicks_.copy()
    second = world.run(days=1, policy=policy)
    fresh = np.bincount(second.clicks["item_id"], minlength=len(policy.clicks_))
    padded = np.zeros(len(policy.clicks_))
    padded[:len(after_one_day)] = after_one_day
    np.testing.assert_allclose(policy.clicks_, 0.5 ** 0.5 * padded + fresh)


def test_oracle_beats_popularity_beats_random():
    def ctr(policy):
        log = small_world(seed=10).run(days=4, policy=policy)
        return len(log.clicks) / len(log.impressions)

    oracle, popular, random = ctr(OraclePolicy()), ctr(PopularityPolicy(temperature=0.0)), ctr(RandomPolicy())
    assert oracle > 1.5 * popular and popular > random


def test_policy_argument_checks():
    with pytest.raises(ValueError, match="temperature"):
        PopularityPolicy(temperature=-1)
    with pytest.raises(ValueError, match="half_life_days"):
        PopularityPolicy(half_life_days=0)

    class Wrong(ScoringPolicy):
        def score(self, context):
            return np.zeros((1, 1))

    class NotFinite(ScoringPolicy):
        def score(self, context):
            return np.full(context.candidates.shape, np.nan)

    with pytest.raises(ValueError, match="Wrong.score returned shape"):
        small_world().run(days=1, policy=Wrong())
    with pytest.raises(ValueError, match="non-finite"):
        small_world().run(days=1, policy=NotFinite())


def test_candidate_frame_has_user_and_item_attributes():
    seen = {}

    class Spy(ScoringPolicy):
        def score(self, context):
            seen["frame"] = context.candidate_frame()
            return np.zeros(context.candidates.shape)

    world = small_world()
    world.run(days=1, policy=Spy())
    frame = seen["frame"]
    assert {"session_id", "user_id", "device", "shown_at", "item_id", "user_region", "age", "category", "brand",
            "price"} <= set(frame)
    assert frame["category"].notna().all() and frame["user_region"].notna().all()


class _FirstFeatureModel:
    """A stand-in model whose predicted probability is a known function of one column."""

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-X[:, 0]))
        return np.column_stack([1 - p, p])


def test_model_policy_ranks_by_predicted_probability():
    world = small_world(seed=1)
    featurize = lambda frame: frame[["rating", "position"]].to_numpy(dtype=float)
    log = world.run(days=1, policy=ModelPolicy(_FirstFeatureModel(), featurize))
    ratings = world.items.set_index("item_id")["rating"]
    shown = log.impressions.assign(rating=ratings.reindex(log.impressions["item_id"]).to_numpy())
    # Best-rated candidates first, in every slate.
    assert shown.groupby("session_id")["rating"].apply(lambda r: r.is_monotonic_decreasing).all()


def test_model_policy_checks_its_arguments():
    with pytest.raises(TypeError, match="predict_proba"):
        ModelPolicy(object(), lambda f: f)
    with pytest.raises(TypeError, match="featurize must be callable"):
        ModelPolicy(_FirstFeatureModel(), "rating")
    with pytest.raises(ValueError, match="1-based"):
        ModelPolicy(_FirstFeatureModel(), lambda f: f, position=0)


def test_plackett_luce_propensities_stay_exact_with_extreme_scores():
    """A dominant item leaves a tiny remainder; the later picks' probabilities must still be right."""
    scores = np.array([[0.0, 0.0, 20.0]])
    cols, p = plackett_luce(scores, 3, 1.0, np.random.default_rng(0))
    assert cols[0, 0] == 2
    np.testing.assert_allclose(p[0], [1 / (1 + 2 * np.exp(-20.0)), 0.5, 1.0], rtol=1e-12)
