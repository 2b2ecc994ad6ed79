"""dmls.evaluation.shared_resamples gives exactly the intervals of dmls.evaluation (chapter 5)."""
import numpy as np
import pytest

from dmls.evaluation import difference_interval, metric_interval, uncertainty
from dmls.evaluation import shared_resamples as shared


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    n = 3_000
    y = (rng.random(n) < 0.1).astype(int)
    a = np.clip(0.1 + 0.2 * y * rng.random(n) + rng.normal(0, 0.03, n), 0.01, 0.99)
    b = np.clip(a + rng.normal(0, 0.02, n), 0.01, 0.99)
    groups = rng.integers(0, 400, n)
    return y, a, b, groups


def _same(x, y):
    assert (x.estimate, x.low, x.high, x.confidence, x.method) == (y.estimate, y.low, y.high, y.confidence, y.method)


@pytest.mark.parametrize("metric", ["log_loss", "brier", "accuracy", "roc_auc"])
@pytest.mark.parametrize("grouped", [True, False])
def test_same_intervals_as_uncertainty_on_repeated_calls(data, metric, grouped):
    y, a, b, groups = data
    g = groups if grouped else None
    shared.clear()
    for _ in range(3):  # the first call draws the counts, the later ones reuse them
        _same(shared.metric_interval(metric, y, a, groups=g), metric_interval(metric, y, a, groups=g))
        _same(shared.difference_interval(metric, y, a, b, groups=g), difference_interval(metric, y, a, b, groups=g))
        _same(shared.difference_interval(metric, y, b, a, groups=g), difference_interval(metric, y, b, a, groups=g))


def test_seeds_resamples_confidence_and_subsets_are_kept_apart(data):
    y, a, b, groups = data
    shared.clear()
    for seed, n_resamples, confidence, rows in [(0, 1000, 0.95, slice(None)), (3, 1000, 0.95, slice(None)),
                                                (0, 300, 0.9, slice(None)), (0, 1000, 0.95, slice(0, 1_500)),
                                                (0, 1000, 0.95, slice(None))]:
        kwargs = dict(groups=groups[rows], n_resamples=n_resamples, random_state=seed, confidence=confidence)
        _same(shared.difference_interval("log_loss", y[rows], a[rows], b[rows], **kwargs),
              difference_interval("log_loss", y[rows], a[rows], b[rows], **kwargs))
    assert len(shared._kept) <= shared.MAX_KEPT


def test_mean_and_callables(data):
    y, a, b, groups = data

    def weighted_mean(_y, s, sample_weight):
        return float(np.average(s, weights=sample_weight))

    shared.clear()
    for _ in range(2):
        _same(shared.metric_interval("mean", a, groups=groups), metric_interval("mean", a, groups=groups))
        _same(shared.difference_interval("mean", None, a, b), difference_interval("mean", None, a, b))
        _same(shared.metric_interval(weighted_mean, y, a, n_resamples=200),
              metric_interval(weighted_mean, y, a, n_resamples=200))


def test_bad_input_fails_as_before_and_the_library_is_left_as_it_was(data):
    y, a, b, groups = data
    with pytest.raises(ValueError):
        shared.difference_interval("log_loss", y, a, b, n_resamples=5)
    with pytest.raises(ValueError):
        shared.metric_interval("no such metric", y, a)
    with pytest.raises(ValueError):
        shared.difference_interval("log_loss", y, a)
    assert uncertainty._unit_counts is shared._draw_counts


def test_large_draws_are_not_kept(data, monkeypatch):
    y, a, b, groups = data
    shared.clear()
    monkeypatch.setattr(shared, "MAX_CELLS", 10)
    _same(shared.difference_interval("log_loss", y, a, b, groups=groups),
          difference_interval("log_loss", y, a, b, groups=groups))
    assert not shared._kept
