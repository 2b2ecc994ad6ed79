"""Reservoir sampling: a uniform sample of a stream whose length is unknown, in constant memory.

Introduced in chapter 4 ("Reservoir Sampling"). Algorithm R: keep the first ``k`` items; the
``i``-th item after them (counting from 1) replaces a random slot with probability ``k / i``.
After ``n`` items, every item is in the reservoir with probability ``k / n``.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np


class Reservoir:
    """A uniform sample of at most ``k`` of the items added so far.

    ``k`` must be an integer >= 1 (else ValueError) and ``seed`` None or an integer >= 0 (else
    TypeError or ValueError). Introduced in chapter 4 ("Reservoir Sampling").
    """

    def __init__(self, k: int, seed: int | None = 0):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"reservoir size k must be a positive integer, got {k!r}")
        self.k, self.seen = int(k), 0
        self._items: list[Any] = []
        self._rng = np.random.default_rng(_check_seed(seed))

    def add(self, item: Any) -> None:
        self.seen += 1
        if len(self._items) < self.k:
            self._items.append(item)
            return
        slot = int(self._rng.integers(0, self.seen))  # uniform on 0 .. seen-1
        if slot < self.k:
            self._items[slot] = item

    def extend(self, items: Iterable[Any]) -> "Reservoir":
        """Add every item of an iterable (a string counts as one item, not as its characters)."""
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            raise TypeError(f"items must be an iterable of items, got {type(items).__name__} {items!r}; use add() for one")
        for item in items:
            self.add(item)
        return self

    @property
    def items(self) -> list[Any]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)


def reservoir_sample(items: Iterable[Any], k: int, seed: int | None = 0) -> list[Any]:
    """``k`` items drawn uniformly from an iterable read once (all of them if there are fewer).

    Raises
    ------
    TypeError
        If ``items`` is not iterable, or ``k`` or ``seed`` is not an integer (``seed`` may be None).
    ValueError
        If ``k`` is below 1 or ``seed`` is negative.

    Introduced in chapter 4 ("Reservoir Sampling").
    """
    reservoir = Reservoir(k, seed)
    try:
        stream = iter(items)
    except TypeError:
        raise TypeError(f"items must be an iterable (a list, a generator, ...), got {type(items).__name__}") from None
    return reservoir.extend(stream).items


def _check_seed(seed):
    """``seed`` itself, if ``numpy.random.default_rng`` takes it as asked: None or an integer >= 0."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None or an integer, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed!r}")
    return seed
