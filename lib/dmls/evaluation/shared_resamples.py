"""The intervals of :mod:`dmls.evaluation.uncertainty`, the same to the last bit, drawing each set of
resampled unit counts once.

A bootstrap interval resamples units (rows, or groups such as users) with a generator seeded by
``random_state``, so the counts it draws depend only on the number of units, ``n_resamples`` and
``random_state`` — not on the labels or the scores. A chapter that compares many models on one
test set draws the very same counts for every comparison; for a linear metric such as log loss,
drawing them costs far more than evaluating the metric on them. :func:`metric_interval` and
:func:`difference_interval` here call the functions of :mod:`~dmls.evaluation.uncertainty` and
keep the counts of the last few unit numbers, so every later call on the same test set skips the
drawing. The arithmetic is unchanged, and so is every interval.

Introduced in chapter 5 ("Learned Features Versus Engineered Features"), which compares several
dozen pairs of models on one test set, each with a user-grouped log-loss interval.
"""
from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from . import uncertainty
from .uncertainty import Interval

#: How many (units, resamples, seed) sets of counts are kept, and the most cells each may hold
#: (8 bytes a cell: 20 million cells, 1,000 resamples of 20,000 users, are 160 MB).
MAX_KEPT = 3
MAX_CELLS = 20_000_000

_kept: OrderedDict = OrderedDict()
_draw_counts = uncertainty._unit_counts


def _key(n_units: int, n_resamples: int, rng: np.random.Generator):
    state = rng.bit_generator.state
    return (n_units, n_resamples, repr(sorted(state.items())))


def _reused_counts(n_units: int, n_resamples: int, rng: np.random.Generator):
    """``uncertainty._unit_counts``, remembered: the same blocks, drawn once per key."""
    if n_units * n_resamples > MAX_CELLS:
        yield from _draw_counts(n_units, n_resamples, rng)
        return
    key = _key(n_units, n_resamples, rng)
    if key not in _kept:
        blocks = []
        for block in _draw_counts(n_units, n_resamples, rng):
            block.setflags(write=False)  # shared by every later call: nobody may change it
            blocks.append(block)
            yield block
        _kept[key] = blocks
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
        return
    _kept.move_to_end(key)
    yield from _kept[key]


@contextmanager
def _reusing():
    uncertainty._unit_counts = _reused_counts
    try:
        yield
    finally:
        uncertainty._unit_counts = _draw_counts


def metric_interval(metric, y_true, y_score=None, *, groups=None, confidence: float = 0.95,
                    n_resamples: int = 1000, random_state: int = 0) -> Interval:
    """:func:`dmls.evaluation.metric_interval`, with the resampled counts reused between calls.

    Same parameters, same checks, same result to the last bit.

    Introduced in chapter 5 ("Learned Features Versus Engineered Features").
    """
    with _reusing():
        return uncertainty.metric_interval(metric, y_true, y_score, groups=groups, confidence=confidence,
                                           n_resamples=n_resamples, random_state=random_state)


def difference_interval(metric, y_true, score_a, score_b=None, *, groups=None, confidence: float = 0.95,
                        n_resamples: int = 1000, random_state: int = 0) -> Interval:
    """:func:`dmls.evaluation.difference_interval`, with the resampled counts reused between calls.

    Same parameters, same checks, same result to the last bit.

    Introduced in chapter 5 ("Learned Features Versus Engineered Features").
    """
    with _reusing():
        return uncertainty.difference_interval(metric, y_true, score_a, score_b, groups=groups,
                                               confidence=confidence, n_resamples=n_resamples,
                                               random_state=random_state)


def clear() -> None:
    """Forget the kept counts (they are drawn again on the next call).

    Introduced in chapter 5 ("Learned Features Versus Engineered Features").
    """
    _kept.clear()
