"""How sure a measured number is: intervals for a metric, for the difference of two, over seeds.

A test set is a sample, so every metric computed on it has sampling error; two models scored on
the same rows differ by less noise than their two intervals suggest, because the rows they share
move both scores together. :func:`metric_interval` and :func:`difference_interval` resample rows
(or whole groups of rows, such as the impressions of one session, which are not independent) and
report a percentile interval; :func:`compare_aucs` compares several scorers' ROC AUCs at once;
:func:`repeat_over_seeds` reruns an experiment on fresh seeds and :func:`mean_interval`
summarises the spread with a t interval. :func:`roc_auc` and :func:`average_precision` are the
point estimates.

How the intervals stay fast, whatever the size of the test set:

* A resample is how many times each unit (row or group) was drawn. The counts are drawn in blocks
  of at most ``_CELLS`` units x resamples (32 MB), so no resamples x rows matrix is ever held. The
  counts depend only on the number of units, ``n_resamples`` and ``random_state``, so a chapter that
  compares many models on one test set draws the same counts again and again: the counts of the
  last few such keys are kept, compactly (one byte a count, read-only), up to ``_KEPT_BYTES``
  (64 MB) in all, and :func:`clear_kept_counts` frees them. Keeping them changes no result.
* A linear metric (a mean, log loss, Brier score, accuracy) needs only each unit's total, so a
  thousand resamples cost a thousand dot products.
* ROC AUC on independent rows uses DeLong's closed-form variance (and the covariance of two AUCs on
  the same rows for a difference), which the tests check against the bootstrap. With groups, the
  rows are ranked once per score, and each unit's positives and negatives are summed per score
  level (only the levels that hold a positive, and the gaps between them, matter): a resample's
  AUC is then its pair count ``sum_g sum_h c_g c_h K[g, h]`` (``K[g, h]``: pairs of a positive of
  ``g`` and a negative of ``h`` in the right order, ties one half) read off those sums, in exact
  integer arithmetic: every resample's AUC is the correctly rounded pair-count fraction of its rows
  (scikit-learn's ``roc_auc_score`` on them, to rounding).
* Average precision likewise: each unit's rows summed between consecutive score levels that hold
  a positive give every resample's precision at every threshold.

Resamples in which the metric is undefined — ROC AUC drawing no positive or no negative, average
precision drawing no positive — are left out and the interval is taken over the others; an
interval needs at least two defined resamples, else a ``ValueError`` says the class is too rare.

Introduced in chapter 1 ("Overview": one number on one test set is not a result) and used by every
comparison in the book; chapter 6 ("Model Offline Evaluation") discusses it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import sparse, stats

from .._validation import check_int, check_number

#: Metrics computed with resampling weights in a vectorised pass; any callable
#: ``f(y_true, y_score, sample_weight=...)`` (scikit-learn's metrics, for example) works too.
NAMED_METRICS = ("roc_auc", "average_precision", "log_loss", "brier", "accuracy", "mean")
_LINEAR = ("mean", "log_loss", "brier", "accuracy")
#: How an interval is computed: ``"auto"`` (DeLong for ROC AUC on independent rows, else the
#: bootstrap), ``"bootstrap"`` always, ``"delong"`` (ROC AUC only; with groups, clustered DeLong).
METHODS = ("auto", "bootstrap", "delong")
_CELLS = 4_000_000  # resamples x units evaluated together (32 MB of counts)
_KEPT_BYTES = 64 * 2**20  # resampled counts kept between calls, in all


@dataclass(frozen=True)
class Interval:
    """An estimate with a confidence interval around it.

    Introduced in chapter 1 ("Overview"); returned by every function of this module.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str

    def excludes(self, value: float = 0.0) -> bool:
        """True when ``value`` lies outside the interval (for a difference: the sign is settled)."""
        return not (self.low <= value <= self.high)

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def format(self, spec: str = ".3f") -> str:
        """``"0.633 (95% CI 0.621 to 0.645)"`` with each number formatted by ``spec`` (:func:`format_number`)."""
        return (f"{format_number(self.estimate, spec)} ({self.confidence:.0%} CI {format_number(self.low, spec)} to "
                f"{format_number(self.high, spec)})")

    def bracket(self, spec: str = "+.3f", scale: float = 1.0) -> str:
        """``"+0.130 [+0.052, +0.201]"``: estimate and interval, each times ``scale`` (100 for
        percentage points), formatted by ``spec`` (:func:`format_number`)."""
        est, low, high = (format_number(scale * v, spec) for v in (self.estimate, self.low, self.high))
        return f"{est} [{low}, {high}]"

    def __str__(self) -> str:
        return self.format()


