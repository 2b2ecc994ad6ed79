"""Baselines: the numbers a model has to beat before its own numbers mean anything.

Introduced in chapter 6 ("Model Offline Evaluation": baselines). :class:`PopularityBaseline` is
the simple heuristic for click prediction (rank by how often an item was clicked);
scikit-learn's :class:`~sklearn.dummy.DummyClassifier` gives the random and zero-rule
baselines; :func:`baseline_scores` puts any set of them side by side.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted

from ._checks import column_of, labels_and_probabilities, non_negative


class PopularityBaseline(ClassifierMixin, BaseEstimator):
    """Predict each value's (each item's) past positive rate, shrunk towards the overall rate.

    A value seen ``n`` times with ``k`` positives gets
    ``(k + prior_strength * base_rate) / (n + prior_strength)``: a value seen rarely stays
    near the base rate instead of jumping to 0 or 1, and unseen (or missing) values get the
    base rate itself.

    Parameters
    ----------
    column : str
        The column of ``X`` to look up, e.g. ``"item_id"``.
    prior_strength : float
        How many pseudo-observations at the base rate each value starts with (finite, >= 0);
        ``0`` gives the raw rates. Both parameters are checked by ``fit`` and ``predict_proba``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels seen in ``fit``, sorted; ``classes_[1]`` is the positive one.
    base_rate_ : float
        The share of positive labels in ``fit``.
    rates_ : pandas.Series
        The smoothed positive rate of each value seen in ``fit``, indexed by value.
    counts_ : pandas.Series
        How often each value was seen in ``fit``.

    Introduced in chapter 6 ("Model Offline Evaluation": baselines, simple heuristic).
    """

    def __init__(self, column: str = "item_id", prior_strength: float = 20.0):
        self.column = column
        self.prior_strength = prior_strength

    def _values(self, X) -> pd.Series:
        # The parameters are checked where scikit-learn estimators check them: on use, not in __init__.
        non_negative("prior_strength", self.prior_strength)
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a DataFrame, got {type(X).__name__}")
        return X[column_of(X, self.column)]

    def fit(self, X: pd.DataFrame, y):
        """Learn the smoothed positive rate of each value of ``X[column]`` from binary labels ``y``."""
        values = self._values(X)
        if len(X) == 0:
            raise ValueError("X is empty: PopularityBaseline needs rows to count")
        if not self.prior_strength >= 0:
            raise ValueError(f"prior_strength must be >= 0, got {self.prior_strength!r}")
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have one label per row of X ({len(X)}), got shape {y.shape}")
        if pd.isna(pd.Series(y, dtype=object)).any():
            raise ValueError("y has missing labels (NaN or None); PopularityBaseline needs a label for every row")
        self.classes_ = unique_labels(y)
        if len(self.classes_) != 2:
            raise ValueError(f"y must be binary, it has {len(self.classes_)} distinct values")
        positive = pd.Series(y == self.classes_[1], dtype=float)
        self.base_rate_ = float(positive.mean())
        grouped = positive.groupby(values.to_numpy())
        clicks, self.counts_ = grouped.sum(), grouped.size()
        self.rates_ = (clicks + self.prior_strength * self.base_rate_) / (self.counts_ + self.prior_strength)
        self.rates_.index.name = self.counts_.index.name = self.column
        self.rates_.name, self.counts_.name = "rate", "n"
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The learned rate of each row's value (the base rate if unseen), as ``[1 - p, p]``."""
        check_is_fitted(self, "rates_")
        values = self._values(X).to_numpy()
        p = self.rates_.reindex(values).fillna(self.base_rate_).to_numpy(dtype=float)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``classes_[1]`` where the positive probability is at least 0.5, else ``classes_[0]``."""
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def baseline_scores(y_true, predictions: Mapping) -> pd.DataFrame:
    """Score several models' probabilities on the same labels, one row per model.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or booleans.
    predictions : dict
        Model name -> positive-class probabilities, shape (n,).

    Returns
    -------
    pandas.DataFrame
        Index ``model`` in the order of ``predictions``; columns ``ROC AUC`` (NaN if ``y_true``
        has one class), ``log loss`` and ``Brier`` (lower is better for both).

    Introduced in chapter 6 ("Model Offline Evaluation": baselines).
    """
    if not isinstance(predictions, Mapping):
        raise TypeError(f"predictions must be a dict of name -> probabilities, got {type(predictions).__name__}")
    if not predictions:
        raise ValueError("predictions is empty: give at least one model's probabilities")
    rows = {}
    for name, prob in predictions.items():
        y, p = labels_and_probabilities(y_true, prob, name=f"predictions[{name!r}]")
        rows[name] = {"ROC AUC": roc_auc_score(y, p) if len(np.unique(y)) == 2 else np.nan,
                      "log loss": log_loss(y, p, labels=[0, 1]),
                      "Brier": brier_score_loss(y, p, pos_label=1)}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["ROC AUC", "log loss", "Brier"])
    table.index.name = "model"
    return table


def random_baselines(y_true, *, n_draws: int = 20, random_state: int = 0) -> pd.DataFrame:
    """Accuracy and F1 of predictors that know nothing: uniformly random, by class frequency, and
    always the majority class (the zero rule), in expectation and measured over ``n_draws`` draws.

    With a positive rate ``r``, a predictor that says "positive" with probability ``q``
    independently of the row has expected accuracy ``q r + (1 - q)(1 - r)``, precision ``r`` and
    recall ``q``, so an F1 of ``2 q r / (q + r)``: for the uniform predictor ``q = 1/2``; for the
    class-frequency predictor ``q = r`` (accuracy ``r^2 + (1 - r)^2``, F1 ``r``); the zero rule
    never says "positive" (accuracy ``1 - r``, F1 0) when positives are the minority. F1 is that of
    the positive class (label 1).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or booleans.
    n_draws : int
        Random predictions drawn for each random predictor (at least 2), for the measured columns.
    random_state : int
        Seed of the draws.

    Returns
    -------
    pandas.DataFrame
        One row per predictor; columns ``P(predict positive)``, ``expected accuracy``,
        ``expected F1``, ``accuracy`` and ``F1`` (means over the draws), ``accuracy ±`` and
        ``F1 ±`` (half-widths of their 95% t intervals; 0 for the zero rule, which is not random).

    Introduced in chapter 6 ("Model Offline Evaluation": baselines, random baseline).
    """
    from sklearn.metrics import f1_score

    from .._validation import check_int
    from ._checks import binary_labels
    from .uncertainty import mean_interval

    y = binary_labels(y_true)
    n_draws = check_int("n_draws", n_draws, 2, 10_000)
    rng = np.random.default_rng(check_int("random_state", random_state, 0))
    r = float(y.mean())
    majority = 1 if r > 0.5 else 0
    rows = {}
    for name, q in [("uniformly random", 0.5), ("random by class frequency", r),
                    ("zero rule (always the majority class)", float(majority))]:
        expected_f1 = 2 * q * r / (q + r) if q + r > 0 else 0.0
        row = {"P(predict positive)": q, "expected accuracy": q * r + (1 - q) * (1 - r), "expected F1": expected_f1}
        if name.startswith("zero rule"):
            pred = np.full(len(y), majority)
            row.update({"accuracy": float((pred == y).mean()), "F1": f1_score(y, pred, zero_division=0.0),
                        "accuracy ±": 0.0, "F1 ±": 0.0})
        else:
            acc, f1 = [], []
            for _ in range(n_draws):
                pred = (rng.random(len(y)) < q).astype(int)
                acc.append(float((pred == y).mean()))
                f1.append(f1_score(y, pred, zero_division=0.0))
            a, f = mean_interval(acc), mean_interval(f1)
            row.update({"accuracy": a.estimate, "F1": f.estimate, "accuracy ±": a.half_width, "F1 ±": f.half_width})
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "predictor"
    return table
