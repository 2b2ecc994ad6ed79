"""Confidence measurement: predict only where the model is sure enough, and say how often that is.

Introduced in chapter 6 ("Evaluation Methods": confidence measurement). The confidence of a
binary prediction is the probability of the predicted class, ``max(p, 1 - p)``; raising the
threshold trades coverage (how many rows get a prediction) for accuracy on those that do.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import fraction, labels_and_probabilities, probabilities


def _confidence(p: np.ndarray) -> np.ndarray:
    return np.maximum(p, 1 - p)


def selective_prediction(y_true, y_prob, thresholds) -> pd.DataFrame:
    """Coverage and accuracy when only predictions with confidence >= each threshold are kept.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or booleans.
    y_prob : array-like of shape (n,)
        Predicted probabilities of the positive class; the prediction is positive where
        ``y_prob >= 0.5``.
    thresholds : float or array-like of float
        Confidence thresholds, each in [0.5, 1]; 0.5 keeps every row.

    Returns
    -------
    pandas.DataFrame
        One row per threshold, in the order given: ``threshold``, ``coverage`` (share of rows
        kept), ``accuracy`` (on the rows kept; NaN if none is) and ``n kept``.

    Raises
    ------
    TypeError
        If ``thresholds`` is None or holds booleans.
    ValueError
        If ``y_true`` is not 1-d binary labels, ``y_prob`` not one probability in [0, 1] per
        label, or ``thresholds`` is empty, not 1-d, or holds a value outside [0.5, 1].

    Introduced in chapter 6 ("Evaluation Methods": confidence measurement).
    """
    y, p = labels_and_probabilities(y_true, y_prob)
    if thresholds is None or np.asarray(thresholds).dtype.kind == "b":
        raise TypeError(f"thresholds must be numbers in [0.5, 1], got {thresholds!r}")
    try:
        thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
    except (TypeError, ValueError):
        raise ValueError("thresholds must be numbers in [0.5, 1]") from None
    if thresholds.ndim != 1 or len(thresholds) == 0:
        raise ValueError(f"thresholds must be one or more numbers, got shape {thresholds.shape}")
    if np.isnan(thresholds).any() or (thresholds < 0.5).any() or (thresholds > 1).any():
        raise ValueError(f"thresholds must be in [0.5, 1], got {thresholds.tolist()}")
    confidence, correct = _confidence(p), (p >= 0.5) == y
    rows = []
    for t in thresholds:
        kept = confidence >= t
        accuracy = correct[kept].mean() if kept.any() else np.nan
        rows.append({"threshold": t, "coverage": kept.mean(), "accuracy": accuracy, "n kept": int(kept.sum())})
    return pd.DataFrame(rows, columns=["threshold", "coverage", "accuracy", "n kept"])


def confidence_for_coverage(y_prob, coverage: float) -> float:
    """The highest confidence threshold that still keeps at least ``coverage`` of the rows.

    With this threshold, :func:`selective_prediction` keeps at least ``coverage`` of the rows
    (more if several rows share the threshold's confidence); any higher threshold keeps fewer.

    Parameters
    ----------
    y_prob : array-like of shape (n,)
        Predicted probabilities of the positive class.
    coverage : float
        The share of rows that must get a prediction, in (0, 1].

    Returns
    -------
    float
        A confidence in [0.5, 1]: the ``ceil(coverage * n)``-th highest confidence.

    Raises
    ------
    TypeError
        If ``coverage`` is not a number.
    ValueError
        If ``y_prob`` is not 1-d probabilities in [0, 1], or ``coverage`` is outside (0, 1].

    Introduced in chapter 6 ("Evaluation Methods": confidence measurement).
    """
    p = probabilities(y_prob, None)
    if not 0 < fraction("coverage", coverage, "(0, 1]") <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage!r}")
    k = int(np.ceil(round(coverage * len(p), 9)))  # round first: 0.7 * 10 is 7.000000000000001
    return float(np.sort(_confidence(p))[::-1][k - 1])
