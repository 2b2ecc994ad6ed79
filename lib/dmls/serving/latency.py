"""Latency is a distribution: its summary by percentiles, and a queue that makes its tail.

Introduced in chapter 1 ("Machine Learning in Research Versus in Production", computational
priorities). A mean summarises latency badly: one slow request moves it for everyone, while the
median (p50) stays where most users are and the 99th percentile (p99) shows the slowest. And even
when every request takes the same work, a server that is busy most of the time makes requests wait
for each other, so the tail grows much faster than the work: :func:`simulate_queue` simulates a
single server with random arrivals and service times (the M/M/1 queue), and :func:`mm1_sojourn`
gives its closed form, which the tests check the simulation against.

Chapter 7 ("Model Deployment and Prediction Service") serves the model these numbers are about.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._validation import check_int, check_number

#: The percentiles a latency summary reports, as fractions.
PERCENTILES = (0.5, 0.9, 0.99)


def _latencies(values) -> np.ndarray:
    if isinstance(values, (str, bytes)) or values is None:
        raise TypeError(f"latencies must be an array of numbers, got {type(values).__name__}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("latencies must be an array of numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"latencies must be a non-empty one-dimensional array, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("latencies must be finite and non-negative")
    return arr


def latency_summary(latencies, percentiles=PERCENTILES) -> pd.Series:
    """Mean, the given percentiles (``p50``, ``p90``, ``p99`` by default) and the maximum.

    Percentiles interpolate linearly between order statistics (NumPy's default), so the p99 of
    ten requests already lies most of the way to the slowest one.

    Parameters
    ----------
    latencies : array-like
        One latency per request, non-negative, in any unit (the summary keeps it).
    percentiles : sequence of float
        Fractions strictly between 0 and 1.

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production").
    """
    x = _latencies(latencies)
    qs = [check_number("percentile", q, minimum=0.0, maximum=1.0, strict_minimum=True, strict_maximum=True)
          for q in percentiles]
    values = {"mean": float(x.mean())}
    for q in qs:
        values[f"p{100 * q:g}"] = float(np.quantile(x, q))
    values["max"] = float(x.max())
    return pd.Series(values, name="latency")


def _rates(arrival_rate, service_rate) -> tuple[float, float]:
    lam = check_number("arrival_rate", arrival_rate, minimum=0.0, strict_minimum=True)
    mu = check_number("service_rate", service_rate, minimum=0.0, strict_minimum=True)
    if lam >= mu:
        raise ValueError(f"arrival_rate ({lam:g}) must be below service_rate ({mu:g}): at utilisation >= 1 "
                         "the queue grows without bound and has no steady state")
    return lam, mu


def simulate_queue(arrival_rate: float, service_rate: float, n_requests: int, *, seed: int = 0,
                   warmup: int = 0) -> np.ndarray:
    """Sojourn times (waiting plus service) of requests at one first-come-first-served server.

    Requests arrive at random (exponential gaps, ``arrival_rate`` per unit of time) and each takes
    an exponential service time with mean ``1 / service_rate``: the M/M/1 queue. Waiting times
    follow Lindley's recursion ``W[k+1] = max(0, W[k] + S[k] - A[k+1])``, computed without a loop
    as a random walk minus its running minimum. The queue starts empty; ``warmup`` requests are
    simulated first and dropped, so that the ones returned see the queue in its steady state.

    Parameters
    ----------
    arrival_rate, service_rate : float
        Requests per unit of time arriving and served; utilisation is their ratio, below 1.
    n_requests : int
        How many sojourn times to return (at least 1).
    seed : int
        Seed of the random arrivals and service times.
    warmup : int
        Requests simulated before the returned ones (at least 0).

    Returns
    -------
    numpy.ndarray
        ``n_requests`` sojourn times, in the unit of time the rates are given in.

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production").
    """
    lam, mu = _rates(arrival_rate, service_rate)
    n = check_int("n_requests", n_requests, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    total = n + warmup
    gaps = rng.exponential(1.0 / lam, size=total)
    service = rng.exponential(1.0 / mu, size=total)
    steps = np.empty(total)
    steps[0] = 0.0
    steps[1:] = service[:-1] - gaps[1:]
    walk = np.cumsum(steps)
    waiting = walk - np.minimum.accumulate(np.minimum(walk, 0.0))
    return (waiting + service)[warmup:]


def mm1_sojourn(arrival_rate: float, service_rate: float, percentiles=PERCENTILES) -> pd.Series:
    """The closed form of the M/M/1 queue: utilisation, mean sojourn time and its percentiles.

    In steady state a first-come-first-served M/M/1 request's sojourn time is exponential with
    rate ``service_rate - arrival_rate``: its mean is ``1 / (mu - lambda)`` and its q-quantile
    ``-ln(1 - q) / (mu - lambda)``, so every percentile grows like ``1 / (1 - utilisation)``.

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production").
    """
    lam, mu = _rates(arrival_rate, service_rate)
    qs = [check_number("percentile", q, minimum=0.0, maximum=1.0, strict_minimum=True, strict_maximum=True)
          for q in percentiles]
    rate = mu - lam
    values = {"utilisation": lam / mu, "mean": 1.0 / rate}
    for q in qs:
        values[f"p{100 * q:g}"] = -math.log1p(-q) / rate
    return pd.Series(values, name="M/M/1")


def max_utilisation(service_rate: float, budget: float, q: float | None = None) -> float:
    """The highest utilisation at which an M/M/1 server keeps a latency statistic within ``budget``.

    With ``q=None`` the statistic is the mean sojourn time, otherwise its ``q``-quantile: the
    largest ``lambda / mu`` with ``-ln(1 - q) / (mu - lambda) <= budget`` (0 if even an idle
    server misses it).

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production").
    """
    mu = check_number("service_rate", service_rate, minimum=0.0, strict_minimum=True)
    budget = check_number("budget", budget, minimum=0.0, strict_minimum=True)
    factor = 1.0 if q is None else -math.log1p(-check_number("q", q, minimum=0.0, maximum=1.0,
                                                              strict_minimum=True, strict_maximum=True))
    return max(0.0, 1.0 - factor / (mu * budget))


__all__ = ["PERCENTILES", "latency_summary", "max_utilisation", "mm1_sojourn", "simulate_queue"]
