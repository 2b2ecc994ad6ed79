"""Confidence measurement: coverage and accuracy by threshold, and the threshold for a coverage."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmls.evaluation import confidence_for_coverage, selective_prediction

# Confidences 0.9, 0.8, 0.6, 0.55, 0.99; right, right, wrong, wrong, right.
Y, P = [1, 0, 0, 1, 1], [0.9, 0.2, 0.6, 0.45, 0.99]


def test_selective_prediction_by_hand():
    table = selective_prediction(Y, P, [0.5, 0.7, 0.95, 1.0, 0.6])
    assert list(table.columns) == ["threshold", "coverage", "accuracy", "n kept"]
    assert list(table["threshold"]) == [0.5, 0.7, 0.95, 1.0, 0.6]  # in the order given
    assert list(table["n kept"]) == [5, 3, 1, 0, 4]  # a confidence equal to the threshold is kept
    assert table["coverage"].to_numpy() == pytest.approx([1, 0.6, 0.2, 0, 0.8])
    assert table["accuracy"].to_numpy()[[0, 1, 2, 4]] == pytest.approx([0.6, 1, 1, 0.75])
    assert np.isnan(table.loc[3, "accuracy"])  # nothing kept


def test_a_half_is_a_positive_prediction_and_a_single_threshold_is_enough():
    table = selective_prediction([1, 0], [0.5, 0.5], 0.5)
    assert len(table) == 1 and table.loc[0, "accuracy"] == 0.5 and table.loc[0, "n kept"] == 2
    assert selective_prediction([True, False], [1.0, 0.0], [1.0]).loc[0, "accuracy"] == 1


def test_a_calibrated_model_gets_more_accurate_as_coverage_falls():
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(int)
    table = selective_prediction(y, p, [0.5, 0.6, 0.7, 0.8, 0.9])
    assert np.all(np.diff(table["coverage"]) < 0) and np.all(np.diff(table["accuracy"]) > 0)
    # Confidence is uniform on [0.5, 1]: threshold t keeps 2(1 - t) of the rows, right (1 + t) / 2 of the time.
    assert table["coverage"].to_numpy() == pytest.approx(2 * (1 - table["threshold"]), abs=0.01)
    assert table["accuracy"].to_numpy() == pytest.approx((1 + table["threshold"]) / 2, abs=0.01)


def test_confidence_for_coverage_by_hand():
    assert confidence_for_coverage(P, 1.0) == 0.55
    assert confidence_for_coverage(P, 0.6) == pytest.approx(0.8)  # keeps 0.99, 0.9, 0.8
    assert confidence_for_coverage(P, 0.5) == pytest.approx(0.8)  # 2.5 rows: at least 3
    assert confidence_for_coverage(P, 0.2) == 0.99
    assert confidence_for_coverage([0.3, 0.7, 0.7, 0.1], 0.25) == pytest.approx(0.9)
    assert confidence_for_coverage(np.linspace(0.5, 1, 10), 0.7) == pytest.approx(np.linspace(0.5, 1, 10)[3])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=50), st.floats(0.01, 1))
def test_confidence_for_coverage_is_the_highest_threshold_that_keeps_enough(p, coverage):
    y = (np.array(p) >= 0.5).astype(int)
    threshold = confidence_for_coverage(p, coverage)
    assert 0.5 <= threshold <= 1
    kept = selective_prediction(y, p, [threshold]).loc[0, "coverage"]
    assert kept >= coverage - 1e-9
    higher = np.maximum(p, 1 - np.array(p))
    higher = higher[higher > threshold]
    if len(higher):
        assert selective_prediction(y, p, [higher.min()]).loc[0, "coverage"] < coverage - 1e-9


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=50),
       st.lists(st.floats(0.5, 1), min_size=1, max_size=8))
def test_coverage_falls_as_the_threshold_rises(rows, thresholds):
    y, p = (np.array(column) for column in zip(*rows))
    table = selective_prediction(y, p, sorted(thresholds)).dropna()
    assert np.all(np.diff(table["coverage"]) <= 0) and table["coverage"].between(0, 1).all()
    assert (table["n kept"] == np.round(table["coverage"] * len(y))).all()


@pytest.mark.parametrize("call, message", [
    (lambda: selective_prediction(Y, P, [0.4, 0.9]), r"thresholds must be in \[0.5, 1\]"),
    (lambda: selective_prediction(Y, P, [1.1]), r"thresholds must be in \[0.5, 1\]"),
    (lambda: selective_prediction(Y, P, [np.nan]), r"thresholds must be in \[0.5, 1\]"),
    (lambda: selective_prediction(Y, P, []), "thresholds must be one or more numbers"),
    (lambda: selective_prediction(Y, P, ["high"]), "thresholds must be numbers"),
    (lambda: selective_prediction(Y, P[:3], [0.5]), "y_prob has 3 values but y_true has 5"),
    (lambda: selective_prediction([2, 0, 0, 1, 1], P, [0.5]), "y_true must hold binary labels"),
    (lambda: confidence_for_coverage(P, 0), r"coverage must be in \(0, 1\], got 0"),
    (lambda: confidence_for_coverage(P, 1.5), r"coverage must be in \(0, 1\], got 1.5"),
    (lambda: confidence_for_coverage([], 0.5), "y_prob is empty"),
    (lambda: confidence_for_coverage([0.2, 1.3], 0.5), r"y_prob must hold probabilities in \[0, 1\]"),
])
def test_bad_confidence_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
