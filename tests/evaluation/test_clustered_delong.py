"""method="delong" with groups: clustered DeLong intervals (chapter 2), DeLong's with one row per cluster,
the grouped bootstrap's with clusters."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dmls.evaluation import difference_interval, metric_interval


def clustered_auc_interval(y_true, y_score, *, groups, confidence=0.95):
    return metric_interval("roc_auc", y_true, y_score, groups=groups, confidence=confidence, method="delong")


def clustered_auc_difference(y_true, score_a, score_b, *, groups, confidence=0.95):
    return difference_interval("roc_auc", y_true, score_a, score_b, groups=groups, confidence=confidence,
                               method="delong")


def clustered_data(n_groups=600, size=8, effect=1.5, seed=0):
    """Rows in clusters that share a random effect on the label and on both scores."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), size)
    u = rng.normal(size=n_groups)[g] * effect
    x = rng.normal(size=g.size)
    y = (rng.random(g.size) < 1 / (1 + np.exp(-(-1.5 + x + u)))).astype(int)
    a = x + u + rng.normal(scale=1.0, size=g.size)
    b = x + 0.5 * u + rng.normal(scale=1.2, size=g.size)
    return y, a, b, g


def test_estimate_is_the_roc_auc_and_ties_count_one_half():
    y, a, _, g = clustered_data()
    iv = clustered_auc_interval(y, np.round(a, 1), groups=g)
    assert iv.estimate == pytest.approx(roc_auc_score(y, np.round(a, 1)), abs=1e-12)
    assert iv.low < iv.estimate < iv.high


def test_one_row_per_cluster_is_delong():
    y, a, b, _ = clustered_data(effect=0.0)
    rows = np.arange(len(y))
    mine, delong = clustered_auc_interval(y, a, groups=rows), metric_interval("roc_auc", y, a)
    assert mine.half_width == pytest.approx(delong.half_width, rel=0.01)
    mine_d, delong_d = clustered_auc_difference(y, a, b, groups=rows), difference_interval("roc_auc", y, a, b)
    assert mine_d.estimate == pytest.approx(delong_d.estimate, abs=1e-12)
    assert mine_d.half_width == pytest.approx(delong_d.half_width, rel=0.01)


def test_clusters_widen_the_interval_as_the_grouped_bootstrap_does():
    y, a, b, g = clustered_data()
    mine, boot = clustered_auc_interval(y, a, groups=g), metric_interval("roc_auc", y, a, groups=g, n_resamples=2000)
    naive = metric_interval("roc_auc", y, a)
    assert mine.half_width > 1.1 * naive.half_width  # the clusters matter in this data
    assert mine.half_width == pytest.approx(boot.half_width, rel=0.15)
    mine_d = clustered_auc_difference(y, a, b, groups=g)
    boot_d = difference_interval("roc_auc", y, a, b, groups=g, n_resamples=2000)
    assert mine_d.estimate == pytest.approx(boot_d.estimate, abs=1e-12)
    assert mine_d.half_width == pytest.approx(boot_d.half_width, rel=0.15)


def test_coverage_over_fresh_draws():
    truth = np.mean([roc_auc_score(*clustered_data(n_groups=3000, seed=100 + s)[:2]) for s in range(3)])
    covered = [truth in clustered_auc_interval(*clustered_data(n_groups=300, seed=s)[:2],
                                               groups=clustered_data(n_groups=300, seed=s)[3])
               for s in range(200)]
    assert 0.88 < np.mean(covered) < 0.99


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(y_true=[1, 1, 1], y_score=[0.1, 0.2, 0.3], groups=[0, 1, 2]), ValueError, "both classes"),
    (dict(y_true=[0, 1, 2], y_score=[0.1, 0.2, 0.3], groups=[0, 1, 2]), ValueError, "0/1"),
    (dict(y_true=[0, 1, 1], y_score=[0.1, 0.2], groups=[0, 1, 2]), ValueError, "has 2 values"),
    (dict(y_true=[0, 1, 1], y_score=[0.1, np.nan, 0.3], groups=[0, 1, 2]), ValueError, "NaN"),
    (dict(y_true=[0, 1, 1], y_score=[0.1, 0.2, 0.3], groups=[0, 0, 0]), ValueError, "two groups"),
    (dict(y_true=[0, 1, 1], y_score=[0.1, 0.2, 0.3], groups=[0, 1]), ValueError, "one label per row"),
    (dict(y_true=[0, 1, 1], y_score=[0.1, 0.2, 0.3], groups=[0.0, np.nan, 1.0]), ValueError, "missing"),
    (dict(y_true=[0, 1, 1], y_score=[0.1, 0.2, 0.3], groups=[0, 1, 2], confidence=1.0), ValueError, "confidence"),
    (dict(y_true=[0, 1, 1], y_score=["a", "b", "c"], groups=[0, 1, 2]), TypeError, "numbers"),
])
def test_bad_input_gets_a_clear_error(kwargs, error, words):
    with pytest.raises(error, match=words):
        clustered_auc_interval(**kwargs)


def test_difference_needs_two_scores_of_the_same_length():
    with pytest.raises(ValueError, match="score_b"):
        clustered_auc_difference([0, 1, 1, 0], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2], groups=[0, 1, 2, 3])


def test_without_groups_delong_is_the_default_and_bootstrap_can_be_asked_for():
    y, a, b, _ = clustered_data(effect=0.0)
    default = metric_interval("roc_auc", y, a)
    assert metric_interval("roc_auc", y, a, method="delong") == default
    assert default.method == "DeLong"
    boot = metric_interval("roc_auc", y, a, method="bootstrap", n_resamples=2000)
    assert boot.method == "percentile bootstrap"
    assert boot.estimate == default.estimate and boot.half_width == pytest.approx(default.half_width, rel=0.15)
    boot_d = difference_interval("roc_auc", y, a, b, method="bootstrap", n_resamples=2000)
    assert boot_d.half_width == pytest.approx(difference_interval("roc_auc", y, a, b).half_width, rel=0.15)


def test_grouped_default_is_still_the_bootstrap():
    y, a, _, g = clustered_data()
    assert metric_interval("roc_auc", y, a, groups=g, n_resamples=200).method == "percentile bootstrap"
    assert clustered_auc_interval(y, a, groups=g).method.startswith("clustered DeLong over 600")


@pytest.mark.parametrize("metric", ["log_loss", "average_precision", "mean"])
def test_delong_is_for_roc_auc_only(metric):
    y, a, b, g = clustered_data()
    p = 1 / (1 + np.exp(-a))
    args = (p,) if metric != "mean" else ()
    with pytest.raises(ValueError, match="ROC AUC only"):
        metric_interval(metric, y.astype(float), *args, groups=g, method="delong")


@pytest.mark.parametrize("method", ["DeLong", "exact", None, 1])
def test_unknown_method_is_refused(method):
    y, a, _, g = clustered_data()
    with pytest.raises(ValueError, match="method must be one of"):
        metric_interval("roc_auc", y, a, groups=g, method=method)
    with pytest.raises(ValueError, match="method must be one of"):
        difference_interval("roc_auc", y, a, a, groups=g, method=method)
