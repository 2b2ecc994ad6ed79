"""dmls.evaluation.grouped_auc gives metric_interval's and difference_interval's session-resampled
ROC AUC intervals (same resamples, same seed), ties and uneven groups included."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dmls.evaluation import difference_interval, metric_interval
from dmls.evaluation import grouped_auc
from dmls.evaluation.grouped_auc import grouped_auc_difference, grouped_auc_interval


def _data(seed, n=3_000, ties=False):
    rng = np.random.default_rng(seed)
    groups = np.sort(rng.integers(0, n // 6, n))  # uneven groups, some of one row
    y = (rng.random(n) < 0.05).astype(int)
    a = rng.random(n) + 0.4 * y
    b = a + 0.3 * rng.random(n)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return y, a, b, rng.permutation(groups)


@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, True)])
def test_interval_is_metric_intervals(seed, ties):
    y, a, _, groups = _data(seed, ties=ties)
    slow = metric_interval("roc_auc", y, a, groups=groups, n_resamples=300, random_state=seed)
    fast = grouped_auc_interval(y, a, groups=groups, n_resamples=300, random_state=seed)
    assert fast.estimate == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert (fast.estimate, fast.low, fast.high) == pytest.approx((slow.estimate, slow.low, slow.high), abs=1e-12)
    assert fast.method == slow.method and fast.confidence == slow.confidence


@pytest.mark.parametrize("seed, ties", [(3, False), (4, True)])
def test_difference_is_difference_intervals(seed, ties):
    y, a, b, groups = _data(seed, ties=ties)
    slow = difference_interval("roc_auc", y, a, b, groups=groups, n_resamples=200, confidence=0.9)
    fast = grouped_auc_difference(y, a, b, groups=groups, n_resamples=200, confidence=0.9)
    assert fast.estimate == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    assert (fast.estimate, fast.low, fast.high) == pytest.approx((slow.estimate, slow.low, slow.high), abs=1e-12)


def test_positives_built_in_several_blocks(monkeypatch):
    # a tiny block size makes K from many blocks of positives; the answer must not change
    y, a, b, groups = _data(5, ties=True)
    whole = grouped_auc_difference(y, a, b, groups=groups, n_resamples=100)
    monkeypatch.setattr(grouped_auc, "_CELLS", 1_000)
    split = grouped_auc_difference(y, a, b, groups=groups, n_resamples=100)
    assert (whole.estimate, whole.low, whole.high) == pytest.approx((split.estimate, split.low, split.high), abs=1e-12)


def test_bad_input_is_refused_clearly():
    y, a, b, groups = _data(6, n=600)
    with pytest.raises(ValueError, match="groups is required"):
        grouped_auc_interval(y, a, groups=None)
    with pytest.raises(ValueError, match="both classes"):
        grouped_auc_interval(np.zeros(600), a, groups=groups)
    with pytest.raises(ValueError, match="0/1"):
        grouped_auc_interval(np.full(600, 2), a, groups=groups)
    with pytest.raises(ValueError, match="score_b has 5 values"):
        grouped_auc_difference(y, a, b[:5], groups=groups)
    with pytest.raises(ValueError, match="NaN"):
        grouped_auc_interval(y, np.r_[np.nan, a[1:]], groups=groups)
    with pytest.raises(ValueError, match="one label per row"):
        grouped_auc_interval(y, a, groups=groups[:10])
    with pytest.raises(ValueError, match="n_resamples"):
        grouped_auc_interval(y, a, groups=groups, n_resamples=10)
