"""The four kinds of data source a marketplace has, all produced from the simulated world.

Introduced in chapter 3 ("Data Sources"):

- **user input** — listings sellers type into a form: :func:`listing_submissions`, with the
  mistakes people make, and :func:`validate_listings` that accepts or rejects each with reasons;
- **system logs** — what services write about themselves: :func:`service_logs`;
- **internal databases** — :class:`dmls.data.stores.MarketplaceStore`;
- **third-party data** — a partner's file about (some of) our users: :func:`partner_profiles`.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dmls.world import CATEGORY_NAMES, Log, World

Category = Literal[CATEGORY_NAMES]  # type: ignore[valid-type]


class ListingSubmission(BaseModel):
    """A listing as the marketplace accepts it from a seller: the contract of the listing form and API.

    Introduced in chapter 3 ("Data Sources"); the prediction service of chapter 7 validates its
    requests the same way.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    seller_id: int = Field(ge=0)
    title: str = Field(min_length=3, max_length=120)
    category: Category
    price: float = Field(gt=0, le=100_000, description="in dollars")
    brand: str = Field(default="unbranded", min_length=1, max_length=40)

    @field_validator("price", mode="before")
    @classmethod
    def _no_text_prices(cls, value: Any) -> Any:
        # "12,99" or "$12" would be coerced or silently misread elsewhere; here they are refused.
        if isinstance(value, str):
            raise ValueError("price must be a number, not text")
        return value


def validate_listings(records: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check each submitted record against :class:`ListingSubmission`.

    Returns ``(accepted, rejected)``: the valid listings as a table, and one row per problem
    found (record number, field, reason), so that nothing is dropped without a reason.

    Introduced in chapter 3 ("Data Sources").
    """
    accepted, problems = [], []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append({"record": i, "field": "", "reason": f"not an object: {type(record).__name__}"})
            continue
        try:
            accepted.append({"record": i, **ListingSubmission(**record).model_dump()})
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"])
                problems.append({"record": i, "field": field, "reason": error["msg"]})
    columns = ["record", *ListingSubmission.model_fields]
    return (pd.DataFrame(accepted, columns=columns),
            pd.DataFrame(problems, columns=["record", "field", "reason"]))


def listing_submissions(world: World, n: int = 1_000, error_rate: float = 0.15, seed: int = 0) -> list[dict]:
    """Listings as sellers would type them: mostly fine, some with the usual mistakes.

    Introduced in chapter 3 ("Data Sources").
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not 0 <= error_rate <= 1:
        raise ValueError(f"error_rate must be between 0 and 1, got {error_rate!r}")
    rng = np.random.default_rng(seed)
    items = world.items.sample(n, replace=True, random_state=int(rng.integers(2**31)))
    records = []
    mistakes = ["price as text", "negative price", "missing title", "unknown category", "price in cents",
                "extra field", "empty title"]
    for row, broken in zip(items.itertuples(), rng.random(n) < error_rate):
        record = {"seller_id": int(row.seller_id), "title": row.title, "category": str(row.category),
                  "price": float(row.price), "brand": row.brand}
        if broken:
            kind = mistakes[int(rng.integers(len(mistakes)))]
            if kind == "price as text":
                record["price"] = f"{row.price:.2f}".replace(".", ",")
            elif kind == "negative price":
                record["price"] = -float(row.price)
            elif kind == "missing title":
                del record["title"]
            elif kind == "unknown category":
                record["category"] = "electronic"
            elif kind == "price in cents":
                record["price"] = float(row.price) * 100 * 1_000  # a typo the range check catches
            elif kind == "extra field":
                record["colour"] = "red"
            else:
                record["title"] = "  "
        records.append(record)
    return records


def service_logs(log: Log, seed: int = 0, error_rate: float = 0.002) -> list[str]:
    """Text lines a ranking service would write while serving the log's sessions.

    Introduced in chapter 3 ("Data Sources"): a format made for people, not for analysis.
    """
    rng = np.random.default_rng(seed)
    sessions = log.sessions
    latency = np.round(rng.lognormal(np.log(18), 0.5, size=len(sessions)), 1)
    failed = rng.random(len(sessions)) < error_rate
    lines = []
    for ts, sid, uid, ms, bad in zip(sessions["started_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23),
                                     sessions["session_id"], sessions["user_id"], latency, failed):
        if bad:
            lines.append(f"{ts}Z ERROR ranker session={sid} user={uid} msg=\"feature store timeout\"")
        else:
            lines.append(f"{ts}Z INFO ranker session={sid} user={uid} latency_ms={ms} slate=10")
    return lines


def partner_profiles(world: World, coverage: float = 0.4, seed: int = 0) -> pd.DataFrame:
    """A third party's file about our users: hashed e-mail as the only key, age bands and
    interests that are partly wrong, and only for some of the users.

    Introduced in chapter 3 ("Data Sources").
    """
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage!r}")
    rng = np.random.default_rng(seed)
    users = world.users
    covered = users[rng.random(len(users)) < coverage]
    noisy_age = covered["age"].to_numpy() + rng.normal(0, 6, size=len(covered))
    bands = pd.cut(noisy_age, [0, 25, 35, 45, 55, 200], labels=["18-24", "25-34", "35-44", "45-54", "55+"])
    favourite = np.argmax(world.truth.user_taste[covered["user_id"].to_numpy()] @ world.truth.category_centroids.T, axis=1)
    wrong = rng.random(len(covered)) < 0.3
    favourite = np.where(wrong, rng.integers(0, len(CATEGORY_NAMES), size=len(covered)), favourite)
    return pd.DataFrame({
        "email_sha256": [hashed_email(u) for u in covered["user_id"]],
        "age_band": bands.astype(str),
        "interest": [CATEGORY_NAMES[c] for c in favourite],
    })


def hashed_email(user_id: int) -> str:
    """The key a partner would share: a hash of the user's (simulated) e-mail address.

    Introduced in chapter 3 ("Data Sources").
    """
    return hashlib.sha256(f"user{int(user_id)}@example.com".encode()).hexdigest()
