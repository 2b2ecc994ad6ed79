"""Calibration: does a predicted 0.1 mean that one in ten such cases is positive?

Introduced in chapter 6 ("Evaluation Methods": model calibration). The bins are those of
scikit-learn's :func:`~sklearn.calibration.calibration_curve`, so :func:`reliability_table`
is its curve with the counts and gaps that the curve leaves out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import labels_and_probabilities

STRATEGIES = ("uniform", "quantile")
MAX_BINS = 1_000_000  # far more bins than any sample can fill, and still a few megabytes of edges


def _bin_ids(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    if n_bins > MAX_BINS:
        raise ValueError(f"n_bins must be at most {MAX_BINS:,}, got {n_bins!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], p)


def reliability_table(y_true, y_prob, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """The reliability diagram as a table: per bin of predicted probability, how many rows,
    the mean prediction and the observed positive rate.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or booleans.
    y_prob : array-like of shape (n,)
        Predicted probabilities of the positive class.
    n_bins : int
        Number of bins.
    strategy : {"quantile", "uniform"}
        ``"quantile"``: bins with (about) equal numbers of rows; ``"uniform"``: equal-width
        bins on [0, 1]. As in :func:`sklearn.calibration.calibration_curve`.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin, indexed by the bin's number (from 0); columns ``n``,
        ``mean predicted``, ``observed rate`` and ``gap`` (observed rate - mean predicted,
        positive where the model under-predicts).

    Raises
    ------
    ValueError
        If ``y_true`` is not 1-d binary labels, ``y_prob`` not one probability in [0, 1] per
        label, ``n_bins`` not an integer from 1 to 1,000,000, or ``strategy`` unknown.

    Introduced in chapter 6 ("Evaluation Methods": model calibration).
    """
    y, p = labels_and_probabilities(y_true, y_prob)
    bins = _bin_ids(p, n_bins, strategy)
    n = np.bincount(bins, minlength=n_bins)
    kept = np.flatnonzero(n)
    predicted = np.bincount(bins, weights=p, minlength=n_bins)[kept] / n[kept]
    observed = np.bincount(bins, weights=y, minlength=n_bins)[kept] / n[kept]
    table = pd.DataFrame({"n": n[kept], "mean predicted": predicted, "observed rate": observed,
                          "gap": observed - predicted}, index=pd.Index(kept, name="bin"))
    return table


def expected_calibration_error(y_true, y_prob, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Expected calibration error: the gap between observed rate and mean prediction per bin,
    averaged over bins weighted by their share of rows, ``sum_b (n_b / n) |gap_b|``.

    Zero for a model whose every bin is calibrated; it depends on the binning, and a finite
    sample of a perfectly calibrated model still scores above zero (about
    ``sqrt(rate * (1 - rate) / n_b)`` per bin).

    Parameters
    ----------
    y_true, y_prob, n_bins, strategy
        As in :func:`reliability_table` (but equal-width bins by default, as usually reported).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        As :func:`reliability_table`.

    Introduced in chapter 6 ("Evaluation Methods": model calibration).
    """
    table = reliability_table(y_true, y_prob, n_bins=n_bins, strategy=strategy)
    return float((table["n"] * table["gap"].abs()).sum() / table["n"].sum())


def ece_interval(y_true, y_prob, y_prob_b=None, *, n_bins: int = 10, strategy: str = "quantile", groups=None,
                 confidence: float = 0.95, n_resamples: int = 1000, random_state: int = 0):
    """The expected calibration error with a percentile-bootstrap interval; with ``y_prob_b``, the
    paired difference ``ECE(y_prob) - ECE(y_prob_b)`` on the same rows.

    The bins are fixed from the full sample (as :func:`expected_calibration_error` draws them), and
    each resample reweights the rows (or whole ``groups``, e.g. sessions), so a thousand resamples
    cost a thousand small matrix products. An ECE is biased upwards on a finite sample (noise in
    each bin's observed rate never cancels), so even a perfectly calibrated model's interval lies
    above zero: read one model's interval as the spread of the statistic over resamples, not as an
    interval that covers the population's ECE, and compare models by the difference.

    Parameters
    ----------
    y_true, y_prob, n_bins, strategy
        As in :func:`expected_calibration_error` (quantile bins by default here).
    y_prob_b : array-like, optional
        A second model's probabilities on the same rows, for a paired difference.
    groups, confidence, n_resamples, random_state
        As in :func:`dmls.evaluation.metric_interval`.

    Returns
    -------
    dmls.evaluation.Interval

    Introduced in chapter 6 ("Evaluation Methods": model calibration).
    """
    from .uncertainty import _confidence, _percentile, _unit_counts, _units
    from .._validation import check_int

    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, 100)
    rng = np.random.default_rng(check_int("random_state", random_state, 0))
    y, p = labels_and_probabilities(y_true, y_prob)
    models = [p] if y_prob_b is None else [p, labels_and_probabilities(y_true, y_prob_b, name="y_prob_b")[1]]
    codes, n_units = _units(len(y), groups)
    sums = []
    for q in models:
        bins = _bin_ids(q, n_bins, strategy)
        # per unit and bin: the sum of (y - p) and the number of rows
        gap = np.zeros((n_units, n_bins))
        np.add.at(gap, (codes, bins), y - q)
        sums.append(gap)
    size = np.bincount(codes, minlength=n_units).astype(float)

    def ece(counts, gap):
        return np.abs(counts @ gap).sum(axis=1) / (counts @ size)

    full = np.ones((1, n_units))
    estimate = float(ece(full, sums[0])[0] - (ece(full, sums[1])[0] if len(sums) == 2 else 0.0))
    draws = []
    for counts in _unit_counts(n_units, n_resamples, rng):
        value = ece(counts, sums[0])
        if len(sums) == 2:
            value = value - ece(counts, sums[1])
        draws.append(value)
    return _percentile(estimate, np.concatenate(draws), confidence, "ECE")
