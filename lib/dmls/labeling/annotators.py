"""Simulated annotators: people who label listings, each right with their own probability.

Introduced in chapter 4 ("Hand Labels"). Each label keeps its source, so that a bad source can
be found and its labels removed later (data lineage).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dmls._validation import check_int, check_number


@dataclass(frozen=True)
class Annotator:
    """A labeler who looks properly at a share ``diligence`` of the items (and then gives the
    true class) and guesses on the rest: a random class, or — if ``lazy`` — the most common
    class, which is right more often than a random guess and wrong on every rare item.

    Raises
    ------
    TypeError
        If ``name`` is not a string, ``diligence`` or ``cost_per_label`` not a number, or
        ``lazy`` not a bool.
    ValueError
        If ``name`` is empty, ``diligence`` is outside [0, 1] or ``cost_per_label`` is negative
        or not finite.

    Introduced in chapter 4 ("Hand Labels").
    """

    name: str
    diligence: float
    lazy: bool = False
    cost_per_label: float = 1.0

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"Annotator name must be a string, got {type(self.name).__name__} {self.name!r}")
        if not self.name.strip():
            raise ValueError("Annotator name must not be empty: labels are traced to it")
        if isinstance(self.diligence, bool) or not isinstance(self.diligence, numbers.Real):
            raise TypeError(f"Annotator {self.name!r}: diligence must be a number between 0 and 1, "
                            f"got {type(self.diligence).__name__} {self.diligence!r}")
        if not 0 <= self.diligence <= 1:
            raise ValueError(f"Annotator {self.name!r}: diligence must be between 0 and 1, got {self.diligence!r}")
        if not isinstance(self.lazy, (bool, np.bool_)):
            raise TypeError(f"Annotator {self.name!r}: lazy must be True or False, got {self.lazy!r}")
        check_number(f"Annotator {self.name!r}: cost_per_label", self.cost_per_label, minimum=0)


def annotate(truth: pd.Series, annotators: list[Annotator], share: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Labels from each annotator for a ``share`` of the items (every item gets at least one).

    ``truth`` is indexed by item and holds each item's true class. Returns one row per label:
    ``item, annotator, label`` — the lineage of every label.

    Raises
    ------
    TypeError
        If ``truth`` is not a Series, ``annotators`` not a list of :class:`Annotator`, ``share``
        not a number or ``seed`` not an integer.
    ValueError
        If there are no annotators or two share a name, ``share`` is outside (0, 1], ``seed`` is
        negative, or ``truth`` is empty, has missing classes, a repeated item or classes that
        cannot be ordered (mixed types).

    Introduced in chapter 4 ("Hand Labels").
    """
    if not isinstance(truth, pd.Series):
        raise TypeError(f"truth must be a Series of true classes indexed by item, got {type(truth).__name__}")
    if isinstance(annotators, Annotator) or not isinstance(annotators, (list, tuple)):
        raise TypeError(f"annotators must be a list of Annotator, got {type(annotators).__name__}")
    if not annotators:
        raise ValueError("annotate needs at least one annotator")
    strangers = [a for a in annotators if not isinstance(a, Annotator)]
    if strangers:
        raise TypeError(f"annotators must be Annotator objects, got {strangers[:3]!r}")
    if len({a.name for a in annotators}) != len(annotators):
        raise ValueError("annotator names must be unique")
    if isinstance(share, bool) or not isinstance(share, numbers.Real):
        raise TypeError(f"share must be a number in (0, 1], got {type(share).__name__} {share!r}")
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    seed = check_int("seed", seed, minimum=0)
    if truth.empty:
        raise ValueError("no items to annotate")
    if truth.isna().any():
        raise ValueError(f"truth has {int(truth.isna().sum())} missing classes; every item needs its true class")
    if not truth.index.is_unique:
        raise ValueError("truth has repeated items in its index; each item must appear once")
    rng = np.random.default_rng(seed)
    try:
        classes = np.array(sorted(truth.unique()))
    except TypeError:
        raise ValueError(f"truth mixes classes of types that cannot be ordered: {list(truth.unique()[:5])}") from None
    common = truth.value_counts().index[0]
    n = len(truth)
    assigned = rng.random((n, len(annotators))) < share
    assigned[np.arange(n), rng.integers(0, len(annotators), size=n)] = True  # nobody is left unlabeled
    rows = []
    for j, annotator in enumerate(annotators):
        items = truth.index[assigned[:, j]]
        true = truth.loc[items].to_numpy()
        looked = rng.random(len(items)) < annotator.diligence
        guess = (np.full(len(items), common, dtype=object) if annotator.lazy
                 else classes[rng.integers(0, len(classes), size=len(items))])
        rows.append(pd.DataFrame({"item": items, "annotator": annotator.name,
                                  "label": np.where(looked, true, guess)}))
    return pd.concat(rows, ignore_index=True)