def format_number(value: float, spec: str = ".3f") -> str:
    """``format(value, spec)``, except that a value that rounds to zero never prints a minus sign.

    ``f"{-0.00001:+.3f}"`` is ``"-0.000"``: the sign of a number too small to show. A value so
    close to zero falls on either side of it from one CPU's floating point to another's, so a
    page that printed the sign would print a different string on another machine.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """
    text = format(value, spec)
    mantissa = text.split("e")[0].split("E")[0]
    if text.startswith("-") and "0" in mantissa and not any(ch in "123456789" for ch in mantissa):
        text = ("+" if "+" in spec.split(".")[0] else "") + text[1:]
    return text


def _confidence(confidence) -> float:
    return check_number("confidence", confidence, minimum=0.0, maximum=1.0, strict_minimum=True,
                        strict_maximum=True)


def _array(name: str, values, n: int | None = None) -> np.ndarray:
    if isinstance(values, (str, bytes)) or values is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(values).__name__}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} values, but y_true has {n}")
    return arr


def _labels(y_true) -> np.ndarray:
    y = _array("y_true", y_true)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold 0/1 labels for this metric")
    return y


def _units(n: int, groups) -> tuple[np.ndarray, int]:
    """The resampling unit of each row (the row itself, or its group) and the number of units."""
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups)
    if g.ndim != 1 or g.size != n:
        raise ValueError(f"groups must give one label per row ({n}), got shape {g.shape}")
    if pd.isna(pd.Series(g)).any():
        raise ValueError("groups contains missing labels")
    codes, uniques = pd.factorize(g)
    if len(uniques) < 2:
        raise ValueError("groups must contain at least two groups to resample")
    return codes, len(uniques)


# --- resampled counts ------------------------------------------------------------------------------

