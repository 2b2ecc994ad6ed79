"""Input checks shared by the offline-evaluation functions.

Introduced in chapter 6 ("Model Offline Evaluation").
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def binary_labels(y, name: str = "y_true") -> np.ndarray:
    """``y`` as a 1-d array of 0/1 ints; booleans and 0/1 numbers are accepted.

    Shared by the evaluation functions of chapter 6 ("Model Offline Evaluation").
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {y.shape}")
    if len(y) == 0:
        raise ValueError(f"{name} is empty: there is nothing to evaluate")
    if y.dtype.kind == "O":
        try:
            y = y.astype(float)
        except (TypeError, ValueError):
            pass
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must hold binary labels, 0/1 or booleans; got values {list(pd.unique(y)[:5])}")
    return y.astype(int)


def probabilities(p, n: int | None, name: str = "y_prob") -> np.ndarray:
    """``p`` as a 1-d float array of ``n`` (if given, else at least one) probabilities in [0, 1].

    Shared by the evaluation functions of chapter 6 ("Model Offline Evaluation").
    """
    try:
        p = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers (probabilities)") from None
    if p.ndim != 1:
        raise ValueError(f"{name} must be 1-d, the positive-class probability (predict_proba(X)[:, 1]); "
                         f"got shape {p.shape}")
    if n is not None and len(p) != n:
        raise ValueError(f"{name} has {len(p)} values but y_true has {n}")
    if len(p) == 0:
        raise ValueError(f"{name} is empty: there is nothing to evaluate")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1], with no NaN")
    return p


def labels_and_probabilities(y_true, y_prob, name: str = "y_prob") -> tuple[np.ndarray, np.ndarray]:
    """Both checks together: 0/1 labels and one probability per label.

    Shared by the evaluation functions of chapter 6 ("Model Offline Evaluation").
    """
    y = binary_labels(y_true)
    return y, probabilities(y_prob, len(y), name)
