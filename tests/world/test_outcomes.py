"""Expected outcomes of logged sessions: they agree with the draws they are the expectation of."""
import numpy as np
import pandas as pd
import pytest

from dmls.world import OraclePolicy, RandomPolicy
from dmls.world.outcomes import purchase_probability, session_outcomes

from .conftest import small_world


@pytest.fixture(scope="module")
def warmed():
    world = small_world(seed=3)
    world.run(days=3)
    return world


def test_expected_purchases_match_the_observed_ones_on_average(warmed):
    twin = warmed.copy()
    log = twin.run(days=4, policy=RandomPolicy())
    out = session_outcomes(twin, log)
    assert out.index.is_monotonic_increasing and len(out) == log.sessions["session_id"].nunique()
    assert np.isclose(out["expected clicks"].sum(), log.impressions["p_click"].sum())
    # observed purchases are those released by the end; the late ones are few (median delay 5 h)
    expected, observed = out["expected purchases"].sum(), out["purchases"].sum()
    assert observed <= expected + 4 * np.sqrt(expected)
    assert observed >= 0.8 * expected - 4 * np.sqrt(expected)
    clicks = out["clicks"].sum()
    assert abs(clicks - out["expected clicks"].sum()) < 4 * np.sqrt(clicks)


def test_purchase_probability_given_click_matches_the_log(warmed):
    twin = warmed.copy()
    log = twin.run(days=4, policy=RandomPolicy())
    clicked = log.impressions[log.impressions["impression_id"].isin(log.clicks["impression_id"])]
    p = purchase_probability(twin, clicked)
    assert ((p > 0) & (p < 1)).all()
    bought = clicked["impression_id"].isin(log.purchases["impression_id"]).to_numpy()
    # released purchases can only fall short of the expectation, and not by much
    assert bought.sum() <= p.sum() + 4 * np.sqrt(p.sum())
    assert bought.sum() >= 0.8 * p.sum() - 4 * np.sqrt(p.sum())


def test_copies_meet_the_same_sessions_so_policies_pair(warmed):
    a, b = warmed.copy(), warmed.copy()
    out_a = session_outcomes(a, a.run(days=1, policy=OraclePolicy()))
    out_b = session_outcomes(b, b.run(days=1, policy=RandomPolicy()))
    assert out_a.index.equals(out_b.index)
    assert (out_a["user_id"] == out_b["user_id"]).all()
    assert out_a["expected purchases"].mean() > out_b["expected purchases"].mean()


def test_bad_input_is_named(warmed):
    with pytest.raises(TypeError, match="World"):
        purchase_probability("world", pd.DataFrame())
    with pytest.raises(ValueError, match="columns"):
        purchase_probability(warmed, pd.DataFrame({"user_id": [0]}))
    with pytest.raises(ValueError, match="does not have"):
        purchase_probability(warmed, pd.DataFrame({"user_id": [10**9], "item_id": [0],
                                                   "shown_at": [warmed.now]}))
    with pytest.raises(TypeError, match="Log"):
        session_outcomes(warmed, "log")
