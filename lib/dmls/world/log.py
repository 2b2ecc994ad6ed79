"""What the marketplace records: event tables, entity snapshots, and the same events as a stream.

Introduced in chapter 1 ("Understanding Machine Learning Systems"); chapter 3 ships these events
through files, databases, services and a real-time log.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from .scenarios import EVENT_TABLES, TIME_COLUMNS

#: Order of event types that share a timestamp (a session starts before its slate is shown).
_TYPE_ORDER = {name: i for i, name in enumerate(EVENT_TABLES)}
_EVENT_NAME = {"sessions": "session", "impressions": "impression", "clicks": "click",
               "purchases": "purchase", "returns": "return"}
_ID_COLUMN = {"sessions": "session_id", "impressions": "impression_id", "clicks": "impression_id",
              "purchases": "purchase_id", "returns": "purchase_id"}


@dataclass
class Log:
    """Events recorded between ``start`` and ``end``, and the entities as recorded at ``end``.

    Event tables (one row per event, each with its timestamp):

    - ``sessions``: a user opens the home feed (``session_id, user_id, device, started_at``);
    - ``impressions``: an item shown at a 1-based ``position`` of the session's slate, with the
      logged ``price`` and three columns of ground truth kept for checking estimators:
      ``p_examine`` (position bias), ``p_click`` (true click probability) and ``propensity``
      (the logging policy's probability of this pick, given the picks above it);
    - ``clicks``: an impression clicked, seconds later (``clicked_at``);
    - ``purchases``: a click that became a purchase, hours or days later;
    - ``returns``: a purchase sent back, days later.

    Entity tables: ``users``, ``items``, ``sellers``.

    ``candidates`` (only when the run was asked to record them) lists, per session, the items
    retrieved for the policy to rank (``session_id, item_id, retrieved``): what off-policy
    evaluation needs to ask how another policy would have ranked the same session (chapter 4).

    Introduced in chapter 1 ("The marketplace"); chapter 3 stores and streams it.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    sessions: pd.DataFrame
    impressions: pd.DataFrame
    clicks: pd.DataFrame
    purchases: pd.DataFrame
    returns: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame
    sellers: pd.DataFrame
    candidates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"session_id": pd.Series(dtype="int64"), "item_id": pd.Series(dtype="int64"),
         "retrieved": pd.Series(dtype="int64")}))

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={len(getattr(self, name)):,}" for name in EVENT_TABLES)
        return f"Log({self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M}: {counts})"

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("start", "end")}

    @classmethod
    def concat(cls, logs: Sequence["Log"]) -> "Log":
        """Join consecutive logs into one (entity tables are taken from the last)."""
        if not logs:
            raise ValueError("Log.concat needs at least one log")
        for a, b in zip(logs, logs[1:]):
            if a.end != b.start:
                raise ValueError(f"Log.concat needs consecutive logs; {a.end} is followed by {b.start}")
        events = {name: pd.concat([getattr(log, name) for log in logs], ignore_index=True) for name in (*EVENT_TABLES, "candidates")}
        last = logs[-1]
        return cls(start=logs[0].start, end=last.end, users=last.users, items=last.items, sellers=last.sellers, **events)

    def summary(self) -> pd.Series:
        """Headline counts and rates of the period."""
        n_imp = len(self.impressions)
        n_clicks = len(self.clicks)
        return pd.Series({
            "days": (self.end - self.start) / pd.Timedelta(days=1),
            "users": len(self.users),
            "items": len(self.items),
            "sessions": len(self.sessions),
            "impressions": n_imp,
            "clicks": n_clicks,
            "purchases": len(self.purchases),
            "returns": len(self.returns),
            "click-through rate": n_clicks / n_imp if n_imp else math.nan,
            "purchases per click": len(self.purchases) / n_clicks if n_clicks else math.nan,
        })

    def business_metrics(self) -> pd.Series:
        """What the business watches, per session: clicks, purchases (per 1,000) and revenue.

        Counted by id, so duplicated events do not inflate them. Introduced in chapter 2
        ("Business and ML Objectives").
        """
        sessions = self.sessions["session_id"].nunique()
        impressions = self.impressions["impression_id"].nunique()
        clicks = self.clicks["impression_id"].nunique()
        purchases = self.purchases.drop_duplicates("purchase_id")
        per = (lambda x: x / sessions) if sessions else (lambda x: math.nan)
        return pd.Series({
            "click-through rate": clicks / impressions if impressions else math.nan,
            "clicks per session": per(clicks),
            "purchases per 1,000 sessions": per(1_000 * len(purchases)),
            "revenue per session": per(float(purchases["amount"].sum())),
        })

    def labeled_impressions(self, purchase_window: str | pd.Timedelta | None = None) -> pd.DataFrame:
        """Impressions joined with their natural labels and the attributes a model would use.

        ``clicked`` is whether a click was recorded in this log; ``purchased`` whether a purchase
        followed within ``purchase_window`` of the click (any time in this log if None). Labels
        that arrive after ``end`` are not known yet: that is the feedback delay of chapter 4.
        """
        imp = self.impressions.drop_duplicates("impression_id")
        clicked = imp["impression_id"].isin(self.clicks["impression_id"])
        out = imp.assign(clicked=clicked.to_numpy())
        purchases = self.purchases.drop_duplicates("purchase_id")
        if purchase_window is not None:
            if isinstance(purchase_window, (bool, int, float, np.number)):
                raise TypeError(f"purchase_window must be a duration such as '2D' or a Timedelta, got {purchase_window!r}")
            try:
                window = pd.Timedelta(purchase_window)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"purchase_window is not a duration: {purchase_window!r}") from exc
            if window is pd.NaT or window < pd.Timedelta(0):
                raise ValueError(f"purchase_window must be a duration >= 0, got {purchase_window!r}")
            clicks = self.clicks.drop_duplicates("impression_id").set_index("impression_id")["clicked_at"]
            delay = purchases["purchased_at"].to_numpy() - clicks.reindex(purchases["impression_id"]).to_numpy()
            purchases = purchases[delay <= window.to_timedelta64()]
        out["purchased"] = out["impression_id"].isin(purchases["impression_id"]).to_numpy()
        users = self.users.drop(columns=["device"]).rename(columns={"region": "user_region"})
        out = out.merge(users, on="user_id", how="left", sort=False)
        items = self.items.drop(columns=["price"])  # the impression carries the price shown
        return out.merge(items, on="item_id", how="left", sort=False)

    def events(self, tables: Iterable[str] = EVENT_TABLES) -> Iterator[dict]:
        """The events as a time-ordered stream of JSON-serialisable dicts.

        Each dict has ``event`` (its type) and ``ts`` (ISO 8601, UTC, milliseconds) and the
        columns of its table; missing values are None. Events that share a timestamp come in
        the order sessions, impressions, clicks, purchases, returns, then by id.
        """
        if isinstance(tables, str):
            raise TypeError(f"tables must be a list of table names, not one string ({tables!r}); e.g. [{tables!r}]")
        tables = list(tables)
        unknown = [t for t in tables if t not in _TYPE_ORDER]
        if unknown:
            raise ValueError(f"unknown event tables {unknown}; choose from {list(EVENT_TABLES)}")
        return self._stream([name for name in tables if not getattr(self, name).empty])

    def _stream(self, names: list[str], chunk: int = 20_000) -> Iterator[dict]:
        # Order everything by cheap integer keys first, then build dicts a chunk at a time, so that
        # the first event arrives at once and memory stays flat however long the log.
        if not names:
            return
        keys = []
        for i, name in enumerate(names):
            table = getattr(self, name)
            ms = table[TIME_COLUMNS[name]].to_numpy().astype("datetime64[ms]").astype(np.int64)
            keys.append(np.stack([ms, np.full(len(ms), _TYPE_ORDER[name]), table[_ID_COLUMN[name]].to_numpy(),
                                  np.arange(len(ms)), np.full(len(ms), i)], axis=1))
        key = np.concatenate(keys)
        key = key[np.lexsort((key[:, 3], key[:, 2], key[:, 1], key[:, 0]))]
        for start in range(0, len(key), chunk):
            part = key[start:start + chunk]
            built: dict[int, list[dict]] = {}
            for i in np.unique(part[:, 4]):
                name = names[i]
                built[i] = _records(getattr(self, name).iloc[part[part[:, 4] == i, 3]], _EVENT_NAME[name],
                                    TIME_COLUMNS[name])
            cursor = {i: 0 for i in built}
            for i in part[:, 4]:
                yield built[i][cursor[i]]
                cursor[i] += 1


def _records(table: pd.DataFrame, event: str, time_col: str) -> list[dict]:
    data = {}
    for col in table.columns:
        values = table[col]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + "Z"
            data[col] = text.where(values.notna(), None).tolist()
        elif isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            data[col] = values.astype(object).where(values.notna(), None).tolist()
        elif pd.api.types.is_float_dtype(values.dtype):
            data[col] = [None if math.isnan(v) else v for v in values.tolist()]
        else:
            data[col] = values.tolist()
    names = list(data)
    ts = data.pop(time_col)
    names.remove(time_col)
    columns = [data[c] for c in names]
    return [{"event": event, "ts": t, **dict(zip(names, row))} for t, *row in zip(ts, *columns)]
