"""Intervals for a metric, for a paired difference, and over seeds: checked against closed forms."""
import threading

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from dmls.evaluation import (Interval, difference_interval, format_number, interval_table, mean_interval, metric_interval,
                             repeat_over_seeds)


def binormal(n, rate, shift, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    return y, rng.normal(size=n) + shift * y


def test_mean_interval_matches_the_normal_closed_form_for_a_proportion():
    rng = np.random.default_rng(11)
    clicks = (rng.random(40_000) < 0.03).astype(float)
    iv = metric_interval("mean", clicks, n_resamples=2000, random_state=3)
    p, se = clicks.mean(), np.sqrt(clicks.mean() * (1 - clicks.mean()) / clicks.size)
    assert iv.estimate == pytest.approx(p)
    assert iv.low == pytest.approx(p - 1.96 * se, abs=0.15 * se)
    assert iv.high == pytest.approx(p + 1.96 * se, abs=0.15 * se)


def test_bootstrap_agrees_with_scipy_bootstrap_on_a_mean():
    x = np.random.default_rng(5).exponential(size=3000)
    ours = metric_interval("mean", x, n_resamples=4000, random_state=1)
    ref = stats.bootstrap((x,), np.mean, n_resamples=4000, method="percentile", random_state=2).confidence_interval
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.05 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.05 * width)


@pytest.mark.parametrize("seed", [0, 7])
def test_delong_auc_interval_matches_the_bootstrap_and_the_sampling_spread(seed):
    y, s = binormal(6000, 0.1, 1.0, seed)
    delong = metric_interval("roc_auc", y, s)
    boot = metric_interval("roc_auc", y, s, groups=np.arange(y.size), n_resamples=1500, random_state=seed)
    assert delong.method == "DeLong" and boot.method == "percentile bootstrap"
    assert delong.estimate == pytest.approx(roc_auc_score(y, s)) == boot.estimate
    assert delong.half_width == pytest.approx(boot.half_width, rel=0.12)
    # The truth: the spread of the AUC over many fresh samples of the same binormal world.
    spread = np.std([roc_auc_score(*binormal(6000, 0.1, 1.0, 1000 + i)) for i in range(300)], ddof=1)
    assert delong.half_width == pytest.approx(1.96 * spread, rel=0.15)


def test_bootstrapped_auc_handles_ties_exactly():
    y, s = binormal(3000, 0.2, 0.8, 2)
    s = np.round(s)  # a handful of tied levels
    iv = metric_interval("roc_auc", y, s, groups=np.arange(y.size), n_resamples=200)
    assert iv.estimate == pytest.approx(roc_auc_score(y, s))


def test_named_metrics_equal_scikit_learn_and_callables_work():
    y, s = binormal(2000, 0.3, 1.0, 4)
    p = 1 / (1 + np.exp(-s))
    assert metric_interval("log_loss", y, p, n_resamples=100).estimate == pytest.approx(log_loss(y, p))
    assert metric_interval("brier", y, p, n_resamples=100).estimate == pytest.approx(brier_score_loss(y, p))
    assert metric_interval("accuracy", y, p, n_resamples=100).estimate == pytest.approx(np.mean((p >= 0.5) == y))
    iv = metric_interval(brier_score_loss, y, p, n_resamples=100)
    assert iv.estimate == pytest.approx(brier_score_loss(y, p))
    assert iv.low < iv.estimate < iv.high


def test_paired_difference_of_means_matches_the_paired_t_interval():
    rng = np.random.default_rng(9)
    common = rng.normal(size=5000)
    a, b = common + rng.normal(scale=0.3, size=5000) + 0.02, common + rng.normal(scale=0.3, size=5000)
    iv = difference_interval("mean", None, a, b, n_resamples=3000, random_state=4)
    d = a - b
    half = 1.96 * d.std(ddof=1) / np.sqrt(d.size)
    assert iv.estimate == pytest.approx(d.mean())
    assert iv.half_width == pytest.approx(half, rel=0.1)
    # Paired is far narrower than two independent intervals would suggest.
    assert iv.half_width < 0.5 * metric_interval("mean", a, n_resamples=500).half_width


