"""The simulated marketplace: a closed loop of users, listings, ranking policy and events.

Introduced in chapter 1 ("Understanding Machine Learning Systems"); the single source of data
for the whole book.
"""
from __future__ import annotations

import copy
import numbers
from typing import Sequence

import numpy as np
import pandas as pd

from . import catalog
from .behaviour import CATEGORY_MEDIAN_PRICE, ResponseModel, sigmoid
from dmls._validation import check_bool, check_timestamp

from .config import ALL_REGIONS, DEVICES, REGIONS, WorldConfig
from .log import Log
from .policies import Policy, PopularityPolicy, SlateContext, Slates
from .scenarios import EVENT_TABLES, TIME_COLUMNS, Scenario

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
#: Relative visit intensity by hour of day (UTC): quiet nights, an evening peak.
HOURLY = np.array([0.35, 0.25, 0.18, 0.15, 0.15, 0.22, 0.45, 0.75, 0.9, 0.95, 1.0, 1.05,
                   1.1, 1.05, 1.0, 1.0, 1.05, 1.15, 1.35, 1.6, 1.75, 1.6, 1.15, 0.7])
HOURLY = HOURLY / HOURLY.mean()
#: Relative visit intensity by weekday, Monday first: busier towards the weekend.
WEEKDAY = np.array([0.96, 0.95, 0.97, 1.0, 1.04, 1.05, 1.03])
WEEKDAY = WEEKDAY / WEEKDAY.mean()
#: Share of sessions on the user's main device; the rest use a device drawn from the overall mix.
MAIN_DEVICE_SHARE = 0.85
_STREAMS = {"init": 0, "signups": 1, "listings": 2, "sessions": 3, "candidates": 4, "policy": 5,
            "clicks": 6, "purchases": 7, "logging": 8, "thinning": 9, "scenario": 10}

EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": ("session_id", "user_id", "device", "started_at"),
    "impressions": ("impression_id", "session_id", "user_id", "item_id", "position", "device", "price",
                    "shown_at", "propensity", "p_examine", "p_click"),
    "clicks": ("impression_id", "session_id", "user_id", "item_id", "position", "clicked_at"),
    "purchases": ("purchase_id", "impression_id", "user_id", "item_id", "amount", "purchased_at"),
    "returns": ("purchase_id", "user_id", "item_id", "returned_at"),
}


def _ms_to_ts(ms: int) -> pd.Timestamp:
    return pd.Timestamp(int(ms), unit="ms")


def _days_before(rng: np.random.Generator, n: int, scale: float, limit: float) -> np.ndarray:
    """Ages in ms drawn from an exponential with mean ``scale`` days, truncated at ``limit`` days."""
    days = -scale * np.log1p(-rng.random(n) * (1 - np.exp(-limit / scale)))
    return np.round(days * DAY_MS).astype(np.int64)


def _datetimes(ms: np.ndarray) -> np.ndarray:
    return np.asarray(ms, dtype=np.int64).view("datetime64[ms]")


