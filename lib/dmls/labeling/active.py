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

from dmls._validation import check_int


def active_learning_curve(make_model: Callable, X_pool, y_pool, X_test, y_test, scoring="f1",
                          initial: int = 20, batch: int = 20, rounds: int = 10, strategy: str = "uncertainty",
                          seed: int = 0) -> pd.Series:
    """Label ``initial`` random items (more, if needed, until two classes appear), then ``rounds``
    batches chosen by ``strategy``; after each purchase of labels, refit and record the test score
    (``scoring``: a scikit-learn scorer name such as ``"average_precision"``, or a callable
    ``scorer(model, X, y)``).

    ``strategy`` is ``"uncertainty"`` (lowest top-class probability first) or ``"random"``.
    ``y_pool`` plays the annotator: a label is looked up only when it is bought.

    Raises
    ------
    TypeError
        If ``make_model`` or a non-string ``scoring`` is not callable, or ``initial``, ``batch``,
        ``rounds`` or ``seed`` is not an integer.
    ValueError
        If ``strategy`` or a ``scoring`` name is unknown; ``initial`` or ``batch`` is below 1,
        ``rounds`` or ``seed`` below 0; ``y_pool`` or ``y_test`` is not 1-d or has missing labels;
        ``X_pool`` / ``X_test`` do not have one row per label; or the pool is too small for the
        labels to buy.

    Introduced in chapter 4 ("Handling the Lack of Labels").
    """
    if strategy not in ("uncertainty", "random"):
        raise ValueError(f"strategy must be 'uncertainty' or 'random', got {strategy!r}")
    if not callable(make_model):
        raise TypeError(f"make_model must be a callable that returns a new model (a class or a function), "
                        f"got {type(make_model).__name__}")
    initial = check_int("initial", initial, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    rounds = check_int("rounds", rounds, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    y_pool = _labels("y_pool", y_pool)
    for name, X, y in (("X_pool", X_pool, y_pool), ("X_test", X_test, _labels("y_test", y_test))):
        rows = X.shape[0] if hasattr(X, "shape") and len(X.shape) else len(X)
        if rows != len(y):
            raise ValueError(f"{name} has {rows} rows but there are {len(y)} labels for it")
    n = len(y_pool)
    if initial + batch * rounds > n:
        raise ValueError(f"the pool has {n} items; {initial} + {rounds} x {batch} labels cannot be bought")
    if isinstance(scoring, str):
        try:
            scorer = get_scorer(scoring)
        except ValueError:
            raise ValueError(f"scoring {scoring!r} is not a scikit-learn scorer name "
                             f"(see sklearn.metrics.get_scorer_names())") from None
    elif callable(scoring):
        scorer = scoring
    else:
        raise TypeError(f"scoring must be a scorer name or a callable scorer(model, X, y), "
                        f"got {type(scoring).__name__}")
    rng = np.random.default_rng(seed)
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


def _labels(name: str, y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-d, one label per row, got shape {y.shape}")
    if pd.isna(y).any():
        raise ValueError(f"{name} has {int(pd.isna(y).sum())} missing labels")
    return y


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