def test_difference_of_a_model_with_itself_is_exactly_zero_and_a_real_gap_is_detected():
    y, s = binormal(5000, 0.1, 1.0, 3)
    same = difference_interval("roc_auc", y, s, s)
    assert same.estimate == 0 and not same.excludes(0)
    noisy = s + np.random.default_rng(1).normal(scale=1.5, size=s.size)
    gap = difference_interval("roc_auc", y, s, noisy)
    assert gap.excludes(0) and gap.low > 0
    boot = difference_interval("roc_auc", y, s, noisy, groups=np.arange(y.size), n_resamples=800)
    assert boot.half_width == pytest.approx(gap.half_width, rel=0.15)


def test_interval_coverage_is_close_to_nominal():
    """Over many samples from a known distribution, a 90 % interval covers the truth about 90 % of the time."""
    rng = np.random.default_rng(0)
    covered = sum(0.05 in metric_interval("mean", (rng.random(800) < 0.05).astype(float), confidence=0.9,
                                          n_resamples=400, random_state=i) for i in range(300))
    assert 0.85 <= covered / 300 <= 0.95


def test_group_resampling_widens_the_interval_when_rows_within_a_group_move_together():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(400), 25)
    values = np.repeat(rng.normal(size=400), 25) + rng.normal(scale=0.1, size=groups.size)
    rows = metric_interval("mean", values, n_resamples=1000)
    clusters = metric_interval("mean", values, groups=groups, n_resamples=1000)
    closed = 1.96 * values.reshape(400, 25).mean(axis=1).std(ddof=1) / np.sqrt(400)
    assert clusters.half_width == pytest.approx(closed, rel=0.12)
    assert clusters.half_width > 3 * rows.half_width


def test_mean_interval_and_seed_repeats():
    iv = mean_interval([1.0, 2.0, 3.0, 4.0])
    half = stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2
    assert (iv.low, iv.high) == pytest.approx((2.5 - half, 2.5 + half))
    runs = repeat_over_seeds(lambda seed: {"x": seed * 1.0, "y": 2.0 * seed}, [1, 2, 3])
    summary = runs.summary()
    assert summary.loc["x", "mean"] == 2.0 and summary.loc["y", "mean"] == 4.0 and summary.loc["x", "seeds"] == 3
    assert runs.interval("x").low < 2.0 < runs.interval("x").high
    plain = repeat_over_seeds(lambda seed: float(seed), range(4))
    assert list(plain.results.columns) == ["value"]


def _seeded_draws(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=200)
    return {"mean": float(x.mean()), "max": float(x.max())}


def _fails_on_seed_3(seed):
    if seed == 3:
        raise ZeroDivisionError("seed 3 broke")
    return float(seed)


def test_seed_repeats_in_worker_processes_equal_the_serial_ones():
    serial = repeat_over_seeds(_seeded_draws, [5, 1, 9, 2], n_jobs=1)
    parallel = repeat_over_seeds(_seeded_draws, [5, 1, 9, 2], n_jobs=2)
    pd.testing.assert_frame_equal(serial.results, parallel.results)
    assert list(parallel.results.index) == [5, 1, 9, 2]  # the order of the seeds, not of completion
    # a function defined in a notebook (not importable by the workers) is sent along with what it uses
    offset = 0.5
    local = repeat_over_seeds(lambda seed: seed + offset, [1, 2, 3], n_jobs=3)
    assert list(local.results["value"]) == [1.5, 2.5, 3.5]


def test_seed_repeats_in_workers_raise_what_the_experiment_raised():
    with pytest.raises(ZeroDivisionError, match="seed 3 broke"):
        repeat_over_seeds(_fails_on_seed_3, [1, 2, 3], n_jobs=2)
    lock = threading.Lock()  # cannot be sent to another process
    with pytest.raises(ValueError, match="n_jobs=1"):
        repeat_over_seeds(lambda seed: float(seed) if lock else 0.0, [1, 2], n_jobs=2)
    for bad in (0, -1, True, 1.5):
        with pytest.raises((TypeError, ValueError), match="n_jobs"):
            repeat_over_seeds(_seeded_draws, [1, 2], n_jobs=bad)


