"""ROC AUC bootstrapped over groups (sessions) without a resamples-by-rows weight matrix.

``metric_interval("roc_auc", ..., groups=g)`` and ``difference_interval("roc_auc", ..., groups=g)``
spread every resample's group counts over the rows (a resamples x rows matrix), reorder it by score
and sum it along the rows: on the 36,880 test impressions of chapter 6 that is about a second for
300 resamples, and a difference needs two. When a resample draws group ``h`` ``c_h`` times, every
row of ``h`` counts ``c_h`` times, so the resample's AUC is

    sum over groups g, h of c_g c_h K[g, h]  /  (sum_g c_g P_g) (sum_h c_h N_h)

where ``P_g`` and ``N_g`` are group ``g``'s positive and negative rows and ``K[g, h]`` counts the
pairs (positive of ``g``, negative of ``h``) that the scores order correctly, a tie counting one
half. ``K`` depends on the scores only, so the rows are ranked once; each resample is then a
product of its counts with ``K``, and only groups that hold a positive have a row of ``K``.

:func:`grouped_auc_interval` and :func:`grouped_auc_difference` draw the same resamples from the
same seed as ``metric_interval`` and ``difference_interval`` and return their intervals (to
floating-point rounding), which the tests check.

Introduced in chapter 6 ("Evaluating ML Models": the session-resampled ROC AUC differences of the
model families, ensembles, calibration maps and slices).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int
from .uncertainty import Interval, _array, _confidence, _labels, _percentile, _unit_counts, _units

__all__ = ["grouped_auc_difference", "grouped_auc_interval"]

_CELLS = 4_000_000  # entries of K built at a time (32 MB)


class _PairCounts:
    """``K`` (groups holding a positive x groups), the groups' positive and negative counts."""

    def __init__(self, y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_units: int):
        pos, neg = y == 1, y == 0
        if not pos.any() or not neg.any():
            raise ValueError("ROC AUC needs both classes in y_true")
        self.n_pos = np.bincount(codes[pos], minlength=n_units).astype(float)
        self.n_neg = np.bincount(codes[neg], minlength=n_units).astype(float)
        # positive rows, in increasing score order, and the compact index of their group
        p_order = np.argsort(s[pos], kind="stable")
        self.p_score = s[pos][p_order]
        self.pos_units, p_group = np.unique(codes[pos][p_order], return_inverse=True)
        self.p_group = p_group.ravel()
        n_order = np.argsort(s[neg], kind="stable")
        self.n_score, self.n_code = s[neg][n_order], codes[neg][n_order]
        self.n_units = n_units

    def pair_counts(self) -> np.ndarray:
        """K: for each group holding a positive (rows) and each group (columns), the pairs
        (positive of the row's group, negative of the column's) ordered correctly, ties one half."""
        n_p = len(self.p_score)
        step = max(1, _CELLS // self.n_units)  # positives handled together
        k = np.zeros((len(self.pos_units), self.n_units))
        for a in range(0, n_p, step):
            k += self._negatives_below(a, min(n_p, a + step))
        return k

    def _negatives_below(self, a: int, b: int) -> np.ndarray:
        """K restricted to the positives a..b-1 (in score order), summed into their groups."""
        sp = self.p_score[a:b]
        # for each positive, negatives of each group scored below it (ties one half): a cumulative
        # sum over the positives in score order of where each negative starts to count
        lo = np.searchsorted(self.n_score, sp[0], side="left")
        hi = np.searchsorted(self.n_score, sp[-1], side="right")
        below = np.zeros((self.n_units, b - a + 1))
        below[:, 0] = np.bincount(self.n_code[:lo], minlength=self.n_units)
        ns, nc = self.n_score[lo:hi], self.n_code[lo:hi]
        np.add.at(below, (nc, np.searchsorted(sp, ns, side="left")), 0.5)
        np.add.at(below, (nc, np.searchsorted(sp, ns, side="right")), 0.5)
        below = np.cumsum(below, axis=1)[:, : b - a]  # groups x positives
        k = np.zeros((len(self.pos_units), self.n_units))
        np.add.at(k, self.p_group[a:b], below.T)
        return k

    def aucs(self, counts: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The AUC under each row of ``counts`` (resamples x groups)."""
        numerator = np.einsum("rg,rg->r", counts[:, self.pos_units], counts @ k.T)
        total = (counts @ self.n_pos) * (counts @ self.n_neg)
        with np.errstate(invalid="ignore", divide="ignore"):
            return numerator / total


def _prepare(y_true, scores, groups):
    y = _labels(y_true)
    arrays = [_array("y_score" if len(scores) == 1 else f"score_{'ab'[i]}", s, y.size)
              for i, s in enumerate(scores)]
    if groups is None:
        raise ValueError("groups is required: without groups use metric_interval (DeLong's interval)")
    codes, n_units = _units(y.size, groups)
    pairs = [_PairCounts(y, s, codes, n_units) for s in arrays]
    return pairs, n_units


def _draws(pairs, n_units, n_resamples, random_state):
    rng = np.random.default_rng(random_state)
    counts = np.concatenate(list(_unit_counts(n_units, n_resamples, rng)))
    out = []
    for pc in pairs:
        k = pc.pair_counts()
        out.append((pc.aucs(np.ones((1, n_units)), k)[0], pc.aucs(counts, k)))
    return out


def grouped_auc_interval(y_true, y_score, *, groups, confidence: float = 0.95, n_resamples: int = 1000,
                         random_state: int = 0) -> Interval:
    """ROC AUC with its percentile-bootstrap interval, whole groups resampled.

    The interval of ``metric_interval("roc_auc", y_true, y_score, groups=groups, ...)``, from the
    same resamples, computed by ranking the rows once.

    Parameters
    ----------
    y_true : array-like of 0/1
        The labels; both classes must occur.
    y_score : array-like of float
        One score per row; higher means more likely positive.
    groups : array-like
        A label per row (a session id, say); rows of one group are resampled together.
    confidence, n_resamples, random_state
        Coverage of the interval, number of resamples (at least 100) and the seed that draws them.

    Introduced in chapter 6 ("Evaluating ML Models"; its slices use it too).
    """
    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    random_state = check_int("random_state", random_state, minimum=0)
    pairs, n_units = _prepare(y_true, [y_score], groups)
    (estimate, draws), = _draws(pairs, n_units, n_resamples, random_state)
    return _percentile(float(estimate), draws, confidence, "roc_auc")


def grouped_auc_difference(y_true, score_a, score_b, *, groups, confidence: float = 0.95,
                           n_resamples: int = 1000, random_state: int = 0) -> Interval:
    """``AUC(a) - AUC(b)`` on the same rows, with a paired bootstrap interval over groups.

    The interval of ``difference_interval("roc_auc", y_true, score_a, score_b, groups=groups, ...)``,
    from the same resamples, computed by ranking each score once.

    Parameters
    ----------
    y_true : array-like of 0/1
        The labels; both classes must occur.
    score_a, score_b : array-like of float
        Two scorers' scores on the same rows.
    groups : array-like
        A label per row; rows of one group are resampled together.
    confidence, n_resamples, random_state
        As in :func:`grouped_auc_interval`.

    Introduced in chapter 6 ("Evaluating ML Models": logistic regression against the trees and the
    network, with sessions resampled).
    """
    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    random_state = check_int("random_state", random_state, minimum=0)
    pairs, n_units = _prepare(y_true, [score_a, score_b], groups)
    (est_a, draws_a), (est_b, draws_b) = _draws(pairs, n_units, n_resamples, random_state)
    return _percentile(float(est_a - est_b), draws_a - draws_b, confidence, "difference of roc_auc")