def _unit_counts(n_units: int, n_resamples: int, rng: np.random.Generator):
    """Yield blocks of resamples (float arrays, resamples x units): how often each unit is drawn,
    ``n_units`` draws with replacement per resample. The draws come from ``rng.integers`` in
    resample order, so they do not depend on how the resamples are split into blocks."""
    dtype = np.int32 if n_units < 2**31 else np.int64  # the same stream of draws, half the memory
    done = 0
    while done < n_resamples:
        size = min(max(1, _CELLS // n_units), 256, n_resamples - done)
        draws = rng.integers(0, n_units, size=(size, n_units), dtype=dtype)
        counts = np.empty((size, n_units))
        for row, drawn in zip(counts, draws):  # a resample at a time: stays in the CPU's cache
            row[:] = np.bincount(drawn, minlength=n_units)
        yield counts
        done += size


_kept: OrderedDict = OrderedDict()  # (n_units, n_resamples, random_state) -> read-only count blocks
_kept_lock = threading.Lock()


def _resampled_counts(n_units: int, n_resamples: int, random_state: int):
    """The blocks of :func:`_unit_counts` drawn from ``default_rng(random_state)``, remembered.

    The counts depend on nothing else, so the counts of recent keys are kept (as the smallest
    unsigned integers that hold them, read-only) while they fit in ``_KEPT_BYTES`` together; the
    least recently used go first, and a key whose counts alone exceed the budget is not kept.
    Every caller gets fresh float copies, so nobody can change what is kept; kept counts come in
    blocks of 32 resamples (every metric is computed resample by resample, so blocks do not matter).
    """
    key = (int(n_units), int(n_resamples), int(random_state))
    with _kept_lock:
        blocks = _kept.get(key)
        if blocks is not None:
            _kept.move_to_end(key)
    if blocks is not None:
        for block in blocks:  # converted a few resamples at a time, which stay in the CPU's cache
            for start in range(0, len(block), 32):
                yield block[start:start + 32].astype(float)
        return
    keep = n_units * n_resamples <= _KEPT_BYTES  # at one byte a count, at least
    compact, nbytes = [], 0
    for block in _unit_counts(n_units, n_resamples, np.random.default_rng(random_state)):
        if keep:
            top = block.max()
            small = block.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32)
            small.setflags(write=False)
            compact.append(small)
            nbytes += small.nbytes
            keep = nbytes <= _KEPT_BYTES
        yield block
    if keep:  # all blocks drawn (a caller that stopped early leaves nothing behind)
        with _kept_lock:
            _kept[key] = tuple(compact)
            _kept.move_to_end(key)
            while sum(b.nbytes for blocks in _kept.values() for b in blocks) > _KEPT_BYTES:
                _kept.popitem(last=False)


def clear_kept_counts() -> None:
    """Forget the resampled counts kept between calls (they are drawn again when next needed).

    The kept counts never change a result; this only frees their memory (at most 64 MB).
    Introduced in chapter 5 ("Feature Engineering"), which compares dozens of models on one test set.
    """
    with _kept_lock:
        _kept.clear()


# --- ranking metrics: every unit's sums per score level, from one sort per score ----------------

def _level_sums(units: np.ndarray, columns: np.ndarray, n_units: int, n_columns: int) -> sparse.csc_matrix:
    """A units x columns matrix of how many rows of each unit fall in each column (sparse)."""
    data = np.ones(len(units))
    return sparse.csc_matrix((data, (units, columns)), shape=(n_units, n_columns))


def _times(weights: np.ndarray, sums: sparse.csc_matrix) -> np.ndarray:
    """``weights @ sums`` as a C-ordered array: its rows are summed along, in numpy's pairwise order."""
    return np.ascontiguousarray((sums.T @ weights.T).T)


class _RankedAUC:
    """ROC AUC of one score for any unit weights, from sums per unit and score level.

    Scores sorted ascending; only levels holding a positive matter. For the k-th such level,
    ``P_k`` is the weight of its positives, ``T_k`` of the negatives tied with them, and ``D_k`` of
    the negatives at or above level k-1 and below level k. Negatives below level k weigh
    ``D_1 + ... + D_k``, so the weighted pair count is ``sum_k P_k (D_1 + ... + D_k + T_k / 2)``.
    With whole-number weights (resample counts) every sum is exact.
    """

    def __init__(self, y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_units: int):
        order = np.argsort(s, kind="stable")
        ranked, pos, units = s[order], y[order] == 1, codes[order]
        level = np.r_[0, np.cumsum(ranked[1:] != ranked[:-1])]
        pos_levels = np.unique(level[pos])
        n = self.n_levels = len(pos_levels)
        k = np.searchsorted(pos_levels, level, side="left")  # the first positive level at or above
        tied = ~pos & (k < n) & (pos_levels[np.minimum(k, n - 1)] == level)
        below = k + tied  # a negative tied with level k is below level k + 1
        neg = ~pos & (below < n)
        columns = np.r_[k[pos], n + below[neg], 2 * n + k[tied]]
        rows = np.r_[units[pos], units[neg], units[tied]]
        self.sums = _level_sums(rows, columns, n_units, 3 * n)
        self.negatives = np.bincount(units[~pos], minlength=n_units).astype(float)

    def values(self, weights: np.ndarray) -> np.ndarray:
        """The AUC under each row of ``weights`` (resamples x units); nan without both classes."""
        m = _times(weights, self.sums)
        n = self.n_levels
        p, d, t = m[:, :n], m[:, n:2 * n], m[:, 2 * n:]
        pairs = (p * (np.cumsum(d, axis=1) + 0.5 * t)).sum(axis=1)
        total = p.sum(axis=1) * (weights @ self.negatives)
        with np.errstate(invalid="ignore", divide="ignore"):
            return pairs / total


class _RankedAP:
    """Average precision of one score for any unit weights, from sums per unit and score level.

    Scores sorted descending; tied scores form one threshold, and only thresholds holding a
    positive add recall. For the k-th of them, ``P_k`` is the weight of its positives and ``S_k``
    of all rows ranked after threshold k-1 down to threshold k; precision there is
    ``(P_1 + ... + P_k) / (S_1 + ... + S_k)`` and average precision the recall-weighted sum of
    those precisions (scikit-learn's ``average_precision_score``).
    """

    def __init__(self, y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_units: int):
        order = np.argsort(-s, kind="stable")
        ranked, pos, units = s[order], y[order] == 1, codes[order]
        run = np.r_[0, np.cumsum(ranked[1:] != ranked[:-1])]
        pos_runs = np.unique(run[pos])
        n = self.n_levels = len(pos_runs)
        k = np.searchsorted(pos_runs, run, side="left")  # the threshold each row is counted from
        seen = k < n
        self.sums = _level_sums(np.r_[units[seen], units[pos]], np.r_[k[seen], n + k[pos]], n_units, 2 * n)

    def values(self, weights: np.ndarray) -> np.ndarray:
        """Average precision under each row of ``weights``; nan where the positives weigh nothing."""
        n = self.n_levels
        if n == 0:
            return np.full(len(weights), np.nan)
        m = _times(weights, self.sums)
        seen, gained = np.cumsum(m[:, :n], axis=1), m[:, n:]
        tp = np.cumsum(gained, axis=1)
        precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ap = (gained / tp[:, -1:] * precision).sum(axis=1)
        ap[~(tp[:, -1] > 0)] = np.nan
        return ap


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve of ``y_score`` for the binary labels ``y_true``.

    The probability that a random positive is scored above a random negative, ties counting one
    half: scikit-learn's ``roc_auc_score``, from the midranks of the scores in one sort.

    Parameters
    ----------
    y_true : array-like of 0/1 or bool, shape (n,)
        Both classes must occur.
    y_score : array-like of float, shape (n,)
        Higher means more likely positive; finite.

    Returns
    -------
    float

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75

    Introduced in chapter 2 ("Mind Versus Data": learning curves that score many fits); its
    intervals are ``metric_interval("roc_auc", ...)``.
    """
    y = _labels(y_true) == 1
    s = _array("y_score", y_score, y.size)
    positives = int(y.sum())
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs both classes in y_true")
    ranks = stats.rankdata(s)  # midranks: tied scores share the mean of their ranks
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(y_true, y_score, sample_weight=None) -> float:
    """Average precision of scores for binary labels, as scikit-learn's ``average_precision_score``.

    The step-wise area under the precision-recall curve: the sum over score thresholds, from the
    highest, of (gain in recall) x (precision at that threshold), tied scores forming one
    threshold. With ``sample_weight``, every row counts with its weight.

    Parameters
    ----------
    y_true : array-like of 0/1 (or bool)
        The labels; 1 is the positive (rare) class.
    y_score : array-like of float
        Higher means more likely positive.
    sample_weight : array-like of non-negative float, optional
        A weight per row.

    Returns
    -------
    float
        Average precision; nan when the (weighted) positives sum to zero.

    Introduced in chapter 4 ("Training Data", "Handling Class Imbalance"): PR AUC; its intervals
    are ``metric_interval("average_precision", ...)``.
    """
    y = _labels(y_true)
    s = _array("y_score", y_score, y.size)
    if sample_weight is None:
        w = np.ones(y.size)
    else:
        w = _array("sample_weight", sample_weight, y.size)
        if (w < 0).any():
            raise ValueError("sample_weight must be non-negative")
    return float(_RankedAP(y, s, np.arange(y.size), y.size).values(w[None, :])[0])


# --- the metric of an interval ---------------------------------------------------------------------

class _Metric:
    """A metric evaluated on the full sample and on blocks of resampled unit counts."""

    def __init__(self, metric, y_true, y_score, groups=None, score_name: str = "y_score"):
        self.score_name = score_name
        if metric is roc_auc or metric is average_precision:
            metric = metric.__name__  # the library's own metrics take the fast named path
        self.name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
        if isinstance(metric, str):
            if metric not in NAMED_METRICS:
                raise ValueError(f"metric must be one of {NAMED_METRICS} or a callable, got {metric!r}")
            self._prepare_named(metric, y_true, y_score)
        elif callable(metric):
            self.y = _array("y_true", y_true)
            self.s = _array(score_name, y_score, self.y.size)
            self._callable = metric
            self.kind = "callable"
        else:
            raise TypeError(f"metric must be a name or a callable, got {type(metric).__name__}")
        self.n = self.y.size
        self.grouped = groups is not None
        self.codes, self.n_units = _units(self.n, groups)
        if self.kind in _LINEAR:
            # A linear metric needs only each unit's total and size: resampling never touches rows.
            self._unit_sum = np.bincount(self.codes, weights=self._loss, minlength=self.n_units)
            self._unit_size = np.bincount(self.codes, minlength=self.n_units).astype(float)
        self._ranked = None

    def _prepare_named(self, metric, y_true, y_score):
        self.kind = metric
        if metric == "mean":
            if y_score is not None:
                raise ValueError("the 'mean' metric averages one array: pass the values as y_true only")
            self.y = _array("y_true", y_true)
            self._loss = self.y
            return
        self.y = _labels(y_true)
        if y_score is None:
            raise ValueError(f"the {metric!r} metric needs {self.score_name}")
        self.s = _array(self.score_name, y_score, self.y.size)
        if metric in ("log_loss", "brier", "accuracy") and ((self.s < 0) | (self.s > 1)).any():
            raise ValueError(f"the {metric!r} metric needs probabilities in [0, 1] as {self.score_name}")
        if metric == "roc_auc" and self.y.min() == self.y.max():
            raise ValueError("ROC AUC needs both classes in y_true")
        if metric == "average_precision" and self.y.max() == 0:
            raise ValueError("average precision needs at least one positive in y_true")
        if metric == "log_loss":
            p = np.clip(self.s, 1e-15, 1 - 1e-15)
            self._loss = -(self.y * np.log(p) + (1 - self.y) * np.log1p(-p))
        elif metric == "brier":
            self._loss = (self.s - self.y) ** 2
        elif metric == "accuracy":
            self._loss = ((self.s >= 0.5) == (self.y == 1)).astype(float)

    def values(self, counts: np.ndarray) -> np.ndarray:
        """The metric under each row of ``counts`` (resamples x units)."""
        if self.kind in _LINEAR:
            return (counts @ self._unit_sum) / (counts @ self._unit_size)
        if self.kind in ("roc_auc", "average_precision"):
            if self._ranked is None:  # ranked once per score, whatever the number of resamples
                ranked = _RankedAUC if self.kind == "roc_auc" else _RankedAP
                self._ranked = ranked(self.y, self.s, self.codes, self.n_units)
            return self._ranked.values(counts)
        weights = counts[:, self.codes]
        return np.array([self._callable(self.y, self.s, sample_weight=w) for w in weights], dtype=float)

    def estimate(self) -> float:
        return float(self.values(np.ones((1, self.n_units)))[0])


def _midranks(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def _delong(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of several score arrays on the same labels and their covariance (DeLong et al., 1988)."""
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    v10, v01, aucs = [], [], []
    for s in scores:
        tz, tx, ty = _midranks(np.r_[s[pos], s[neg]]), _midranks(s[pos]), _midranks(s[neg])
        v10.append((tz[:m] - tx) / n)
        v01.append(1.0 - (tz[m:] - ty) / m)
        aucs.append(float(v10[-1].mean()))
    s10 = np.atleast_2d(np.cov(np.vstack(v10))) if m > 1 else np.zeros((len(scores),) * 2)
    s01 = np.atleast_2d(np.cov(np.vstack(v01))) if n > 1 else np.zeros((len(scores),) * 2)
    return np.array(aucs), s10 / m + s01 / n


def _cluster_deviations(y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_units: int):
    """The AUC and each cluster's share of its deviation (Obuchowski, 1997).

    Each row's placement (for a positive, the share of negatives it outranks; for a negative, the
    share of positives that outrank it), minus the AUC, is summed per cluster; the AUC's variance
    is read off the spread of those sums, so rows of one cluster count together.
    """
    pos = y == 1
    m, n = int(pos.sum()), int((~pos).sum())
    ranks = stats.rankdata(s)  # midranks: ties count one half
    v10 = (ranks[pos] - stats.rankdata(s[pos])) / n
    v01 = 1.0 - (ranks[~pos] - stats.rankdata(s[~pos])) / m
    auc = float(v10.mean())
    per_cluster = (np.bincount(codes[pos], weights=v10 - auc, minlength=n_units) / m
                   + np.bincount(codes[~pos], weights=v01 - auc, minlength=n_units) / n)
    return auc, per_cluster


def _clustered_normal(estimate: float, deviations: np.ndarray, confidence: float, bounds) -> Interval:
    k = len(deviations)
    variance = k / (k - 1) * float(np.sum(deviations ** 2))
    interval = _normal(estimate, variance, confidence, bounds)
    return Interval(interval.estimate, interval.low, interval.high, confidence, f"clustered DeLong over {k} clusters")


def _check_method(method, metric) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "delong" and metric != "roc_auc" and metric is not roc_auc:
        raise ValueError(f"method='delong' is for ROC AUC only, not {metric!r}")
    return method


def _normal(estimate: float, variance: float, confidence: float, bounds=(-np.inf, np.inf)) -> Interval:
    half = float(stats.norm.ppf((1 + confidence) / 2)) * float(np.sqrt(max(variance, 0.0)))
    low, high = max(bounds[0], estimate - half), min(bounds[1], estimate + half)
    return Interval(float(estimate), float(low), float(high), confidence, "DeLong")


def _percentile(estimate: float, draws: np.ndarray, confidence: float, what: str) -> Interval:
    draws = draws[np.isfinite(draws)]
    if draws.size < 2:
        raise ValueError(f"too few resamples had a defined {what} (a class may be too rare to resample)")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return Interval(float(estimate), float(low), float(high), confidence, "percentile bootstrap")


def metric_interval(metric, y_true, y_score=None, *, groups=None, confidence: float = 0.95,
                    n_resamples: int = 1000, random_state: int = 0, method: str = "auto") -> Interval:
    """A metric on a sample with its percentile-bootstrap confidence interval.

    Parameters
    ----------
    metric : {"roc_auc", "average_precision", "log_loss", "brier", "accuracy", "mean"} or callable
        A callable is called as ``metric(y_true, y_score, sample_weight=w)`` once per resample
        (:func:`roc_auc` and :func:`average_precision` are recognised and take the named path).
    y_true, y_score : array-like
        Labels and scores; for ``"mean"`` only ``y_true`` (the values to average).
    groups : array-like, optional
        A label per row; whole groups are resampled (rows of one session move together).
    confidence, n_resamples, random_state
        Coverage of the interval, number of resamples (at least 100) and the seed that draws them.
    method : {"auto", "bootstrap", "delong"}
        ``"auto"``: DeLong's normal interval for ROC AUC without groups, the bootstrap otherwise.
        ``"bootstrap"``: the bootstrap always. ``"delong"`` (ROC AUC only): a normal interval from
        DeLong's placements; with ``groups`` their sums per group set the variance (Obuchowski's
        clustered DeLong, 1997), which treats groups as independent as the grouped bootstrap
        does, from one ranking of the scores instead of a thousand resamples.

    Returns
    -------
    Interval
        ROC AUC without groups gets DeLong's normal interval (no resampling needed) unless
        ``method="bootstrap"``; everything else a percentile-bootstrap interval over the
        resamples in which the metric is defined, or with ``method="delong"`` a normal interval.

    Introduced in chapter 1 ("Overview"); chapter 6 discusses it.
    """
    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    random_state = check_int("random_state", random_state, minimum=0)
    method = _check_method(method, metric)
    m = _Metric(metric, y_true, y_score, groups)
    if m.kind == "roc_auc" and m.grouped and method == "delong":
        auc, deviations = _cluster_deviations(m.y, m.s, m.codes, m.n_units)
        return _clustered_normal(auc, deviations, confidence, (0.0, 1.0))
    if m.kind == "roc_auc" and not m.grouped and method != "bootstrap":
        aucs, cov = _delong(m.y, [m.s])
        return _normal(aucs[0], cov[0, 0], confidence, bounds=(0.0, 1.0))
    draws = np.concatenate([m.values(c) for c in _resampled_counts(m.n_units, n_resamples, random_state)])
    return _percentile(m.estimate(), draws, confidence, m.name)


def difference_interval(metric, y_true, score_a, score_b=None, *, groups=None, confidence: float = 0.95,
                        n_resamples: int = 1000, random_state: int = 0, method: str = "auto") -> Interval:
    """``metric(a) - metric(b)`` on the same rows, with a paired interval.

    Both metrics are computed on each resample, so what the rows share cancels; the interval of the
    difference is much narrower than the two separate intervals suggest. For ``"mean"`` pass the
    two paired value arrays as ``score_a`` and ``score_b`` and ``y_true=None``.

    Parameters
    ----------
    metric : str or callable
        As in :func:`metric_interval`.
    y_true : array-like or None
        Labels of the rows (None for ``"mean"``).
    score_a, score_b : array-like
        The two scorers' scores on the same rows (for ``"mean"``, the two value arrays).
    groups, confidence, n_resamples, random_state, method
        As in :func:`metric_interval`. With ``method="delong"`` and ``groups``, both scores'
        group deviations are taken on the same rows, so what a group does to both cancels.

    Returns
    -------
    Interval
        ROC AUC without groups gets DeLong's paired normal interval (unless
        ``method="bootstrap"``); everything else a paired percentile-bootstrap interval (the same
        resamples for both), or with ``method="delong"`` clustered DeLong's paired interval.

    Introduced in chapter 1 ("Overview"); chapter 6 discusses it.
    """
    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    random_state = check_int("random_state", random_state, minimum=0)
    method = _check_method(method, metric)
    if metric == "mean":
        if y_true is not None:
            raise ValueError("for the 'mean' metric pass y_true=None and the two value arrays")
        if score_b is None:
            raise ValueError("difference_interval needs score_b")
        a, b = _Metric("mean", score_a, None, groups), _Metric("mean", score_b, None, groups)
        if a.n != b.n:
            raise ValueError(f"score_a has {a.n} values and score_b {b.n}: paired rows are needed")
    else:
        if score_b is None:
            raise ValueError("difference_interval needs score_b")
        a = _Metric(metric, y_true, score_a, groups, score_name="score_a")
        b = _Metric(metric, y_true, score_b, groups, score_name="score_b")
        if a.kind == "roc_auc" and a.grouped and method == "delong":
            auc_a, dev_a = _cluster_deviations(a.y, a.s, a.codes, a.n_units)
            auc_b, dev_b = _cluster_deviations(b.y, b.s, b.codes, b.n_units)
            interval = _clustered_normal(auc_a - auc_b, dev_a - dev_b, confidence, (-1.0, 1.0))
            return Interval(interval.estimate, interval.low, interval.high, confidence,
                            interval.method.replace("DeLong", "DeLong difference"))
        if a.kind == "roc_auc" and not a.grouped and method != "bootstrap":
            aucs, cov = _delong(a.y, [a.s, b.s])
            return _normal(aucs[0] - aucs[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], confidence)
    draws = np.concatenate([a.values(c) - b.values(c)
                            for c in _resampled_counts(a.n_units, n_resamples, random_state)])
    return _percentile(a.estimate() - b.estimate(), draws, confidence, f"difference of {a.name}")


def mean_interval(values, confidence: float = 0.95) -> Interval:
    """The mean of independent values (one per seed, say) with its Student-t interval.

    Introduced in chapter 1 ("Overview"); used wherever an experiment is repeated over seeds.
    """
    confidence = _confidence(confidence)
    x = _array("values", values)
    if x.size < 2:
        raise ValueError("an interval needs at least two values")
    mean, sem = float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))
    half = float(stats.t.ppf((1 + confidence) / 2, df=x.size - 1)) * sem
    return Interval(mean, mean - half, mean + half, confidence, f"t interval over {x.size} values")


