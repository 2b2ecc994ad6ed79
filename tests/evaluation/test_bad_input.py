"""Bad input to the evaluation functions fails at the boundary, naming the parameter (issue: input validation).

Each call here was accepted silently, or failed deep inside numpy/pandas, before the checks were added.
"""
import numpy as np
import pandas as pd
import pytest

from dmls.evaluation import (PopularityBaseline, compare_on_slices, confidence_for_coverage, directional_test,
                             invariance_test, perturbation_test, reliability_table, selective_prediction,
                             slice_report)

RNG = np.random.default_rng(917)
Y = RNG.integers(0, 2, 30)
P = RNG.random(30)
X = pd.DataFrame({"item_id": RNG.integers(0, 5, 30), "x": RNG.normal(size=30), "grp": RNG.choice(["a", "b"], 30)})


class Logistic:
    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-X["x"].to_numpy(dtype=float)))
        return np.column_stack([1 - p, p])


class ReturnsNaN:
    def predict_proba(self, X):
        return np.full((len(X), 2), np.nan)


M = Logistic()


@pytest.mark.parametrize("call, error, message", [
    (lambda: PopularityBaseline(prior_strength=np.inf).fit(X, Y), ValueError, "prior_strength must be finite"),
    (lambda: PopularityBaseline(prior_strength="20").fit(X, Y), TypeError, "prior_strength must be a number"),
    (lambda: PopularityBaseline(prior_strength=True).fit(X, Y), TypeError, "prior_strength must be a number"),
    (lambda: PopularityBaseline(column=["item_id"]).fit(X, Y), TypeError, "column must be a column name"),
])
def test_bad_baseline_parameters_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda: perturbation_test(M, X, "x", float("inf")), ValueError, "noise must be finite"),
    (lambda: perturbation_test(M, X, "x", "1"), TypeError, "noise must be a number"),
    (lambda: perturbation_test(M, X, "x", True), TypeError, "noise must be a number"),
    (lambda: perturbation_test(M, X, "x", 1.0, tolerance=np.inf), ValueError, "tolerance must be finite"),
    (lambda: perturbation_test(M, X, "x", 1.0, tolerance="0.1"), TypeError, "tolerance must be a number"),
    (lambda: perturbation_test(M, X, "x", 1.0, max_failure_rate="0.1"), TypeError,
     r"max_failure_rate must be a number in \[0, 1\]"),
    (lambda: perturbation_test(M, X, "x", 1.0, random_state=1.5), TypeError, "random_state must be an integer"),
    (lambda: perturbation_test(M, X, "x", 1.0, random_state=-1), ValueError, "random_state must be >= 0"),
    (lambda: perturbation_test(M, X, ["x"], 1.0), TypeError, "column must be a column name"),
    (lambda: perturbation_test(ReturnsNaN(), X, "x", 1.0), ValueError, "model.predict_proba must return probabilities"),
    (lambda: perturbation_test(M, X.assign(x=np.inf), "x", 1.0), ValueError, "column 'x' holds 30 infinite values"),
    (lambda: directional_test(M, X, "x", float("nan")), ValueError, "delta must be finite"),
    (lambda: directional_test(M, X, "x", float("inf")), ValueError, "delta must be finite"),
    (lambda: directional_test(M, X, "x", 1j), TypeError, "delta must be a real number"),
    (lambda: invariance_test(M, X, "x", 5), TypeError, "values must be a list of values"),
    (lambda: invariance_test(M, X, "grp", "ab"), TypeError, "values must be a list of values"),
    (lambda: invariance_test(M, X, "x", [1.0, 1.0]), ValueError, "values must hold at least two distinct values"),
])
def test_bad_behavioural_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_behavioural_tests_still_take_a_generator_and_integer_noise():
    result = perturbation_test(M, X, "x", 1, random_state=np.random.default_rng(917))
    assert "noise of std 1 on x" in result.detail


@pytest.mark.parametrize("call, error, message", [
    (lambda: reliability_table(Y, P, n_bins=2**64), ValueError, "n_bins must be at most 1,000,000"),
    (lambda: reliability_table(Y, P, n_bins=10**13), ValueError, "n_bins must be at most 1,000,000"),
    (lambda: selective_prediction(Y, P, True), TypeError, "thresholds must be numbers"),
    (lambda: selective_prediction(Y, P, [True, False]), TypeError, "thresholds must be numbers"),
    (lambda: selective_prediction(Y, P, None), TypeError, "thresholds must be numbers"),
    (lambda: confidence_for_coverage(P, "0.5"), TypeError, r"coverage must be a number in \(0, 1\]"),
    (lambda: confidence_for_coverage(P, True), TypeError, r"coverage must be a number in \(0, 1\]"),
    (lambda: confidence_for_coverage(P, [0.5]), TypeError, r"coverage must be a number in \(0, 1\]"),
])
def test_bad_calibration_and_confidence_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda: slice_report(Y, P, X["grp"], name=5), TypeError, "name must be a string"),
    (lambda: compare_on_slices(Y, P, P, X["grp"], metric=["ROC AUC"]), TypeError, "metric must be one of"),
    (lambda: compare_on_slices(Y, P, P, X["grp"], names="AB"), TypeError, "names must be a tuple of two strings"),
    (lambda: compare_on_slices(Y, P, P, X["grp"], names=(1, 2)), TypeError, "names must be a tuple of two strings"),
    (lambda: compare_on_slices(Y, P, P, X["grp"], names=None), TypeError, "names must be a tuple of two strings"),
    (lambda: compare_on_slices(Y, P, P, X["grp"], names=("better", "b")), ValueError,
     "names must be two different names .*'better'"),
])
def test_bad_slice_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
