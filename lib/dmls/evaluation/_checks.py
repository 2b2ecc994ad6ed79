"""Input checks shared by the offline-evaluation functions.

Introduced in chapter 6 ("Model Offline Evaluation").
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from dmls._validation import check_column


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


def non_negative(name: str, value) -> float:
    """``value`` as a float, if it is a finite real number (not a bool) of at least 0.

    Shared by the evaluation functions of chapter 6 ("Model Offline Evaluation").
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {type(value).__name__} {value!r}")
    if not value >= 0:  # NaN too
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def fraction(name: str, value, interval: str = "[0, 1]") -> float:
    """``value`` as a float, if it is a real number (not a bool); the range is checked by the caller.

    Shared by the evaluation functions of chapter 6 ("Model Offline Evaluation").
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in {interval}, got {type(value).__name__} {value!r}")
    return float(value)


def column_of(X: pd.DataFrame, column, name: str = "column"):
    """``column`` itself, if it names a column of ``X``.

    Shared by the evaluation functions of chapter 6 ("Model Offline Evaluation").
    """
    return check_column(X, column, name, f"X has no column {column!r}; it has {list(X.columns)}")


def random_state(value, name: str = "random_state"):
    """``value`` itself, if numpy can seed a generator with it as intended: an int >= 0 or a Generator.

    Shared by the evaluation functions of chapter 6 ("Model Offline Evaluation").
    """
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 0 or a numpy Generator, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value
