"""ROC AUC intervals when rows come in clusters (a user's impressions), from DeLong's placements.

DeLong's interval treats every row as independent. A user's impressions are not: the same taste
moves all of them, so a test set of 100,000 impressions from 10,000 users holds less information
than 100,000 independent rows. The bootstrap over groups (``metric_interval(..., groups=)``)
handles that by resampling whole users, at the price of a thousand AUCs. Obuchowski's clustered
variant of DeLong's variance needs one ranking per score instead: each row's *placement* (for a
positive, the share of negatives it outranks; for a negative, the share of positives that outrank
it) is summed per cluster, and the variance of the AUC is read off the spread of those cluster
sums, so rows of one cluster count together. With one row per cluster it is DeLong's variance (to
a factor ``n / (n - 1)``); the tests check it against the grouped bootstrap.

Obuchowski, N. A. (1997). Nonparametric analysis of clustered ROC curve data. *Biometrics* 53(2).

Introduced in chapter 2 ("Introduction to Machine Learning Systems Design"): its offline AUCs are
computed on impressions and their intervals treat users, not impressions, as independent.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .._validation import check_number
from .uncertainty import Interval

__all__ = ["clustered_auc_difference", "clustered_auc_interval"]


def _inputs(y_true, scores, groups):
    y = np.asarray(y_true)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y_true must be a non-empty one-dimensional array, got shape {y.shape}")
    if y.dtype == bool:
        y = y.astype(int)
    try:
        y = y.astype(float)
    except (TypeError, ValueError):
        raise TypeError("y_true must hold 0/1 labels") from None
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold 0/1 labels")
    if y.min() == y.max():
        raise ValueError("ROC AUC needs both classes in y_true")
    out = []
    for name, s in scores:
        try:
            s = np.asarray(s, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an array of numbers") from None
        if s.shape != y.shape:
            raise ValueError(f"{name} has shape {s.shape}, but y_true has {y.shape}")
        if not np.isfinite(s).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        out.append(s)
    if groups is None:
        raise TypeError("groups is required: one cluster label per row (a user id, say)")
    g = np.asarray(groups)
    if g.shape != y.shape:
        raise ValueError(f"groups must give one label per row ({y.size}), got shape {g.shape}")
    if (g.dtype.kind == "f" and np.isnan(g).any()) or (g.dtype == object and any(v is None for v in g)):
        raise ValueError("groups contains missing labels")
    _, codes = np.unique(g, return_inverse=True)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise ValueError("groups must contain at least two clusters")
    return y == 1, out, codes.ravel(), n_groups


def _influence(pos: np.ndarray, s: np.ndarray, codes: np.ndarray, n_groups: int):
    """The AUC and each cluster's share of its deviation: sum of (placement - AUC) / count."""
    m, n = int(pos.sum()), int((~pos).sum())
    ranks = stats.rankdata(s)  # midranks: ties count one half
    v10 = (ranks[pos] - stats.rankdata(s[pos])) / n  # share of negatives each positive outranks
    v01 = 1.0 - (ranks[~pos] - stats.rankdata(s[~pos])) / m  # share of positives above each negative
    auc = float(v10.mean())
    per_cluster = (np.bincount(codes[pos], weights=v10 - auc, minlength=n_groups) / m
                   + np.bincount(codes[~pos], weights=v01 - auc, minlength=n_groups) / n)
    return auc, per_cluster


def _interval(estimate: float, deviations: np.ndarray, confidence: float, method: str, bounds) -> Interval:
    k = len(deviations)
    variance = k / (k - 1) * float(np.sum(deviations ** 2))
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(variance)
    low, high = max(bounds[0], estimate - half), min(bounds[1], estimate + half)
    return Interval(estimate, low, high, confidence, method)


def clustered_auc_interval(y_true, y_score, *, groups, confidence: float = 0.95) -> Interval:
    """ROC AUC with a normal interval whose variance treats clusters, not rows, as independent.

    Parameters
    ----------
    y_true : array-like of 0/1 (or booleans)
        The labels; both classes must occur.
    y_score : array-like of float
        One score per row; higher means more likely positive.
    groups : array-like
        A cluster label per row (the user of each impression); at least two clusters.
    confidence : float
        Coverage of the interval, in (0, 1).

    Introduced in chapter 2 ("Introduction to Machine Learning Systems Design").
    """
    confidence = check_number("confidence", confidence, minimum=0.0, maximum=1.0,
                              strict_minimum=True, strict_maximum=True)
    pos, (s,), codes, k = _inputs(y_true, [("y_score", y_score)], groups)
    auc, dev = _influence(pos, s, codes, k)
    return _interval(auc, dev, confidence, f"clustered DeLong over {k} clusters", (0.0, 1.0))


def clustered_auc_difference(y_true, score_a, score_b, *, groups, confidence: float = 0.95) -> Interval:
    """``AUC(a) - AUC(b)`` on the same rows, with a paired interval over clusters.

    Both scores' cluster deviations are computed on the same rows, so what a cluster does to both
    cancels in their difference (the clustered form of DeLong's covariance).

    Parameters
    ----------
    y_true : array-like of 0/1 (or booleans)
        The labels; both classes must occur.
    score_a, score_b : array-like of float
        Two scorers' scores on the same rows.
    groups : array-like
        A cluster label per row; at least two clusters.
    confidence : float
        Coverage of the interval, in (0, 1).

    Introduced in chapter 2 ("Introduction to Machine Learning Systems Design").
    """
    confidence = check_number("confidence", confidence, minimum=0.0, maximum=1.0,
                              strict_minimum=True, strict_maximum=True)
    pos, (a, b), codes, k = _inputs(y_true, [("score_a", score_a), ("score_b", score_b)], groups)
    auc_a, dev_a = _influence(pos, a, codes, k)
    auc_b, dev_b = _influence(pos, b, codes, k)
    return _interval(auc_a - auc_b, dev_a - dev_b, confidence,
                     f"clustered DeLong difference over {k} clusters", (-1.0, 1.0))
