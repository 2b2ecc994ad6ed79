"""Slice-based evaluation: the same metrics on each subgroup of the data as well as on all of it.

Introduced in chapter 6 ("Evaluation Methods": slice-based evaluation). A model can be better
overall and worse on every slice (Simpson's paradox), or fine on average and poor on a small
slice that matters; only per-slice numbers show either.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from ._checks import binary_labels, probabilities

METRICS = {"ROC AUC": True, "log loss": False, "accuracy": True}  # metric -> is higher better?


def _slice_labels(slices, y_true, n: int, name: str | None) -> tuple[pd.Series, str]:
    if isinstance(slices, pd.Series) and isinstance(y_true, pd.Series) and not slices.index.equals(y_true.index):
        raise ValueError("slices and y_true are Series with different indexes; align them first")
    shape = np.shape(slices)
    if shape != (n,):
        raise ValueError(f"slices must have one label per row of y_true ({n}), got shape {shape}")
    labels = slices.reset_index(drop=True) if isinstance(slices, pd.Series) else pd.Series(slices)
    missing = int(labels.isna().sum())
    if missing:
        raise ValueError(f"slices has {missing} missing labels; fill them (e.g. with 'unknown') first")
    if name is None:
        name = slices.name if isinstance(slices, pd.Series) and slices.name is not None else "slice"
    elif not isinstance(name, str):
        raise TypeError(f"name must be a string (the name of the index), got {type(name).__name__} {name!r}")
    return labels, name


def _groups(labels: pd.Series, min_size: int) -> list[tuple[object, np.ndarray]]:
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ValueError(f"min_size must be an integer >= 1, got {min_size!r}")
    codes, uniques = labels.factorize(sort=True)
    order = np.argsort(codes, kind="stable")
    groups = zip(uniques, np.split(order, np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]))
    return [(label, at) for label, at in groups if len(at) >= min_size] + [("all", np.arange(len(labels)))]


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return roc_auc_score(y, p) if 0 < y.sum() < len(y) else np.nan


def _score(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    if metric == "ROC AUC":
        return _auc(y, p)
    if metric == "log loss":
        return log_loss(y, p, labels=[0, 1])
    return float(((p >= 0.5) == y).mean())


def slice_report(y_true, y_prob, slices, min_size: int = 1, *, name: str | None = None) -> pd.DataFrame:
    """Metrics of one model on each slice of the data and on all of it.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or booleans.
    y_prob : array-like of shape (n,)
        Predicted probabilities of the positive class.
    slices : pandas.Series or array-like of shape (n,)
        The slice of each row (a region, a device, "new user"), aligned with ``y_true`` by
        position; no missing labels.
    min_size : int
        Slices with fewer rows are left out of the table (their rows still count in "all").
    name : str, optional
        Name of the index; by default the Series' name, else ``"slice"``.

    Returns
    -------
    pandas.DataFrame
        One row per slice, sorted by label, then a row ``"all"``; columns ``n``, ``share``
        (of all rows), ``positive rate``, ``mean predicted``, ``ROC AUC`` (NaN where a slice
        has one class), ``log loss`` and ``calibration`` (mean predicted / positive rate:
        above 1 the model over-predicts; NaN where the positive rate is 0).

    Raises
    ------
    TypeError
        If ``name`` is given and not a string.
    ValueError
        If ``y_true`` is not 1-d binary labels, ``y_prob`` not one probability in [0, 1] per
        label, ``slices`` not one label per row (or it has missing labels or another index than
        a ``y_true`` Series), or ``min_size`` not an integer >= 1.

    Introduced in chapter 6 ("Evaluation Methods": slice-based evaluation).
    """
    y = binary_labels(y_true)
    p = probabilities(y_prob, len(y))
    labels, name = _slice_labels(slices, y_true, len(y), name)
    rows = {}
    for label, at in _groups(labels, min_size):
        yi, pi = y[at], p[at]
        rate = yi.mean()
        rows[label] = {"n": len(at), "share": len(at) / len(y), "positive rate": rate, "mean predicted": pi.mean(),
                       "ROC AUC": _auc(yi, pi), "log loss": log_loss(yi, pi, labels=[0, 1]),
                       "calibration": pi.mean() / rate if rate > 0 else np.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = name
    return table


def compare_on_slices(y_true, prob_a, prob_b, slices, metric: str = "ROC AUC", *, min_size: int = 1,
                      names: tuple[str, str] = ("A", "B"), name: str | None = None) -> pd.DataFrame:
    """Two models' ``metric`` on each slice and on all rows, and which one is better where.

    Both models are scored on the same rows. For a metric that is an average over rows
    (accuracy, log loss) the better model on every slice is then also better overall; ROC AUC
    also ranks rows of different slices against each other, so a model can win every slice
    and lose overall (Simpson's paradox).

    Parameters
    ----------
    y_true, slices, min_size, name
        As in :func:`slice_report`.
    prob_a, prob_b : array-like of shape (n,)
        The two models' probabilities of the positive class.
    metric : {"ROC AUC", "log loss", "accuracy"}
        Higher is better except for log loss; accuracy predicts positive where p >= 0.5.
    names : tuple of two str
        Column names for the two models, also used in ``better``.

    Returns
    -------
    pandas.DataFrame
        One row per slice, then ``"all"``; a column per model and ``better``: the better
        model's name, ``"tie"``, or ``"n/a"`` where the metric is undefined (ROC AUC on a
        slice with one class).

    Raises
    ------
    TypeError
        If ``metric`` is not a string, ``names`` not a tuple or list of two strings, or ``name``
        given and not a string.
    ValueError
        As :func:`slice_report`; also if ``metric`` is unknown, or ``names`` are equal or one of
        ``"better"``, ``"tie"`` or ``"n/a"``.

    Introduced in chapter 6 ("Evaluation Methods": slice-based evaluation, Simpson's paradox).
    """
    if not isinstance(metric, str):
        raise TypeError(f"metric must be one of {list(METRICS)}, got {type(metric).__name__} {metric!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"names must be a tuple of two strings, got {type(names).__name__} {names!r}")
    if len(names) != 2 or names[0] == names[1] or {"tie", "n/a", "better"} & set(names):
        raise ValueError(f"names must be two different names (not 'tie', 'n/a' or 'better'), got {names!r}")
    y = binary_labels(y_true)
    p_a, p_b = probabilities(prob_a, len(y), "prob_a"), probabilities(prob_b, len(y), "prob_b")
    labels, name = _slice_labels(slices, y_true, len(y), name)
    sign = 1 if METRICS[metric] else -1
    rows = {}
    for label, at in _groups(labels, min_size):
        a, b = _score(metric, y[at], p_a[at]), _score(metric, y[at], p_b[at])
        better = ("n/a" if np.isnan(a) or np.isnan(b) else "tie" if np.isclose(a, b, rtol=0, atol=1e-12)
                  else names[0] if sign * (a - b) > 0 else names[1])
        rows[label] = {names[0]: a, names[1]: b, "better": better}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = name
    return table


_INTERVAL_METRICS = ("roc_auc", "log_loss", "brier", "accuracy")


def slice_differences(y_true, prob_a, prob_b, slices, metric: str = "log_loss", *, groups=None,
                      min_size: int = 1, names: tuple[str, str] = ("A", "B"), name: str | None = None,
                      confidence: float = 0.95, random_state: int = 0) -> pd.DataFrame:
    """Two models compared on each slice and on all rows, each difference with its paired interval.

    On every slice the difference ``metric(A) - metric(B)`` gets the interval of
    :func:`dmls.evaluation.difference_interval` (DeLong's for ROC AUC without ``groups``, a
    paired bootstrap otherwise), so a slice of a few dozen positives is not read as a ranking.

    Parameters
    ----------
    y_true, prob_a, prob_b, slices, min_size, name
        As in :func:`compare_on_slices`.
    metric : {"roc_auc", "log_loss", "brier", "accuracy"}
        Higher is better for ROC AUC and accuracy, lower for log loss and the Brier score.
    groups : array-like, optional
        A label per row (a session, a user): whole groups are resampled.
    names : tuple of two str
        Names of the models in the columns and in ``verdict``.
    confidence, random_state
        As in :func:`dmls.evaluation.difference_interval`.

    Returns
    -------
    pandas.DataFrame
        One row per slice, then ``"all"``; columns ``n``, ``positives``, one per model, ``difference``,
        ``low``, ``high`` and ``verdict``: ``"<name> better"`` where the interval excludes zero,
        ``"indistinguishable"`` where it does not, ``"n/a"`` where the metric is undefined.

    Introduced in chapter 6 ("Evaluation Methods": slice-based evaluation).
    """
    from .uncertainty import difference_interval

    if metric not in _INTERVAL_METRICS:
        raise ValueError(f"metric must be one of {_INTERVAL_METRICS}, got {metric!r}")
    if not isinstance(names, (tuple, list)) or len(names) != 2 or not all(isinstance(n, str) for n in names) \
            or names[0] == names[1]:
        raise ValueError(f"names must be two different strings, got {names!r}")
    y = binary_labels(y_true)
    p_a, p_b = probabilities(prob_a, len(y), "prob_a"), probabilities(prob_b, len(y), "prob_b")
    labels, name = _slice_labels(slices, y_true, len(y), name)
    g = None
    if groups is not None:
        g = np.asarray(groups)
        if g.shape != (len(y),):
            raise ValueError(f"groups must give one label per row ({len(y)}), got shape {g.shape}")
    higher = metric in ("roc_auc", "accuracy")
    rows = {}
    for label, at in _groups(labels, min_size):
        yi = y[at]
        row = {"n": len(at), "positives": int(yi.sum())}
        if metric == "roc_auc" and not 0 < yi.sum() < len(yi):
            rows[label] = {**row, names[0]: np.nan, names[1]: np.nan, "difference": np.nan, "low": np.nan,
                           "high": np.nan, "verdict": "n/a"}
            continue
        iv = difference_interval(metric, yi, p_a[at], p_b[at], groups=None if g is None else g[at],
                                 confidence=confidence, random_state=random_state)
        value_b = _interval_metric(metric, yi, p_b[at])
        if not iv.excludes(0):
            verdict = "indistinguishable"
        else:
            verdict = f"{names[0] if (iv.estimate > 0) == higher else names[1]} better"
        rows[label] = {**row, names[0]: value_b + iv.estimate, names[1]: value_b, "difference": iv.estimate,
                       "low": iv.low, "high": iv.high, "verdict": verdict}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = name
    return table


def _interval_metric(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    if metric == "roc_auc":
        return _auc(y, p)
    if metric == "log_loss":
        return log_loss(y, p, labels=[0, 1])
    if metric == "brier":
        return float(np.mean((p - y) ** 2))
    return float(((p >= 0.5) == (y == 1)).mean())


def independent_difference(a, b, confidence: float | None = None):
    """The difference ``a - b`` of two estimates from disjoint rows (two slices), with a normal
    interval whose standard error is ``sqrt(se_a^2 + se_b^2)``, each read off its interval.

    Two slices share no rows, so nothing cancels as in a paired difference: the uncertainty of
    each adds up. Assumes each interval is roughly symmetric and normal (DeLong's is).

    Introduced in chapter 6 ("Evaluation Methods": slice-based evaluation).
    """
    from scipy import stats

    from .uncertainty import Interval

    if not isinstance(a, Interval) or not isinstance(b, Interval):
        raise TypeError("independent_difference takes two dmls.evaluation.Interval")
    if a.confidence != b.confidence:
        raise ValueError("the two intervals have different confidence levels")
    if confidence is None:
        level = a.confidence
    else:
        from .uncertainty import _confidence

        level = _confidence(confidence)
    z_in = stats.norm.ppf((1 + a.confidence) / 2)
    se = np.hypot(a.half_width / z_in, b.half_width / z_in)
    half = stats.norm.ppf((1 + level) / 2) * se
    estimate = a.estimate - b.estimate
    return Interval(float(estimate), float(estimate - half), float(estimate + half), level,
                    "normal, independent samples")
