"""Active learning: ask for the labels the model is least sure about.

Introduced in chapter 4 ("Handling the Lack of Labels"). Pool-based uncertainty sampling
against random sampling, as learning curves over the number of labels bought.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer


def active_learning_curve(make_model: Callable, X_pool, y_pool, X_test, y_test, scoring="f1",
                          initial: int = 20, batch: int = 20, rounds: int = 10, strategy: str = "uncertainty",
                          seed: int = 0) -> pd.Series:
    """Label ``initial`` random items (more, if needed, until two classes appear), then ``rounds``
    batches chosen by ``strategy``; after each purchase of labels, refit and record the test score
    (``scoring``: a scikit-learn scorer name such as ``"average_precision"``, or a callable
    ``scorer(model, X, y)``).

    ``strategy`` is ``"uncertainty"`` (lowest top-class probability first) or ``"random"``.
    ``y_pool`` plays the annotator: a label is looked up only when it is bought.

    Introduced in chapter 4 ("Handling the Lack of Labels").
    """
    if strategy not in ("uncertainty", "random"):
        raise ValueError(f"strategy must be 'uncertainty' or 'random', got {strategy!r}")
    n = len(y_pool)
    if initial + batch * rounds > n:
        raise ValueError(f"the pool has {n} items; {initial} + {rounds} x {batch} labels cannot be bought")
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    rng = np.random.default_rng(seed)
    y_pool = np.asarray(y_pool)
    # The seed set: random items, and more random items until two classes have been seen (a
    # model cannot be fitted to one class; with rare positives, 20 random labels often hold none).
    order = rng.permutation(n)
    size = initial
    while len(np.unique(y_pool[order[:size]])) < 2:
        if size == n:
            raise ValueError("the pool holds a single class: nothing to learn")
        size += 1
    labeled = list(order[:size])
    curve = {}
    for r in range(rounds + 1):
        model = clone(make_model()) if hasattr(make_model(), "get_params") else make_model()
        model.fit(_rows(X_pool, labeled), y_pool[labeled])
        curve[len(labeled)] = scorer(model, X_test, y_test)
        if r == rounds:
            break
        unlabeled = np.setdiff1d(np.arange(n), labeled)
        if strategy == "random":
            chosen = rng.choice(unlabeled, size=batch, replace=False)
        else:
            confidence = model.predict_proba(_rows(X_pool, unlabeled)).max(axis=1)
            chosen = unlabeled[np.argsort(confidence, kind="stable")[:batch]]
        labeled.extend(chosen.tolist())
    return pd.Series(curve, name=strategy).rename_axis("labels")


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
