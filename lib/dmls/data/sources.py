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

    @field_validator("price", mode="before")
    @classmethod
    def _no_flag_prices(cls, value: Any) -> Any:
        # True would otherwise be read as a price of $1.
        if isinstance(value, (bool, np.bool_)):
            raise ValueError("price must be a number, not a bool")
        return value

    @field_validator("seller_id", mode="before")
    @classmethod
    def _integer_seller_ids(cls, value: Any) -> Any:
        # True, "5" and 5.0 would otherwise be read as sellers 1, 5 and 5; ids are stored in 64 bits.
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"seller_id must be an integer, not {type(value).__name__}")
        if value > MAX_ID:
            raise ValueError(f"seller_id must be at most {MAX_ID} (a 64-bit id), got {value}")
        return value


# Imported here rather than at the top, so that the lines of ListingSubmission shown in chapter 3 stay put.
from dmls._validation import check_fraction, check_int  # noqa: E402

MAX_ID = 2**63 - 1  # the largest id SQLite (and a 64-bit integer column anywhere) can store


def validate_listings(records: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check each submitted record against :class:`ListingSubmission`.

    Returns ``(accepted, rejected)``: the valid listings as a table, and one row per problem
    found (record number, field, reason), so that nothing is dropped without a reason.

    Raises
    ------
    TypeError
        If ``records`` is not an iterable of records (a single dict or a string is not).

    Introduced in chapter 3 ("Data Sources").
    """
    if isinstance(records, (str, bytes, dict)) or not isinstance(records, Iterable):
        raise TypeError(f"records must be an iterable of dicts (one per listing), got {type(records).__name__}")
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

    Raises
    ------
    TypeError
        If ``world`` is not a :class:`dmls.world.World`, ``n`` or ``seed`` not an integer, or
        ``error_rate`` not a number.
    ValueError
        If ``n`` or ``seed`` is negative, or ``error_rate`` is outside [0, 1].

    Introduced in chapter 3 ("Data Sources").
    """
    _check_world(world)
    n = check_int("n", n, minimum=0)
    check_fraction("error_rate", error_rate)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
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

    Raises
    ------
    TypeError
        If ``log`` is not a :class:`dmls.world.Log`, ``seed`` not an integer or ``error_rate``
        not a number.
    ValueError
        If ``seed`` is negative or ``error_rate`` is outside [0, 1].

    Introduced in chapter 3 ("Data Sources"): a format made for people, not for analysis.
    """
    if not isinstance(log, Log):
        raise TypeError(f"log must be a dmls.world.Log (what World.run returns), got {type(log).__name__}")
    check_fraction("error_rate", error_rate)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
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

    Raises
    ------
    TypeError
        If ``world`` is not a :class:`dmls.world.World`, ``coverage`` not a number or ``seed``
        not an integer.
    ValueError
        If ``coverage`` is outside (0, 1] or ``seed`` is negative.

    Introduced in chapter 3 ("Data Sources").
    """
    _check_world(world)
    check_fraction("coverage", coverage, allow_zero=False)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    users = world.users
    covered = users[rng.random(len(users)) < coverage]
    noisy_age = covered["age"].to_numpy() + rng.normal(0, 6, size=len(covered))
    bands = pd.cut(noisy_age, [0, 25, 35, 45, 55, 200], labels=["18-24", "25-34", "35-44", "45-54", "55+"],
                   right=False)  # 25 is in 25-34, not 18-24
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

    Raises TypeError if ``user_id`` is not an integer (``"5"``, ``5.0`` and ``True`` are not
    ids), ValueError if it is negative.

    Introduced in chapter 3 ("Data Sources").
    """
    user_id = check_int("user_id", user_id, minimum=0)
    return hashlib.sha256(f"user{int(user_id)}@example.com".encode()).hexdigest()


def _check_world(world) -> None:
    if not isinstance(world, World):
        raise TypeError(f"world must be a dmls.world.World, got {type(world).__name__}")
