"""Batch and online prediction as ranking policies of the marketplace (chapter 7, "Batch
Prediction Versus Online Prediction"): the batch policy serves exactly what the last batch run
stored, newcomers fall back to popularity, and the online policy ranks as ClickScorer.rank does."""
import copy

import numpy as np
import pandas as pd
import pytest

from dmls.serving.batch import batch_predict
from dmls.serving.policies import UNLISTED_OFFSET, BatchPredictionPolicy, OnlineScoringPolicy
from dmls.world.policies import PopularityPolicy, SlateContext

from .conftest import fitted_scorer


@pytest.fixture(scope="module")
def setup():
    scorer, world, rows = fitted_scorer(12, 300, 100, "ctr-lr-1")
    return scorer, world


def _context(world, sessions, candidates):
    return SlateContext(world=world, now=world.now, sessions=sessions, candidates=np.asarray(candidates),
                        slate_size=3)


def test_batch_policy_serves_the_scores_the_batch_run_stored(setup):
    scorer, world = setup
    run = world.now - pd.Timedelta("30h")
    policy = BatchPredictionPolicy(scorer, first_run=run - pd.Timedelta("48h"), refresh_every="24h")
    users = world.users[world.users["signup_at"] <= run].head(3)
    items = world.items[world.items["listed_at"] <= run]
    stored = batch_predict(scorer, users, items, at=run, top_k=len(items))
    sessions = pd.DataFrame({"session_id": [0, 1, 2], "user_id": users["user_id"].to_numpy(),
                             "device": ["desktop", "tablet", "mobile"],
                             "started_at": [world.now - pd.Timedelta("7h")] * 3})  # last run: `run`
    candidates = np.tile(items["item_id"].to_numpy()[:8], (3, 1))
    scores = policy.score(_context(world, sessions, candidates))
    for row, user in enumerate(users["user_id"]):
        mine = stored[stored["user_id"] == user].set_index("item_id")["score"]
        np.testing.assert_allclose(np.exp(scores[row]), mine.loc[candidates[row]].to_numpy(), rtol=1e-12)
    assert policy.served_ == {"batch": 3, "fallback": 0}


def test_newcomers_fall_back_to_popularity(setup):
    scorer, world = setup
    popularity = PopularityPolicy(temperature=0.0)
    popularity.clicks_ = np.arange(len(world.items), dtype=float)  # item i has i clicks
    late_user = world.users.sort_values("signup_at").iloc[-1]
    early_user = world.users.sort_values("signup_at").iloc[0]
    late_item = world.items.sort_values("listed_at").iloc[-1]
    run = min(late_user["signup_at"], late_item["listed_at"]) - pd.Timedelta("1ms")
    policy = BatchPredictionPolicy(scorer, first_run=run, refresh_every="1000D", fallback=popularity)
    old_items = world.items[world.items["listed_at"] <= run]["item_id"].to_numpy()[:4]
    candidates = np.array([list(old_items) + [late_item["item_id"]]] * 2)
    sessions = pd.DataFrame({"session_id": [0, 1], "user_id": [late_user["user_id"], early_user["user_id"]],
                             "device": ["mobile", "mobile"], "started_at": [world.now, world.now]})
    context = _context(world, sessions, candidates)
    scores = policy.score(context)
    np.testing.assert_array_equal(scores[0], popularity.score(context)[0])  # no list: all popularity
    # an item the run never saw ranks below every listed one, in popularity order
    assert scores[1, -1] < scores[1, :-1].min()
    assert scores[1, -1] == pytest.approx(UNLISTED_OFFSET + np.log1p(late_item["item_id"]))
    assert policy.served_ == {"batch": 1, "fallback": 1}
    before = pd.DataFrame({"session_id": [0], "user_id": [early_user["user_id"]], "device": ["mobile"],
                           "started_at": [run - pd.Timedelta("1h")]})  # before the first run: nothing stored
    np.testing.assert_array_equal(policy.score(_context(world, before, candidates[:1])),
                                  popularity.score(_context(world, before, candidates[:1])))


def test_last_run_counts_refreshes_from_the_first(setup):
    scorer, _ = setup
    policy = BatchPredictionPolicy(scorer, first_run="2026-01-01", refresh_every="6h")
    got = policy.last_run(pd.to_datetime(["2025-12-31 23:00", "2026-01-01 00:00", "2026-01-01 05:59", "2026-01-02 13:00"]))
    assert np.isnat(got[0])
    assert list(pd.to_datetime(got[1:])) == list(pd.to_datetime(["2026-01-01 00:00", "2026-01-01 00:00",
                                                                  "2026-01-02 12:00"]))


def test_online_policy_ranks_as_the_scorer_does(setup):
    scorer, world = setup
    user = world.users.iloc[3]
    items = world.items.head(6)
    now = world.now
    sessions = pd.DataFrame({"session_id": [0], "user_id": [user["user_id"]], "device": ["desktop"], "started_at": [now]})
    scores = OnlineScoringPolicy(scorer).score(_context(world, sessions, [items["item_id"].to_numpy()]))
    context = {"user_id": int(user["user_id"]), "user_region": user["region"], "age": user["age"],
               "signup_at": user["signup_at"], "device": "desktop", "shown_at": now}
    cands = [dict(zip(["item_id", "category", "brand", "price", "rating", "listed_at"], r))
             for r in items[["item_id", "category", "brand", "price", "rating", "listed_at"]].itertuples(index=False)]
    ranked = scorer.rank(context, cands)
    by_item = dict(zip(items["item_id"], np.exp(scores[0])))
    for entry in ranked:
        assert by_item[entry["item_id"]] == pytest.approx(entry["score"], rel=1e-12)


