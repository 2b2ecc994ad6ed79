"""The ground-truth response model: how likely a user is to click, buy and return.

Introduced in chapter 1 ("Understanding Machine Learning Systems"); chapter 4 checks its
estimators against these probabilities, chapter 5 recovers the position bias they encode.
"""
from __future__ import annotations

import numpy as np

from .catalog import CATEGORIES, CATEGORY_NAMES
from .config import ALL_REGIONS, DEVICES, Behaviour

#: Median price per category code, used to express price relative to what is usual.
CATEGORY_MEDIAN_PRICE = np.array([CATEGORIES[c][1] for c in CATEGORY_NAMES])


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, computed stably for large |x|.

    Introduced in chapter 1 (the response model).
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))


class ResponseModel:
    """Vectorised true probabilities, from integer codes and latent arrays.

    Regions and devices are given as integer codes (positions in ``ALL_REGIONS`` and ``DEVICES``);
    positions are 1-based.

    Introduced in chapter 1 ("The marketplace"); chapter 5 recovers its position bias.
    """

    def __init__(self, behaviour: Behaviour):
        b = behaviour
        self.behaviour = b
        self.region_offset = np.array([b.region_offset[r] for r in ALL_REGIONS])
        self.price_sensitivity = np.array([b.price_sensitivity[r] for r in ALL_REGIONS])
        self.device_offset = np.array([b.device_offset[d] for d in DEVICES])
        self.position_decay = np.array([b.position_decay[d] for d in DEVICES])

    def examination(self, position: np.ndarray, device: np.ndarray) -> np.ndarray:
        """Probability that the user looks at the slot: ``position ** -decay[device]``."""
        return np.asarray(position, dtype=np.float64) ** -self.position_decay[device]

    def attraction_logit(self, affinity, quality, brand_appeal, log_price_ratio, region, device):
        """Log-odds that an examined item is clicked."""
        b = self.behaviour
        return (b.base_logit + self.region_offset[region] + self.device_offset[device]
                + b.taste_weight * affinity + b.quality_weight * quality + b.brand_weight * brand_appeal
                - self.price_sensitivity[region] * log_price_ratio)

    def purchase_probability(self, affinity, quality, log_price_ratio, region):
        """Probability that a click turns into a purchase."""
        b = self.behaviour
        return sigmoid(b.purchase_base_logit + b.purchase_quality_weight * quality
                       + b.purchase_taste_weight * affinity
                       - b.purchase_price_weight * self.price_sensitivity[region] * log_price_ratio)

    def return_probability(self, quality):
        """Probability that a purchase is sent back."""
        b = self.behaviour
        return sigmoid(b.return_base_logit + b.return_quality_weight * np.asarray(quality))

    def click_delay_ms(self, rng: np.random.Generator, n: int) -> np.ndarray:
        b = self.behaviour
        return np.round(1000 * b.click_delay_median_s * rng.lognormal(0.0, b.click_delay_sigma, n)).astype(np.int64)

    def purchase_delay_ms(self, rng: np.random.Generator, n: int) -> np.ndarray:
        b = self.behaviour
        hours = b.purchase_delay_median_h * rng.lognormal(0.0, b.purchase_delay_sigma, n)
        return np.round(3_600_000 * hours).astype(np.int64)

    def return_delay_ms(self, rng: np.random.Generator, n: int) -> np.ndarray:
        b = self.behaviour
        days = b.return_delay_median_d * rng.lognormal(0.0, b.return_delay_sigma, n)
        return np.round(86_400_000 * days).astype(np.int64)
