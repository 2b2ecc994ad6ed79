"""Calibration: the reliability table against scikit-learn's calibration curve, and the ECE."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve

from dmls.evaluation import expected_calibration_error, reliability_table


def calibrated(n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return (rng.random(n) < p).astype(int), p


def perfectly_binned():
    """Twenty rows at each of 0.05, 0.15, ..., 0.95 with exactly that share of positives."""
    p = np.repeat(np.arange(10) / 10 + 0.05, 20)
    y = np.concatenate([np.arange(20) < round(20 * q) for q in np.arange(10) / 10 + 0.05]).astype(int)
    return y, p


# ---------------------------------------------------------------------------- reliability_table
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 5, 10, 13])
def test_reliability_table_is_scikit_learns_calibration_curve(strategy, n_bins):
    rng = np.random.default_rng(n_bins)
    p = np.concatenate([rng.beta(0.5, 3, 500), [0.0, 0.1, 0.2, 0.5, 1.0]])  # skewed, with values on the edges
    y = (rng.random(len(p)) < np.sqrt(p)).astype(int)
    table = reliability_table(y, p, n_bins=n_bins, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    assert table["observed rate"].to_numpy() == pytest.approx(prob_true, abs=1e-12)
    assert table["mean predicted"].to_numpy() == pytest.approx(prob_pred, abs=1e-12)
    assert table["n"].sum() == len(p) and (table["n"] > 0).all()
    assert table["gap"].to_numpy() == pytest.approx(prob_true - prob_pred)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_empty_bins_are_left_out_as_scikit_learn_does(strategy):
    p = np.array([0.1] * 6 + [0.1, 0.7, 0.7, 0.9])  # few distinct values: quantile edges repeat
    y = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1, 1])
    table = reliability_table(y, p, n_bins=10, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy=strategy)
    assert len(table) == len(prob_true) < 10
    assert table["observed rate"].to_numpy() == pytest.approx(prob_true)
    assert table["mean predicted"].to_numpy() == pytest.approx(prob_pred)


def test_reliability_table_by_hand():
    table = reliability_table([0, 1, 1, 1], [0.1, 0.2, 0.5, 0.9], n_bins=2, strategy="uniform")
    assert list(table.columns) == ["n", "mean predicted", "observed rate", "gap"] and table.index.name == "bin"
    assert list(table.index) == [0, 1] and list(table["n"]) == [3, 1]  # 0.5 sits on the edge: the lower bin
    assert table["mean predicted"].to_numpy() == pytest.approx([0.8 / 3, 0.9])
    assert table["observed rate"].to_numpy() == pytest.approx([2 / 3, 1])
    assert table["gap"].to_numpy() == pytest.approx([2 / 3 - 0.8 / 3, 0.1])
    assert list(reliability_table([1, 0], [0.95, 0.97], n_bins=4, strategy="uniform").index) == [3]


# ---------------------------------------------------------------------------- expected_calibration_error
def test_ece_by_hand():
    y, p = [0, 1, 1, 1], [0.1, 0.2, 0.6, 0.9]
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * (0.5 - 0.15) + 0.5 * (1 - 0.75))
    assert expected_calibration_error(y, p, n_bins=1) == pytest.approx(abs(0.75 - 0.45))


def test_ece_is_zero_when_every_bin_is_calibrated_and_large_when_none_is():
    y, p = perfectly_binned()
    assert expected_calibration_error(y, p) == pytest.approx(0, abs=1e-12)
    assert expected_calibration_error(y, p, strategy="quantile") == pytest.approx(0, abs=1e-12)
    assert (reliability_table(y, p, strategy="uniform")["gap"].abs() < 1e-12).all()
    assert expected_calibration_error(y, 1 - p) == pytest.approx(np.mean(np.abs(1 - 2 * np.unique(p))))
    assert expected_calibration_error(np.arange(100) < 10, np.full(100, 0.9)) == pytest.approx(0.8)


def test_ece_does_not_depend_on_row_order():
    y, p = calibrated(n=5_000)
    order = np.random.default_rng(1).permutation(len(y))
    for strategy in ("uniform", "quantile"):
        assert expected_calibration_error(y[order], p[order], strategy=strategy) == pytest.approx(
            expected_calibration_error(y, p, strategy=strategy), abs=1e-12)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_of_a_calibrated_model_is_small_and_of_a_squashed_one_about_a_sixth(strategy):
    y, p = calibrated()
    assert expected_calibration_error(y, p, strategy=strategy) < 0.01
    # Predicting p**2 for a rate p under-predicts everywhere, so no bin's gap cancels another's:
    # the ECE is close to E[p - p**2] = 1/2 - 1/3 whatever the bins.
    assert expected_calibration_error(y, p ** 2, strategy=strategy) == pytest.approx(1 / 6, abs=0.005)


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=1, max_size=80),
       st.integers(1, 20), st.sampled_from(["uniform", "quantile"]))
def test_ece_is_between_zero_and_the_mean_absolute_error(rows, n_bins, strategy):
    y, p = (np.array(column) for column in zip(*rows))
    ece = expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy)
    assert 0 <= ece <= np.mean(np.abs(y - p)) + 1e-12 <= 1 + 1e-12
    assert reliability_table(y, p, n_bins=n_bins, strategy=strategy)["n"].sum() == len(y)


@pytest.mark.parametrize("kwargs, message", [
    ({"y_prob": [0.2, 1.2, 0.5]}, r"y_prob must hold probabilities in \[0, 1\]"),
    ({"y_prob": [0.2, -0.1, 0.5]}, r"y_prob must hold probabilities in \[0, 1\]"),
    ({"y_prob": [0.2, np.nan, 0.5]}, "no NaN"),
    ({"y_prob": [0.2, 0.5]}, "y_prob has 2 values but y_true has 3"),
    ({"y_prob": ["a", "b", "c"]}, "y_prob must hold numbers"),
    ({"y_true": [0, 1, 2]}, "y_true must hold binary labels"),
    ({"y_true": [0, 1, np.nan]}, "y_true must hold binary labels"),
    ({"y_true": [[0, 1, 1]]}, "y_true must be 1-d"),
    ({"n_bins": 0}, "n_bins must be an integer >= 1, got 0"),
    ({"n_bins": 2.5}, "n_bins must be an integer >= 1, got 2.5"),
    ({"strategy": "equal"}, "strategy must be one of .* got 'equal'"),
])
@pytest.mark.parametrize("function", [reliability_table, expected_calibration_error])
def test_bad_calibration_input_is_named(function, kwargs, message):
    arguments = {"y_true": [0, 1, 1], "y_prob": [0.2, 0.9, 0.5]} | kwargs
    with pytest.raises(ValueError, match=message):
        function(**arguments)


def test_booleans_and_object_labels_are_accepted():
    p = [0.2, 0.9, 0.5]
    expected = expected_calibration_error([0, 1, 1], p)
    assert expected_calibration_error([False, True, True], p) == expected
    assert expected_calibration_error(np.array([0, 1, 1], dtype=object), p) == expected
