"""The first click model: gradient-boosted trees on the features of :mod:`dmls.features`.

Introduced in chapter 1 ("When to Use Machine Learning"); chapter 6 compares it with
baselines and other model families.
"""
from __future__ import annotations

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from dmls.features import HistoryFeatures, click_features


def train_click_model(rows: pd.DataFrame, history: HistoryFeatures, max_iter: int = 200,
                      learning_rate: float = 0.1, random_state: int = 0) -> HistGradientBoostingClassifier:
    """Fit boosted trees to predict ``rows["clicked"]`` from :func:`~dmls.features.click_features`.

    Deterministic for given rows, history and parameters (no early stopping, fixed seed).

    Introduced in chapter 1 ("When to Use Machine Learning").
    """
    if "clicked" not in rows:
        raise ValueError("train_click_model needs labeled rows: a 'clicked' column")
    model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate,
                                           categorical_features="from_dtype", early_stopping=False,
                                           random_state=random_state)
    return model.fit(click_features(rows, history), rows["clicked"].astype(bool))
