"""Baselines: the popularity heuristic by hand and beside scikit-learn's dummies, and the score table."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone, is_classifier
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

import dmls.evaluation
from dmls.evaluation import PopularityBaseline, baseline_scores


def item_clicks(n=4_000, n_items=40, seed=0):
    """Impressions of items whose click rates run from 2% to 40%."""
    rng = np.random.default_rng(seed)
    items = rng.integers(0, n_items, n)
    rate = 0.02 + 0.38 * items / (n_items - 1)
    return pd.DataFrame({"item_id": items, "position": rng.integers(1, 10, n)}), (rng.random(n) < rate).astype(int)


def test_package_exports_what_it_documents():
    assert sorted(dmls.evaluation.__all__) == sorted(
        ["BehaviouralResult", "PopularityBaseline", "baseline_scores", "compare_on_slices", "confidence_for_coverage",
         "directional_test", "expected_calibration_error", "invariance_test", "perturbation_test",
         "reliability_table", "selective_prediction", "slice_report", "Interval", "SeedRuns", "difference_interval",
         "interval_table", "mean_interval", "metric_interval", "repeat_over_seeds",
         "ece_interval", "independent_difference", "random_baselines", "slice_differences",
         "AUCComparison", "average_precision", "clear_kept_counts", "compare_aucs", "roc_auc", "format_number"])
    assert all(hasattr(dmls.evaluation, name) for name in dmls.evaluation.__all__)


# ---------------------------------------------------------------------------- PopularityBaseline
def test_smoothed_rates_by_hand():
    X = pd.DataFrame({"item_id": ["a", "a", "a", "b", "c", "c"]})
    y = [1, 1, 0, 0, 0, 1]  # base rate 1/2
    model = PopularityBaseline(prior_strength=2).fit(X, y)
    assert model.base_rate_ == 0.5 and list(model.classes_) == [0, 1]
    expected = {"a": (2 + 1) / (3 + 2), "b": (0 + 1) / (1 + 2), "c": (1 + 1) / (2 + 2)}
    assert model.rates_.to_dict() == pytest.approx(expected)
    assert model.rates_.index.name == "item_id" and model.counts_.to_dict() == {"a": 3, "b": 1, "c": 2}
    proba = model.predict_proba(pd.DataFrame({"item_id": ["b", "zzz", "a", None]}))
    assert proba[:, 1] == pytest.approx([1 / 3, 0.5, 0.6, 0.5])  # unseen and missing items get the base rate
    assert proba.sum(axis=1) == pytest.approx(1)
    assert list(model.predict(pd.DataFrame({"item_id": ["a", "b", "new"]}))) == [1, 0, 1]  # 0.5 counts as positive


def test_zero_prior_gives_raw_rates_and_a_strong_prior_the_base_rate():
    X, y = item_clicks()
    raw = pd.Series(y).groupby(X["item_id"].to_numpy()).mean()
    assert PopularityBaseline(prior_strength=0).fit(X, y).rates_.to_numpy() == pytest.approx(raw.to_numpy())
    strong = PopularityBaseline(prior_strength=1e9).fit(X, y)
    assert strong.rates_.to_numpy() == pytest.approx(np.full(len(raw), y.mean()), abs=1e-6)


@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=2, max_size=60),
       st.floats(0, 100, allow_nan=False))
def test_every_rate_lies_between_its_raw_rate_and_the_base_rate(rows, prior_strength):
    items, clicks = zip(*rows)
    y = np.array(clicks, dtype=int)
    if len(set(y)) < 2:
        return
    model = PopularityBaseline(prior_strength=prior_strength).fit(pd.DataFrame({"item_id": items}), y)
    raw = pd.Series(y).groupby(np.array(items)).mean()
    low, high = np.minimum(raw, model.base_rate_), np.maximum(raw, model.base_rate_)
    assert ((model.rates_ >= low - 1e-12) & (model.rates_ <= high + 1e-12)).all()


def test_labels_other_than_0_1_and_another_column():
    X = pd.DataFrame({"seller": [7, 7, 8, 8, 8], "other": 0})
    model = PopularityBaseline(column="seller", prior_strength=0).fit(X, ["yes", "yes", "no", "no", "yes"])
    assert list(model.classes_) == ["no", "yes"]
    assert model.predict_proba(X.head(3))[:, 1] == pytest.approx([1, 1, 1 / 3])
    assert list(model.predict(X.head(3))) == ["yes", "yes", "no"]


def test_is_a_scikit_learn_classifier():
    X, y = item_clicks()
    model = PopularityBaseline(prior_strength=5)
    assert is_classifier(model)
    copy = clone(model).set_params(column="position")
    assert copy.get_params() == {"column": "position", "prior_strength": 5}
    assert copy.fit(X, y).rates_.index.name == "position"
    assert model.fit(X, y).score(X, y) == pytest.approx(((model.predict_proba(X)[:, 1] >= 0.5) == y).mean())


def test_beats_the_random_and_zero_rule_baselines():
    X, y = item_clicks(seed=1)
    X_test, y_test = item_clicks(seed=2)
    predictions = {name: model.fit(X, y).predict_proba(X_test)[:, 1] for name, model in {
        "random": DummyClassifier(strategy="stratified", random_state=0),
        "zero rule": DummyClassifier(strategy="prior"),
        "popularity": PopularityBaseline(),
    }.items()}
    scores = baseline_scores(y_test, predictions)
    assert scores.loc["zero rule", "ROC AUC"] == 0.5 and abs(scores.loc["random", "ROC AUC"] - 0.5) < 0.05
    assert scores.loc["popularity", "ROC AUC"] > 0.65
    assert scores["log loss"].idxmin() == scores["Brier"].idxmin() == "popularity"


def test_fit_does_not_change_its_input():
    X, y = item_clicks(n=200)
    before = X.copy()
    PopularityBaseline().fit(X, y).predict_proba(X)
    pd.testing.assert_frame_equal(X, before)


@pytest.mark.parametrize("call, error, message", [
    (lambda X, y: PopularityBaseline(column="user_id").fit(X, y), ValueError, "X has no column 'user_id'"),
    (lambda X, y: PopularityBaseline().fit(X.to_numpy(), y), TypeError, "X must be a DataFrame"),
    (lambda X, y: PopularityBaseline(prior_strength=-1).fit(X, y), ValueError, "prior_strength must be >= 0"),
    (lambda X, y: PopularityBaseline(prior_strength=np.nan).fit(X, y), ValueError, "prior_strength must be >= 0"),
    (lambda X, y: PopularityBaseline().fit(X.head(0), y[:0]), ValueError, "X is empty"),
    (lambda X, y: PopularityBaseline().fit(X, y[:-1]), ValueError, r"one label per row of X \(50\)"),
    (lambda X, y: PopularityBaseline().fit(X, np.zeros(50)), ValueError, "y must be binary, it has 1"),
    (lambda X, y: PopularityBaseline().fit(X, np.arange(50) % 3), ValueError, "y must be binary, it has 3"),
    (lambda X, y: PopularityBaseline().fit(X, y).predict_proba(X[["position"]]), ValueError, "no column 'item_id'"),
    (lambda X, y: PopularityBaseline().predict_proba(X), NotFittedError, "not fitted"),
])
def test_bad_popularity_input_is_named(call, error, message):
    X, y = item_clicks(n=50)
    with pytest.raises(error, match=message):
        call(X, y)


# ---------------------------------------------------------------------------- baseline_scores
def test_scores_are_scikit_learns_in_the_order_given():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    predictions = {"noisy": np.clip(y * 0.6 + rng.random(300) * 0.4, 0, 1), "coin": rng.random(300),
                   "constant": np.full(300, 0.3)}
    scores = baseline_scores(pd.Series(y.astype(bool)), predictions)
    assert list(scores.index) == ["noisy", "coin", "constant"] and scores.index.name == "model"
    assert list(scores.columns) == ["ROC AUC", "log loss", "Brier"]
    for name, p in predictions.items():
        assert scores.loc[name, "ROC AUC"] == pytest.approx(roc_auc_score(y, p))
        assert scores.loc[name, "log loss"] == pytest.approx(log_loss(y, p))
        assert scores.loc[name, "Brier"] == pytest.approx(brier_score_loss(y, p))
    assert scores.loc["constant", "ROC AUC"] == 0.5


def test_one_class_labels_give_nan_auc_but_losses():
    scores = baseline_scores([0, 0, 0], {"low": [0.1, 0.2, 0.0]})
    assert np.isnan(scores.loc["low", "ROC AUC"])
    assert scores.loc["low", "Brier"] == pytest.approx((0.01 + 0.04) / 3)
    assert scores.loc["low", "log loss"] == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(1 - 1e-15)) / 3,
                                                          abs=1e-6)


@pytest.mark.parametrize("y, predictions, error, message", [
    ([0, 1, 1], {"a": [0.2, 0.5]}, ValueError, r"predictions\['a'\] has 2 values but y_true has 3"),
    ([0, 1], {"a": [0.2, 1.5]}, ValueError, r"predictions\['a'\] must hold probabilities in \[0, 1\]"),
    ([0, 1], {"a": [0.2, np.nan]}, ValueError, "no NaN"),
    ([0, 1], {"a": [[0.8, 0.2], [0.3, 0.7]]}, ValueError, r"must be 1-d, the positive-class probability"),
    ([0, 2], {"a": [0.2, 0.5]}, ValueError, "y_true must hold binary labels"),
    (["no", "yes"], {"a": [0.2, 0.5]}, ValueError, "y_true must hold binary labels"),
    ([], {"a": []}, ValueError, "y_true is empty"),
    ([0, 1], {}, ValueError, "predictions is empty"),
    ([0, 1], [0.2, 0.5], TypeError, "predictions must be a dict"),
])
def test_bad_score_input_is_named(y, predictions, error, message):
    with pytest.raises(error, match=message):
        baseline_scores(y, predictions)
