"""Average precision (the area under the precision-recall curve) fast enough to bootstrap.

``metric_interval`` and ``difference_interval`` resample a callable metric by calling it once per
resample with new ``sample_weight``. scikit-learn's ``average_precision_score`` sorts the scores
on every call; on the hundred thousand test impressions of chapter 4 that makes a 200-resample
interval take seconds. :func:`average_precision` gives the same value (to rounding) and keeps the
sort of the last scores it saw, so each further call with the same labels and scores is a few
cumulative sums. :func:`average_precision_interval` is ``metric_interval(average_precision, ...)``
(the same resamples, the same interval) without the resamples-by-rows weight matrix that the
callable path builds, which for a hundred thousand rows in sessions is hundreds of megabytes.

Introduced in chapter 4 ("Training Data"), section "Handling Class Imbalance": PR AUC with a
session-grouped interval.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int
from .uncertainty import Interval, _confidence, _percentile, _unit_counts, _units

__all__ = ["average_precision", "average_precision_interval"]

_CACHE: dict = {}


def _sorted(y: np.ndarray, s: np.ndarray):
    """What every call with these labels and scores shares, cached by content: the descending order
    of ``s``, the positive rows in that order, and for each run of tied scores that holds a positive,
    where the run ends and which of those positives is its last."""
    cached = _CACHE.get("key")
    if cached is not None and cached[0].shape == y.shape and cached[1].shape == s.shape \
            and np.array_equal(cached[0], y) and np.array_equal(cached[1], s):
        return _CACHE["value"]
    order = np.argsort(-s, kind="stable")
    ranked = s[order]
    ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(s) - 1]
    positives = np.flatnonzero(y[order] == 1)  # positions, in score order, of the positive rows
    run = np.searchsorted(ends, positives)  # the tied run each positive falls in
    last = np.r_[np.flatnonzero(run[1:] != run[:-1]), len(run) - 1] if len(run) else np.array([], int)
    value = (order, positives, ends[run[last]] if len(run) else np.array([], int), last)
    _CACHE["key"] = (y.copy(), s.copy())
    _CACHE["value"] = value
    return value


def average_precision(y_true, y_score, sample_weight=None) -> float:
    """Average precision of scores for binary labels, as scikit-learn's ``average_precision_score``.

    The step-wise area under the precision-recall curve: the sum over score thresholds, from the
    highest, of (gain in recall) x (precision at that threshold), tied scores forming one
    threshold. With ``sample_weight``, every row counts with its weight (a bootstrap resample).

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
        Average precision; nan when the weighted positives sum to zero.

    Introduced in chapter 4 ("Training Data") so that PR AUC can carry a bootstrap interval
    (``metric_interval(average_precision, y, s, groups=sessions)``).
    """
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"y_true and y_score must be 1-d arrays of the same length, got shapes {y.shape} and {s.shape}")
    if y.size == 0:
        raise ValueError("average precision needs at least one row")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold binary labels (0/1 or bool)")
    if not np.isfinite(s).all():
        raise ValueError("y_score must be finite")
    y = y.astype(float)
    if sample_weight is None:
        w = None
    else:
        w = np.asarray(sample_weight, dtype=float)
        if w.shape != y.shape:
            raise ValueError(f"sample_weight must have one weight per row ({y.size}), got shape {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("sample_weight must be finite and non-negative")
    order, positives, run_ends, last = _sorted(y, s)
    if len(positives) == 0:
        return float("nan")
    weights = np.ones(len(y)) if w is None else w[order]
    # Only runs that hold a positive add recall; at each, precision = positives / rows up to its end.
    tp = np.cumsum(weights[positives])[last]
    seen = np.cumsum(weights)[run_ends]
    if tp[-1] <= 0:
        return float("nan")
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    gain = np.diff(tp, prepend=0.0) / tp[-1]
    return float(np.sum(gain * precision))


def average_precision_interval(y_true, y_score, *, groups=None, confidence: float = 0.95,
                               n_resamples: int = 1000, random_state: int = 0) -> Interval:
    """Average precision with its percentile-bootstrap interval, whole groups resampled.

    Gives what ``dmls.evaluation.metric_interval(average_precision, y_true, y_score, groups=groups,
    ...)`` gives — the same resamples drawn from the same seed, so the same interval — but builds
    one resample's row weights at a time.

    Parameters
    ----------
    y_true, y_score : array-like
        Binary labels and scores, one per row.
    groups : array-like, optional
        A label per row (a session id, say); rows of one group are resampled together.
    confidence, n_resamples, random_state
        Coverage of the interval, number of resamples (at least 100) and the seed that draws them.

    Introduced in chapter 4 ("Training Data"), section "Handling Class Imbalance".
    """
    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    random_state = check_int("random_state", random_state, minimum=0)
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(y_score, dtype=float)
    estimate = average_precision(y, s)  # also validates the arrays
    codes, n_units = _units(len(y), groups)
    rng = np.random.default_rng(random_state)
    draws = np.array([average_precision(y, s, sample_weight=counts[codes])
                      for block in _unit_counts(n_units, n_resamples, rng) for counts in block])
    return _percentile(estimate, draws, confidence, "average precision")
