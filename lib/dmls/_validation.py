"""Argument checks shared by the library's components.

Every public call validates what it is given at its boundary and names the parameter that is
wrong, so that a bad value fails at once with a message the caller can act on, instead of deep
inside a dependency or, worse, silently.

Introduced in chapter 6 (distributed training); used by every component since issue 9.
"""
from __future__ import annotations

import numbers
from typing import Iterable

import numpy as np
import pandas as pd


def check_bool(name: str, value) -> bool:
    """``value`` as a bool; only ``True`` or ``False`` (NumPy's too) are accepted, not 0, 1 or "yes".

    Shared by the simulator (its candidate log, chapter 4) and the serving components of chapter 7.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int, if it is an integer (not a bool) within ``[minimum, maximum]``.

    Shared by components from chapter 6 on.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return int(value)


def check_number(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
                 strict_minimum: bool = False, strict_maximum: bool = False) -> float:
    """``value`` as a float, if it is a finite real number (not a bool) within the bounds.

    ``strict_minimum`` / ``strict_maximum`` exclude the bound itself.

    Shared by every component (chapter 1 on).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (x <= minimum if strict_minimum else x < minimum):
        raise ValueError(f"{name} must be {'>' if strict_minimum else '>='} {minimum}, got {value!r}")
    if maximum is not None and (x >= maximum if strict_maximum else x > maximum):
        raise ValueError(f"{name} must be {'<' if strict_maximum else '<='} {maximum}, got {value!r}")
    return x


def check_fraction(name: str, value, *, allow_zero: bool = True, allow_one: bool = True) -> float:
    """``value`` as a float in [0, 1] (ends included or not as asked).

    Shared by every component (chapter 1 on).
    """
    return check_number(name, value, minimum=0.0, maximum=1.0, strict_minimum=not allow_zero,
                        strict_maximum=not allow_one)


def check_choice(name: str, value, choices: Iterable):
    """``value`` itself, if it is one of ``choices`` (compared by equality, types included).

    Shared by every component (chapter 1 on).
    """
    choices = list(choices)
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_column(frame: pd.DataFrame, column, name: str, missing: str):
    """``column`` itself, if it names a column of ``frame``; ``missing`` is the message if not.

    Shared by every component (chapter 1 on).
    """
    try:
        present = column in frame.columns
    except TypeError:  # an unhashable "name" such as a list
        raise TypeError(f"{name} must be a column name, got {type(column).__name__} {column!r}") from None
    if not present:
        raise ValueError(missing)
    return column


def check_timestamp(name: str, value) -> pd.Timestamp:
    """``value`` as a timezone-naive UTC Timestamp: a date string, datetime or Timestamp.

    Bare numbers are refused: whether 12345 means seconds, milliseconds or nanoseconds cannot
    be guessed, and pandas would silently read it as nanoseconds after 1970.

    Shared by every component (chapter 1 on).
    """
    if value is None or isinstance(value, (bool, numbers.Number)):
        raise TypeError(f"{name} must be a date or time (a string, datetime or Timestamp), got {value!r}")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{name} is not a date or time: {value!r}") from exc
    if ts is pd.NaT:
        raise ValueError(f"{name} is not a date or time: {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts
