"""Entities of the simulated marketplace: sellers, users and items, with their latent truth.

Introduced in chapter 1 ("Understanding Machine Learning Systems"). Observable attributes go
into the entity tables a data scientist would query; latent ones (tastes, quality, listing
problems) stay in :class:`Truth`, so that estimators can be checked against what really holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import ALL_REGIONS, DEVICES, REGIONS

#: name -> (share of listings, median price in dollars, log-price spread, title nouns)
CATEGORIES: dict[str, tuple[float, float, float, tuple[str, ...]]] = {
    "electronics": (0.14, 120.0, 0.9, ("headphones", "speaker", "charger", "smartwatch", "camera", "keyboard", "monitor", "earbuds")),
    "fashion": (0.16, 35.0, 0.6, ("jacket", "sneakers", "dress", "handbag", "scarf", "jeans", "sunglasses", "watch")),
    "home": (0.12, 45.0, 0.7, ("lamp", "rug", "cushion", "vase", "blanket", "mirror", "shelf", "candle")),
    "toys": (0.08, 25.0, 0.6, ("puzzle", "doll", "robot kit", "board game", "plush bear", "train set", "blocks", "kite")),
    "books": (0.09, 15.0, 0.4, ("novel", "cookbook", "atlas", "biography", "comic", "poetry collection", "guidebook", "textbook")),
    "sports": (0.1, 50.0, 0.7, ("yoga mat", "dumbbells", "tennis racket", "bike helmet", "running shoes", "football", "water bottle", "tent")),
    "beauty": (0.1, 20.0, 0.5, ("serum", "lipstick", "perfume", "face cream", "hair dryer", "nail kit", "shampoo", "palette")),
    "garden": (0.07, 40.0, 0.7, ("planter", "hose", "seed set", "pruning shears", "bird feeder", "lantern", "trowel", "hammock")),
    "pets": (0.07, 25.0, 0.6, ("dog bed", "cat tree", "leash", "aquarium", "pet bowl", "chew toy", "carrier", "scratching post")),
    "music": (0.07, 60.0, 1.0, ("guitar", "vinyl record", "ukulele", "drum pad", "microphone", "keyboard stand", "harmonica", "metronome")),
}
CATEGORY_NAMES: tuple[str, ...] = tuple(CATEGORIES)

ADJECTIVES = ("classic", "compact", "deluxe", "eco", "vintage", "premium", "everyday", "mini", "pro",
              "soft", "smart", "handmade", "lightweight", "portable", "modern", "rustic")
COLOURS = ("black", "white", "red", "blue", "green", "grey", "beige", "navy", "pink", "olive")
#: Words that mark a listing for counterfeit goods, which the marketplace prohibits.
PROHIBITED_TERMS = ("replica", "counterfeit", "knockoff", "fake", "1:1 copy", "mirror quality")
#: Innocent phrases that share words with the prohibited ones (they make labeling functions disagree).
LOOKALIKE_PHRASES = ("signed copy", "mirror finish", "copy holder", "replica of a classic design")
ISSUES = ("ok", "prohibited", "miscategorised")

_SYLLABLES = ("ka", "lo", "ve", "mi", "ra", "to", "zen", "dor", "li", "vik", "sa", "no", "ber", "tek",
              "ul", "fa", "mo", "qui", "ren", "sol", "ta", "ix", "ar", "po")
BRANDS_PER_CATEGORY = 40


def _brand_vocabulary() -> dict[str, tuple[str, ...]]:
    """Fixed brand names per category (the same in every world, so that tables read the same)."""
    rng = np.random.default_rng(20_220_601)
    taken: set[str] = set()
    vocab = {}
    for category in CATEGORY_NAMES:
        names: list[str] = []
        while len(names) < BRANDS_PER_CATEGORY:
            parts = rng.choice(_SYLLABLES, size=rng.integers(2, 4))
            name = "".join(parts).capitalize()
            if name not in taken:
                taken.add(name)
                names.append(name)
        vocab[category] = tuple(names)
    return vocab


BRANDS: dict[str, tuple[str, ...]] = _brand_vocabulary()
#: Brand popularity within a category is Zipf-like: a few brands list most items.
_BRAND_WEIGHTS = 1.0 / np.arange(1, BRANDS_PER_CATEGORY + 1) ** 1.1
_BRAND_WEIGHTS /= _BRAND_WEIGHTS.sum()


@dataclass
class Truth:
    """Latent variables of the world, aligned with entity ids (row ``i`` is entity ``i``).

    Introduced in chapter 1; chapter 4 checks labels and chapter 5 learned embeddings against it.
    """

    category_centroids: np.ndarray
    user_taste: np.ndarray
    user_activity: np.ndarray
    item_factor: np.ndarray
    item_quality: np.ndarray
    item_brand_appeal: np.ndarray
    item_issue: np.ndarray
    seller_quality: np.ndarray
    brand_appeal: dict[str, float] = field(default_factory=dict)

    @property
    def items(self) -> pd.DataFrame:
        """Latent item attributes as a table (item_id, quality, brand_appeal, issue)."""
        return pd.DataFrame({
            "item_id": np.arange(len(self.item_quality), dtype=np.int64),
            "quality": self.item_quality,
            "brand_appeal": self.item_brand_appeal,
            "issue": pd.Categorical.from_codes(self.item_issue, ISSUES),
        })


def category_centroids(dim: int, rng: np.random.Generator) -> np.ndarray:
    """One random unit vector per category: the direction in taste space its items point to.

    Introduced in chapter 1 (how the world is generated).
    """
    c = rng.normal(size=(len(CATEGORY_NAMES), dim))
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def make_sellers(n: int, start: pd.Timestamp, rng: np.random.Generator, first_id: int = 0):
    """Sellers table and their latent quality.

    Introduced in chapter 1 (how the world is generated).
    """
    regions = np.array(list(REGIONS))
    shares = np.array(list(REGIONS.values()))
    joined_days = rng.uniform(30, 3 * 365, size=n)
    table = pd.DataFrame({
        "seller_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "region": pd.Categorical(rng.choice(regions, size=n, p=shares / shares.sum()), categories=list(ALL_REGIONS)),
        "joined_at": (start - pd.to_timedelta(np.round(joined_days * 86_400), unit="s")).astype("datetime64[ms]"),
    })
    return table, rng.normal(0.0, 0.6, size=n)


def make_users(signup_at: np.ndarray, region_probs: dict[str, float], centroids: np.ndarray,
               rng: np.random.Generator, first_id: int, mean_activity: float):
    """New users: their table rows, latent taste vectors and activity rates.

    ``signup_at`` holds one timestamp (datetime64[ms]) per new user.

    Introduced in chapter 1 (how the world is generated).
    """
    n = len(signup_at)
    regions = np.array(list(region_probs))
    probs = np.array(list(region_probs.values()), dtype=float)
    region = rng.choice(regions, size=n, p=probs / probs.sum())
    devices = np.array(list(DEVICES))
    device = rng.choice(devices, size=n, p=np.array(list(DEVICES.values())))
    # Right-skewed ages from 18; desktop users are older on average.
    age = np.minimum(np.round(18 + rng.gamma(2.2, 9.0, size=n) + np.where(device == "desktop", 6.0, 0.0)), 90)
    table = pd.DataFrame({
        "user_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "region": pd.Categorical(region, categories=list(ALL_REGIONS)),
        "device": pd.Categorical(device, categories=list(DEVICES)),
        "age": age.astype(np.float64),
        "signup_at": np.asarray(signup_at, dtype="datetime64[ms]"),
    })
    # Taste: a strong pull toward one favourite category, a weaker one toward a second, and noise.
    shares = np.array([v[0] for v in CATEGORIES.values()])
    fav = rng.choice(len(CATEGORY_NAMES), size=(n, 2), p=shares / shares.sum())
    strength = rng.gamma(4.0, 0.45, size=(n, 1))
    taste = strength * (centroids[fav[:, 0]] + 0.5 * centroids[fav[:, 1]])
    taste += rng.normal(0.0, 0.35, size=taste.shape)
    # Activity (visits per day) is heavy-tailed: most users visit rarely, a few every day.
    sigma = 1.0
    activity = mean_activity * rng.lognormal(-sigma**2 / 2, sigma, size=n)
    return table, taste, activity


def make_items(listed_at: np.ndarray, n_sellers: int, seller_quality: np.ndarray, centroids: np.ndarray,
               brand_appeal: dict[str, float], rng: np.random.Generator, first_id: int,
               new_brand_prefix: str | None = None):
    """New listings: table rows and latent attributes (factor, quality, brand appeal, issue).

    With ``new_brand_prefix``, the items carry brands no earlier item had (a cold-start wave).

    Introduced in chapter 1 (how the world is generated); chapter 4 labels the titles.
    """
    n = len(listed_at)
    names = CATEGORY_NAMES
    shares = np.array([CATEGORIES[c][0] for c in names])
    cat = rng.choice(len(names), size=n, p=shares / shares.sum())
    seller = rng.integers(0, n_sellers, size=n)
    quality = 0.6 * seller_quality[seller] + rng.normal(0.0, 0.8, size=n)
    brand_idx = rng.choice(BRANDS_PER_CATEGORY, size=n, p=_BRAND_WEIGHTS)
    if new_brand_prefix is None:
        brand = np.array([BRANDS[names[c]][b] for c, b in zip(cat, brand_idx)], dtype=object)
    else:
        brand = np.array([f"{new_brand_prefix}{b % 8}" for b in brand_idx], dtype=object)
    for b in np.unique(brand):
        if b not in brand_appeal:
            brand_appeal[b] = float(rng.normal(0.0, 0.5))
    appeal = np.array([brand_appeal[b] for b in brand])
    median = np.array([CATEGORIES[names[c]][1] for c in cat])
    spread = np.array([CATEGORIES[names[c]][2] for c in cat])
    price = median * np.exp(spread * rng.normal(size=n) + 0.15 * quality)
    price = np.where(price >= 5, np.round(price) - 0.01, np.round(price, 2)).clip(0.99)
    factor = centroids[cat] + rng.normal(0.0, 0.45, size=(n, centroids.shape[1]))
    issue = rng.choice(3, size=n, p=[0.95, 0.02, 0.03])
    title_cat = cat.copy()
    mis = issue == 2
    # A miscategorised listing describes an item of another category than the one it is filed under.
    title_cat[mis] = (cat[mis] + rng.integers(1, len(names), size=mis.sum())) % len(names)
    titles = _titles(brand, title_cat, issue, rng)
    rating = np.clip(np.round(3.9 + 0.6 * quality + rng.normal(0.0, 0.35, size=n), 1), 1.0, 5.0)
    table = pd.DataFrame({
        "item_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "seller_id": seller.astype(np.int64),
        "category": pd.Categorical.from_codes(cat, categories=list(names)),
        "brand": brand.astype(str),
        "price": price,
        "rating": rating,
        "title": titles,
        "listed_at": np.asarray(listed_at, dtype="datetime64[ms]"),
    })
    return table, factor, quality, appeal, issue


def _titles(brand: np.ndarray, cat: np.ndarray, issue: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(brand)
    adj = rng.choice(ADJECTIVES, size=n)
    colour = rng.choice(COLOURS, size=n)
    noun_pick = rng.integers(0, 8, size=n)
    style = rng.integers(0, 3, size=n)
    term = rng.choice(PROHIBITED_TERMS, size=n)
    # Most prohibited listings say so in their title; some are worded to slip past a keyword rule.
    says_so = rng.random(n) < 0.8
    lookalike = rng.choice(LOOKALIKE_PHRASES, size=n)
    innocent_lookalike = rng.random(n) < 0.03
    out = np.empty(n, dtype=object)
    for i in range(n):
        noun = CATEGORIES[CATEGORY_NAMES[cat[i]]][3][noun_pick[i]]
        title = f"{brand[i]} {adj[i]} {noun}"
        if style[i] == 1:
            title += f", {colour[i]}"
        elif style[i] == 2:
            title = f"{title} in {colour[i]}"
        if issue[i] == 1:
            title = f"{term[i]} {title}" if says_so[i] else f"{title} (luxury look, fraction of the price)"
        elif innocent_lookalike[i]:
            title = f"{title} - {lookalike[i]}"
        out[i] = title
    return out