@dataclass(frozen=True)
class SeedRuns:
    """The results of one experiment repeated over seeds: one row per seed.

    Introduced in chapter 1 ("Overview"); returned by :func:`repeat_over_seeds`.
    """

    results: pd.DataFrame

    def interval(self, column: str, confidence: float = 0.95) -> Interval:
        if column not in self.results.columns:
            raise KeyError(f"no result named {column!r}; the experiment returned {list(self.results.columns)}")
        return mean_interval(self.results[column].to_numpy(), confidence)

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Mean, standard deviation and the t interval of the mean, for each result."""
        rows = {}
        for column in self.results.columns:
            iv = self.interval(column, confidence)
            rows[column] = {"mean": iv.estimate, "sd": float(self.results[column].std(ddof=1)),
                            "low": iv.low, "high": iv.high, "seeds": len(self.results)}
        return pd.DataFrame.from_dict(rows, orient="index")


def repeat_over_seeds(experiment: Callable[[int], float | Mapping[str, float]], seeds: Iterable[int], *,
                      n_jobs: int = 1) -> SeedRuns:
    """Run ``experiment(seed)`` for each seed; it returns a number or a mapping of named numbers.

    ``n_jobs`` > 1 runs the seeds in that many worker processes (joblib's ``loky`` backend, which
    sends a function defined in a notebook along with what it refers to). Each run depends only on
    its seed, so the results are those of ``n_jobs=1``, in the order of ``seeds``; the workers
    inherit the environment, thread caps included (:func:`dmls.notebook.setup`). Worth it when a
    run takes seconds: starting the workers costs about one.

    Introduced in chapter 1 ("Overview"): one seed is one draw of the world, not a result; ``n_jobs``
    in chapter 7 ("Myth 2"), whose worlds take seconds each.
    """
    if not callable(experiment):
        raise TypeError("experiment must be a callable taking a seed")
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    n_jobs = check_int("n_jobs", n_jobs, minimum=1)
    if len(seeds) < 2:
        raise ValueError("repeat over at least two seeds")
    if len(set(seeds)) != len(seeds):
        raise ValueError("seeds repeat: each run needs a seed of its own")
    outputs = _run_seeds(experiment, seeds, min(n_jobs, len(seeds)))
    rows = []
    for seed, out in zip(seeds, outputs):
        row = dict(out) if isinstance(out, Mapping) else {"value": out}
        for key, value in row.items():
            check_number(f"result {key!r} of seed {seed}", value)
        rows.append(row)
    if any(set(r) != set(rows[0]) for r in rows):
        raise ValueError("the experiment returned different result names for different seeds")
    return SeedRuns(pd.DataFrame(rows, index=pd.Index(seeds, name="seed")))


def _run_seeds(experiment, seeds: list[int], n_jobs: int) -> list:
    if n_jobs == 1:
        return [experiment(seed) for seed in seeds]
    import pickle

    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import BrokenProcessPool

    try:
        return Parallel(n_jobs=n_jobs, backend="loky")(delayed(experiment)(seed) for seed in seeds)
    except (pickle.PicklingError, BrokenProcessPool) as exc:  # what the experiment raises passes through
        raise ValueError(f"the experiment could not be run in worker processes ({type(exc).__name__}: {exc}); "
                         "run it with n_jobs=1") from exc


def interval_table(intervals: Mapping[str, Interval], spec: str = ".3f") -> pd.DataFrame:
    """A table of named intervals: estimate, low, high, and the formatted text.

    Introduced in chapter 1 ("Overview"), for tables that carry their uncertainty.
    """
    rows = {}
    for name, iv in intervals.items():
        if not isinstance(iv, Interval):
            raise TypeError(f"{name!r} is not an Interval")
        rows[name] = {"estimate": iv.estimate, "low": iv.low, "high": iv.high, "interval": iv.format(spec)}
    return pd.DataFrame.from_dict(rows, orient="index")


@dataclass(frozen=True)
class AUCComparison:
    """The ROC AUC of each named scorer on the same rows, and the paired difference of every pair.

    ``auc[name]`` is the scorer's AUC with DeLong's interval (what ``metric_interval("roc_auc", ...)``
    gives); ``difference(a, b)`` is ``AUC(a) - AUC(b)`` with DeLong's paired interval (what
    ``difference_interval("roc_auc", ...)`` gives). Returned by :func:`compare_aucs`.

    Introduced in chapter 1 ("Overview", "When to Use Machine Learning").
    """

    auc: dict
    differences: dict

    def difference(self, a: str, b: str) -> Interval:
        """``AUC(a) - AUC(b)`` on the same rows, with its paired interval."""
        if (a, b) not in self.differences:
            raise KeyError(f"no scorers named {a!r} and {b!r} (or the same name twice): "
                           f"the scorers are {list(self.auc)}")
        return self.differences[(a, b)]

    def winner(self) -> str | None:
        """The scorer whose lead over every other scorer has an interval above zero, else None."""
        for a in self.auc:
            if all(self.differences[(a, b)].low > 0 for b in self.auc if b != a):
                return a
        return None


def compare_aucs(y_true, scores: Mapping[str, object], *, confidence: float = 0.95) -> AUCComparison:
    """ROC AUC of several scorers on the same rows, with every paired difference, from one DeLong pass.

    Each score is ranked once and every AUC, its interval and every paired difference are read off
    one DeLong covariance matrix: the intervals ``metric_interval("roc_auc", ...)`` and
    ``difference_interval("roc_auc", ...)`` give one at a time, for ``k`` scorers at the cost of
    ``k`` rankings instead of ``k + k (k - 1)``.

    Parameters
    ----------
    y_true : array-like of 0/1
        The labels; both classes must occur. Rows are taken as independent (DeLong); with groups,
        use :func:`difference_interval` with ``groups=``.
    scores : mapping of str to array-like
        At least two scorers, each one score per row of ``y_true``.
    confidence : float
        Coverage of every interval (0 < confidence < 1).

    Returns
    -------
    AUCComparison

    Introduced in chapter 1 ("Overview", "When to Use Machine Learning": the learning curve of a
    rule, a lookup table and a model).
    """
    confidence = _confidence(confidence)
    y = _labels(y_true)
    if y.min() == y.max():
        raise ValueError("ROC AUC needs both classes in y_true")
    if not isinstance(scores, Mapping):
        raise TypeError(f"scores must map names to score arrays, got {type(scores).__name__}")
    if len(scores) < 2:
        raise ValueError(f"compare_aucs needs at least two scorers, got {len(scores)}")
    names = list(scores)
    if not all(isinstance(name, str) for name in names):
        raise TypeError("scorer names must be strings")
    arrays = [_array(f"scores[{name!r}]", scores[name], y.size) for name in names]
    aucs, cov = _delong(y, arrays)
    auc = {name: _normal(aucs[i], cov[i, i], confidence, bounds=(0.0, 1.0)) for i, name in enumerate(names)}
    differences = {
        (a, b): _normal(aucs[i] - aucs[j], cov[i, i] + cov[j, j] - 2 * cov[i, j], confidence)
        for i, a in enumerate(names) for j, b in enumerate(names) if i != j
    }
    return AUCComparison(auc, differences)
