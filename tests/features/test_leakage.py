"""Leakage checks: time order, duplicates and groups across a split, too-good single features."""
import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from dmls.features import (Finding, check_time_split, cross_split_duplicates, group_overlap, leakage_report,
                           single_feature_power, time_split)
from dmls.world import DuplicateEvents, World


@pytest.fixture(scope="module")
def impressions():
    """Two days of raw impressions, 5% of them logged twice (identical rows, ids included)."""
    world = World(seed=0, n_users=1_000, n_items=300, n_sellers=30, scenarios=[DuplicateEvents(onset=0, rate=0.05)])
    rows = world.run(days=2).impressions
    assert rows["impression_id"].duplicated().sum() > 100
    return rows


def random_split(frame, seed=0, test_share=0.3):
    test = np.random.default_rng(seed).random(len(frame)) < test_share
    return frame[~test], frame[test]


# ---------------------------------------------------------------------------- time order
def test_time_split_passes_and_random_split_fails(impressions):
    train, test = time_split(impressions, "shown_at", test_size=0.25)
    assert len(train) + len(test) == len(impressions)
    assert train["shown_at"].max() <= test["shown_at"].min()
    finding = check_time_split(train, test, "shown_at")
    assert isinstance(finding, Finding) and finding.passed and finding.value == 0 and finding.check == "time order"

    train, test = random_split(impressions)
    newest = train["shown_at"].max()
    by_hand = sum(t < newest for t in test["shown_at"]) / len(test)
    finding = check_time_split(train, test, "shown_at")
    assert not finding.passed and 0 < finding.value == pytest.approx(by_hand, abs=1e-15)
    assert f"{by_hand:.1%}" in finding.detail


def test_time_split_keeps_ties_on_one_side():
    frame = pd.DataFrame({"t": np.repeat(np.arange(10), 10), "x": np.arange(100)}).sample(frac=1, random_state=0)
    for test_size in (0.05, 0.25, 0.33, 0.5, 0.77):
        train, test = time_split(frame, "t", test_size=test_size)
        assert not set(train["t"]) & set(test["t"])
        assert train["t"].max() < test["t"].min() and len(train) + len(test) == 100
        assert check_time_split(train, test, "t").passed
    # A tie at the boundary moves the whole tie to the test side: 25% asked, 30% given.
    assert len(time_split(frame, "t", test_size=0.25)[1]) == 30
    # Rows exactly as old as the newest training row do not count as older.
    assert check_time_split(frame[frame.t <= 5], frame[frame.t >= 5], "t").value == 0


@pytest.mark.parametrize("n, test_size, expected", [
    (10, 0.2, 2), (100, 0.3, 30), (7, 0.5, 4), (20, 0.25, 5),
    (10, 0.8, 8),
    (100, 0.9, 90),
    (10, 0.9, 9),
])
def test_time_split_size_with_distinct_times(n, test_size, expected):
    train, test = time_split(pd.DataFrame({"t": np.arange(n)}), "t", test_size=test_size)
    assert len(test) == expected and len(train) == n - expected


@pytest.mark.parametrize("call, error, message", [
    (lambda f: time_split(f.to_numpy(), "t"), TypeError, "frame must be a DataFrame"),
    (lambda f: time_split(f, "when"), ValueError, "frame has no column 'when'"),
    (lambda f: time_split(f, "t", test_size=0), ValueError, "test_size must be between 0 and 1"),
    (lambda f: time_split(f, "t", test_size=1), ValueError, "test_size must be between 0 and 1"),
    (lambda f: time_split(f, "t", test_size=1.5), ValueError, "test_size must be between 0 and 1"),
    (lambda f: time_split(f, "t", test_size=-0.2), ValueError, "test_size must be between 0 and 1"),
    (lambda f: time_split(f.head(1), "t"), ValueError, "at least two rows"),
    (lambda f: time_split(f.assign(t=7), "t"), ValueError, "all rows share the time 7"),
    (lambda f: check_time_split(f, f.head(0), "t"), ValueError, "both have rows"),
    (lambda f: check_time_split(f, f, "when"), ValueError, "train has no column 'when'"),
    (lambda f: check_time_split(f, f.to_numpy(), "t"), TypeError, "test must be a DataFrame"),
])
def test_bad_time_split_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call(pd.DataFrame({"t": np.arange(20), "u": np.arange(20) % 3}))