@pytest.mark.parametrize("kwargs, error", [
    ({"refresh_every": "0h"}, ValueError), ({"refresh_every": "soon"}, ValueError),
    ({"device": " "}, ValueError), ({"fallback": object()}, TypeError), ({"first_run": 5}, TypeError)])
def test_batch_policy_checks_its_arguments(setup, kwargs, error):
    scorer, _ = setup
    args = {"first_run": "2026-01-01", **kwargs}
    with pytest.raises(error):
        BatchPredictionPolicy(scorer, **args)


def test_policies_need_a_scorer():
    with pytest.raises(TypeError, match="ClickScorer"):
        OnlineScoringPolicy(object())
    with pytest.raises(TypeError, match="ClickScorer"):
        BatchPredictionPolicy(object(), first_run="2026-01-01")


def _history_tables(scorer):
    h = scorer.pipeline.history_
    return h.users_.copy(), h.items_.copy(), h.user_category_.copy(), h.n_impressions_


def _same_tables(a, b):
    for x, y in zip(a[:3], b[:3]):
        pd.testing.assert_frame_equal(x.to_frame() if isinstance(x, pd.Series) else x,
                                      y.to_frame() if isinstance(y, pd.Series) else y)
    assert a[3] == b[3]


def _updated(scorer, rows):
    fresh = copy.deepcopy(scorer)
    fresh.pipeline.update_history(rows)
    return fresh


def test_online_policy_with_fresh_history_scores_with_everything_logged_so_far(setup):
    scorer, world = setup
    before = _history_tables(scorer)
    twin = world.copy()
    policy = OnlineScoringPolicy(scorer, fresh_history=True)
    log = twin.run(days=2, policy=policy)
    _same_tables(_history_tables(scorer), before)  # the shared scorer is never changed
    expected = _updated(scorer, log.labeled_impressions())
    _same_tables(_history_tables(policy.scorer), _history_tables(expected))
    # the next session is scored with the two days' clicks, and so differently from the stale scorer
    users, items = twin.users.head(4), twin.items.head(8)["item_id"].to_numpy()
    sessions = pd.DataFrame({"session_id": range(4), "user_id": users["user_id"].to_numpy(),
                             "device": ["mobile"] * 4, "started_at": [twin.now] * 4})
    context = _context(twin, sessions, np.tile(items, (4, 1)))
    np.testing.assert_array_equal(policy.score(context), OnlineScoringPolicy(expected).score(context))
    assert not np.allclose(policy.score(context), OnlineScoringPolicy(scorer).score(context))
    # without fresh_history, observing changes nothing
    stale = OnlineScoringPolicy(scorer)
    world.copy().run(days=1, policy=stale)
    assert stale.scorer is scorer
    _same_tables(_history_tables(scorer), before)


def test_batch_policy_with_fresh_history_reads_the_history_as_of_each_run(setup):
    scorer, world = setup
    twin = world.copy()
    start = twin.now
    policy = BatchPredictionPolicy(scorer, first_run=start, refresh_every="48h", fresh_history=True)
    first = twin.run(days=1, policy=policy)
    second = twin.run(days=2, policy=policy)  # day 2 is still served by the run at the start; day 3 by the next
    users = twin.users[twin.users["signup_at"] <= start].head(3)
    items = twin.items[twin.items["listed_at"] <= start]
    sessions = pd.DataFrame({"session_id": range(3), "user_id": users["user_id"].to_numpy(),
                             "device": ["mobile"] * 3, "started_at": [twin.now + pd.Timedelta("1h")] * 3})
    candidates = np.tile(items["item_id"].to_numpy()[:8], (3, 1))
    scores = policy.score(_context(twin, sessions, candidates))  # served by the run at start + 48h
    at = start + pd.Timedelta("48h")
    logged = pd.concat([first.labeled_impressions(), second.labeled_impressions()], ignore_index=True)
    expected = _updated(scorer, logged[logged["shown_at"] < at])
    stored = batch_predict(expected, users, items, at=at, top_k=len(items))
    for row, user in enumerate(users["user_id"]):
        mine = stored[stored["user_id"] == user].set_index("item_id")["score"]
        np.testing.assert_allclose(np.exp(scores[row]), mine.loc[candidates[row]].to_numpy(), rtol=1e-12)
    # what was shown after that run waits for the next one
    assert sum(len(p) for p in policy.pending_) == int((logged["shown_at"] >= at).sum()) > 0
    stale = batch_predict(scorer, users, items, at=at, top_k=len(items))
    assert not np.allclose(stale.sort_values(["user_id", "item_id"])["score"], stored.sort_values(["user_id", "item_id"])["score"])


def test_fresh_history_needs_a_history_to_update_and_a_flag():
    from sklearn.linear_model import LogisticRegression

    from dmls.features import FeaturePipeline
    from dmls.serving.service import ClickScorer
    from dmls.world import World

    rows = World(seed=5, n_users=200, n_items=60).run(days=1).labeled_impressions()
    pipeline = FeaturePipeline(history=False)
    scorer = ClickScorer(pipeline, LogisticRegression(max_iter=500).fit(pipeline.fit_transform(rows), rows["clicked"]), version="no-history")
    with pytest.raises(ValueError, match="click-history"):
        OnlineScoringPolicy(scorer, fresh_history=True)
    with pytest.raises(ValueError, match="click-history"):
        BatchPredictionPolicy(scorer, first_run="2026-01-01", fresh_history=True)
    with pytest.raises(TypeError, match="fresh_history"):
        OnlineScoringPolicy(scorer, fresh_history="yes")
