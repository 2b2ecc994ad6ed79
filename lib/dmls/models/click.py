"""The first click model: gradient-boosted trees on the features of :mod:`dmls.features`.

Introduced in chapter 1 ("When to Use Machine Learning"); chapter 6 compares it with
baselines and other model families.
"""
from __future__ import annotations

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from dmls._validation import check_int, check_number
from dmls.features import HistoryFeatures, click_features


def train_click_model(rows: pd.DataFrame, history: HistoryFeatures, max_iter: int = 200,
                      learning_rate: float = 0.1, random_state: int = 0) -> HistGradientBoostingClassifier:
    """Fit boosted trees to predict ``rows["clicked"]`` from :func:`~dmls.features.click_features`.

    Deterministic for given rows, history and parameters (no early stopping, fixed seed).

    ``rows`` is a non-empty DataFrame whose ``clicked`` column holds booleans or 0/1 (none
    missing); ``history`` a :class:`~dmls.features.HistoryFeatures`; ``max_iter`` an integer
    >= 1, ``learning_rate`` a number > 0 and ``random_state`` an integer in [0, 2**32 - 1].

    Introduced in chapter 1 ("When to Use Machine Learning").
    """
    if not isinstance(rows, pd.DataFrame):
        raise TypeError(f"rows must be a DataFrame of impressions, got {type(rows).__name__}")
    if not isinstance(history, HistoryFeatures):
        raise TypeError(f"history must be a fitted HistoryFeatures, got {type(history).__name__}")
    max_iter = check_int("max_iter", max_iter, 1)
    learning_rate = check_number("learning_rate", learning_rate, minimum=0, strict_minimum=True)
    random_state = check_int("random_state", random_state, 0, 2**32 - 1)
    if "clicked" not in rows:
        raise ValueError("train_click_model needs labeled rows: a 'clicked' column")
    if len(rows) == 0:
        raise ValueError("rows must have at least one impression")
    clicked = rows["clicked"]
    if clicked.isna().any() or not set(pd.unique(clicked.to_numpy())).issubset({0, 1}):
        raise ValueError("rows['clicked'] must hold clicks: booleans or 0/1, none missing")
    model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate,
                                           categorical_features="from_dtype", early_stopping=False,
                                           random_state=random_state)
    return model.fit(click_features(rows, history), rows["clicked"].astype(bool))
