"""Probability sampling: every unit has a known chance of being chosen.

Introduced in chapter 4 ("Simple Random Sampling", "Stratified Sampling", "Weighted Sampling").
The draws themselves are pandas'; what is added here is checking the request and, for
stratified sampling, allocating exact whole numbers to strata.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dmls._validation import check_column, check_int

SEED_MAX = 2**32 - 1  # pandas seeds a RandomState, which takes 32-bit seeds


def _check_n(n, population: int, replace: bool = False) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"sample size n must be a non-negative integer, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"sample size n must be a non-negative integer, got {n!r}")
    if not replace and n > population:
        raise ValueError(f"cannot draw {n} units without replacement from a population of {population}")
    return int(n)


def _check_frame(frame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(frame).__name__}")


def _check_seed(seed) -> int:
    return check_int("seed", seed, minimum=0, maximum=SEED_MAX)


def _check_column(frame: pd.DataFrame, name: str, column) -> None:
    check_column(frame, column, name, f"no column {column!r} for {name}; columns: {list(frame.columns)}")


def simple_random(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows, every subset of that size equally likely.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame, or ``n`` or ``seed`` is not an integer.
    ValueError
        If ``n`` is negative or larger than ``frame``, or ``seed`` is outside 0 .. 2**32 - 1.

    Introduced in chapter 4 ("Simple Random Sampling").
    """
    _check_frame(frame)
    n = _check_n(n, len(frame))
    return frame.sample(n, random_state=_check_seed(seed))


def allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Split ``n`` among strata in proportion to their sizes, in whole units that sum to ``n``
    (largest remainders get the leftover units; ties go to the larger stratum).

    Raises
    ------
    TypeError
        If ``sizes`` does not hold numbers, or ``n`` is not an integer.
    ValueError
        If ``sizes`` is not 1-d, or holds a negative, non-finite or fractional size; or if
        ``n`` is negative or more than the strata hold.

    Introduced in chapter 4 ("Stratified Sampling").
    """
    try:
        sizes = pd.Series(sizes)
    except ValueError as exc:
        raise ValueError(f"sizes must be 1-d, one size per stratum: {exc}") from None
    if pd.api.types.is_bool_dtype(sizes.dtype) or not pd.api.types.is_numeric_dtype(sizes.dtype):
        raise TypeError(f"sizes must hold numbers (stratum sizes), got dtype {sizes.dtype}")
    values = sizes.to_numpy(dtype=float)
    if (values < 0).any() or not np.isfinite(values).all():
        raise ValueError("stratum sizes must be finite and non-negative")
    if (values != np.floor(values)).any():
        raise ValueError("stratum sizes must be whole numbers (counts of units)")
    total = sizes.sum()
    n = _check_n(n, int(total))
    exact = sizes * n / total if total else sizes * 0.0
    base = np.floor(exact).astype(int)
    leftover = n - int(base.sum())
    order = sorted(range(len(sizes)), key=lambda i: (-(exact.iloc[i] - base.iloc[i]), -sizes.iloc[i], i))
    for i in order[:leftover]:
        base.iloc[i] += 1
    return base


def stratified(frame: pd.DataFrame, by: str, n: int, seed: int = 0, min_per_stratum: int = 0) -> pd.DataFrame:
    """``n`` rows with every stratum of column ``by`` represented in proportion to its size.

    ``min_per_stratum`` guarantees small strata a few rows (the remaining rows are still
    allocated proportionally), so that a rare group cannot be missed.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame, ``by`` is not a column name, or ``n``, ``seed`` or
        ``min_per_stratum`` is not an integer.
    ValueError
        If ``frame`` has no column ``by`` or it has missing values (a row without a stratum
        could never be drawn), ``n`` is negative or larger than ``frame``, ``seed`` or
        ``min_per_stratum`` is negative, or the guaranteed rows alone exceed ``n``.

    Introduced in chapter 4 ("Stratified Sampling").
    """
    _check_frame(frame)
    check_column(frame, by, "by", f"no column {by!r} to stratify by; columns: {list(frame.columns)}")
    missing = int(frame[by].isna().sum())
    if missing:
        raise ValueError(f"column {by!r} (by) has {missing} missing values; give those rows a stratum first")
    sizes = frame[by].value_counts(sort=False)
    sizes = sizes[sizes > 0]
    n = _check_n(n, len(frame))
    min_per_stratum = check_int("min_per_stratum", min_per_stratum, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    floor = np.minimum(sizes, min_per_stratum)
    if floor.sum() > n:
        raise ValueError(f"min_per_stratum={min_per_stratum} over {len(sizes)} strata needs more than n={n} rows")
    counts = floor + allocate(sizes - floor, n - int(floor.sum()))
    rng = np.random.default_rng(seed)
    parts = [group.sample(int(counts[key]), random_state=int(rng.integers(2**31)))
             for key, group in frame.groupby(by, observed=True, sort=False) if counts.get(key, 0)]
    return pd.concat(parts) if parts else frame.iloc[:0]


def weighted(frame: pd.DataFrame, n: int, weights, seed: int = 0, replace: bool = False) -> pd.DataFrame:
    """``n`` rows, each drawn with probability proportional to its weight.

    ``weights`` is a column name or one weight per row (a Series must have ``frame``'s index).

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame, ``weights`` does not hold numbers (or booleans),
        ``replace`` is not a bool, or ``n`` or ``seed`` is not an integer.
    ValueError
        If ``weights`` names no column, has the wrong length or another index, or holds a
        negative or non-finite weight or no positive one; if ``n`` is negative or (without
        replacement) more than the rows of positive weight; or ``seed`` is out of range.

    Introduced in chapter 4 ("Weighted Sampling").
    """
    _check_frame(frame)
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError(f"replace must be True or False, got {type(replace).__name__} {replace!r}")
    seed = _check_seed(seed)
    if isinstance(weights, str):
        _check_column(frame, "weights", weights)
        weights = frame[weights]
    elif isinstance(weights, pd.Series) and not weights.index.equals(frame.index):
        raise ValueError("weights is a Series with another index than frame's; align it (or pass an array)")
    raw = np.asarray(weights)
    if raw.dtype.kind not in "biuf" and not (raw.dtype.kind == "O" and raw.size and all(
            isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) for x in raw.ravel())):
        raise TypeError(f"weights must hold numbers, got dtype {raw.dtype}")
    w = raw.astype(float)
    if w.shape != (len(frame),):
        raise ValueError(f"need one weight per row ({len(frame)}), got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    if w.sum() == 0:
        raise ValueError("at least one weight must be positive")
    n = _check_n(n, int((w > 0).sum()), replace)
    return frame.sample(n, weights=w, replace=replace, random_state=seed)
