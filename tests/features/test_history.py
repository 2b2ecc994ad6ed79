"""The first click-model features and the first click model."""
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from dmls.features import CONTEXT_COLUMNS, HistoryFeatures, click_features, context_features
from dmls.models import train_click_model
from dmls.world import World


@pytest.fixture(scope="module")
def labeled():
    world = World(seed=6, n_users=2_000, n_items=500, n_sellers=50)
    data = world.run(days=8).labeled_impressions()
    data["day"] = (data["shown_at"] - world.start).dt.days
    return data


def test_history_features_are_shrunk_counts(labeled):
    history = labeled[labeled.day < 6]
    features = HistoryFeatures(user_prior=10, item_prior=20).fit(history)
    rows = labeled[labeled.day >= 6].head(500)
    out = features.transform(rows)
    assert list(out.columns) == list(features.get_feature_names_out())
    # By hand for one row.
    r = rows.iloc[0]
    past = history[history.user_id == r.user_id]
    prior = history.clicked.mean()
    assert out["user_ctr"].iloc[0] == pytest.approx((past.clicked.sum() + 10 * prior) / (len(past) + 10))
    clicks_in_category = (past.clicked & (past.category == r.category)).sum()
    assert out["taste_share"].iloc[0] == pytest.approx((clicks_in_category + 0.1) / (past.clicked.sum() + 1))
    # Strangers look average.
    stranger = rows.head(1).assign(user_id=10**9, item_id=10**9)
    s = features.transform(stranger).iloc[0]
    assert s["user_ctr"] == pytest.approx(prior) and s["item_ctr"] == pytest.approx(prior)
    assert ((out[["user_ctr", "item_ctr", "taste_share"]] > 0) & (out[["user_ctr", "item_ctr"]].le(1))).all().all()


def test_history_features_follow_the_estimator_api(labeled):
    features = HistoryFeatures(user_prior=3.0)
    assert features.get_params() == {"user_prior": 3.0, "item_prior": 20.0, "time_column": "shown_at"}
    copy = clone(features)
    assert copy.get_params() == features.get_params() and not hasattr(copy, "prior_")
    with pytest.raises(RuntimeError, match="fitted"):
        features.transform(labeled.head(3))
    fitted = features.fit(labeled)
    assert fitted is features and features.n_impressions_ == len(labeled)


