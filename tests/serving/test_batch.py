"""Batch prediction: every user against every item ahead of time, stored in SQLite, and the same
answers as the online path."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from dmls.features import FeaturePipeline
from dmls.serving.batch import PrecomputedScores, batch_predict
from dmls.serving.service import CANDIDATE_FIELDS, ClickScorer
from dmls.world import World

from .conftest import fitted_scorer

TOP_K = 5


@pytest.fixture(scope="module")
def setup():
    scorer, world, rows = fitted_scorer(12, 300, 100, "ctr-lr-1")
    at = world.now
    predictions = batch_predict(scorer, world.users, world.items, at=at, top_k=TOP_K)
    return scorer, world, at, predictions


def test_batch_predict_keeps_each_users_top_items(setup):
    scorer, world, at, predictions = setup
    assert list(predictions.columns) == ["user_id", "rank", "item_id", "score"]
    assert len(predictions) == len(world.users) * TOP_K
    assert predictions["user_id"].is_monotonic_increasing
    for _, group in predictions.groupby("user_id"):
        assert group["rank"].tolist() == list(range(1, TOP_K + 1))
        assert group["score"].is_monotonic_decreasing and group["item_id"].is_unique
    # the scores are the scorer's, for a request at position 1 at time `at`
    user = world.users.iloc[7]
    items = world.items.set_index("item_id")
    mine = predictions[predictions["user_id"] == user["user_id"]]
    for item_id, score in zip(mine["item_id"], mine["score"]):
        item = items.loc[item_id]
        request = {"user_id": int(user["user_id"]), "item_id": int(item_id), "position": 1, "device": "mobile",
                   "price": item["price"], "shown_at": at, "user_region": user["region"], "age": user["age"],
                   "signup_at": user["signup_at"], "category": item["category"], "brand": item["brand"],
                   "rating": item["rating"], "listed_at": item["listed_at"]}
        assert scorer.score_one(request) == pytest.approx(score, abs=1e-12)
    # no item outside the top beats the last one kept
    everything = batch_predict(scorer, world.users[world.users["user_id"] == user["user_id"]], world.items, at=at,
                               top_k=10**6)
    assert len(everything) == len(world.items)
    assert everything.head(TOP_K).reset_index(drop=True).equals(mine.reset_index(drop=True))


def test_chunks_do_not_change_the_answer(setup):
    scorer, world, at, predictions = setup
    small = batch_predict(scorer, world.users, world.items, at=at, top_k=TOP_K, chunk_rows=3_050)  # 30 users a chunk
    pd.testing.assert_frame_equal(small, predictions, check_exact=False, rtol=0, atol=1e-12)


def test_batch_predictions_are_as_of_their_time(setup):
    scorer, world, _, _ = setup
    at = world.users["signup_at"].median()
    predictions = batch_predict(scorer, world.users, world.items, at=at, top_k=3)
    scored = set(predictions["user_id"])
    assert scored == set(world.users.loc[world.users["signup_at"] <= at, "user_id"])
    listed = set(world.items.loc[world.items["listed_at"] <= at, "item_id"])
    assert set(predictions["item_id"]) <= listed and len(listed) < len(world.items)
    # a tz-aware time means the same instant
    aware = batch_predict(scorer, world.users, world.items, at=at.tz_localize("UTC").tz_convert("Asia/Tokyo"), top_k=3)
    pd.testing.assert_frame_equal(aware, predictions)
    before_anyone = batch_predict(scorer, world.users, world.items, at="2000-01-01", top_k=3)
    assert before_anyone.empty and list(before_anyone.columns) == ["user_id", "rank", "item_id", "score"]


def test_batch_predict_checks_its_inputs(setup):
    scorer, world, at, _ = setup
    with pytest.raises(ValueError, match="top_k"):
        batch_predict(scorer, world.users, world.items, at=at, top_k=0)
    with pytest.raises(ValueError, match=r"items need columns \['brand'\]"):
        batch_predict(scorer, world.users, world.items.drop(columns=["brand"]), at=at)
    with pytest.raises(ValueError, match="at must be a time"):
        batch_predict(scorer, world.users, world.items, at="not a time")
    with pytest.raises(ValueError, match="distinct ids"):
        batch_predict(scorer, pd.concat([world.users, world.users.head(1)]), world.items, at=at)
    with pytest.raises(TypeError, match="ClickScorer"):
        batch_predict(scorer.model, world.users, world.items, at=at)


def test_online_ranking_agrees_with_batch_prediction(setup):
    """The unification of the two paths: the same features and the same scores, so the same top items."""
    scorer, world, at, predictions = setup
    candidates = json.loads(world.items[list(CANDIDATE_FIELDS)].to_json(orient="records", date_format="iso"))
    users = json.loads(world.users.to_json(orient="records", date_format="iso"))
    for user in users[::37]:
        context = {"user_id": user["user_id"], "device": "mobile", "shown_at": at.isoformat(),
                   "user_region": user["region"], "age": user["age"], "signup_at": user["signup_at"]}
        online = scorer.rank(context, candidates)[:TOP_K]
        batch = predictions[predictions["user_id"] == user["user_id"]]
        assert [e["item_id"] for e in online] == batch["item_id"].tolist()
        np.testing.assert_allclose([e["score"] for e in online], batch["score"], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- the store
def test_precomputed_scores_serve_the_batch(setup, tmp_path):
    _, world, at, predictions = setup
    path = tmp_path / "scores.db"
    with PrecomputedScores(path) as store:
        assert store.top_items(0, 3) == [] and store.current_version is None  # nothing written yet
        assert store.write(predictions, "ctr-lr-1@day2", generated_at=at) == len(predictions)
        for user_id in world.users["user_id"].iloc[::29]:
            mine = predictions[predictions["user_id"] == user_id]
            expected = list(zip(mine["item_id"].tolist(), mine["score"].tolist()))
            assert store.top_items(int(user_id), TOP_K) == expected
            assert store.top_items(int(user_id), 2) == expected[:2]
            assert store.top_items(int(user_id), 100) == expected  # no more than the batch kept
        assert store.generated_at("ctr-lr-1@day2") == at
    with PrecomputedScores(path) as reopened:  # on disk: another process reads the same answers
        first = int(predictions["user_id"].iloc[0])
        assert reopened.top_items(first, 1) == [(int(predictions["item_id"].iloc[0]), predictions["score"].iloc[0])]


def test_unknown_users_get_nothing_the_cold_start_gap(setup):
    scorer, world, at, predictions = setup
    newcomer = int(world.users["user_id"].max()) + 1
    with PrecomputedScores(":memory:") as store:
        store.write(predictions, "v1", generated_at=at)
        assert store.top_items(newcomer, TOP_K) == []
        with pytest.raises(KeyError, match="v0"):
            store.generated_at("v0")


def test_versions_replace_and_supersede(setup):
    _, _, at, predictions = setup
    user = int(predictions["user_id"].iloc[0])
    with PrecomputedScores(":memory:") as store:
        store.write(predictions, "v1", generated_at=at)
        shifted = predictions.assign(score=predictions["score"] / 2)
        store.write(shifted, "v2")
        assert store.current_version == "v2"
        assert store.top_items(user, 1)[0][1] == pytest.approx(predictions["score"].iloc[0] / 2)
        assert store.top_items(user, 1, version="v1")[0][1] == pytest.approx(predictions["score"].iloc[0])
        assert pd.Timestamp.now(tz="UTC").tz_localize(None) - store.generated_at("v2") < pd.Timedelta(minutes=1)
        store.write(predictions.head(TOP_K), "v1", generated_at=at)  # a rerun replaces v1 and makes it current
        assert store.current_version == "v1"
        versions = store.versions()
        assert versions["version"].tolist() == ["v2", "v1"]
        assert versions["n_users"].tolist() == [predictions["user_id"].nunique(), 1]
        assert versions["n_rows"].tolist() == [len(predictions), TOP_K]
        assert versions["generated_at"].iloc[1] == at
        assert store.top_items(int(predictions["user_id"].iloc[-1]), 3) == []
        quoted = "v3'); DROP TABLE predictions; --"  # parameterized SQL stores any name as it is
        store.write(predictions.head(1), quoted)
        assert store.current_version == quoted and store.top_items(user, 5, version="v2")
        with pytest.raises(KeyError):
            store.top_items(user, 5, version="v9")


def test_the_store_checks_what_it_is_given(setup):
    _, _, _, predictions = setup
    with PrecomputedScores(":memory:") as store:
        with pytest.raises(ValueError, match="columns"):
            store.write(predictions.drop(columns=["rank"]), "v1")
        with pytest.raises(ValueError, match="one row per"):
            store.write(pd.concat([predictions, predictions.head(1)]), "v1")
        with pytest.raises(ValueError, match="finite"):
            store.write(predictions.assign(score=np.nan), "v1")
        with pytest.raises(ValueError, match="version"):
            store.write(predictions, "")
        with pytest.raises(ValueError, match="k must be"):
            store.top_items(1, 0)
        with pytest.raises(TypeError, match="user_id"):
            store.top_items("1", 3)
        assert store.current_version is None  # nothing half-written
