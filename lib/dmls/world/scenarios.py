"""Scenarios: changes to the world that start at a known onset.

Introduced in chapter 1 ("Machine Learning Systems Versus Traditional Software"), taught in
chapter 8 ("Data Distribution Shifts") and used wherever a chapter needs messy or shifting data.

Each scenario changes exactly the distribution it names, and only for events at or after its
``onset`` (a date, or a number of days after the world's start):

============================  ===========================  ====================================
scenario                      kind of change               what moves
============================  ===========================  ====================================
:class:`NewRegion`            covariate shift              region of users who sign up
:class:`DeviceMixShift`       covariate shift              device of sessions
:class:`SeasonalDemand`       label shift                  share of sessions with a click
:class:`ConceptDrift`         concept drift                users' tastes, so P(click | x)
:class:`NewItems`             cold start                   a wave of listings by new brands
:class:`PriceInCents`         upstream unit change         logged prices (x100), not behaviour
:class:`MissingValues`        missing data (MCAR/MAR/MNAR) logged values of one column
:class:`DuplicateEvents`      at-least-once delivery       logged events repeated
============================  ===========================  ====================================

Behaviour scenarios act on the simulated users; logging scenarios (the last three) act only on
what the system records, while the ground truth stays as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from dmls._validation import check_timestamp

from .behaviour import sigmoid
from .config import ALL_REGIONS, DEVICES, REGIONS

DAY_MS = 86_400_000

#: Tables a logging scenario can act on, and the column holding each row's time.
TIME_COLUMNS: dict[str, str] = {
    "users": "signup_at", "items": "listed_at", "sellers": "joined_at", "sessions": "started_at",
    "impressions": "shown_at", "clicks": "clicked_at", "purchases": "purchased_at", "returns": "returned_at",
}
EVENT_TABLES = ("sessions", "impressions", "clicks", "purchases", "returns")


def _check_fraction(name: str, value: float, *, allow_zero: bool = False, allow_one: bool = False) -> None:
    ok_low = value >= 0 if allow_zero else value > 0
    ok_high = value <= 1 if allow_one else value < 1
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (ok_low and ok_high):
        raise ValueError(f"{name} must be a fraction in {'[' if allow_zero else '('}0, 1{']' if allow_one else ')'}, got {value!r}")


@dataclass(frozen=True)
class Scenario:
    """Base class. ``onset`` is a date, or a number of days after the world's start.

    Introduced in chapter 1; chapter 8 ("Data Distribution Shifts") is built on them.
    """

    onset: Any = 0

    def onset_ms(self, start: pd.Timestamp) -> int:
        """The onset as epoch milliseconds, given the world's start."""
        onset = self.onset
        if isinstance(onset, bool):
            raise ValueError(f"{type(self).__name__}.onset must be a date or a number of days, got {onset!r}")
        if isinstance(onset, (int, float, np.number)):
            if not np.isfinite(onset):
                raise ValueError(f"{type(self).__name__}.onset must be finite, got {onset!r}")
            if abs(onset) > 100 * 365:
                raise ValueError(f"{type(self).__name__}.onset must be within a century of the start, got {onset!r} days")
            return int(start.value // 1_000_000 + round(float(onset) * DAY_MS))
        try:
            ts = check_timestamp(f"{type(self).__name__}.onset", onset)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{type(self).__name__}.onset is neither a date nor a number of days: {onset!r}") from exc
        return int(ts.value // 1_000_000)

    def prepare(self, config, rng: np.random.Generator) -> Any:
        """Per-world state drawn once when the scenario joins a world (default: none)."""
        return None

    # Behaviour hooks: the world calls each one; the defaults change nothing.
    def modify_signups(self, region: np.ndarray, signup_ms: np.ndarray, onset: int, rng, state) -> None:
        """Change region codes of new users in place."""

    def launch_signups(self, t0: int, t1: int, onset: int) -> tuple[int, int] | None:
        """Users who join in a burst in [t0, t1): (count, region code), or None."""
        return None

    def modify_devices(self, device: np.ndarray, time_ms: np.ndarray, onset: int, rng, state) -> None:
        """Change session device codes in place."""

    def extra_demand(self, hour_ms: np.ndarray, onset: int, state) -> np.ndarray | None:
        """Extra visits, as a multiple (>= 0) of the regular visit rate, in each hour starting at
        ``hour_ms`` (None: none). The world draws them on top of the regular visits, from a
        stream of their own, and keeps those that fall where :meth:`in_effect` is true."""
        return None

    def in_effect(self, time_ms: np.ndarray, onset: int, state) -> np.ndarray:
        """Where the scenario acts: from the onset on (a subclass may end it)."""
        return np.asarray(time_ms) >= onset

    def keep_sessions(self, has_click: np.ndarray, time_ms: np.ndarray, onset: int, rng, state) -> np.ndarray | None:
        """Mask of sessions to keep (None: keep all)."""
        return None

    def taste(self, taste: np.ndarray, time_ms: np.ndarray, onset: int, state) -> np.ndarray:
        """Effective taste vectors of users at the given times."""
        return taste

    def new_listings(self, t0: int, t1: int, onset: int) -> tuple[int, str | None] | None:
        """A wave of listings in [t0, t1): (count, brand prefix or None), listed at the onset."""
        return None

    # Logging hook.
    def log_table(self, name: str, table: pd.DataFrame, onset: int, rng) -> pd.DataFrame:
        """What the system records of a table's new rows (default: the rows as they are)."""
        return table

    def check_tables(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Reject a scenario that names a table or column the world does not have."""


def _after(table: pd.DataFrame, name: str, onset: int) -> np.ndarray:
    times = table[TIME_COLUMNS[name]].to_numpy().astype("datetime64[ms]").astype(np.int64)
    return times >= onset


# ---------------------------------------------------------------------------- covariate shift
@dataclass(frozen=True)
class NewRegion(Scenario):
    """The marketplace launches in a new region: a burst of sign-ups at the onset, and from then on
    a share of all new users come from there. The response to a user of that region was always
    defined (covariate shift: P(x) moves, P(y | x) does not).

    Taught in chapter 8 ("Types of Data Distribution Shifts").
    """

    region: str = "BR"
    share: float = 0.3
    launch_users: int = 2_000

    def __post_init__(self):
        if self.region not in ALL_REGIONS or self.region in REGIONS:
            raise ValueError(f"NewRegion.region must be one of {list(ALL_REGIONS[len(REGIONS):])}, got {self.region!r}")
        _check_fraction("NewRegion.share", self.share, allow_zero=True, allow_one=True)
        if isinstance(self.launch_users, bool) or not isinstance(self.launch_users, (int, np.integer)) or self.launch_users < 0:
            raise ValueError(f"NewRegion.launch_users must be an integer >= 0, got {self.launch_users!r}")

    @property
    def region_code(self) -> int:
        return ALL_REGIONS.index(self.region)

    def modify_signups(self, region, signup_ms, onset, rng, state):
        switch = (signup_ms >= onset) & (rng.random(len(region)) < self.share)
        region[switch] = self.region_code

    def launch_signups(self, t0, t1, onset):
        if t0 <= onset < t1 and self.launch_users:
            return self.launch_users, self.region_code
        return None


@dataclass(frozen=True)
class DeviceMixShift(Scenario):
    """From the onset, a share of sessions (``adoption``) move to a device drawn from ``mix`` — an
    app launch pulling traffic to mobile, say (covariate shift).

    Taught in chapter 8 ("Types of Data Distribution Shifts").
    """

    mix: Mapping[str, float] = field(default_factory=lambda: {"mobile": 0.9, "desktop": 0.07, "tablet": 0.03})
    adoption: float = 0.6

    def __post_init__(self):
        if not isinstance(self.mix, Mapping):
            raise TypeError(f"DeviceMixShift.mix must be a mapping of device to probability, got {type(self.mix).__name__}")
        unknown = set(self.mix) - set(DEVICES)
        if unknown:
            raise ValueError(f"DeviceMixShift.mix names unknown devices {sorted(unknown)}; known: {list(DEVICES)}")
        probs = np.array([self.mix.get(d, 0.0) for d in DEVICES], dtype=float)
        if (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
            raise ValueError(f"DeviceMixShift.mix must be probabilities summing to 1, got {dict(self.mix)}")
        _check_fraction("DeviceMixShift.adoption", self.adoption, allow_one=True)

    def modify_devices(self, device, time_ms, onset, rng, state):
        probs = np.array([self.mix.get(d, 0.0) for d in DEVICES], dtype=float)
        # Two draws per session, row by row: a session's device does not depend on how many came after it.
        u = rng.random((len(device), 2))
        switch = (time_ms >= onset) & (u[:, 0] < self.adoption)
        cdf = np.cumsum(probs / probs.sum())
        device[switch] = np.minimum(np.searchsorted(cdf, u[switch, 1], side="right"), len(DEVICES) - 1)


# ---------------------------------------------------------------------------- label shift
@dataclass(frozen=True)
class SeasonalDemand(Scenario):
    """Holiday season: ``factor`` times as many visits end in a click, while visits without one
    are as many as before, and what a clicking (or a non-clicking) visit looks like is unchanged.

    This is label shift at the session level: P(session has a click) rises and
    P(x | session has a click) stays fixed. It is simulated exactly by raising the visit rate
    ``factor``-fold and keeping visits without a click with probability ``1 / factor``.
    ``until`` (a date or days after start) ends the season; by default it lasts.

    Taught in chapter 8 ("Types of Data Distribution Shifts").
    """

    factor: float = 2.0
    until: Any = None

    def __post_init__(self):
        if isinstance(self.factor, bool) or not isinstance(self.factor, (int, float, np.number)) or not np.isfinite(self.factor) or self.factor < 1:
            raise ValueError(f"SeasonalDemand.factor must be a number >= 1, got {self.factor!r}")

    def prepare(self, config, rng):
        if self.until is None:
            return np.iinfo(np.int64).max
        try:
            end = Scenario(onset=self.until).onset_ms(config.start)
        except ValueError as exc:
            raise ValueError(f"SeasonalDemand.until {str(exc).split('onset ', 1)[-1]}") from exc
        if end <= self.onset_ms(config.start):
            raise ValueError("SeasonalDemand.until must come after its onset")
        return end

    def in_effect(self, time_ms, onset, until):
        time_ms = np.asarray(time_ms)
        return (time_ms >= onset) & (time_ms < until)

    def extra_demand(self, hour_ms, onset, until):
        # every hour that overlaps the season; the world keeps only the visits inside it
        overlaps = (np.asarray(hour_ms) + 3_600_000 > onset) & (np.asarray(hour_ms) < until)
        return np.where(overlaps, float(self.factor) - 1.0, 0.0)

    def keep_sessions(self, has_click, time_ms, onset, rng, until):
        thin = self.in_effect(time_ms, onset, until) & ~has_click
        return ~thin | (rng.random(len(has_click)) < 1.0 / self.factor)


# ---------------------------------------------------------------------------- concept drift
@dataclass(frozen=True)
class ConceptDrift(Scenario):
    """Users' tastes turn: from the onset each taste vector moves toward a rotated copy of itself
    (the same rotation for everyone, drawn once per world), fully so after ``ramp_days``.
    Who visits and what is shown are unchanged; P(click | user, item) is not (concept drift).
    ``strength`` in (0, 1] is how far along the way tastes go.

    Introduced in chapter 1 ("Machine Learning Systems Versus Traditional Software"); taught
    in chapter 8 ("Types of Data Distribution Shifts").
    """

    strength: float = 1.0
    ramp_days: float = 0.0

    def __post_init__(self):
        _check_fraction("ConceptDrift.strength", self.strength, allow_one=True)
        if isinstance(self.ramp_days, bool) or not isinstance(self.ramp_days, (int, float, np.number)) or not (np.isfinite(self.ramp_days) and self.ramp_days >= 0):
            raise ValueError(f"ConceptDrift.ramp_days must be a number >= 0, got {self.ramp_days!r}")

    def prepare(self, config, rng):
        q, r = np.linalg.qr(rng.normal(size=(config.taste_dim, config.taste_dim)))
        return q * np.sign(np.diag(r))  # a uniformly random orthogonal matrix

    def weight(self, time_ms: np.ndarray, onset: int) -> np.ndarray:
        """How far along the drift is at each time (0 before the onset)."""
        elapsed = (np.asarray(time_ms, dtype=np.int64) - onset) / DAY_MS
        if self.ramp_days == 0:
            w = (elapsed >= 0).astype(float)
        else:
            w = np.clip(elapsed / self.ramp_days, 0.0, 1.0)
        return self.strength * w

    def taste(self, taste, time_ms, onset, state):
        w = self.weight(time_ms, onset)
        if not w.any():
            return taste
        return taste + w[:, None] * (taste @ state.T - taste)


# ---------------------------------------------------------------------------- cold start
@dataclass(frozen=True)
class NewItems(Scenario):
    """A wave of ``n_items`` listings at the onset; with ``new_brands`` they carry brand names no
    earlier item had (cold start for items and for the brand vocabulary).

    Used in chapter 5 ("Encoding Categorical Features") and chapter 8.
    """

    n_items: int = 500
    new_brands: bool = True

    def __post_init__(self):
        if isinstance(self.n_items, bool) or not isinstance(self.n_items, (int, np.integer)) or self.n_items < 1:
            raise ValueError(f"NewItems.n_items must be a positive integer, got {self.n_items!r}")

    def new_listings(self, t0, t1, onset):
        if t0 <= onset < t1:
            return self.n_items, ("Nova" if self.new_brands else None)
        return None


# ---------------------------------------------------------------------------- logging scenarios
@dataclass(frozen=True)
class PriceInCents(Scenario):
    """An upstream service starts logging prices in cents instead of dollars. Users see the same
    prices and behave as before; only the recorded ``price`` of new rows is 100 times larger.

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production"); chapter 8
    ("General Data Distribution Shifts").
    """

    tables: tuple[str, ...] = ("impressions", "items")

    def __post_init__(self):
        bad = [t for t in self.tables if t not in ("impressions", "items")]
        if bad or not self.tables:
            raise ValueError(f"PriceInCents.tables must name 'impressions' and/or 'items', got {self.tables!r}")

    def log_table(self, name, table, onset, rng):
        if name not in self.tables or table.empty:
            return table
        after = _after(table, name, onset)
        if after.any():
            table = table.copy()
            table.loc[after, "price"] = np.round(table.loc[after, "price"].to_numpy() * 100.0)
        return table


MECHANISMS = ("MCAR", "MAR", "MNAR")


@dataclass(frozen=True)
class MissingValues(Scenario):
    """Values of ``table.column`` go missing in rows recorded from the onset on.

    ``mechanism`` says what the chance of a value going missing depends on:

    - ``"MCAR"`` — nothing: every value has chance ``rate``;
    - ``"MAR"`` — another observed column, ``depends_on`` (e.g. age missing more often on one
      device), never the missing value itself;
    - ``"MNAR"`` — the value itself (e.g. high incomes left blank more often).

    For MAR and MNAR the chance is ``sigmoid(a + strength * z)`` with ``z`` the standardised
    value (category codes for a categorical column) and ``a`` set so the average is ``rate``.

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production"); taught in
    chapter 5 ("Handling Missing Values").
    """

    table: str = "users"
    column: str = "age"
    mechanism: str = "MCAR"
    rate: float = 0.2
    depends_on: str | None = None
    strength: float = 2.0

    def __post_init__(self):
        if self.table not in TIME_COLUMNS:
            raise ValueError(f"MissingValues.table must be one of {list(TIME_COLUMNS)}, got {self.table!r}")
        if self.mechanism not in MECHANISMS:
            raise ValueError(f"MissingValues.mechanism must be one of {MECHANISMS}, got {self.mechanism!r}")
        _check_fraction("MissingValues.rate", self.rate)
        if self.mechanism == "MAR" and self.depends_on is None:
            raise ValueError("MissingValues with mechanism 'MAR' needs depends_on: the observed column it depends on")
        if self.mechanism != "MAR" and self.depends_on is not None:
            raise ValueError(f"MissingValues.depends_on is only used with mechanism 'MAR', not {self.mechanism!r}")
        if isinstance(self.strength, bool) or not isinstance(self.strength, (int, float, np.number)) \
                or not np.isfinite(self.strength):
            raise ValueError(f"MissingValues.strength must be a finite number, got {self.strength!r}")
        if self.depends_on == self.column:
            raise ValueError("MissingValues.depends_on must differ from column (that would be MNAR)")
        protected = {TIME_COLUMNS[self.table]} | {c for c in ("user_id", "item_id", "seller_id", "session_id", "impression_id", "purchase_id")}
        if self.column in protected:
            raise ValueError(f"MissingValues.column cannot be an id or the time column, got {self.column!r}")

    def check_tables(self, tables):
        columns = tables[self.table].columns
        for col in filter(None, (self.column, self.depends_on)):
            if col not in columns:
                raise ValueError(f"MissingValues: table {self.table!r} has no column {col!r}; it has {list(columns)}")

    def missing_probability(self, table: pd.DataFrame) -> np.ndarray:
        """Chance of each row's value going missing under this mechanism."""
        n = len(table)
        if self.mechanism == "MCAR":
            return np.full(n, float(self.rate))
        driver = table[self.column if self.mechanism == "MNAR" else self.depends_on]
        z = _standardise(driver)
        observed = ~np.isnan(z)
        z = np.where(observed, z, 0.0)
        return _calibrated(self.strength * z, self.rate)

    def log_table(self, name, table, onset, rng):
        if name != self.table or table.empty:
            return table
        after = _after(table, name, onset)
        if not after.any():
            return table
        missing = after & (rng.random(len(table)) < self.missing_probability(table))
        if missing.any():
            table = table.copy()
            col = table[self.column]
            if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
                table[self.column] = col.astype("float64")
            table.loc[missing, self.column] = None
        return table


def _standardise(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype):
        x = values.cat.codes.to_numpy().astype(float)
        x[x < 0] = np.nan
    elif pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        x = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        raise ValueError(f"MissingValues can depend only on a numeric or categorical column, not {values.name!r} ({values.dtype})")
    sd = np.nanstd(x)
    return (x - np.nanmean(x)) / sd if sd > 0 else np.zeros_like(x)


def _calibrated(score: np.ndarray, rate: float) -> np.ndarray:
    """sigmoid(a + score) with ``a`` chosen by bisection so that the mean is ``rate``."""
    lo, hi = -50.0, 50.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if sigmoid(mid + score).mean() < rate:
            lo = mid
        else:
            hi = mid
    return sigmoid((lo + hi) / 2 + score)


@dataclass(frozen=True)
class DuplicateEvents(Scenario):
    """At-least-once delivery: from the onset, each event of ``tables`` is recorded twice with
    probability ``rate`` (identical rows, ids included).

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production"); chapter 5
    ("Data Leakage") finds duplicates across splits.
    """

    rate: float = 0.02
    tables: tuple[str, ...] = ("impressions", "clicks")

    def __post_init__(self):
        _check_fraction("DuplicateEvents.rate", self.rate)
        bad = [t for t in self.tables if t not in EVENT_TABLES]
        if bad or not self.tables:
            raise ValueError(f"DuplicateEvents.tables must name event tables {EVENT_TABLES}, got {self.tables!r}")

    def log_table(self, name, table, onset, rng):
        if name not in self.tables or table.empty:
            return table
        dup = _after(table, name, onset) & (rng.random(len(table)) < self.rate)
        if not dup.any():
            return table
        repeat = np.where(dup, 2, 1)
        return table.iloc[np.repeat(np.arange(len(table)), repeat)].reset_index(drop=True)