@pytest.mark.parametrize("bad, message", [
    (lambda d: HistoryFeatures(user_prior=0).fit(d), "user_prior must be a positive number"),
    (lambda d: HistoryFeatures().fit(d.drop(columns="clicked")), r"needs columns \['clicked'\]"),
    (lambda d: HistoryFeatures().fit(d.head(0)), "at least one impression"),
    (lambda d: HistoryFeatures().fit(d.to_numpy()), "needs a DataFrame"),
    (lambda d: context_features(d.drop(columns="price")), r"needs columns \['price'\]"),
    (lambda d: train_click_model(d.drop(columns="clicked"), HistoryFeatures().fit(d)), "labeled rows"),
])
def test_bad_input_is_named(labeled, bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        bad(labeled)


def test_context_features_have_fixed_categories(labeled):
    small = context_features(labeled.head(5))
    large = context_features(labeled)
    assert list(small.columns) == CONTEXT_COLUMNS
    for col in ("device", "user_region", "category"):
        assert list(small[col].cat.categories) == list(large[col].cat.categories)


def test_click_model_is_deterministic_and_learns(labeled):
    history, train, test = labeled[labeled.day < 4], labeled[labeled.day.between(4, 5)], labeled[labeled.day >= 6]
    features = HistoryFeatures().fit(history)
    a = train_click_model(train, features, max_iter=30).predict_proba(click_features(test, features))[:, 1]
    b = train_click_model(train, features, max_iter=30).predict_proba(click_features(test, features))[:, 1]
    np.testing.assert_array_equal(a, b)
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(test["clicked"], a) > 0.65


def test_fit_transform_does_not_see_the_future_through_the_prior():
    """Appending later rows to the history must not change any earlier row's features.

    The counts were point-in-time, but the rate they are shrunk toward was the click rate of
    all rows, later ones included (a leak found by review: 0.0275 became 0.0291 for rows with no
    history once a future block was appended)."""
    world = World(seed=433, n_users=1_500, n_items=400, n_sellers=40)
    rows = world.run(days=6).labeled_impressions().sort_values("shown_at", kind="stable").reset_index(drop=True)
    cut = rows["shown_at"].searchsorted(world.start + pd.Timedelta(days=3))
    early = HistoryFeatures().fit_transform(rows.iloc[:cut])
    # the future block clicks far more often than the past, so a leaking prior would move
    future = rows.iloc[cut:].assign(clicked=True)
    both = HistoryFeatures().fit_transform(pd.concat([rows.iloc[:cut], future], ignore_index=True))
    pd.testing.assert_frame_equal(both.iloc[:cut].reset_index(drop=True), early.reset_index(drop=True))
    # A row's prior is the click rate of the rows before it: check one by hand.
    i = cut // 2
    t = rows["shown_at"].iloc[i]
    past = rows.iloc[:cut][rows["shown_at"].iloc[:cut] < t]
    user_past = past[past["user_id"] == rows["user_id"].iloc[i]]
    expected = (user_past["clicked"].sum() + 10 * past["clicked"].mean()) / (len(user_past) + 10)
    assert early["user_ctr"].iloc[i] == pytest.approx(expected)
    # At the very first moment nothing is known: the prior is 0.5.
    first = rows["shown_at"] == rows["shown_at"].iloc[0]
    assert (early.loc[first.to_numpy()[:cut], "user_ctr"] == 0.5).all()


@pytest.mark.parametrize("splits", [(0, 6), (0, 3, 6), (0, 1, 2, 3, 4, 5, 6)])
def test_partial_fit_in_batches_equals_fit_on_all(labeled, splits):
    """Adding days one batch at a time gives the tables, prior and features of one fit on them all."""
    later = labeled[labeled.day >= 6]
    whole = HistoryFeatures().fit(labeled[labeled.day < 6])
    pieces = HistoryFeatures()
    for lo, hi in zip(splits, splits[1:]):
        pieces.partial_fit(labeled[(labeled.day >= lo) & (labeled.day < hi)])
    assert pieces.n_impressions_ == whole.n_impressions_ and pieces.prior_ == pytest.approx(whole.prior_, rel=1e-15)
    for name in ("users_", "items_"):
        pd.testing.assert_frame_equal(getattr(pieces, name).sort_index(), getattr(whole, name).sort_index(),
                                      check_dtype=False)
    pd.testing.assert_series_equal(pieces.user_category_.sort_index(), whole.user_category_.sort_index(),
                                   check_dtype=False, check_names=False)
    np.testing.assert_allclose(pieces.transform(later).to_numpy(), whole.transform(later).to_numpy(), rtol=1e-12)


def test_partial_fit_learns_what_arrives_and_refuses_bad_batches(labeled):
    first, second = labeled[labeled.day < 3], labeled[(labeled.day >= 3) & (labeled.day < 6)]
    features = HistoryFeatures().fit(first)
    newcomers = second[~second["user_id"].isin(first["user_id"])]
    assert len(newcomers) > 0
    before = features.transform(newcomers)["user_ctr"].to_numpy()
    assert np.allclose(before, features.prior_)  # no history yet: the overall rate
    features.partial_fit(second.iloc[:0])  # an empty batch changes nothing
    assert features.n_impressions_ == len(first)
    features.partial_fit(second)
    after = features.transform(newcomers)["user_ctr"].to_numpy()
    assert not np.allclose(after, features.prior_)  # their own clicks count now
    with pytest.raises(ValueError, match="clicked"):
        features.partial_fit(second.drop(columns="clicked"))
    assert features.n_impressions_ == len(first) + len(second)  # the refused batch left the counts as they were
