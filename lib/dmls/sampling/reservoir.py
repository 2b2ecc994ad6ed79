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

    Introduced in chapter 4 ("Reservoir Sampling").
    """

    def __init__(self, k: int, seed: int | None = 0):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"reservoir size k must be a positive integer, got {k!r}")
        self.k = int(k)
        self.seen = 0
        self._items: list[Any] = []
        self._rng = np.random.default_rng(seed)

    def add(self, item: Any) -> None:
        self.seen += 1
        if len(self._items) < self.k:
            self._items.append(item)
            return
        slot = int(self._rng.integers(0, self.seen))  # uniform on 0 .. seen-1
        if slot < self.k:
            self._items[slot] = item

    def extend(self, items: Iterable[Any]) -> "Reservoir":
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

    Introduced in chapter 4 ("Reservoir Sampling").
    """
    return Reservoir(k, seed).extend(items).items
