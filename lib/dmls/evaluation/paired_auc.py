"""Several scorers' ROC AUCs on the same rows, with every pairwise difference, from one DeLong pass.

:func:`~dmls.evaluation.metric_interval` and :func:`~dmls.evaluation.difference_interval` give the
same intervals one at a time; comparing k learners that way ranks the rows ``k + k (k - 1)`` times.
:func:`compare_aucs` ranks each score once and reads every AUC, its interval and every paired
difference off one DeLong covariance matrix, so a learning curve that compares three learners in
each of a dozen draws stays cheap.

Introduced in chapter 1 ("When to Use Machine Learning": the learning curve of a rule, a lookup
table and a model).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .uncertainty import Interval, _array, _confidence, _delong, _labels, _normal

__all__ = ["AUCComparison", "compare_aucs"]


@dataclass(frozen=True)
class AUCComparison:
    """The AUC of each named scorer on the same rows, and the paired difference of every pair.

    ``auc[name]`` is the scorer's AUC with DeLong's interval (what ``metric_interval("roc_auc", ...)``
    gives); ``difference(a, b)`` is ``AUC(a) - AUC(b)`` with DeLong's paired interval (what
    ``difference_interval("roc_auc", ...)`` gives).

    Introduced in chapter 1 ("When to Use Machine Learning").
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
    """ROC AUC of each scorer in ``scores`` (name -> scores on the rows of ``y_true``), with
    DeLong's interval, and DeLong's paired interval for the difference of every ordered pair.

    Parameters
    ----------
    y_true : array-like of 0/1
        The labels; both classes must occur.
    scores : mapping of str to array-like
        At least two scorers, each one score per row of ``y_true``.
    confidence : float
        Coverage of every interval (0 < confidence < 1).

    Introduced in chapter 1 ("When to Use Machine Learning").
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
