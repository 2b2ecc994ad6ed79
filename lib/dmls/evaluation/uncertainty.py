"""How sure a measured number is: bootstrap intervals for a metric and for the difference of two.

A test set is a sample, so every metric computed on it has sampling error; two models scored on
the same rows differ by less noise than their two intervals suggest, because the rows they share
move both scores together. :func:`metric_interval` and :func:`difference_interval` resample rows
(or whole groups of rows, such as the impressions of one session, which are not independent) and
report a percentile interval; :func:`repeat_over_seeds` reruns an experiment on fresh seeds and
:func:`mean_interval` summarises the spread with a t interval.

Resampling works on counts per unit: a linear metric (a mean, log loss, Brier score, accuracy) needs
only each unit's total, so a thousand resamples cost a thousand dot products. ROC AUC on
independent rows uses DeLong's closed-form variance (and the covariance of two AUCs on the same
rows for a difference), which the tests check against the bootstrap; with groups it is
bootstrapped on tie-aware score levels, which gives exactly what scikit-learn gives.

Introduced in chapter 1 ("Overview": one number on one test set is not a result) and used by every
comparison in the book; chapter 6 ("Model Offline Evaluation") discusses it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import check_int, check_number

#: Metrics computed with resampling weights in a vectorised pass; any callable
#: ``f(y_true, y_score, sample_weight=...)`` (scikit-learn's metrics, for example) works too.
NAMED_METRICS = ("roc_auc", "log_loss", "brier", "accuracy", "mean")
_CELLS = 4_000_000  # resamples x rows evaluated together (32 MB of weights)


@dataclass(frozen=True)
class Interval:
    """An estimate with a confidence interval around it.

    Introduced in chapter 1 ("Overview"); returned by every function of this module.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str

    def excludes(self, value: float = 0.0) -> bool:
        """True when ``value`` lies outside the interval (for a difference: the sign is settled)."""
        return not (self.low <= value <= self.high)

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def format(self, spec: str = ".3f") -> str:
        """``"0.633 (95% CI 0.621 to 0.645)"`` with each number formatted by ``spec``."""
        return (f"{self.estimate:{spec}} ({self.confidence:.0%} CI {self.low:{spec}} to "
                f"{self.high:{spec}})")

    def __str__(self) -> str:
        return self.format()


def _confidence(confidence) -> float:
    return check_number("confidence", confidence, minimum=0.0, maximum=1.0, strict_minimum=True,
                        strict_maximum=True)


def _array(name: str, values, n: int | None = None) -> np.ndarray:
    if isinstance(values, (str, bytes)) or values is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(values).__name__}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} values, but y_true has {n}")
    return arr


def _labels(y_true) -> np.ndarray:
    y = _array("y_true", y_true)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold 0/1 labels for this metric")
    return y


def _units(n: int, groups) -> tuple[np.ndarray, int]:
    """The resampling unit of each row (the row itself, or its group) and the number of units."""
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups)
    if g.ndim != 1 or g.size != n:
        raise ValueError(f"groups must give one label per row ({n}), got shape {g.shape}")
    if pd.isna(pd.Series(g)).any():
        raise ValueError("groups contains missing labels")
    codes, uniques = pd.factorize(g)
    if len(uniques) < 2:
        raise ValueError("groups must contain at least two groups to resample")
    return codes, len(uniques)