class World:
    """A simulated online marketplace whose home feed is ranked by a policy you pass in.

    Parameters
    ----------
    config : WorldConfig, optional
        Size and behaviour; keyword ``overrides`` change single fields (``World(n_users=5000)``).
    seed : int
        Everything random follows from it. Each kind of draw (sign-ups, sessions, candidates,
        clicks, ...) has its own stream, keyed by the time of the step, so that two policies run
        in worlds with the same seed meet the same users, sessions and candidates (common random
        numbers), and ``run(2)`` gives the same events as ``run(1)`` twice. Each draw is taken in
        visit order from a stream of its own, and scenarios draw from streams of theirs, so a
        scenario changes only events at or after its onset, even an onset inside a step.
    scenarios : sequence of Scenario
        Changes with a known onset (see :mod:`dmls.world.scenarios`).

    Examples
    --------
    >>> from dmls.world import World
    >>> world = World(n_users=2_000, n_items=500, seed=1)
    >>> log = world.run(days=2)
    >>> log.impressions.columns.tolist()[:5]
    ['impression_id', 'session_id', 'user_id', 'item_id', 'position']

    Introduced in chapter 1 ("The marketplace").
    """

    def __init__(self, config: WorldConfig | None = None, *, seed: int = 0,
                 scenarios: Sequence[Scenario] = (), **overrides):
        if config is None:
            config = WorldConfig(**overrides)
        elif not isinstance(config, WorldConfig):
            raise TypeError(f"config must be a WorldConfig, got {type(config).__name__}")
        elif overrides:
            config = config.replace(**overrides)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.config = config
        self.seed = int(seed)
        self.response = ResponseModel(config.behaviour)
        self._start_ms = int(config.start.value // 1_000_000)
        self._now_ms = self._start_ms
        self._next = {"session": 0, "impression": 0, "purchase": 0}
        self._pending = {name: self._empty(name) for name in ("clicks", "purchases", "returns")}
        self.default_policy = PopularityPolicy(temperature=1.0)

        rng = self._rng("init", self._start_ms)
        centroids = catalog.category_centroids(config.taste_dim, rng)
        sellers, seller_quality = catalog.make_sellers(config.n_sellers, config.start, rng)
        self.truth = catalog.Truth(
            category_centroids=centroids,
            user_taste=np.zeros((0, config.taste_dim), dtype=np.float32),
            user_activity=np.zeros(0), item_factor=np.zeros((0, config.taste_dim), dtype=np.float32),
            item_quality=np.zeros(0), item_brand_appeal=np.zeros(0), item_issue=np.zeros(0, dtype=np.int8),
            seller_quality=seller_quality,
        )
        self._sellers = sellers
        self._users = pd.DataFrame()
        self._items = pd.DataFrame()
        self._user_region = np.zeros(0, dtype=np.int8)
        self._user_device = np.zeros(0, dtype=np.int8)
        self._user_signup = np.zeros(0, dtype=np.int64)
        self._item_category = np.zeros(0, dtype=np.int8)
        self._item_price = np.zeros(0)
        self._item_log_price_ratio = np.zeros(0)
        self._item_listed = np.zeros(0, dtype=np.int64)

        self._scenarios = self._bind(scenarios)
        self._sellers = self._log("sellers", sellers, self._start_ms, 3)
        # Users and listings from before the start, more of them recent (the marketplace grows).
        self._add_users(self._start_ms - _days_before(rng, config.n_users, scale=400.0, limit=1500.0), rng, self._start_ms)
        self._add_items(self._start_ms - _days_before(rng, config.n_items, scale=150.0, limit=1000.0), rng, self._start_ms)

    # ------------------------------------------------------------------ public API
    @property
    def now(self) -> pd.Timestamp:
        """The simulation clock: where the next ``run`` starts."""
        return _ms_to_ts(self._now_ms)

    @property
    def start(self) -> pd.Timestamp:
        return self.config.start

    @property
    def users(self) -> pd.DataFrame:
        """Users as recorded (``user_id, region, device, age, signup_at``); grows as users sign up."""
        return self._users

    @property
    def items(self) -> pd.DataFrame:
        """Listings as recorded (``item_id, seller_id, category, brand, price, rating, title, listed_at``)."""
        return self._items

    @property
    def sellers(self) -> pd.DataFrame:
        return self._sellers

    @property
    def scenarios(self) -> list[Scenario]:
        return [s for s, _, _ in self._scenarios]

    def __repr__(self) -> str:
        return (f"World(seed={self.seed}, now={self.now:%Y-%m-%d %H:%M}, users={len(self._users):,}, "
                f"items={len(self._items):,}, scenarios={[type(s).__name__ for s in self.scenarios]})")

    def run(self, days: float = 1, policy: Policy | None = None, *, step_days: float = 1,
            record_candidates: bool = False) -> Log:
        """Simulate ``days`` from :attr:`now`, in steps of ``step_days``, and return the log.

        The policy ranks every slate of a step, then observes that step's events before the
        next one (``None`` uses the world's own :class:`PopularityPolicy`). Events are released
        when they happen: a purchase made after the last step stays pending and appears in the
        log of the run that reaches its time. With ``record_candidates``, the log also keeps
        every session's retrieved candidates (``Log.candidates``).
        """
        days = self._hours_multiple("days", days)
        step = self._hours_multiple("step_days", step_days)
        if days == 0:
            raise ValueError("days must be positive")
        policy = self.default_policy if policy is None else policy
        check_bool("record_candidates", record_candidates)
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a dmls.world.Policy, got {type(policy).__name__}")
        end = self._now_ms + days
        logs = []
        while self._now_ms < end:
            t1 = min(self._now_ms + step, end)
            saved = self._save()
            try:
                log = self._step(self._now_ms, t1, policy, record_candidates)
            except BaseException:
                self._restore(saved)  # a failed step leaves the world as it was before it
                raise
            self._now_ms = t1
            policy.observe(log)
            logs.append(log)
        return Log.concat(logs)

    def copy(self) -> "World":
        """An independent copy at the same moment: to compare policies from the same state.

        Both copies continue identically under the same policy; their default policies are
        copied too."""
        return copy.deepcopy(self)

    def click_probability(self, user_id, item_id, position, device, at=None) -> np.ndarray:
        """True probability that ``user_id`` clicks ``item_id`` shown at ``position`` (1-based)
        on ``device`` at time ``at`` (default: now). Arguments broadcast like numpy arrays."""
        user, item, position, dev, time_ms = self._query_arrays(user_id, item_id, position, device, at)
        aff = self._affinity(user, item, time_ms)
        logit = self.response.attraction_logit(aff, self.truth.item_quality[item], self.truth.item_brand_appeal[item],
                                               self._item_log_price_ratio[item], self._user_region[user], dev)
        return self.response.examination(position, dev) * sigmoid(logit)

    def attraction_logit(self, sessions: pd.DataFrame, candidates: np.ndarray) -> np.ndarray:
        """True log-odds that each session's user clicks each candidate once it is examined."""
        user = sessions["user_id"].to_numpy()
        dev = self._device_codes(sessions["device"])
        time_ms = sessions["started_at"].to_numpy().astype("datetime64[ms]").astype(np.int64)
        aff = self._affinity(user[:, None], candidates, time_ms[:, None])
        return self.response.attraction_logit(
            aff, self.truth.item_quality[candidates], self.truth.item_brand_appeal[candidates],
            self._item_log_price_ratio[candidates], self._user_region[user][:, None], dev[:, None])

    # ------------------------------------------------------------------ internals
    _STATE = ("_users", "_items", "_user_region", "_user_device", "_user_signup", "_item_category", "_item_price",
              "_item_log_price_ratio", "_item_listed")
    _TRUTH = ("user_taste", "user_activity", "item_factor", "item_quality", "item_brand_appeal", "item_issue")

    def _save(self) -> dict:
        # Arrays and tables are replaced, never changed in place, so references are enough.
        saved = {name: getattr(self, name) for name in self._STATE}
        saved.update({f"truth.{name}": getattr(self.truth, name) for name in self._TRUTH})
        saved["brand_appeal"] = dict(self.truth.brand_appeal)
        saved["_next"] = dict(self._next)
        saved["_pending"] = dict(self._pending)
        return saved

    def _restore(self, saved: dict) -> None:
        for name, value in saved.items():
            if name.startswith("truth."):
                setattr(self.truth, name[6:], value)
            elif name == "brand_appeal":
                self.truth.brand_appeal = value
            else:
                setattr(self, name, value)

    def _rng(self, stream: str, key_ms: int, *sub: int) -> np.random.Generator:
        # Scenarios draw from streams of their own, so that adding one leaves every other draw as it was.
        return np.random.default_rng([self.seed, _STREAMS[stream], int(key_ms // 60_000), *sub])

    @staticmethod
    def _hours_multiple(name: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a non-negative number of days, got {value!r}")
        hours = value * 24
        if abs(hours - round(hours)) > 1e-9 or (name == "step_days" and round(hours) == 0):
            raise ValueError(f"{name} must be a positive whole number of hours (a multiple of 1/24), got {value!r}")
        return int(round(hours)) * HOUR_MS

    def _bind(self, scenarios):
        bound = []
        for i, s in enumerate(scenarios):
            if not isinstance(s, Scenario):
                raise TypeError(f"scenarios[{i}] must be a Scenario, got {type(s).__name__}")
            onset = s.onset_ms(self.config.start)
            state = s.prepare(self.config, np.random.default_rng([self.seed, 100 + i]))
            bound.append((s, onset, state))
        empty = {name: self._empty(name) for name in EVENT_TABLES}
        empty["users"] = pd.DataFrame(columns=["user_id", "region", "device", "age", "signup_at"])
        empty["items"] = pd.DataFrame(columns=["item_id", "seller_id", "category", "brand", "price", "rating", "title", "listed_at"])
        empty["sellers"] = self._sellers
        for s, _, _ in bound:
            s.check_tables(empty)
        return bound

    @staticmethod
    def _empty(name: str) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ms]" if c == TIME_COLUMNS[name] else "float64")
                             for c in EVENT_COLUMNS[name]})

    def _log(self, name: str, table: pd.DataFrame, key_ms: int, *sub: int) -> pd.DataFrame:
        # Each scenario draws from a stream of its own for each batch of rows, so that one scenario
        # changing how many rows a table has cannot move another scenario's draws.
        for i, (s, onset, _) in enumerate(self._scenarios):
            table = s.log_table(name, table, onset, self._rng("logging", key_ms, *sub, i))
        return table

    def _add_users(self, signup_ms: np.ndarray, rng, key_ms: int, launch_region: int | None = None):
        """Sign up one batch of users. A launch cohort (``launch_region``) is a batch of its own,
        drawn from a stream of its own, so that the step's regular sign-ups stay as they were."""
        signup_ms = np.sort(signup_ms)
        first_id = len(self._user_signup)
        table, taste, activity = catalog.make_users(
            _datetimes(signup_ms), REGIONS, self.truth.category_centroids, rng,
            first_id=first_id, mean_activity=self.config.sessions_per_user_day)
        region = table["region"].cat.codes.to_numpy().astype(np.int8)
        if launch_region is None:
            for i, (s, onset, state) in enumerate(self._scenarios):
                s.modify_signups(region, signup_ms, onset, self._rng("scenario", key_ms, 1, first_id, i), state)
        else:
            region[:] = launch_region
        table["region"] = pd.Categorical.from_codes(region, categories=list(ALL_REGIONS))
        self._user_region = np.concatenate([self._user_region, region])
        self._user_device = np.concatenate([self._user_device, table["device"].cat.codes.to_numpy().astype(np.int8)])
        self._user_signup = np.concatenate([self._user_signup, signup_ms])
        self.truth.user_taste = np.concatenate([self.truth.user_taste, taste.astype(np.float32)])
        self.truth.user_activity = np.concatenate([self.truth.user_activity, activity])
        logged = self._log("users", table, key_ms, 1, first_id)
        self._users = logged if self._users.empty else pd.concat([self._users, logged], ignore_index=True)

    def _add_items(self, listed_ms: np.ndarray, rng, key_ms: int, brand_prefix: str | None = None):
        listed_ms = np.sort(listed_ms)
        table, factor, quality, appeal, issue = catalog.make_items(
            _datetimes(listed_ms), self.config.n_sellers, self.truth.seller_quality, self.truth.category_centroids,
            self.truth.brand_appeal, rng, first_id=len(self._item_listed), new_brand_prefix=brand_prefix)
        category = table["category"].cat.codes.to_numpy().astype(np.int8)
        price = table["price"].to_numpy()
        self._item_category = np.concatenate([self._item_category, category])
        self._item_price = np.concatenate([self._item_price, price])
        self._item_log_price_ratio = np.concatenate([self._item_log_price_ratio, np.log(price / CATEGORY_MEDIAN_PRICE[category])])
        self._item_listed = np.concatenate([self._item_listed, listed_ms])
        t = self.truth
        t.item_factor = np.concatenate([t.item_factor, factor.astype(np.float32)])
        t.item_quality = np.concatenate([t.item_quality, quality])
        t.item_brand_appeal = np.concatenate([t.item_brand_appeal, appeal])
        t.item_issue = np.concatenate([t.item_issue, issue.astype(np.int8)])
        logged = self._log("items", table, key_ms, 2, len(self._items))
        self._items = logged if self._items.empty else pd.concat([self._items, logged], ignore_index=True)

    def _grow(self, t0: int, t1: int) -> None:
        cfg = self.config
        days = (t1 - t0) / DAY_MS
        rng = self._rng("signups", t0)
        times = t0 + rng.integers(0, t1 - t0, size=rng.poisson(cfg.user_growth_per_day * cfg.n_users * days))
        if len(times):
            self._add_users(times, rng, t0)
        for i, (s, onset, _) in enumerate(self._scenarios):
            launch = s.launch_signups(t0, t1, onset)
            if launch:
                count, region = launch
                cohort = self._rng("scenario", t0, 5, i)
                self._add_users(onset + cohort.integers(0, t1 - onset, size=count), cohort, t0, launch_region=region)
        rng = self._rng("listings", t0)
        n = rng.poisson(cfg.item_growth_per_day * cfg.n_items * days)
        if n:
            self._add_items(t0 + rng.integers(0, t1 - t0, size=n), rng, t0)
        for s, onset, _ in self._scenarios:
            wave = s.new_listings(t0, t1, onset)
            if wave:
                count, prefix = wave
                self._add_items(np.full(count, onset, dtype=np.int64), self._rng("scenario", t0, 2, count), t0,
                                brand_prefix=prefix)

    def _sessions(self, t0: int, t1: int):
        """Visits in [t0, t1): user index, start time (ms), device code and whether each visit is an
        extra one a scenario added, in time order.

        The regular visits are drawn as if no scenario existed. A scenario that raises demand adds
        visits of its own, from a stream of its own, only at or after its onset: so everything
        drawn for a regular visit before the onset is what the world without the scenario draws.
        """
        rng = self._rng("sessions", t0)
        hours = t0 + HOUR_MS * np.arange((t1 - t0) // HOUR_MS)
        weekday = (hours // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        rate = HOURLY[(hours // HOUR_MS) % 24] * WEEKDAY[weekday] / 24.0
        active = np.flatnonzero(self._user_signup < t0)
        user, time_ms = self._visits(rng, active, hours, rate)
        device = self._user_device[user].copy()
        other = rng.random(len(user)) >= MAIN_DEVICE_SHARE
        device[other] = rng.choice(len(DEVICES), size=int(other.sum()), p=np.array(list(DEVICES.values())))
        extra = np.zeros(len(user), dtype=bool)
        for i, (s, onset, state) in enumerate(self._scenarios):
            factor = s.extra_demand(hours, onset, state)
            if factor is None or not np.any(factor > 0):
                continue
            if np.any(factor < 0):
                raise ValueError(f"{type(s).__name__}.extra_demand returned a negative factor")
            more = self._rng("scenario", t0, 4, i)
            u, t = self._visits(more, active, hours, rate * factor)
            keep = s.in_effect(t, onset, state)
            u, t = u[keep], t[keep]
            d = self._user_device[u].copy()
            other = more.random(len(u)) >= MAIN_DEVICE_SHARE
            d[other] = more.choice(len(DEVICES), size=int(other.sum()), p=np.array(list(DEVICES.values())))
            user, time_ms = np.concatenate([user, u]), np.concatenate([time_ms, t])
            device, extra = np.concatenate([device, d]), np.concatenate([extra, np.ones(len(u), dtype=bool)])
        if extra.any():
            order = np.argsort(time_ms, kind="stable")  # ties: regular visits first
            user, time_ms, device, extra = user[order], time_ms[order], device[order], extra[order]
        for i, (s, onset, state) in enumerate(self._scenarios):
            s.modify_devices(device, time_ms, onset, self._rng("scenario", t0, 3, i), state)
        return user, time_ms, device, extra

    def _visits(self, rng, active: np.ndarray, hours: np.ndarray, rate: np.ndarray):
        """Poisson visits of the ``active`` users at hourly ``rate`` (visits per unit activity), in time order."""
        total = rate.sum()
        if total <= 0 or len(active) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        counts = rng.poisson(self.truth.user_activity[active] * total)
        user = np.repeat(active, counts)
        hour = rng.choice(len(hours), size=len(user), p=rate / total)
        time_ms = hours[hour] + rng.integers(0, HOUR_MS, size=len(user))
        order = np.argsort(time_ms, kind="stable")
        return user[order], time_ms[order]

    def _split_draw(self, stream: str, t0: int, extra: np.ndarray, draw):
        """``draw(rng, m)`` for the regular visits from ``stream`` and for the extra ones from a
        sub-stream, merged back in visit order: the regular visits get exactly the draws they
        get in a world without the scenarios that added the others."""
        regular = self._rng(stream, t0)
        if not extra.any():
            return draw(regular, len(extra))
        base = draw(regular, int((~extra).sum()))
        more = draw(self._rng(stream, t0, 1), int(extra.sum()))
        out = []
        for b, m in zip(base, more):
            merged = np.empty((len(extra),) + b.shape[1:], dtype=np.result_type(b, m))
            merged[~extra], merged[extra] = b, m
            out.append(merged)
        return tuple(out)

    def _taste(self, user: np.ndarray, time_ms: np.ndarray) -> np.ndarray:
        taste = self.truth.user_taste[user]
        for s, onset, state in self._scenarios:
            taste = s.taste(taste, time_ms, onset, state)
        return taste

    def _affinity(self, user: np.ndarray, item: np.ndarray, time_ms: np.ndarray) -> np.ndarray:
        """Dot product of (possibly drifted) user taste and item factor, broadcast over arrays."""
        user, item, time_ms = np.broadcast_arrays(user, item, time_ms)
        shape = item.shape
        if user.ndim == 2 and (user == user[:, :1]).all() and (time_ms == time_ms[:, :1]).all():
            # One user per row (a slate): compute each row's taste once.
            taste = self._taste(user[:, 0], time_ms[:, 0])
            return np.einsum("nd,nkd->nk", taste, self.truth.item_factor[item], dtype=np.float64)
        taste = self._taste(user.ravel(), time_ms.ravel())
        return np.einsum("nd,nd->n", taste, self.truth.item_factor[item.ravel()], dtype=np.float64).reshape(shape)

    def _device_codes(self, values) -> np.ndarray:
        values = pd.Series(values)
        if isinstance(values.dtype, pd.CategoricalDtype) and list(values.cat.categories) == list(DEVICES):
            codes = values.cat.codes.to_numpy()
        else:
            codes = pd.Index(list(DEVICES)).get_indexer(values.astype(object))
        if (codes < 0).any():
            bad = sorted(set(values[codes < 0].astype(str)))
            raise ValueError(f"unknown device(s) {bad}; known: {list(DEVICES)}")
        return codes.astype(np.int64)

    def _query_arrays(self, user_id, item_id, position, device, at):
        try:
            user, item, position, device = np.broadcast_arrays(
                np.asarray(user_id), np.asarray(item_id), np.asarray(position), np.asarray(device))
        except ValueError as exc:
            raise ValueError("user_id, item_id, position and device must broadcast to one shape; got shapes "
                             f"{[np.shape(a) for a in (user_id, item_id, position, device)]}") from exc
        for name, arr, bound in (("user_id", user, len(self._user_signup)), ("item_id", item, len(self._item_listed))):
            if not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(f"{name} must be integers, got {arr.dtype}")
            if arr.size and (arr.min() < 0 or arr.max() >= bound):
                raise ValueError(f"{name} out of range: ids run from 0 to {bound - 1}")
        if position.dtype == bool or not np.issubdtype(position.dtype, np.number) or (position.size and (
                not np.isfinite(position).all() or position.min() < 1 or (position != np.round(position)).any())):
            raise ValueError("position must be whole numbers >= 1 (slots are 1-based)")
        dev = self._device_codes(device.ravel()).reshape(device.shape)
        at_ms = self._now_ms if at is None else int(check_timestamp("at", at).value // 1_000_000)
        return user, item, position, dev, np.full(user.shape, at_ms, dtype=np.int64)

    def _check_slates(self, policy: Policy, slates: Slates, candidates: np.ndarray) -> None:
        n, k = len(candidates), self.config.slate_size
        name = type(policy).__name__
        if not isinstance(slates, Slates):
            raise TypeError(f"{name}.rank must return Slates, got {type(slates).__name__}")
        if slates.items.shape != (n, k) or slates.propensity.shape != (n, k):
            raise ValueError(f"{name}.rank returned items {slates.items.shape} and propensity "
                             f"{slates.propensity.shape}; expected ({n}, {k}) for both")
        if not ((slates.items[:, :, None] == candidates[:, None, :]).any(axis=2)).all():
            raise ValueError(f"{name}.rank put items in a slate that were not among its candidates")
        ordered = np.sort(slates.items, axis=1)
        if (ordered[:, 1:] == ordered[:, :-1]).any():
            raise ValueError(f"{name}.rank showed the same item twice in one slate")
        p = slates.propensity
        if not (np.isfinite(p).all() and (p > 0).all() and (p <= 1 + 1e-12).all()):
            raise ValueError(f"{name}.rank returned propensities outside (0, 1]")

    def _step(self, t0: int, t1: int, policy: Policy, record_candidates: bool = False) -> Log:
        cfg, resp, truth = self.config, self.response, self.truth
        self._grow(t0, t1)
        user, time_ms, device, extra = self._sessions(t0, t1)
        n = len(user)

        live = np.flatnonzero(self._item_listed < t0)
        rng = self._rng("candidates", t0)
        perm = rng.permutation(live)
        offsets = np.empty(n, dtype=np.int64)
        offsets[~extra] = rng.integers(0, len(perm), size=int((~extra).sum()))
        offsets[extra] = self._rng("candidates", t0, 1).integers(0, len(perm), size=int(extra.sum()))
        candidates = perm[(offsets[:, None] + np.arange(cfg.n_candidates)) % len(perm)]

        sessions = pd.DataFrame({
            "session_id": np.arange(n, dtype=np.int64),  # renumbered once thinning is known
            "user_id": user.astype(np.int64),
            "device": pd.Categorical.from_codes(device, categories=list(DEVICES)),
            "started_at": _datetimes(time_ms),
        })
        if n:
            context = SlateContext(world=self, now=_ms_to_ts(t0), sessions=sessions, candidates=candidates,
                                   slate_size=cfg.slate_size)
            slates = policy.rank(context, self._rng("policy", t0))
            self._check_slates(policy, slates, candidates)
            items, propensity = slates.items.astype(np.int64), np.asarray(slates.propensity, dtype=np.float64)
        else:
            items = np.zeros((0, cfg.slate_size), dtype=np.int64)
            propensity = np.zeros((0, cfg.slate_size))

        position = np.arange(1, cfg.slate_size + 1)
        region = self._user_region[user]
        affinity = self._affinity(user[:, None], items, time_ms[:, None])
        logit = resp.attraction_logit(affinity, truth.item_quality[items], truth.item_brand_appeal[items],
                                      self._item_log_price_ratio[items], region[:, None], device[:, None])
        p_examine = resp.examination(position[None, :], device[:, None])
        p_click = p_examine * sigmoid(logit)
        k = cfg.slate_size
        u_click, click_delay = self._split_draw(
            "clicks", t0, extra, lambda r, m: (r.random((m, k)), resp.click_delay_ms(r, m * k).reshape(m, k)))
        clicked = u_click < p_click

        keep = np.ones(n, dtype=bool)
        for i, (s, onset, state) in enumerate(self._scenarios):
            mask = s.keep_sessions(clicked.any(axis=1), time_ms, onset, self._rng("thinning", t0, i), state)
            if mask is not None:
                keep &= mask
        if not keep.all():
            sessions = sessions[keep].reset_index(drop=True)
            user, time_ms, device, region = user[keep], time_ms[keep], device[keep], region[keep]
            items, propensity, affinity = items[keep], propensity[keep], affinity[keep]
            p_examine, p_click, clicked, click_delay = p_examine[keep], p_click[keep], clicked[keep], click_delay[keep]
            n = len(user)

        session_id = self._next["session"] + np.arange(n, dtype=np.int64)
        self._next["session"] += n
        sessions["session_id"] = session_id
        impression_id = self._next["impression"] + np.arange(n * k, dtype=np.int64)
        self._next["impression"] += n * k
        flat_items = items.ravel()
        impressions = pd.DataFrame({
            "impression_id": impression_id,
            "session_id": np.repeat(session_id, k),
            "user_id": np.repeat(user, k).astype(np.int64),
            "item_id": flat_items,
            "position": np.tile(position, n).astype(np.int64),
            "device": pd.Categorical.from_codes(np.repeat(device, k), categories=list(DEVICES)),
            "price": self._item_price[flat_items],
            "shown_at": _datetimes(np.repeat(time_ms, k)),
            "propensity": propensity.ravel(),
            "p_examine": p_examine.ravel(),
            "p_click": p_click.ravel(),
        })

        hit = np.flatnonzero(clicked.ravel())
        clicked_ms = np.repeat(time_ms, k)[hit] + click_delay.ravel()[hit]
        clicks = pd.DataFrame({
            "impression_id": impression_id[hit],
            "session_id": impressions["session_id"].to_numpy()[hit],
            "user_id": impressions["user_id"].to_numpy()[hit],
            "item_id": flat_items[hit],
            "position": impressions["position"].to_numpy()[hit],
            "clicked_at": _datetimes(clicked_ms),
        })

        # One stream per kind of draw, each taken in visit order: a click's purchase, its delay and
        # its return do not depend on how many clicks came after it (a scenario may change those).
        hit_items = flat_items[hit]
        p_buy = resp.purchase_probability(affinity.ravel()[hit], truth.item_quality[hit_items],
                                          self._item_log_price_ratio[hit_items], np.repeat(region, k)[hit])
        bought = self._rng("purchases", t0).random(len(hit)) < p_buy
        bought_ms = clicked_ms[bought] + resp.purchase_delay_ms(self._rng("purchases", t0, 1), int(bought.sum()))
        purchase_id = self._next["purchase"] + np.arange(int(bought.sum()), dtype=np.int64)
        self._next["purchase"] += len(purchase_id)
        purchases = pd.DataFrame({
            "purchase_id": purchase_id,
            "impression_id": impression_id[hit][bought],
            "user_id": clicks["user_id"].to_numpy()[bought],
            "item_id": hit_items[bought],
            "amount": self._item_price[hit_items[bought]],
            "purchased_at": _datetimes(bought_ms),
        })
        returned = self._rng("purchases", t0, 2).random(len(purchase_id)) < resp.return_probability(
            truth.item_quality[hit_items[bought]])
        returns = pd.DataFrame({
            "purchase_id": purchase_id[returned],
            "user_id": purchases["user_id"].to_numpy()[returned],
            "item_id": purchases["item_id"].to_numpy()[returned],
            "returned_at": _datetimes(bought_ms[returned] + resp.return_delay_ms(self._rng("purchases", t0, 3), int(returned.sum()))),
        })

        tables = {"sessions": sessions, "impressions": impressions, "clicks": clicks,
                  "purchases": purchases, "returns": returns}
        released = {}
        for name in EVENT_TABLES:
            table = self._log(name, tables[name], t0, 4, EVENT_TABLES.index(name))
            if name in self._pending:
                table = pd.concat([self._pending[name], table], ignore_index=True) if len(self._pending[name]) else table
                due = table[TIME_COLUMNS[name]].to_numpy() < _datetimes(np.array([t1]))[0]
                self._pending[name] = table[~due].reset_index(drop=True)
                table = table[due].sort_values(TIME_COLUMNS[name], kind="stable").reset_index(drop=True)
            released[name] = table
        extra = {}
        if record_candidates:
            c = candidates.shape[1]
            extra["candidates"] = pd.DataFrame({
                "session_id": np.repeat(session_id, c),
                "item_id": candidates[keep].ravel().astype(np.int64),
                "retrieved": np.tile(np.arange(c, dtype=np.int64), n),
            })
        return Log(start=_ms_to_ts(t0), end=_ms_to_ts(t1), users=self._users, items=self._items,
                   sellers=self._sellers, **released, **extra)
