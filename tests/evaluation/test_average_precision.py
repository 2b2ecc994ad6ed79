"""dmls.evaluation.average_precision agrees with scikit-learn, with ties and weights, and is bootstrappable."""
import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from dmls.evaluation import metric_interval
from dmls.evaluation.average_precision import average_precision


@pytest.mark.parametrize("seed", range(5))
def test_matches_scikit_learn_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    n = 2_000
    y = (rng.random(n) < 0.05).astype(int)
    s = np.round(rng.random(n) + 0.3 * y, 2)  # rounding makes many ties
    w = rng.poisson(1.0, n).astype(float)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert average_precision(y, s, sample_weight=w) == pytest.approx(
        average_precision_score(y, s, sample_weight=w), abs=1e-12)
    # A second call with new weights reuses the cached sort and is still right.
    w2 = rng.poisson(1.0, n).astype(float)
    assert average_precision(y, s, sample_weight=w2) == pytest.approx(
        average_precision_score(y, s, sample_weight=w2), abs=1e-12)


def test_cache_never_serves_other_scores():
    y = np.array([0, 1, 0, 1, 0])
    a = np.array([0.1, 0.9, 0.2, 0.8, 0.3])
    b = a[::-1].copy()
    assert average_precision(y, a) == pytest.approx(average_precision_score(y, a))
    assert average_precision(y, b) == pytest.approx(average_precision_score(y, b))
    a[0] = 0.95  # the same array, changed in place
    assert average_precision(y, a) == pytest.approx(average_precision_score(y, a))


def test_bootstrap_interval_through_the_callable_path():
    rng = np.random.default_rng(0)
    y = (rng.random(3_000) < 0.1).astype(int)
    s = rng.random(3_000) + 0.5 * y
    groups = np.arange(3_000) // 5
    fast = metric_interval(average_precision, y, s, groups=groups, n_resamples=200)
    slow = metric_interval(average_precision_score, y, s, groups=groups, n_resamples=200)
    assert fast.estimate == pytest.approx(slow.estimate)
    assert fast.low == pytest.approx(slow.low) and fast.high == pytest.approx(slow.high)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="same length"):
        average_precision([0, 1], [0.5])
    with pytest.raises(ValueError, match="binary"):
        average_precision([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        average_precision([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="non-negative"):
        average_precision([0, 1], [0.1, 0.2], sample_weight=[1, -1])
    assert np.isnan(average_precision([0, 1], [0.1, 0.2], sample_weight=[1, 0]))


def test_interval_is_metric_intervals_with_the_callable():
    from dmls.evaluation.average_precision import average_precision_interval

    rng = np.random.default_rng(1)
    y = (rng.random(4_000) < 0.05).astype(int)
    s = rng.random(4_000) + 0.4 * y
    groups = rng.integers(0, 700, 4_000)
    for g in (None, groups):
        fast = average_precision_interval(y, s, groups=g, n_resamples=300, random_state=3)
        slow = metric_interval(average_precision_score, y, s, groups=g, n_resamples=300, random_state=3)
        assert (fast.estimate, fast.low, fast.high) == pytest.approx((slow.estimate, slow.low, slow.high), abs=1e-12)
    with pytest.raises(ValueError, match="n_resamples"):
        average_precision_interval(y, s, n_resamples=10)
    with pytest.raises(ValueError, match="one label per row"):
        average_precision_interval(y, s, groups=groups[:10])
