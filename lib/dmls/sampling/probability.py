"""Probability sampling: every unit has a known chance of being chosen.

Introduced in chapter 4 ("Simple Random Sampling", "Stratified Sampling", "Weighted Sampling").
The draws themselves are pandas'; what is added here is checking the request and, for
stratified sampling, allocating exact whole numbers to strata.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _check_n(n, population: int, replace: bool = False) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"sample size must be a non-negative integer, got {n!r}")
    if not replace and n > population:
        raise ValueError(f"cannot draw {n} units without replacement from a population of {population}")
    return int(n)


def _check_frame(frame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(frame).__name__}")


def simple_random(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows, every subset of that size equally likely.

    Introduced in chapter 4 ("Simple Random Sampling").
    """
    _check_frame(frame)
    return frame.sample(_check_n(n, len(frame)), random_state=seed)


def allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Split ``n`` among strata in proportion to their sizes, in whole units that sum to ``n``
    (largest remainders get the leftover units; ties go to the larger stratum).

    Introduced in chapter 4 ("Stratified Sampling").
    """
    sizes = pd.Series(sizes)
    if (sizes < 0).any() or not np.isfinite(sizes.to_numpy(dtype=float)).all():
        raise ValueError("stratum sizes must be finite and non-negative")
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

    Introduced in chapter 4 ("Stratified Sampling").
    """
    _check_frame(frame)
    if by not in frame:
        raise ValueError(f"no column {by!r} to stratify by; columns: {list(frame.columns)}")
    sizes = frame[by].value_counts(sort=False)
    sizes = sizes[sizes > 0]
    n = _check_n(n, len(frame))
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

    Introduced in chapter 4 ("Weighted Sampling").
    """
    _check_frame(frame)
    w = frame[weights].to_numpy(dtype=float) if isinstance(weights, str) else np.asarray(weights, dtype=float)
    if w.shape != (len(frame),):
        raise ValueError(f"need one weight per row ({len(frame)}), got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    if w.sum() == 0:
        raise ValueError("at least one weight must be positive")
    n = _check_n(n, int((w > 0).sum()), replace)
    return frame.sample(n, weights=w, replace=replace, random_state=seed)