# ---------------------------------------------------------------------------- duplicates and groups
def test_duplicates_across_a_random_split_are_found(impressions):
    train, test = random_split(impressions, seed=1)
    by_hand = test["impression_id"].isin(set(train["impression_id"])).mean()  # a duplicate keeps its id
    assert by_hand > 0
    finding = cross_split_duplicates(train, test)
    assert not finding.passed and finding.value == pytest.approx(by_hand)
    assert finding.check == "duplicates across splits"
    assert cross_split_duplicates(train, test, columns=["impression_id"]).value == pytest.approx(by_hand)


def test_no_duplicates_between_disjoint_frames(impressions):
    unique = impressions.drop_duplicates()
    train, test = random_split(unique, seed=2)
    finding = cross_split_duplicates(train, test)
    assert finding.passed and finding.value == 0 and "no test row" in finding.detail


def test_duplicates_by_hand_on_chosen_columns():
    train = pd.DataFrame({"user": [1, 2, 3, 3], "item": [10, 20, 30, 31], "age": [30.0, np.nan, 40.0, 41.0]})
    test = pd.DataFrame({"user": [1, 2, 3, 4, 3], "item": [10, 20, 31, 10, 32],
                         "age": [30.0, np.nan, 99.0, 30.0, 40.0]})
    # On all shared columns: (1, 10, 30) and (2, 20, NaN) are copies; missing equals missing.
    assert cross_split_duplicates(train, test).value == pytest.approx(2 / 5)
    assert cross_split_duplicates(train, test, columns=["user", "item"]).value == pytest.approx(3 / 5)
    assert cross_split_duplicates(train, test, columns=["user"]).value == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="test has no column 'price'"):
        cross_split_duplicates(train.assign(price=1), test, columns=["price"])
    with pytest.raises(ValueError, match="at least one shared column"):
        cross_split_duplicates(train, test.head(0))
    with pytest.raises(ValueError, match="at least one shared column"):
        cross_split_duplicates(train[["user"]], test[["item"]])


def test_group_overlap_share_by_hand(impressions):
    train, test = time_split(impressions, "shown_at", test_size=0.3)
    by_hand = sum(u in set(train["user_id"]) for u in test["user_id"]) / len(test)
    finding = group_overlap(train, test, "user_id")
    assert finding.check == "user_id overlap" and finding.value == pytest.approx(by_hand)
    assert finding.passed is (by_hand == 0)
    assert group_overlap(train, test, "user_id", max_share=by_hand).passed
    assert not group_overlap(train, test, "user_id", max_share=by_hand - 0.01).passed
    small_train, small_test = pd.DataFrame({"g": ["a", "b"]}), pd.DataFrame({"g": ["a", "c", "c", "b"]})
    assert group_overlap(small_train, small_test, "g").value == 0.5
    with pytest.raises(ValueError, match="test must have rows"):
        group_overlap(small_train, small_test.head(0), "g")
    with pytest.raises(ValueError, match="no column 'user'"):
        group_overlap(small_train, small_test, "user")


def test_finding_is_frozen():
    finding = Finding("x", True, 0.0, "fine")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.passed = False


def test_leakage_report_has_one_row_per_applicable_check(impressions):
    train, test = random_split(impressions)
    only_duplicates = leakage_report(train, test)
    assert list(only_duplicates.index) == ["duplicates across splits"]
    full = leakage_report(train, test, time_column="shown_at", group="user_id", duplicate_columns=["impression_id"])
    assert list(full.index) == ["time order", "duplicates across splits", "user_id overlap"]
    assert list(full.columns) == ["passed", "value", "detail"]
    assert full.loc["time order", "value"] == check_time_split(train, test, "shown_at").value
    assert full.loc["duplicates across splits", "value"] == cross_split_duplicates(train, test, ["impression_id"]).value
    assert not full["passed"].any()
    clean_train, clean_test = time_split(impressions.drop_duplicates(), "shown_at")
    clean = leakage_report(clean_train, clean_test, time_column="shown_at")
    assert clean["passed"].all() and len(clean) == 2


# ---------------------------------------------------------------------------- single feature power
N = 4_000


@pytest.fixture(scope="module")
def labeled_features():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N)
    X = pd.DataFrame({
        "leak": y + rng.normal(0, 0.4, N),  # a noisy copy of the label
        "anti": -y + rng.normal(0, 0.4, N),  # the same, reversed
        "noise": rng.normal(size=N),
        "with_nan": np.where(rng.random(N) < 0.3, np.nan, y + rng.normal(0, 0.4, N)),
        "label_as_text": np.where(y == 1, "clicked", "skipped"),
        "text_noise": rng.choice(["a", "b", "c", "d", "e"], N),
        "label_as_category": pd.Categorical(np.where(y == 1, "yes", "no")),
        "text_with_missing": np.where(rng.random(N) < 0.2, None, np.where(y == 1, "p", "q")),
        "constant": 1.0,
    })
    return X, y