def test_interval_formatting_and_table():
    iv = Interval(0.6331, 0.62, 0.645, 0.95, "test")
    assert iv.format() == "0.633 (95% CI 0.620 to 0.645)" and str(iv) == iv.format()
    assert iv.excludes(0) and not iv.excludes(0.63) and 0.63 in iv
    table = interval_table({"a": iv})
    assert table.loc["a", "interval"] == iv.format()
    with pytest.raises(TypeError):
        interval_table({"a": 0.5})


@pytest.mark.parametrize("call, error, match", [
    (lambda: metric_interval("auc", [0, 1], [0.1, 0.2]), ValueError, "metric must be one of"),
    (lambda: metric_interval("roc_auc", [1, 1, 1], [0.1, 0.2, 0.3]), ValueError, "both classes"),
    (lambda: metric_interval("roc_auc", [0, 1, 2], [0.1, 0.2, 0.3]), ValueError, "0/1"),
    (lambda: metric_interval("roc_auc", [0, 1], [0.1]), ValueError, "has 1 values"),
    (lambda: metric_interval("log_loss", [0, 1], [0.1, 1.2]), ValueError, "probabilities"),
    (lambda: metric_interval("mean", [1.0, np.nan]), ValueError, "NaN"),
    (lambda: metric_interval("mean", [1.0, 2.0], [1, 2]), ValueError, "y_true only"),
    (lambda: metric_interval("mean", "abc"), TypeError, "array of numbers"),
    (lambda: metric_interval("mean", [1.0, 2.0], confidence=1.0), ValueError, "confidence"),
    (lambda: metric_interval("mean", [1.0, 2.0], n_resamples=10), ValueError, "n_resamples"),
    (lambda: metric_interval("mean", [1.0, 2.0], groups=[1, 1]), ValueError, "two groups"),
    (lambda: metric_interval("mean", [1.0, 2.0], groups=[1]), ValueError, "one label per row"),
    (lambda: metric_interval(42, [0, 1], [0.1, 0.2]), TypeError, "name or a callable"),
    (lambda: difference_interval("mean", None, [1.0, 2.0], [1.0]), ValueError, "paired rows"),
    (lambda: difference_interval("mean", [1, 0], [1.0, 2.0], [1.0, 2.0]), ValueError, "y_true=None"),
    (lambda: difference_interval("roc_auc", [0, 1], [0.1, 0.2]), ValueError, "score_b"),
    (lambda: mean_interval([1.0]), ValueError, "at least two"),
    (lambda: repeat_over_seeds(lambda s: 1.0, [1]), ValueError, "at least two"),
    (lambda: repeat_over_seeds(lambda s: 1.0, [1, 1]), ValueError, "seeds repeat"),
    (lambda: repeat_over_seeds(lambda s: float("nan"), [1, 2]), ValueError, "finite"),
    (lambda: repeat_over_seeds(lambda s: {"a": 1.0} if s == 1 else {"b": 1.0}, [1, 2]), ValueError, "different"),
    (lambda: repeat_over_seeds(5, [1, 2]), TypeError, "callable"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_unknown_result_name():
    runs = repeat_over_seeds(lambda s: {"a": float(s)}, [1, 2])
    with pytest.raises(KeyError, match="no result named 'b'"):
        runs.interval("b")


@pytest.mark.parametrize("value, spec, text", [
    (-1e-5, "+.3f", "+0.000"), (-1e-5, ".3f", "0.000"), (-0.0, ".2%", "0.00%"), (-4e-4, "+.3f", "+0.000"),
    (-5e-4, "+.3f", "-0.001"), (-0.02, "+.3f", "-0.020"), (1.5, "+.2f", "+1.50"), (-1e-9, ".0e", "-1e-09"),
    (float("-inf"), ".3f", "-inf"), (float("nan"), ".3f", "nan"), (-3.0, ".0f", "-3")])
def test_format_number_never_prints_the_sign_of_a_zero(value, spec, text):
    assert format_number(value, spec) == text


def test_interval_texts_print_the_same_for_a_hair_either_side_of_zero():
    below, above = Interval(-1e-6, -0.02, 0.03, 0.95, "t"), Interval(1e-6, -0.02, 0.03, 0.95, "t")
    assert below.format(".3f") == above.format(".3f") == "0.000 (95% CI -0.020 to 0.030)"
    assert below.bracket("+.3f", scale=100) == above.bracket("+.3f", scale=100) == "+0.000 [-2.000, +3.000]"
