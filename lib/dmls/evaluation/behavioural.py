"""Behavioural tests of a fitted model: change the input in a known way and check the prediction.

Introduced in chapter 6 ("Evaluation Methods": perturbation tests, invariance tests,
directional expectation tests). A model is anything with ``predict_proba(X)`` for a
DataFrame ``X`` (a scikit-learn pipeline, for instance); the tests look at the probability of
its second class and never change ``X`` itself.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._checks import column_of, fraction, non_negative, random_state as check_random_state

EXPECTATIONS = ("increase", "decrease")


@dataclass(frozen=True)
class BehaviouralResult:
    """The outcome of one behavioural test.

    ``failure_rate`` is the share of rows that failed and ``passed`` whether it stayed within
    the test's ``max_failure_rate``. ``mean_change`` is the mean absolute change of the
    probability for a perturbation test, the mean spread (max - min over the values tried) for
    an invariance test and the mean signed change for a directional test.

    Introduced in chapter 6 ("Evaluation Methods": perturbation, invariance and directional
    expectation tests).
    """

    test: str
    passed: bool
    failure_rate: float
    mean_change: float
    detail: str


def _check(model, X, column: str, tolerance: float, max_failure_rate: float) -> pd.Series:
    if not callable(getattr(model, "predict_proba", None)):
        raise TypeError(f"model must have a predict_proba method (a fitted classifier), got {type(model).__name__}")
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a DataFrame, got {type(X).__name__}")
    column_of(X, column)
    if len(X) == 0:
        raise ValueError("X is empty: there are no rows to test")
    non_negative("tolerance", tolerance)
    if not 0 <= fraction("max_failure_rate", max_failure_rate) <= 1:
        raise ValueError(f"max_failure_rate must be in [0, 1], got {max_failure_rate!r}")
    return X[column]


def _numeric(values: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise TypeError(f"column {column!r} must be numeric to be shifted, it is {values.dtype}")
    out = values.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(out).any():
        raise ValueError(f"column {column!r} holds {int(np.isinf(out).sum())} infinite values, which cannot be shifted")
    return out


def _positive_proba(model, X: pd.DataFrame) -> np.ndarray:
    proba = np.asarray(model.predict_proba(X))
    if proba.ndim != 2 or proba.shape != (len(X), 2):
        raise ValueError(f"model.predict_proba must return shape ({len(X)}, 2) (a binary classifier), "
                         f"got {proba.shape}")
    if proba.dtype.kind not in "biuf" or not ((proba >= 0) & (proba <= 1)).all():
        raise ValueError("model.predict_proba must return probabilities in [0, 1]; it returned NaN or "
                         "values outside [0, 1]")
    return proba[:, 1]


def _with(X: pd.DataFrame, column: str, values) -> pd.DataFrame:
    changed = X.copy()
    changed[column] = values
    return changed


def _set_to(X: pd.DataFrame, column: str, value) -> pd.DataFrame:
    dtype = X[column].dtype
    if isinstance(dtype, pd.CategoricalDtype):
        # A categorical column keeps its categories, so that a model reading the codes sees a valid one.
        if value not in dtype.categories:
            raise ValueError(f"{value!r} is not one of the categories of column {column!r}")
        return _with(X, column, pd.Categorical([value] * len(X), dtype=dtype))
    return _with(X, column, pd.Series([value] * len(X), index=X.index))


def _result(test: str, failed: np.ndarray, max_failure_rate: float, mean_change: float, what: str) -> BehaviouralResult:
    rate = float(failed.mean())
    detail = f"{int(failed.sum()):,} of {len(failed):,} rows ({rate:.1%}) {what}; mean change {mean_change:.4f}"
    return BehaviouralResult(test, bool(rate <= max_failure_rate), rate, float(mean_change), detail)


def perturbation_test(model, X: pd.DataFrame, column: str, noise: float, *, tolerance: float = 0.05,
                      max_failure_rate: float = 0.05, random_state=0) -> BehaviouralResult:
    """Add Gaussian noise to a numeric column: a robust model's predictions barely move.

    Parameters
    ----------
    model : object with ``predict_proba``
        A fitted binary classifier that takes ``X``.
    X : pandas.DataFrame
        The rows to test; not modified.
    column : str
        A numeric column of ``X``; missing values stay missing.
    noise : float
        Standard deviation of the noise, in the column's own units.
    tolerance : float
        A row fails if its positive-class probability moves by more than this.
    max_failure_rate : float
        The test passes if at most this share of rows fails.
    random_state : int or numpy.random.Generator
        Seed of the noise.

    Returns
    -------
    BehaviouralResult
        ``mean_change`` is the mean absolute change of the probability.

    Raises
    ------
    TypeError
        If ``model`` has no ``predict_proba``, ``X`` is not a DataFrame, ``column`` is not a
        column name or not numeric, ``noise``, ``tolerance`` or ``max_failure_rate`` is not a
        number, or ``random_state`` is neither an integer nor a Generator.
    ValueError
        If ``X`` is empty or lacks ``column``, the column holds infinite values, ``noise`` or
        ``tolerance`` is negative or not finite, ``max_failure_rate`` is outside [0, 1],
        ``random_state`` is negative, or the model does not return binary probabilities.

    Introduced in chapter 6 ("Evaluation Methods": perturbation tests).
    """
    values = _numeric(_check(model, X, column, tolerance, max_failure_rate), column)
    non_negative("noise", noise)
    noisy = values + np.random.default_rng(check_random_state(random_state)).normal(0.0, noise, len(values))
    change = np.abs(_positive_proba(model, _with(X, column, noisy)) - _positive_proba(model, X))
    return _result(f"perturbation: {column}", change > tolerance, max_failure_rate, change.mean(),
                   f"moved by more than {tolerance} under noise of std {noise} on {column}")


def invariance_test(model, X: pd.DataFrame, column: str, values, *, tolerance: float = 1e-6,
                    max_failure_rate: float = 0.0) -> BehaviouralResult:
    """Set a column to each of several values in turn: the predictions should not change.

    For an attribute that must not matter (a user's region or gender, say), every row is
    predicted with the whole column set to each of ``values``; a row fails if any two of its
    probabilities differ by more than ``tolerance``.

    Parameters
    ----------
    model, X, column, tolerance, max_failure_rate
        As in :func:`perturbation_test`; ``column`` can be of any type. A categorical column
        keeps its categories, and ``values`` must be among them.
    values : sequence
        At least two values to try.

    Returns
    -------
    BehaviouralResult
        ``mean_change`` is the mean over rows of the spread (max - min) of the probabilities.

    Raises
    ------
    TypeError, ValueError
        As :func:`perturbation_test`; also TypeError if ``values`` is a string or not a
        sequence, and ValueError if it holds fewer than two distinct values.

    Introduced in chapter 6 ("Evaluation Methods": invariance tests).
    """
    _check(model, X, column, tolerance, max_failure_rate)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"values must be a list of values to try, got {type(values).__name__} {values!r}")
    values = list(values)
    if len(values) < 2:
        raise ValueError(f"values must hold at least two values to compare, got {values!r}")
    try:
        distinct = len(set(values))
    except TypeError:  # unhashable values: compared as given
        distinct = len(values)
    if distinct < 2:
        raise ValueError(f"values must hold at least two distinct values to compare, got {values!r}")
    probs = np.array([_positive_proba(model, _set_to(X, column, value)) for value in values])
    spread = probs.max(axis=0) - probs.min(axis=0)
    return _result(f"invariance: {column}", spread > tolerance, max_failure_rate, spread.mean(),
                   f"changed by more than {tolerance} across {len(values)} values of {column}")


def directional_test(model, X: pd.DataFrame, column: str, delta, *, expect: str = "increase",
                     tolerance: float = 0.0, max_failure_rate: float = 0.0) -> BehaviouralResult:
    """Change a column in a way whose effect is known: the prediction should move that way.

    Parameters
    ----------
    model, X, column, tolerance, max_failure_rate
        As in :func:`perturbation_test`.
    delta : number or value
        A number is added to the (numeric) column; anything else (a string, a bool) becomes
        the column's value in every row.
    expect : {"increase", "decrease"}
        The direction the positive-class probability should move. A row fails if it moves
        the other way by more than ``tolerance``; not moving at all is no failure.

    Returns
    -------
    BehaviouralResult
        ``mean_change`` is the mean signed change of the probability.

    Raises
    ------
    TypeError, ValueError
        As :func:`perturbation_test`; also ValueError if ``expect`` is unknown, and TypeError or
        ValueError if a numeric ``delta`` is complex, NaN or infinite.

    Introduced in chapter 6 ("Evaluation Methods": directional expectation tests).
    """
    current = _check(model, X, column, tolerance, max_failure_rate)
    if expect not in EXPECTATIONS:
        raise ValueError(f"expect must be one of {EXPECTATIONS}, got {expect!r}")
    if isinstance(delta, numbers.Number) and not isinstance(delta, (bool, np.bool_)):
        if not isinstance(delta, numbers.Real):
            raise TypeError(f"delta must be a real number (or a value to set), got {type(delta).__name__} {delta!r}")
        if not np.isfinite(delta):
            raise ValueError(f"delta must be finite, got {delta!r}")
        changed, how = _with(X, column, _numeric(current, column) + delta), f"{column} {delta:+g}"
    else:
        changed, how = _set_to(X, column, delta), f"{column} = {delta!r}"
    change = _positive_proba(model, changed) - _positive_proba(model, X)
    wrong = change < -tolerance if expect == "increase" else change > tolerance
    return _result(f"directional: {how}", wrong, max_failure_rate, change.mean(),
                   f"moved {'down' if expect == 'increase' else 'up'} by more than {tolerance} when {how}")
