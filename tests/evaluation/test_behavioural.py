"""Behavioural tests: logistic regressions with known coefficient signs, and stubs for the by-hand cases."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from dmls.evaluation import BehaviouralResult, directional_test, invariance_test, perturbation_test

REGIONS = ["north", "south", "east"]


@pytest.fixture(scope="module")
def data():
    """Clicks that rise with rating, fall with price and are most likely in the north."""
    rng = np.random.default_rng(0)
    n = 2_000
    X = pd.DataFrame({"rating": rng.uniform(1, 5, n), "price": rng.lognormal(3, 0.5, n),
                      "region": pd.Categorical(rng.choice(REGIONS, n), categories=REGIONS)})
    logit = 1.2 * (X["rating"] - 3) - 0.05 * (X["price"] - 20) + 1.5 * (X["region"] == "north")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def model_on(columns, X, y):
    encode = ColumnTransformer([("region", OneHotEncoder(), ["region"])] * ("region" in columns)
                               + [("numbers", "passthrough", [c for c in columns if c != "region"])])
    return make_pipeline(encode, LogisticRegression()).fit(X, y)


@pytest.fixture(scope="module")
def blind(data):
    """Ignores region: it never sees the column."""
    return model_on(["rating", "price"], *data)


@pytest.fixture(scope="module")
def sighted(data):
    return model_on(["rating", "price", "region"], *data)


class Stub:
    """p = 0.5 + 0.4 sin(x): a model whose response to a shift is known row by row; records its inputs."""

    def __init__(self):
        self.seen = []

    def predict_proba(self, X):
        self.seen.append(X.copy())
        p = 0.5 + 0.4 * np.sin(np.nan_to_num(X["x"].to_numpy(dtype=float)))
        return np.column_stack([1 - p, p])


def stub_rows(n=500):
    rng = np.random.default_rng(3)
    return pd.DataFrame({"x": rng.uniform(-3, 3, n), "group": pd.Categorical(rng.choice(["a", "b"], n)),
                         "label": rng.choice(["u", "v"], n)})


# ---------------------------------------------------------------------------- invariance
def test_a_model_that_ignores_a_column_is_invariant_to_it(data, blind, sighted):
    X, _ = data
    result = invariance_test(blind, X, "region", REGIONS)
    assert isinstance(result, BehaviouralResult) and result.passed and result.failure_rate == 0
    assert result.test == "invariance: region" and result.mean_change == 0
    result = invariance_test(sighted, X, "region", REGIONS)
    assert not result.passed and result.failure_rate == 1 and result.mean_change > 0.1
    assert "2,000 of 2,000 rows (100.0%)" in result.detail
    assert invariance_test(sighted, X, "region", REGIONS, tolerance=1.0).passed
    assert invariance_test(sighted, X, "region", REGIONS, max_failure_rate=1.0).passed


def test_invariance_spread_by_hand():
    X, model = stub_rows(), Stub()
    result = invariance_test(model, X, "x", [0.0, np.pi / 2, -np.pi / 2], tolerance=0.5)
    assert result.mean_change == pytest.approx(0.8) and result.failure_rate == 1 and not result.passed
    assert invariance_test(model, X, "x", [0.0, np.pi], tolerance=1e-9).passed  # sin 0 = sin pi
    assert invariance_test(model, X, "label", ["u", "v"]).passed
    assert [str(seen["label"].unique()[0]) for seen in model.seen[-2:]] == ["u", "v"]


def test_categorical_columns_keep_their_categories():
    X, model = stub_rows(), Stub()
    invariance_test(model, X, "group", ["a", "b"])
    assert all(seen["group"].dtype == X["group"].dtype for seen in model.seen)
    with pytest.raises(ValueError, match="'c' is not one of the categories of column 'group'"):
        invariance_test(model, X, "group", ["a", "c"])


# ---------------------------------------------------------------------------- directional
@pytest.mark.parametrize("column, delta, expect", [("rating", 0.5, "increase"), ("rating", -0.5, "decrease"),
                                                   ("price", 10, "decrease"), ("price", -5.0, "increase")])
def test_directional_expectations_that_hold_pass_and_their_opposites_fail(data, sighted, column, delta, expect):
    X, _ = data
    result = directional_test(sighted, X, column, delta, expect=expect)
    assert result.passed and result.failure_rate == 0 and result.test == f"directional: {column} {delta:+g}"
    assert (result.mean_change > 0) is (expect == "increase")
    opposite = "decrease" if expect == "increase" else "increase"
    wrong = directional_test(sighted, X, column, delta, expect=opposite)
    assert not wrong.passed and wrong.failure_rate == 1 and wrong.mean_change == result.mean_change


def test_directional_with_a_value_instead_of_a_shift(data, sighted):
    X, _ = data
    result = directional_test(sighted, X, "region", "north")
    # Rows already in the north do not move, which is no failure.
    assert result.passed and result.test == "directional: region = 'north'" and result.mean_change > 0
    assert not directional_test(sighted, X, "region", "south", expect="increase").passed


def test_directional_failure_rate_and_tolerance_by_hand():
    X, model = stub_rows(), Stub()
    change = 0.4 * (np.sin(X["x"] + 0.3) - np.sin(X["x"]))
    result = directional_test(model, X, "x", 0.3, max_failure_rate=0.5)
    assert result.failure_rate == pytest.approx((change < 0).mean()) and 0 < result.failure_rate < 0.5
    assert result.passed and result.mean_change == pytest.approx(change.mean())
    assert "moved down by more than 0.0 when x +0.3" in result.detail
    loose = directional_test(model, X, "x", 0.3, tolerance=0.05)
    assert loose.failure_rate == pytest.approx((change < -0.05).mean())
    assert loose.failure_rate < result.failure_rate
    down = directional_test(model, X, "x", 0.3, expect="decrease", tolerance=0.05)
    assert down.failure_rate == pytest.approx((change > 0.05).mean())


# ---------------------------------------------------------------------------- perturbation
def test_no_noise_changes_nothing(data, sighted):
    X, _ = data
    result = perturbation_test(sighted, X, "price", 0.0)
    assert result.passed and result.failure_rate == 0 and result.mean_change == 0
    assert result.test == "perturbation: price"


def test_small_noise_passes_and_large_noise_fails(data, sighted):
    X, _ = data
    small = perturbation_test(sighted, X, "rating", 0.01)
    large = perturbation_test(sighted, X, "rating", 2.0)
    assert small.passed and small.failure_rate == 0 and 0 < small.mean_change < 0.01
    assert not large.passed and large.failure_rate > 0.5 and large.mean_change > 0.1
    again = perturbation_test(sighted, X, "rating", 2.0)
    other = perturbation_test(sighted, X, "rating", 2.0, random_state=1)
    assert again == large and other.mean_change != large.mean_change
    lenient = perturbation_test(sighted, X, "rating", 2.0, tolerance=1.0)
    assert lenient.passed and lenient.failure_rate == 0


def test_perturbation_by_hand_with_missing_values():
    X, model = stub_rows(), Stub()
    X.loc[:9, "x"] = np.nan
    result = perturbation_test(model, X, "x", 0.5, tolerance=0.1, random_state=7)
    noisy = model.seen[0]["x"]
    assert noisy.isna().sum() == 10 and noisy[:10].isna().all()
    expected = X["x"] + np.random.default_rng(7).normal(0, 0.5, len(X))
    pd.testing.assert_series_equal(noisy, expected)
    change = np.abs(0.4 * (np.sin(np.nan_to_num(expected)) - np.sin(np.nan_to_num(X["x"]))))
    assert result.failure_rate == pytest.approx((change > 0.1).mean())
    assert result.mean_change == pytest.approx(change.mean())
    assert result.passed is (result.failure_rate <= 0.05)


def test_no_test_changes_its_input(data, sighted):
    X, _ = data
    before = X.copy()
    perturbation_test(sighted, X, "price", 5.0)
    invariance_test(sighted, X, "region", REGIONS)
    directional_test(sighted, X, "rating", 1.0)
    directional_test(sighted, X, "region", "east")
    pd.testing.assert_frame_equal(X, before)


def test_result_is_frozen():
    result = BehaviouralResult("t", True, 0.0, 0.0, "fine")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.passed = False


class NoProba:
    def predict(self, X):
        return np.zeros(len(X))


class Multiclass:
    def predict_proba(self, X):
        return np.full((len(X), 3), 1 / 3)


@pytest.mark.parametrize("call, error, message", [
    (lambda X, m: perturbation_test(m, X, "y", 1.0), ValueError, "X has no column 'y'"),
    (lambda X, m: invariance_test(m, X, "y", [1, 2]), ValueError, "X has no column 'y'"),
    (lambda X, m: directional_test(m, X, "y", 1.0), ValueError, "X has no column 'y'"),
    (lambda X, m: perturbation_test(m, X.head(0), "x", 1.0), ValueError, "X is empty"),
    (lambda X, m: perturbation_test(m, X.to_numpy(), "x", 1.0), TypeError, "X must be a DataFrame"),
    (lambda X, m: perturbation_test(NoProba(), X, "x", 1.0), TypeError, "model must have a predict_proba method"),
    (lambda X, m: invariance_test(NoProba(), X, "x", [1, 2]), TypeError, "model must have a predict_proba"),
    (lambda X, m: perturbation_test(Multiclass(), X, "x", 1.0), ValueError, r"must return shape \(500, 2\)"),
    (lambda X, m: perturbation_test(m, X, "x", -1.0), ValueError, "noise must be >= 0, got -1.0"),
    (lambda X, m: perturbation_test(m, X, "label", 1.0), TypeError, "column 'label' must be numeric"),
    (lambda X, m: directional_test(m, X, "group", 1), TypeError, "column 'group' must be numeric"),
    (lambda X, m: perturbation_test(m, X, "x", 1.0, tolerance=-0.1), ValueError, "tolerance must be >= 0"),
    (lambda X, m: perturbation_test(m, X, "x", 1.0, max_failure_rate=2), ValueError, r"max_failure_rate must be in"),
    (lambda X, m: invariance_test(m, X, "x", [1.0]), ValueError, "values must hold at least two values"),
    (lambda X, m: directional_test(m, X, "x", 1.0, expect="up"), ValueError, "expect must be one of .* got 'up'"),
])
def test_bad_behavioural_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call(stub_rows(), Stub())
