"""The ranking metrics of dmls.evaluation.uncertainty and its fast resampling, against references.

ROC AUC and average precision, as point estimates and bootstrapped (whole groups resampled), are
checked against scikit-learn, against a brute-force pair count in exact integer arithmetic and
against the slow row-weight computation the library used to run; compare_aucs against the one at
a time intervals; the kept resampled counts against drawing them afresh. Chapters 1, 2, 4, 5 and 6.
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from dmls.evaluation import (AUCComparison, clear_kept_counts, compare_aucs, difference_interval, metric_interval,
                             roc_auc, uncertainty)
from dmls.evaluation.uncertainty import average_precision  # (the old module of that name shadows the package's)


def _data(seed, n=3_000, ties=False, rate=0.05):
    rng = np.random.default_rng(seed)
    groups = rng.permutation(np.sort(rng.integers(0, n // 6, n)))  # uneven groups, some of one row
    y = (rng.random(n) < rate).astype(int)
    a = rng.random(n) + 0.4 * y
    b = a + 0.3 * rng.random(n)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return y, a, b, groups


def _counts(n_units, n_resamples=200, seed=0):
    return np.concatenate(list(uncertainty._unit_counts(n_units, n_resamples, np.random.default_rng(seed))))


def _row_weight_auc(y, s, weights):
    """The slow reference: every resample's weights spread over the rows, sorted, summed per level."""
    order = np.argsort(s, kind="stable")
    ranked = s[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    w = weights[:, order]
    pos = np.add.reduceat(w * y[order], starts, axis=1)
    neg = np.add.reduceat(w, starts, axis=1) - pos
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def _exact_auc(y, s, w):
    """The weighted AUC as a correctly rounded fraction: pairs counted one by one, ties one half."""
    w = w.astype(int)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    total = int(w[pos].sum()) * int(w[neg].sum())
    if total == 0:
        return np.nan
    above = (s[pos][:, None] > s[neg][None, :]).astype(int) * 2 + (s[pos][:, None] == s[neg][None, :])
    twice = int((w[pos][:, None] * w[neg][None, :] * above).sum())
    return float(Fraction(twice, 2 * total))


# --- point estimates -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("decimals", [None, 1, 2])  # None: no ties; 1: many ties across classes
def test_roc_auc_equals_scikit_learn(seed, decimals):
    rng = np.random.default_rng(seed)
    y = rng.random(5_000) < 0.07
    s = rng.normal(size=5_000) + 0.8 * y
    if decimals is not None:
        s = np.round(s, decimals)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    # the bootstrap's estimate is the same number, to the last bit
    assert roc_auc(y, s) == metric_interval("roc_auc", y, s, groups=np.arange(y.size) // 3, n_resamples=100).estimate


def test_roc_auc_of_perfect_reversed_and_constant_scores():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, [1, 2, 3, 4]) == 1.0
    assert roc_auc(y, [4, 3, 2, 1]) == 0.0
    assert roc_auc(y, [5, 5, 5, 5]) == 0.5
    assert roc_auc(y.astype(bool), np.array([1, 2, 3, 4], dtype=np.int64)) == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_average_precision_equals_scikit_learn_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    n = 2_000
    y = (rng.random(n) < 0.05).astype(int)
    s = np.round(rng.random(n) + 0.3 * y, 2)  # rounding makes many ties
    w = rng.poisson(1.0, n).astype(float)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert average_precision(y, s, sample_weight=w) == pytest.approx(
        average_precision_score(y, s, sample_weight=w), abs=1e-12)
    w2 = rng.random(n)  # weights that are not whole numbers
    assert average_precision(y, s, sample_weight=w2) == pytest.approx(
        average_precision_score(y, s, sample_weight=w2), abs=1e-12)


def test_average_precision_is_nan_without_weighted_positives():
    assert np.isnan(average_precision([0, 1], [0.1, 0.2], sample_weight=[1, 0]))
    assert np.isnan(average_precision([0, 0], [0.1, 0.2]))
    assert average_precision([1, 1], [0.1, 0.2]) == 1.0  # no negatives: every threshold is precise


# --- bootstrapped over groups ----------------------------------------------------------------------

@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, True)])
def test_grouped_auc_draws_are_the_exact_pair_count_of_each_resample(seed, ties):
    y, a, _, groups = _data(seed, n=1_200, ties=ties)
    m = uncertainty._Metric("roc_auc", y, a, groups)
    counts = _counts(m.n_units, 100, seed)
    fast = m.values(counts)
    weights = counts[:, m.codes]
    np.testing.assert_array_equal(fast, _row_weight_auc(y.astype(float), a, weights))  # the slow way, bit for bit
    for i in range(0, 100, 9):
        assert fast[i] == _exact_auc(y, a, weights[i])  # and the correctly rounded fraction
        assert fast[i] == pytest.approx(roc_auc_score(y, a, sample_weight=weights[i]), abs=1e-12)


