"""Random baselines in closed form, ECE with its interval, slice differences with theirs."""
import numpy as np
import pandas as pd
import pytest

from dmls.evaluation import (Interval, ece_interval, expected_calibration_error, independent_difference,
                             metric_interval, random_baselines, slice_differences)


def test_random_baselines_reproduce_the_books_table():
    y = np.r_[np.ones(1_000), np.zeros(9_000)].astype(int)  # a 90/10 task
    table = random_baselines(y, n_draws=30, random_state=1)
    uniform, freq, zero = (table.loc[k] for k in table.index)
    assert uniform["expected accuracy"] == pytest.approx(0.5) and uniform["expected F1"] == pytest.approx(1 / 6)
    assert freq["expected accuracy"] == pytest.approx(0.82) and freq["expected F1"] == pytest.approx(0.1)
    assert zero["expected accuracy"] == pytest.approx(0.9) and zero["expected F1"] == 0
    assert zero["accuracy"] == pytest.approx(0.9) and zero["F1"] == 0
    for row in (uniform, freq):  # the draws agree with the closed form, within their interval (generously)
        assert abs(row["accuracy"] - row["expected accuracy"]) < 3 * row["accuracy ±"] + 1e-3
        assert abs(row["F1"] - row["expected F1"]) < 3 * row["F1 ±"] + 2e-3


def test_random_baselines_validate():
    with pytest.raises(ValueError):
        random_baselines([0, 1, 2])
    with pytest.raises(ValueError):
        random_baselines([0, 1], n_draws=1)
    with pytest.raises(TypeError):
        random_baselines([0, 1], random_state=1.5)


def calibrated(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.3, n)
    return (rng.random(n) < p).astype(int), p


def test_ece_interval_estimate_is_the_ece_and_covers_it():
    y, p = calibrated()
    iv = ece_interval(y, p, n_resamples=300)
    assert isinstance(iv, Interval)
    assert iv.estimate == pytest.approx(expected_calibration_error(y, p, strategy="quantile"))
    assert iv.low <= iv.estimate <= iv.high
    biased = np.clip(p * 2, 0, 1)
    worse = ece_interval(y, biased, n_resamples=300)
    assert worse.low > iv.high  # doubling the probabilities is clearly miscalibrated


def test_ece_difference_is_paired_and_zero_for_the_same_model():
    y, p = calibrated()
    same = ece_interval(y, p, p, n_resamples=200)
    assert same.estimate == 0 and same.low == 0 and same.high == 0
    diff = ece_interval(y, np.clip(p * 2, 0, 1), p, n_resamples=200)
    assert diff.low > 0
    groups = np.arange(len(y)) // 10
    grouped = ece_interval(y, p, groups=groups, n_resamples=200)
    assert grouped.estimate == pytest.approx(expected_calibration_error(y, p, strategy="quantile"))


def test_ece_interval_validates():
    with pytest.raises(ValueError):
        ece_interval([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError):
        ece_interval([0, 1], [0.5, 0.5], n_resamples=10)


def test_slice_differences_finds_the_slice_where_a_model_fails():
    rng = np.random.default_rng(0)
    n = 40_000
    slices = np.where(rng.random(n) < 0.1, "minority", "majority")
    p = rng.uniform(0.05, 0.5, n)
    y = (rng.random(n) < p).astype(int)
    good_everywhere = np.clip(p + rng.normal(0, 0.03, n), 0.01, 0.99)
    # B: better on the majority (exact), poor on the minority (pure noise)
    b = np.where(slices == "majority", p, rng.uniform(0.05, 0.5, n))
    table = slice_differences(y, good_everywhere, b, pd.Series(slices, name="group"), metric="log_loss",
                              names=("steady", "uneven"))
    assert list(table.index) == ["majority", "minority", "all"]
    assert table.loc["majority", "verdict"] == "uneven better"
    assert table.loc["minority", "verdict"] == "steady better"
    assert table.loc["minority", "n"] == (slices == "minority").sum()
    auc = slice_differences(y, good_everywhere, good_everywhere, slices, metric="roc_auc")
    assert (auc["verdict"] == "indistinguishable").all() and (auc["difference"] == 0).all()
    assert auc.loc["all", "A"] == pytest.approx(metric_interval("roc_auc", y, good_everywhere).estimate)


def test_slice_differences_validates():
    with pytest.raises(ValueError, match="metric"):
        slice_differences([0, 1], [0.2, 0.8], [0.3, 0.7], ["a", "b"], metric="ROC AUC")
    with pytest.raises(ValueError, match="names"):
        slice_differences([0, 1], [0.2, 0.8], [0.3, 0.7], ["a", "b"], names=("A", "A"))
    with pytest.raises(ValueError, match="groups"):
        slice_differences([0, 1], [0.2, 0.8], [0.3, 0.7], ["a", "b"], groups=[1])


def test_independent_difference_adds_variances():
    a = Interval(0.7, 0.68, 0.72, 0.95, "x")
    b = Interval(0.6, 0.57, 0.63, 0.95, "x")
    d = independent_difference(a, b)
    assert d.estimate == pytest.approx(0.1)
    assert d.half_width == pytest.approx(np.hypot(0.02, 0.03))
    with pytest.raises(TypeError):
        independent_difference(a, 0.5)
    with pytest.raises(ValueError):
        independent_difference(a, Interval(0.6, 0.5, 0.7, 0.9, "x"))
