"""Parameters of the simulated marketplace, validated once at the boundary.

Introduced in chapter 1 ("Understanding Machine Learning Systems"): every chapter's data comes
from a :class:`~dmls.world.World` built from a :class:`WorldConfig`.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

#: Regions the marketplace operates in at the start, with their share of users.
REGIONS: dict[str, float] = {"US": 0.42, "UK": 0.2, "DE": 0.16, "FR": 0.13, "ES": 0.09}
#: Regions the marketplace can launch in later (a covariate-shift scenario); no users at the start.
LAUNCH_REGIONS: tuple[str, ...] = ("BR", "IN")
ALL_REGIONS: tuple[str, ...] = tuple(REGIONS) + LAUNCH_REGIONS

#: Devices and the share of users whose main device each is.
DEVICES: dict[str, float] = {"mobile": 0.58, "desktop": 0.32, "tablet": 0.10}


def _default_region_offset() -> dict[str, float]:
    return {"US": 0.0, "UK": -0.05, "DE": -0.15, "FR": -0.1, "ES": 0.05, "BR": 0.2, "IN": 0.1}


def _default_price_sensitivity() -> dict[str, float]:
    return {"US": 0.45, "UK": 0.5, "DE": 0.6, "FR": 0.55, "ES": 0.7, "BR": 1.1, "IN": 1.3}


def _default_device_offset() -> dict[str, float]:
    return {"mobile": 0.0, "desktop": 0.15, "tablet": -0.05}


def _default_position_decay() -> dict[str, float]:
    # Examination probability at 1-based position k is k ** -decay: small screens decay faster.
    return {"mobile": 1.0, "desktop": 0.6, "tablet": 0.8}


def _check_finite(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


#: Upper bounds that keep every count and id inside int64 arithmetic with room to spare.
MAX_ENTITIES = 100_000_000
MAX_RATE = 1_000.0


@dataclass(frozen=True)
class Behaviour:
    """How simulated users respond; the ground truth every estimator in the book is checked against.

    A user examines position ``k`` (1-based) of a slate with probability ``k ** -decay[device]``
    (position bias) and, once examined, is attracted to the item with probability
    ``sigmoid(attraction logit)``; a click needs both. The attraction logit adds a base rate, the
    region and device offsets, the user's taste for the item (a dot product of latent factors),
    the item's latent quality and brand appeal, and a price penalty that varies by region.
    A click turns into a purchase with a probability driven by quality and price, after a
    log-normally distributed delay; a purchase is returned with a probability that falls with
    quality.

    Introduced in chapter 1 ("The marketplace").
    """

    base_logit: float = -3.6
    taste_weight: float = 1.0
    quality_weight: float = 0.35
    brand_weight: float = 0.3
    region_offset: Mapping[str, float] = field(default_factory=_default_region_offset)
    price_sensitivity: Mapping[str, float] = field(default_factory=_default_price_sensitivity)
    device_offset: Mapping[str, float] = field(default_factory=_default_device_offset)
    position_decay: Mapping[str, float] = field(default_factory=_default_position_decay)
    click_delay_median_s: float = 7.0
    click_delay_sigma: float = 0.7
    purchase_base_logit: float = -3.8
    purchase_quality_weight: float = 0.6
    purchase_price_weight: float = 0.5
    purchase_taste_weight: float = 0.5
    purchase_delay_median_h: float = 5.0
    purchase_delay_sigma: float = 1.3
    return_base_logit: float = -2.3
    return_quality_weight: float = -0.9
    return_delay_median_d: float = 6.0
    return_delay_sigma: float = 0.45

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                for key, v in value.items():
                    _check_finite(f"Behaviour.{f.name}[{key!r}]", v)
            elif f.name in ("region_offset", "price_sensitivity", "device_offset", "position_decay"):
                raise TypeError(f"Behaviour.{f.name} must be a mapping (a dict), got {type(value).__name__}")
            else:
                _check_finite(f"Behaviour.{f.name}", value)
        for name in ("region_offset", "price_sensitivity"):
            missing = set(ALL_REGIONS) - set(getattr(self, name))
            if missing:
                raise ValueError(f"Behaviour.{name} needs a value for every region; missing {sorted(missing)}")
        for name in ("device_offset", "position_decay"):
            missing = set(DEVICES) - set(getattr(self, name))
            if missing:
                raise ValueError(f"Behaviour.{name} needs a value for every device; missing {sorted(missing)}")
        if any(v < 0 for v in self.position_decay.values()):
            raise ValueError("Behaviour.position_decay values must be >= 0")
        for name in ("click_delay_median_s", "purchase_delay_median_h", "return_delay_median_d",
                     "click_delay_sigma", "purchase_delay_sigma", "return_delay_sigma"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"Behaviour.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class WorldConfig:
    """Size and shape of the simulated marketplace.

    Parameters
    ----------
    n_users, n_items, n_sellers : int
        Entities that exist when the simulation starts. More users sign up and more items are
        listed as days pass (``user_growth_per_day``, ``item_growth_per_day``).
    start : str or Timestamp
        Midnight (UTC) of the first simulated day.
    slate_size : int
        Items shown in each home-feed slate.
    n_candidates : int
        Items retrieved for each session, among which the ranking policy picks the slate.
    sessions_per_user_day : float
        Mean visits per user per day; individual users vary around it (log-normal activity).
    user_growth_per_day, item_growth_per_day : float
        New sign-ups and new listings per day, as a fraction of the initial population.
    taste_dim : int
        Dimension of the latent user-taste and item-factor vectors.
    behaviour : Behaviour
        The response model (ground truth).

    Introduced in chapter 1 ("The marketplace").
    """

    n_users: int = 20_000
    n_items: int = 5_000
    n_sellers: int = 500
    start: str | pd.Timestamp = "2026-03-02"
    slate_size: int = 10
    n_candidates: int = 30
    sessions_per_user_day: float = 0.3
    user_growth_per_day: float = 0.002
    item_growth_per_day: float = 0.004
    taste_dim: int = 8
    behaviour: Behaviour = field(default_factory=Behaviour)

    def __post_init__(self) -> None:
        for name in ("n_users", "n_items", "n_sellers", "slate_size", "n_candidates", "taste_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_ENTITIES:
                raise ValueError(f"WorldConfig.{name} must be an integer from 1 to {MAX_ENTITIES:,}, got {value!r}")
        if self.n_candidates < self.slate_size:
            raise ValueError(
                f"WorldConfig.n_candidates ({self.n_candidates}) must be at least slate_size ({self.slate_size})"
            )
        if self.n_items < self.n_candidates:
            raise ValueError(
                f"WorldConfig.n_items ({self.n_items}) must be at least n_candidates ({self.n_candidates})"
            )
        for name in ("sessions_per_user_day", "user_growth_per_day", "item_growth_per_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value) \
                    or not 0 <= value <= MAX_RATE:
                raise ValueError(f"WorldConfig.{name} must be a number from 0 to {MAX_RATE:g}, got {value!r}")
        if not isinstance(self.behaviour, Behaviour):
            raise TypeError(f"WorldConfig.behaviour must be a Behaviour, got {type(self.behaviour).__name__}")
        from dmls._validation import check_timestamp

        start = check_timestamp("WorldConfig.start", self.start)
        if not pd.Timestamp("1900-01-01") <= start <= pd.Timestamp("2200-01-01"):
            raise ValueError(f"WorldConfig.start must be between 1900 and 2200, got {start}")
        if start != start.normalize():
            raise ValueError(f"WorldConfig.start must be a midnight, got {start}")
        object.__setattr__(self, "start", start)

    def replace(self, **changes) -> "WorldConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