@pytest.mark.parametrize("seed, ties", [(3, False), (4, True)])
def test_grouped_average_precision_draws_equal_scikit_learn_per_resample(seed, ties):
    y, a, _, groups = _data(seed, n=2_000, ties=ties, rate=0.1)
    m = uncertainty._Metric("average_precision", y, a, groups)
    counts = _counts(m.n_units, 100, seed)
    fast = m.values(counts)
    for i, c in enumerate(counts):
        w = c[m.codes]
        expected = average_precision_score(y, a, sample_weight=w) if w[y == 1].sum() > 0 else np.nan
        assert fast[i] == pytest.approx(expected, abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("metric, reference", [("roc_auc", roc_auc_score),
                                               ("average_precision", average_precision_score)])
def test_grouped_intervals_are_the_percentiles_of_the_reference_per_resample(metric, reference):
    y, a, b, groups = _data(5, n=1_500, ties=True, rate=0.15)
    codes, n_units = uncertainty._units(y.size, groups)
    counts = _counts(n_units, 300, seed=7)
    ref_a = np.array([reference(y, a, sample_weight=c[codes]) for c in counts])
    ref_b = np.array([reference(y, b, sample_weight=c[codes]) for c in counts])
    one = metric_interval(metric, y, a, groups=groups, n_resamples=300, random_state=7, confidence=0.9)
    two = difference_interval(metric, y, a, b, groups=groups, n_resamples=300, random_state=7)
    assert one.estimate == pytest.approx(reference(y, a), abs=1e-12)
    assert (one.low, one.high) == pytest.approx(tuple(np.quantile(ref_a, [0.05, 0.95])), abs=1e-12)
    assert two.estimate == pytest.approx(reference(y, a) - reference(y, b), abs=1e-12)
    assert (two.low, two.high) == pytest.approx(tuple(np.quantile(ref_a - ref_b, [0.025, 0.975])), abs=1e-12)
    assert one.method == two.method == "percentile bootstrap"


def test_the_librarys_own_metrics_as_callables_take_the_named_path():
    y, a, b, groups = _data(6, n=2_000, rate=0.1)
    for fn, name in ((roc_auc, "roc_auc"), (average_precision, "average_precision")):
        assert metric_interval(fn, y, a, groups=groups, n_resamples=200) == \
            metric_interval(name, y, a, groups=groups, n_resamples=200)
        assert difference_interval(fn, y, a, b, n_resamples=200) == difference_interval(name, y, a, b, n_resamples=200)
    # and the named path is what calling the metric once per resample gives
    slow = metric_interval(average_precision_score, y, a, groups=groups, n_resamples=200)
    fast = metric_interval("average_precision", y, a, groups=groups, n_resamples=200)
    assert (fast.estimate, fast.low, fast.high) == pytest.approx((slow.estimate, slow.low, slow.high), abs=1e-12)


def test_ungrouped_ap_interval_resamples_rows():
    y, a, _, _ = _data(7, n=2_000, rate=0.1)
    fast = metric_interval("average_precision", y, a, n_resamples=200, random_state=3)
    slow = metric_interval(average_precision_score, y, a, n_resamples=200, random_state=3)
    assert (fast.estimate, fast.low, fast.high) == pytest.approx((slow.estimate, slow.low, slow.high), abs=1e-12)


def test_resamples_without_a_class_are_left_out_and_too_few_defined_ones_fail():
    # one positive, in the first of 150 groups: about a third of resamples (e^-1) never draw it
    y = np.zeros(600, int)
    y[0] = 1
    s = np.linspace(0, 1, 600)
    groups = np.arange(600) // 4
    m = uncertainty._Metric("roc_auc", y, s, groups)
    counts = _counts(m.n_units, 300)
    values = m.values(counts)
    np.testing.assert_array_equal(np.isnan(values), counts[:, 0] == 0)
    iv = metric_interval("roc_auc", y, s, groups=groups, n_resamples=300)
    defined = values[~np.isnan(values)]
    assert (iv.low, iv.high) == tuple(np.quantile(defined, [0.025, 0.975]))
    ap = uncertainty._Metric("average_precision", y, s, groups).values(counts)
    np.testing.assert_array_equal(np.isnan(ap), counts[:, 0] == 0)
    with pytest.raises(ValueError, match="too few resamples"):
        metric_interval(lambda _y, _s, sample_weight: float("nan"), y, s, n_resamples=100)


def test_delong_stays_the_interval_without_groups():
    y, a, b, _ = _data(8, n=4_000, rate=0.1)
    assert metric_interval("roc_auc", y, a).method == "DeLong"
    assert difference_interval("roc_auc", y, a, b).method == "DeLong"
    assert metric_interval("roc_auc", y, a, groups=np.arange(y.size)).method == "percentile bootstrap"


# --- several scorers at once -----------------------------------------------------------------------

def _scorers(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    return y, {"strong": y * 1.0 + rng.normal(size=n), "weak": y * 0.3 + rng.normal(size=n),
               "tied": np.round(y * 0.5 + rng.normal(size=n), 1)}


def test_compare_aucs_gives_the_one_at_a_time_intervals():
    y, scores = _scorers()
    result = compare_aucs(y, scores)
    assert isinstance(result, AUCComparison)
    def numbers(iv):
        return iv.estimate, iv.low, iv.high

    for name, s in scores.items():  # one covariance matrix for all: equal to rounding
        assert numbers(result.auc[name]) == pytest.approx(numbers(metric_interval("roc_auc", y, s)), abs=1e-12)
        for other in scores:
            if other != name:
                one = difference_interval("roc_auc", y, s, scores[other])
                assert numbers(result.difference(name, other)) == pytest.approx(numbers(one), abs=1e-12)


def test_compare_aucs_winner_is_the_scorer_ahead_of_every_other():
    y, scores = _scorers(n=5_000)
    assert compare_aucs(y, scores).winner() == "strong"
    rng = np.random.default_rng(1)
    assert compare_aucs(y, {"a": rng.normal(size=y.size), "b": rng.normal(size=y.size)}).winner() is None


# --- the resampled counts --------------------------------------------------------------------------

def test_counts_are_the_plain_draws_of_integers_whatever_the_blocks():
    n_units, n_resamples = 5_000, 1_000
    blocks = list(uncertainty._unit_counts(n_units, n_resamples, np.random.default_rng(4)))
    assert len(blocks) > 1 and all(b.shape[0] <= 256 for b in blocks)
    draws = np.random.default_rng(4).integers(0, n_units, size=(n_resamples, n_units))
    expected = np.stack([np.bincount(d, minlength=n_units) for d in draws])
    np.testing.assert_array_equal(np.concatenate(blocks), expected)


def test_kept_counts_give_the_same_intervals_and_cannot_be_changed(monkeypatch):
    y, a, b, groups = _data(9, n=3_000, rate=0.1)
    p, q = np.clip(a / 2, 0.01, 0.99), np.clip(b / 2, 0.01, 0.99)
    clear_kept_counts()
    first = [difference_interval("log_loss", y, p, q, groups=groups),
             metric_interval("roc_auc", y, a, groups=groups), metric_interval("mean", a, groups=groups)]
    assert len(uncertainty._kept) == 1  # one test set, one seed, one number of resamples: one set of counts
    (key, blocks), = uncertainty._kept.items()
    assert key == (len(np.unique(groups)), 1000, 0)
    assert all(not blk.flags.writeable and blk.dtype == np.uint8 for blk in blocks)
    monkeypatch.setattr(uncertainty, "_unit_counts", None)  # a second call draws nothing
    again = [difference_interval("log_loss", y, p, q, groups=groups),
             metric_interval("roc_auc", y, a, groups=groups), metric_interval("mean", a, groups=groups)]
    assert again == first
    fresh = next(uncertainty._resampled_counts(*key))
    fresh[:] = -1  # a caller's copy: what is kept does not change
    assert next(uncertainty._resampled_counts(*key)).min() >= 0


def test_kept_counts_are_bounded_and_keyed_apart(monkeypatch):
    y, a, b, groups = _data(10, n=2_000, rate=0.1)
    p, q = np.clip(a / 2, 0.01, 0.99), np.clip(b / 2, 0.01, 0.99)
    clear_kept_counts()
    calls = [dict(random_state=0), dict(random_state=1), dict(n_resamples=300), dict(confidence=0.9),
             dict(groups=groups[:1_000], rows=slice(0, 1_000)), dict()]
    for kwargs in calls:
        rows = kwargs.pop("rows", slice(None))
        kwargs.setdefault("groups", groups)
        kept = difference_interval("log_loss", y[rows], p[rows], q[rows], **kwargs)
        clear_kept_counts()
        assert difference_interval("log_loss", y[rows], p[rows], q[rows], **kwargs) == kept
    # a budget of two sets of counts keeps the two last used
    clear_kept_counts()
    one = len(np.unique(groups)) * 1000
    monkeypatch.setattr(uncertainty, "_KEPT_BYTES", 2 * one)
    for seed in (0, 1, 2):
        metric_interval("log_loss", y, p, groups=groups, random_state=seed)
    assert [k[2] for k in uncertainty._kept] == [1, 2]
    monkeypatch.setattr(uncertainty, "_KEPT_BYTES", one - 1)  # too big to keep: nothing is kept
    clear_kept_counts()
    metric_interval("log_loss", y, p, groups=groups)
    assert not uncertainty._kept


def test_a_caller_that_stops_early_leaves_nothing_kept():
    clear_kept_counts()
    blocks = uncertainty._resampled_counts(3_000, 1_000, 5)
    next(blocks)
    blocks.close()
    assert not uncertainty._kept


# --- properties ------------------------------------------------------------------------------------

_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _sample(draw, min_size=4, max_size=60):
    n = draw(st.integers(min_size, max_size))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    levels = draw(st.integers(1, 6))  # few levels: many ties, within and across classes
    s = np.array(draw(st.lists(st.integers(0, levels), min_size=n, max_size=n)), dtype=float)
    groups = np.array(draw(st.lists(st.integers(0, max(1, n // 3)), min_size=n, max_size=n)))
    return y, s, groups


@_SETTINGS
@given(_sample(), st.integers(0, 2**32 - 1))
def test_property_grouped_auc_draws_are_exact(sample, seed):
    y, s, groups = sample
    if y.min() == y.max() or len(np.unique(groups)) < 2:
        return
    m = uncertainty._Metric("roc_auc", y, s, groups)
    counts = _counts(m.n_units, 100, seed)[:20]
    values = m.values(counts)
    for v, c in zip(values, counts):
        expected = _exact_auc(y, s, c[m.codes])
        assert v == expected or (np.isnan(v) and np.isnan(expected))
    assert m.estimate() == roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@_SETTINGS
@given(_sample(), st.lists(st.integers(0, 3), min_size=60, max_size=60))
def test_property_average_precision_equals_scikit_learn(sample, weights):
    y, s, _ = sample
    w = np.array(weights[: y.size], dtype=float)
    if w[y == 1].sum() == 0:
        assert np.isnan(average_precision(y, s, sample_weight=w))
        return
    assert average_precision(y, s, sample_weight=w) == pytest.approx(
        average_precision_score(y, s, sample_weight=w), abs=1e-12)


@_SETTINGS
@given(_sample(min_size=8))
def test_property_intervals_hold_their_estimate_or_fail_clearly(sample):
    y, s, groups = sample
    if len(np.unique(groups)) < 2 and y.max() == 1:
        with pytest.raises(ValueError, match="two groups"):
            metric_interval("average_precision", y, s, groups=groups, n_resamples=100)
        return
    for metric in ("roc_auc", "average_precision"):
        try:
            iv = metric_interval(metric, y, s, groups=groups, n_resamples=100)
        except ValueError as error:  # one class only, or a class too rare to resample
            assert "both classes" in str(error) or "positive" in str(error) or "too few resamples" in str(error)
            continue
        assert 0 <= iv.low <= iv.high <= 1 and iv.method == "percentile bootstrap"


@_SETTINGS
@given(_sample(min_size=8))
def test_property_a_difference_with_itself_is_zero(sample):
    y, s, groups = sample
    if y.min() == y.max() or len(np.unique(groups)) < 2:
        return
    for metric in ("roc_auc", "average_precision"):
        try:
            iv = difference_interval(metric, y, s, s, groups=groups, n_resamples=100)
        except ValueError as error:
            assert "too few resamples" in str(error)
            continue
        assert iv.estimate == iv.low == iv.high == 0


def test_single_group_is_refused():
    y, a, _, _ = _data(11, n=200, rate=0.2)
    with pytest.raises(ValueError, match="at least two groups"):
        metric_interval("roc_auc", y, a, groups=np.zeros(200))


@pytest.mark.parametrize("call, error, match", [
    (lambda: roc_auc([1, 1, 1], [0.1, 0.2, 0.3]), ValueError, "both classes"),
    (lambda: roc_auc([0, 1, 1], [0.1, 0.2]), ValueError, "has 2 values"),
    (lambda: roc_auc([0, 1], [0.1, np.nan]), ValueError, "NaN"),
    (lambda: roc_auc([0, 2], [0.1, 0.2]), ValueError, "0/1"),
    (lambda: roc_auc([0, 1], ["a", "b"]), TypeError, "numbers"),
    (lambda: average_precision([0, 1], [0.5]), ValueError, "has 1 values"),
    (lambda: average_precision([0, 2], [0.1, 0.2]), ValueError, "0/1"),
    (lambda: average_precision([0, 1], [0.1, np.inf]), ValueError, "infinite"),
    (lambda: average_precision([0, 1], [0.1, 0.2], sample_weight=[1, -1]), ValueError, "non-negative"),
    (lambda: average_precision([0, 1], [0.1, 0.2], sample_weight=[1]), ValueError, "sample_weight has 1"),
    (lambda: metric_interval("average_precision", [0, 0, 0], [0.1, 0.2, 0.3]), ValueError, "one positive"),
    (lambda: metric_interval("roc_auc", [0, 1, 1], [0.1, 0.2, 0.3], groups=[1, 2]), ValueError, "one label per row"),
    (lambda: metric_interval("roc_auc", [0, 1, 1], [0.1, 0.2, 0.3], groups=[1, None, 2]), ValueError, "missing"),
    (lambda: metric_interval("average_precision", [0, 1], [0.1, 0.2], random_state=-1), ValueError, "random_state"),
    (lambda: difference_interval("roc_auc", [0, 1, 1], [0.1, 0.2, 0.3], [0.1, 0.2], groups=[1, 2, 2]),
     ValueError, "score_b has 2 values"),
    (lambda: difference_interval("average_precision", [0, 1], [0.1, 0.2]), ValueError, "score_b"),
    (lambda: compare_aucs([0, 1, 1], {"a": [0.1, 0.2, 0.3]}), ValueError, "at least two"),
    (lambda: compare_aucs([0, 1, 1], [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]), TypeError, "map names"),
    (lambda: compare_aucs([1, 1, 1], {"a": [0.1, 0.2, 0.3], "b": [0.3, 0.2, 0.1]}), ValueError, "both classes"),
    (lambda: compare_aucs([0, 1, 1], {"a": [0.1, 0.2, 0.3], "b": [0.3]}), ValueError, "has 1 values"),
    (lambda: compare_aucs([0, 1, 1], {"a": [0.1, 0.2, 0.3], "b": [0.3, 0.2, 0.1]}, confidence=1.5),
     ValueError, "confidence"),
    (lambda: compare_aucs([0, 1, 1], {"a": [0.1, 0.2, 0.3], "b": [0.3, 0.2, 0.1]}).difference("a", "a"),
     KeyError, "scorers are"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
