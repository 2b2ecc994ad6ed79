"""Permutation importance of a gradient-boosted tree model, computed on its own bins.

Introduced in chapter 5 ("Engineering Good Features", "Feature Importance"). scikit-learn's
``permutation_importance`` predicts the shuffled table once per shuffle and feature, and each
prediction walks every tree over the raw float values. A ``HistGradientBoostingClassifier``
splits on bins: a row goes left at a node exactly when its bin is at most the node's bin, which
is exactly when its value is at most the node's threshold. So the table can be binned once and
its bins shuffled instead, and the trees walked on one-byte bins, which is faster.
:func:`tree_permutation_importance` draws the same shuffles as scikit-learn (same
``random_state``), scores with the same log loss, and returns the same numbers; the tests check
that they are equal.
"""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from dmls._validation import check_int


def _checked_model(model) -> HistGradientBoostingClassifier:
    if not isinstance(model, HistGradientBoostingClassifier):
        raise TypeError(f"model must be a fitted HistGradientBoostingClassifier, got {type(model).__name__}")
    if not hasattr(model, "_predictors"):
        raise ValueError("model must be fitted before its permutation importance is computed")
    if len(model.classes_) != 2:
        raise ValueError(f"model must be a binary classifier; it has {len(model.classes_)} classes")
    if model.is_categorical_ is not None and np.any(model.is_categorical_):
        raise ValueError("model has categorical features, whose bins this function does not handle; "
                         "use sklearn.inspection.permutation_importance")
    return model


def tree_permutation_importance(model, X, y, *, n_repeats: int = 5, random_state=None) -> Bunch:
    """The drop in score (negative log loss) when each feature of ``X`` is shuffled across rows.

    The same result as ``sklearn.inspection.permutation_importance(model, X, y,
    scoring="neg_log_loss", n_repeats=n_repeats, random_state=random_state)``, computed on the
    model's bins: ``X`` is binned once, each shuffle permutes one column of bins, and the trees
    are walked on the bins.

    Parameters
    ----------
    model : HistGradientBoostingClassifier
        Fitted, binary, without categorical features (``categorical_features`` unused).
    X : DataFrame or array of shape (n_rows, n_features)
        The rows to shuffle: the columns the model was fitted on.
    y : array of shape (n_rows,)
        Their labels.
    n_repeats : int
        Shuffles per feature, at least 1.
    random_state : int, RandomState or None
        As in scikit-learn: the shuffles are those ``permutation_importance`` draws.

    Returns
    -------
    Bunch
        ``importances`` (n_features, n_repeats), ``importances_mean`` and ``importances_std``
        (over the shuffles), as scikit-learn's.

    Introduced in chapter 5 ("Feature Importance").
    """
    model = _checked_model(model)
    n_repeats = check_int("n_repeats", n_repeats, minimum=1)
    X_float = model._preprocess_X(X, reset=False)  # checks the columns and their names
    y = np.asarray(y)
    if y.shape != (X_float.shape[0],):
        raise ValueError(f"y must have one label per row: {X_float.shape[0]} rows, y has shape {y.shape}")
    if X_float.shape[0] == 0:
        raise ValueError("X must have at least one row")
    binned = np.ascontiguousarray(model._bin_mapper.transform(X_float))
    missing_bin = model._bin_mapper.missing_values_bin_idx_
    n_threads = _openmp_effective_n_threads(None)

    def score(bins: np.ndarray) -> float:
        # HistGradientBoostingClassifier._raw_predict, on bins: the same sums in the same order
        raw = np.zeros((len(bins), model.n_trees_per_iteration_), dtype=model._baseline_prediction.dtype, order="F")
        raw += model._baseline_prediction
        for trees in model._predictors:
            for k, tree in enumerate(trees):
                raw[:, k] += tree.predict_binned(bins, missing_values_bin_idx=missing_bin, n_threads=n_threads)
        return -log_loss(y, model._loss.predict_proba(raw), labels=model.classes_)

    baseline = score(binned)
    # permutation_importance's draws: one seed, then a fresh RandomState(seed) for every column
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    importances = np.empty((binned.shape[1], n_repeats))
    for column in range(binned.shape[1]):
        rng = check_random_state(seed)
        shuffled, order = binned.copy(), np.arange(len(binned))
        for repeat in range(n_repeats):
            rng.shuffle(order)
            shuffled[:, column] = shuffled[order, column]
            importances[column, repeat] = baseline - score(shuffled)
    return Bunch(importances=importances, importances_mean=importances.mean(axis=1),
                 importances_std=importances.std(axis=1))