def test_single_feature_power_flags_label_copies_not_noise(labeled_features):
    X, y = labeled_features
    table = single_feature_power(X, y)
    assert list(table.columns) == ["auc", "missing", "suspicious"] and set(table.index) == set(X.columns)
    assert table["auc"].is_monotonic_decreasing and table["auc"].between(0.5, 1).all()
    for leak in ("leak", "anti", "label_as_text", "label_as_category"):
        assert table.loc[leak, "suspicious"] and table.loc[leak, "auc"] >= 0.8
    assert table.loc["label_as_text", "auc"] == 1.0 and table.loc["label_as_category", "auc"] == 1.0
    assert table.loc["anti", "auc"] > 0.9  # folded: reversed is as telling as straight
    # AUC of pure noise: standard error sqrt((n+1) / (12 n0 n1)) ~ 0.009 here; allow 4 of them.
    n1 = y.sum()
    tolerance = 4 * np.sqrt((N + 1) / (12 * n1 * (N - n1)))
    for noise in ("noise", "text_noise"):
        assert not table.loc[noise, "suspicious"] and table.loc[noise, "auc"] - 0.5 < tolerance
    assert table.loc["constant", "auc"] == 0.5 and not table.loc["constant", "suspicious"]


def test_single_feature_power_with_missing_values(labeled_features):
    X, y = labeled_features
    table = single_feature_power(X[["with_nan", "text_with_missing", "noise"]], y)
    assert table.loc["with_nan", "missing"] == pytest.approx(X["with_nan"].isna().mean())
    assert table.loc["text_with_missing", "missing"] == pytest.approx(X["text_with_missing"].isna().mean())
    assert table.loc["noise", "missing"] == 0
    # 30% imputed with the median still separates the rest: about 0.7 * 1 + 0.3 * 0.5 = 0.85.
    assert table.loc["with_nan", "auc"] > 0.8 and table.loc["with_nan", "suspicious"]
    assert table.loc["text_with_missing", "suspicious"]
    all_missing = single_feature_power(pd.DataFrame({"empty": np.full(N, np.nan)}), y)
    assert all_missing.loc["empty", "auc"] == 0.5 and all_missing.loc["empty", "missing"] == 1


def test_single_feature_power_threshold_and_labels(labeled_features):
    X, y = labeled_features
    strict = single_feature_power(X[["leak", "with_nan"]], y, threshold=0.95)
    assert strict.loc["leak", "suspicious"] and not strict.loc["with_nan", "suspicious"]
    named = single_feature_power(X[["leak", "label_as_text"]], np.where(y == 1, "click", "skip"))
    pd.testing.assert_frame_equal(named, single_feature_power(X[["leak", "label_as_text"]], y))


def test_single_feature_power_uses_no_deprecated_api_and_is_reproducible(labeled_features):
    X, y = labeled_features
    columns = ["label_as_text", "text_noise", "text_with_missing"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # e.g. TargetEncoder(random_state=...), deprecated in 1.9
        warnings.simplefilter("error", DeprecationWarning)
        first = single_feature_power(X[columns], y, random_state=3)
    pd.testing.assert_frame_equal(single_feature_power(X[columns], y, random_state=3), first)


@pytest.mark.parametrize("call, error, message", [
    (lambda X, y: single_feature_power(X.to_numpy(), y), TypeError, "X must be a DataFrame"),
    (lambda X, y: single_feature_power(X, y[:-1]), ValueError, "one label per row"),
    (lambda X, y: single_feature_power(X, y.reshape(-1, 1)), ValueError, "one label per row"),
    (lambda X, y: single_feature_power(X, np.zeros(len(y))), ValueError, "must be binary, it has 1"),
    (lambda X, y: single_feature_power(X, np.arange(len(y)) % 3), ValueError, "must be binary, it has 3"),
    (lambda X, y: single_feature_power(X, y, threshold=0.5), ValueError, "threshold must be in"),
    (lambda X, y: single_feature_power(X, y, threshold=1.01), ValueError, "threshold must be in"),
    (lambda X, y: leakage_report(X, X, time_column="when"), ValueError, "no column 'when'"),
    (lambda X, y: leakage_report(X, X, group="user"), ValueError, "no column 'user'"),
    (lambda X, y: group_overlap(X, X.to_numpy(), "leak"), TypeError, "test must be a DataFrame"),
])
def test_bad_input_is_named(labeled_features, call, error, message):
    X, y = labeled_features
    with pytest.raises(error, match=message):
        call(X[["leak", "noise"]], y)
