"""Argument checks shared by the library's components.

Introduced in chapter 6 (distributed training) and used again in chapter 7 (model compression).
"""
from __future__ import annotations

import numpy as np


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an int, if it is an integer (not a bool) of at least ``minimum``.

    Shared by components from chapter 6 on.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)
