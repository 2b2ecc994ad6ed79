"""Simulated annotators: people who label listings, each right with their own probability.

Introduced in chapter 4 ("Hand Labels"). Each label keeps its source, so that a bad source can
be found and its labels removed later (data lineage).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Annotator:
    """A labeler who looks properly at a share ``diligence`` of the items (and then gives the
    true class) and guesses on the rest: a random class, or — if ``lazy`` — the most common
    class, which is right more often than a random guess and wrong on every rare item.

    Introduced in chapter 4 ("Hand Labels").
    """

    name: str
    diligence: float
    lazy: bool = False
    cost_per_label: float = 1.0

    def __post_init__(self):
        if not 0 <= self.diligence <= 1:
            raise ValueError(f"Annotator {self.name!r}: diligence must be between 0 and 1, got {self.diligence!r}")


def annotate(truth: pd.Series, annotators: list[Annotator], share: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Labels from each annotator for a ``share`` of the items (every item gets at least one).

    ``truth`` is indexed by item and holds each item's true class. Returns one row per label:
    ``item, annotator, label`` — the lineage of every label.

    Introduced in chapter 4 ("Hand Labels").
    """
    if not annotators:
        raise ValueError("annotate needs at least one annotator")
    if len({a.name for a in annotators}) != len(annotators):
        raise ValueError("annotator names must be unique")
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    if truth.empty:
        raise ValueError("no items to annotate")
    rng = np.random.default_rng(seed)
    classes = np.array(sorted(truth.unique()))
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