def _unit_counts(n_units: int, n_resamples: int, rng: np.random.Generator):
    """Yield blocks of resamples: how often each unit is drawn (units drawn with replacement)."""
    done = 0
    while done < n_resamples:
        size = min(max(1, _CELLS // n_units), 256, n_resamples - done)
        draws = rng.integers(0, n_units, size=(size, n_units))
        draws += np.arange(size)[:, None] * n_units
        yield np.bincount(draws.ravel(), minlength=size * n_units).reshape(size, n_units).astype(float)
        done += size


class _Metric:
    """A metric evaluated on the full sample and on blocks of resampled unit counts."""

    def __init__(self, metric, y_true, y_score, groups=None):
        self.name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
        if isinstance(metric, str):
            if metric not in NAMED_METRICS:
                raise ValueError(f"metric must be one of {NAMED_METRICS} or a callable, got {metric!r}")
            self._prepare_named(metric, y_true, y_score)
        elif callable(metric):
            self.y = _array("y_true", y_true)
            self.s = _array("y_score", y_score, self.y.size)
            self._callable = metric
            self.kind = "callable"
        else:
            raise TypeError(f"metric must be a name or a callable, got {type(metric).__name__}")
        self.n = self.y.size
        self.codes, self.n_units = _units(self.n, groups)
        if self.kind in ("mean", "log_loss", "brier", "accuracy"):
            # A linear metric needs only each unit's total and size: resampling never touches rows.
            self._unit_sum = np.bincount(self.codes, weights=self._loss, minlength=self.n_units)
            self._unit_size = np.bincount(self.codes, minlength=self.n_units).astype(float)

    def _prepare_named(self, metric, y_true, y_score):
        self.kind = metric
        if metric == "mean":
            if y_score is not None:
                raise ValueError("the 'mean' metric averages one array: pass the values as y_true only")
            self.y = _array("y_true", y_true)
            self._loss = self.y
            return
        self.y = _labels(y_true)
        if y_score is None:
            raise ValueError(f"the {metric!r} metric needs y_score")
        self.s = _array("y_score", y_score, self.y.size)
        if metric in ("log_loss", "brier", "accuracy") and ((self.s < 0) | (self.s > 1)).any():
            raise ValueError(f"the {metric!r} metric needs probabilities in [0, 1] as y_score")
        if metric == "roc_auc":
            if self.y.min() == self.y.max():
                raise ValueError("ROC AUC needs both classes in y_true")
            order = np.argsort(self.s, kind="stable")
            sorted_scores = self.s[order]
            self._order = order
            self._starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        elif metric == "log_loss":
            p = np.clip(self.s, 1e-15, 1 - 1e-15)
            self._loss = -(self.y * np.log(p) + (1 - self.y) * np.log1p(-p))
        elif metric == "brier":
            self._loss = (self.s - self.y) ** 2
        elif metric == "accuracy":
            self._loss = ((self.s >= 0.5) == (self.y == 1)).astype(float)

    def values(self, counts: np.ndarray) -> np.ndarray:
        """The metric under each row of ``counts`` (resamples x units)."""
        if self.kind in ("mean", "log_loss", "brier", "accuracy"):
            return (counts @ self._unit_sum) / (counts @ self._unit_size)
        weights = counts[:, self.codes]
        if self.kind == "roc_auc":
            w = weights[:, self._order]
            y = self.y[self._order]
            pos = np.add.reduceat(w * y, self._starts, axis=1)
            neg = np.add.reduceat(w, self._starts, axis=1) - pos
            below = np.cumsum(neg, axis=1) - neg
            total = pos.sum(axis=1) * neg.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return (pos * (below + 0.5 * neg)).sum(axis=1) / total
        return np.array([self._callable(self.y, self.s, sample_weight=w) for w in weights], dtype=float)

    def estimate(self) -> float:
        return float(self.values(np.ones((1, self.n_units)))[0])


def _midranks(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def _delong(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of several score arrays on the same labels and their covariance (DeLong et al., 1988)."""
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    v10, v01, aucs = [], [], []
    for s in scores:
        tz, tx, ty = _midranks(np.r_[s[pos], s[neg]]), _midranks(s[pos]), _midranks(s[neg])
        v10.append((tz[:m] - tx) / n)
        v01.append(1.0 - (tz[m:] - ty) / m)
        aucs.append(float(v10[-1].mean()))
    s10 = np.atleast_2d(np.cov(np.vstack(v10))) if m > 1 else np.zeros((len(scores),) * 2)
    s01 = np.atleast_2d(np.cov(np.vstack(v01))) if n > 1 else np.zeros((len(scores),) * 2)
    return np.array(aucs), s10 / m + s01 / n


def _normal(estimate: float, variance: float, confidence: float, bounds=(-np.inf, np.inf)) -> Interval:
    half = float(stats.norm.ppf((1 + confidence) / 2)) * float(np.sqrt(max(variance, 0.0)))
    low, high = max(bounds[0], estimate - half), min(bounds[1], estimate + half)
    return Interval(float(estimate), float(low), float(high), confidence, "DeLong")


def _percentile(estimate: float, draws: np.ndarray, confidence: float, what: str) -> Interval:
    draws = draws[np.isfinite(draws)]
    if draws.size < 2:
        raise ValueError(f"too few resamples had a defined {what} (a class may be too rare to resample)")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return Interval(float(estimate), float(low), float(high), confidence, "percentile bootstrap")


def metric_interval(metric, y_true, y_score=None, *, groups=None, confidence: float = 0.95,
                    n_resamples: int = 1000, random_state: int = 0) -> Interval:
    """A metric on a sample with its percentile-bootstrap confidence interval.

    Parameters
    ----------
    metric : {"roc_auc", "log_loss", "brier", "accuracy", "mean"} or callable
        A callable is called as ``metric(y_true, y_score, sample_weight=w)``.
    y_true, y_score : array-like
        Labels and scores; for ``"mean"`` only ``y_true`` (the values to average).
    groups : array-like, optional
        A label per row; whole groups are resampled (rows of one session move together).
    confidence, n_resamples, random_state
        Coverage of the interval, number of resamples and the seed that draws them.

    ROC AUC without groups gets DeLong's normal interval instead (no resampling needed).

    Introduced in chapter 1 ("Overview"); chapter 6 discusses it.
    """
    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    m = _Metric(metric, y_true, y_score, groups)
    if m.kind == "roc_auc" and groups is None:
        aucs, cov = _delong(m.y, [m.s])
        return _normal(aucs[0], cov[0, 0], confidence, bounds=(0.0, 1.0))
    rng = np.random.default_rng(check_int("random_state", random_state, minimum=0))
    draws = np.concatenate([m.values(c) for c in _unit_counts(m.n_units, n_resamples, rng)])
    return _percentile(m.estimate(), draws, confidence, m.name)


def difference_interval(metric, y_true, score_a, score_b=None, *, groups=None, confidence: float = 0.95,
                        n_resamples: int = 1000, random_state: int = 0) -> Interval:
    """``metric(a) - metric(b)`` on the same rows, with a paired percentile-bootstrap interval.

    Both metrics are computed on each resample, so what the rows share cancels; the interval of the
    difference is much narrower than the two separate intervals suggest. For ``"mean"`` pass the
    two paired value arrays as ``score_a`` and ``score_b`` and ``y_true=None``.

    Introduced in chapter 1 ("Overview"); chapter 6 discusses it.
    """
    confidence = _confidence(confidence)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    if metric == "mean":
        if y_true is not None:
            raise ValueError("for the 'mean' metric pass y_true=None and the two value arrays")
        if score_b is None:
            raise ValueError("difference_interval needs score_b")
        a, b = _Metric("mean", score_a, None, groups), _Metric("mean", score_b, None, groups)
        if a.n != b.n:
            raise ValueError(f"score_a has {a.n} values and score_b {b.n}: paired rows are needed")
    else:
        if score_b is None:
            raise ValueError("difference_interval needs score_b")
        a, b = _Metric(metric, y_true, score_a, groups), _Metric(metric, y_true, score_b, groups)
        if a.kind == "roc_auc" and groups is None:
            aucs, cov = _delong(a.y, [a.s, b.s])
            return _normal(aucs[0] - aucs[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], confidence)
    rng = np.random.default_rng(check_int("random_state", random_state, minimum=0))
    draws = np.concatenate([a.values(c) - b.values(c) for c in _unit_counts(a.n_units, n_resamples, rng)])
    return _percentile(a.estimate() - b.estimate(), draws, confidence, f"difference of {a.name}")


def mean_interval(values, confidence: float = 0.95) -> Interval:
    """The mean of independent values (one per seed, say) with its Student-t interval.

    Introduced in chapter 1 ("Overview"); used wherever an experiment is repeated over seeds.
    """
    confidence = _confidence(confidence)
    x = _array("values", values)
    if x.size < 2:
        raise ValueError("an interval needs at least two values")
    mean, sem = float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))
    half = float(stats.t.ppf((1 + confidence) / 2, df=x.size - 1)) * sem
    return Interval(mean, mean - half, mean + half, confidence, f"t interval over {x.size} values")


@dataclass(frozen=True)
class SeedRuns:
    """The results of one experiment repeated over seeds: one row per seed.

    Introduced in chapter 1 ("Overview"); returned by :func:`repeat_over_seeds`.
    """

    results: pd.DataFrame

    def interval(self, column: str, confidence: float = 0.95) -> Interval:
        if column not in self.results.columns:
            raise KeyError(f"no result named {column!r}; the experiment returned {list(self.results.columns)}")
        return mean_interval(self.results[column].to_numpy(), confidence)

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Mean, standard deviation and the t interval of the mean, for each result."""
        rows = {}
        for column in self.results.columns:
            iv = self.interval(column, confidence)
            rows[column] = {"mean": iv.estimate, "sd": float(self.results[column].std(ddof=1)),
                            "low": iv.low, "high": iv.high, "seeds": len(self.results)}
        return pd.DataFrame.from_dict(rows, orient="index")


def repeat_over_seeds(experiment: Callable[[int], float | Mapping[str, float]], seeds: Iterable[int]) -> SeedRuns:
    """Run ``experiment(seed)`` for each seed; it returns a number or a mapping of named numbers.

    Introduced in chapter 1 ("Overview"): one seed is one draw of the world, not a result.
    """
    if not callable(experiment):
        raise TypeError("experiment must be a callable taking a seed")
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    if len(seeds) < 2:
        raise ValueError("repeat over at least two seeds")
    if len(set(seeds)) != len(seeds):
        raise ValueError("seeds repeat: each run needs a seed of its own")
    rows = []
    for seed in seeds:
        out = experiment(seed)
        row = dict(out) if isinstance(out, Mapping) else {"value": out}
        for key, value in row.items():
            check_number(f"result {key!r} of seed {seed}", value)
        rows.append(row)
    if any(set(r) != set(rows[0]) for r in rows):
        raise ValueError("the experiment returned different result names for different seeds")
    return SeedRuns(pd.DataFrame(rows, index=pd.Index(seeds, name="seed")))


def interval_table(intervals: Mapping[str, Interval], spec: str = ".3f") -> pd.DataFrame:
    """A table of named intervals: estimate, low, high, and the formatted text.

    Introduced in chapter 1 ("Overview"), for tables that carry their uncertainty.
    """
    rows = {}
    for name, iv in intervals.items():
        if not isinstance(iv, Interval):
            raise TypeError(f"{name!r} is not an Interval")
        rows[name] = {"estimate": iv.estimate, "low": iv.low, "high": iv.high, "interval": iv.format(spec)}
    return pd.DataFrame.from_dict(rows, orient="index")
