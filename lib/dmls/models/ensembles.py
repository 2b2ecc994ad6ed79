"""The arithmetic of ensembles: how often a majority of independent members is right.

Introduced in chapter 6 ("Ensembles").
"""
from __future__ import annotations

from scipy import stats

from .._validation import check_fraction, check_int


def majority_vote_accuracy(members: int, accuracy: float) -> float:
    """The probability that a strict majority of ``members`` independent classifiers, each right
    with probability ``accuracy``, is right: ``P(Binomial(members, accuracy) > members / 2)``.

    With an odd number of members a vote has no ties. Real members trained on the same data make
    correlated mistakes, so this is what an ensemble gains at best.

    Introduced in chapter 6 ("Ensembles": three classifiers right 70% of the time, 78.4% together).
    """
    members = check_int("members", members, 1)
    if members % 2 == 0:
        raise ValueError(f"members must be odd, so that a vote has no ties; got {members}")
    accuracy = check_fraction("accuracy", accuracy)
    return float(stats.binom.sf(members // 2, members, accuracy))
