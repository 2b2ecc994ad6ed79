"""Batch prediction: score every user against every item ahead of time, store the top items.

Introduced in chapter 7 ("Batch Prediction Versus Online Prediction"). :func:`batch_predict` runs
the same :class:`~dmls.serving.service.ClickScorer` as the online service over all (user, item)
pairs, in chunks, and keeps each user's best items; :class:`PrecomputedScores` stores them in
SQLite so that serving a user's recommendations is one lookup. What batch prediction cannot do is
shown by what the store lacks: users who signed up and items listed after the batch ran.
"""
from __future__ import annotations

import numbers
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from dmls._validation import check_int
from dmls.features.pipeline import _NUMERIC_KINDS, _ids, _times
from dmls.features.pipeline import _integers as _pipeline_integers

from .service import CANDIDATE_FIELDS, CONTEXT_FIELDS, MAX_ID, RANKING_POSITION, ClickScorer

PREDICTION_COLUMNS = ["user_id", "rank", "item_id", "score"]
_USER_FIELDS = [f for f in CONTEXT_FIELDS if f not in ("device", "shown_at")]  # user_id, user_region, age, signup_at


def batch_predict(scorer: ClickScorer, users: pd.DataFrame, items: pd.DataFrame, *, at, device: str = "mobile",
                  top_k: int = 10, chunk_rows: int = 50_000) -> pd.DataFrame:
    """Score every (user, item) pair as of time ``at`` and keep each user's ``top_k`` items.

    Each pair becomes one request row, as the online service would receive it with the user as
    context and the item as a candidate (:meth:`ClickScorer.rank`): position 1, ``shown_at=at``
    and the given ``device`` — a batch job runs before any session, so it cannot know the
    device and has to assume one. Rows are scored ``chunk_rows`` at a time (whole users per
    chunk) with ``pipeline.transform``, so memory stays bounded however many pairs there are.

    Only users who had signed up and items listed by ``at`` are scored: the predictions are as
    of ``at``. Anyone or anything newer has no precomputed scores until the next run.

    Parameters
    ----------
    scorer : ClickScorer
    users : DataFrame
        ``user_id, region, age, signup_at`` — the columns of ``World.users`` (``user_region``
        may stand for ``region``; other columns, such as the user's usual ``device``, are
        ignored). ``age`` may be missing.
    items : DataFrame
        ``item_id, category, brand, price, rating, listed_at`` — the columns of ``World.items``
        (the current list price is the price shown).
    at : timestamp or str
        When the predictions are for (UTC; a tz-aware time is converted). A bare number is
        refused: whether it counts seconds or nanoseconds cannot be guessed.
    device : str
        The device assumed for every session (a non-blank string).
    top_k : int
        Items kept per user (all of them if there are fewer); at least 1.
    chunk_rows : int
        About how many pairs to score at once; at least 1.

    User and item ids must be integers from 0 to 2**63 - 1 and times must not be bare numbers;
    every other column is checked when the pairs are scored
    (:func:`~dmls.features.impression_attributes`), naming the column of a bad value.

    Returns
    -------
    DataFrame
        ``user_id, rank, item_id, score``: for each user (by increasing id), ranks 1 to ``top_k``
        by decreasing score, ties broken by increasing item id — the order of
        :meth:`ClickScorer.rank`.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """
    if not isinstance(scorer, ClickScorer):
        raise TypeError(f"scorer must be a ClickScorer, got {type(scorer).__name__}")
    top_k = check_int("top_k", top_k, 1)
    chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    if not isinstance(device, str):
        raise TypeError(f"device must be a non-empty string, got {type(device).__name__} {device!r}")
    if not device.strip():
        raise ValueError(f"device must be a non-empty string, got {device!r}")
    at = _utc_naive(at, "at")
    users = _user_table(users)
    items = _frame(items, "items", list(CANDIDATE_FIELDS))
    _checked(users, "users", "user_id", _ids), _checked(items, "items", "item_id", _ids)
    users = users[_checked(users, "users", "signup_at", _times) <= at.to_datetime64()]
    items = items[_checked(items, "items", "listed_at", _times) <= at.to_datetime64()]
    empty = pd.DataFrame({"user_id": pd.Series(dtype="int64"), "rank": pd.Series(dtype="int64"),
                          "item_id": pd.Series(dtype="int64"), "score": pd.Series(dtype="float64")})
    if users.empty or items.empty:
        return empty
    if users["user_id"].duplicated().any() or items["item_id"].duplicated().any():
        raise ValueError("users and items must each have distinct ids")
    users = users.sort_values("user_id", kind="stable").reset_index(drop=True)
    items = items.reset_index(drop=True)
    n_items = len(items)
    per_chunk = max(1, chunk_rows // n_items)
    parts = []
    for first in range(0, len(users), per_chunk):
        chunk = users.iloc[first:first + per_chunk]
        rows = pd.concat([chunk.iloc[np.repeat(np.arange(len(chunk)), n_items)].reset_index(drop=True),
                          items.iloc[np.tile(np.arange(n_items), len(chunk))].reset_index(drop=True)], axis=1)
        rows["device"] = device
        rows["shown_at"] = at
        rows["position"] = RANKING_POSITION
        scores = scorer.score_frame(rows)
        user_ids = rows["user_id"].to_numpy(dtype=np.int64)
        item_ids = rows["item_id"].to_numpy(dtype=np.int64)
        order = np.lexsort((item_ids, -scores, user_ids))  # by user, then best score, then item id
        ranked = pd.DataFrame({"user_id": user_ids[order], "item_id": item_ids[order], "score": scores[order]})
        ranked["rank"] = ranked.groupby("user_id", sort=False).cumcount() + 1
        parts.append(ranked[ranked["rank"] <= top_k])
    out = pd.concat(parts, ignore_index=True)
    out["rank"] = out["rank"].astype("int64")
    return out[PREDICTION_COLUMNS]


def _checked(table: pd.DataFrame, name: str, column: str, check) -> np.ndarray:
    """``check`` (a column checker of :mod:`dmls.features.pipeline`) of ``table[column]``, its
    error naming the column."""
    try:
        return check(table[column])
    except TypeError as error:
        raise TypeError(f"{name}[{column!r}]: {error}") from None
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{name}[{column!r}]: {error}") from None


def _utc_naive(value, name: str) -> pd.Timestamp:
    if value is None or isinstance(value, (bool, np.bool_, numbers.Number)):
        raise TypeError(f"{name} must be a time (a string, datetime or Timestamp), got {value!r}: a bare number "
                        "is refused, since whether it counts seconds, milliseconds or nanoseconds cannot be guessed")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a time, got {value!r}: {error}") from None
    except OverflowError as error:
        raise ValueError(f"{name} must be a time within 1677-2262, got {value!r}: {error}") from None
    if pd.isna(stamp):
        raise ValueError(f"{name} must be a time, got {value!r}")
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def _frame(table, name: str, columns: list[str]) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name} need columns {missing}; they have {list(table.columns)}")
    return table[columns]


def _user_table(users) -> pd.DataFrame:
    if isinstance(users, pd.DataFrame) and "user_region" not in users.columns and "region" in users.columns:
        users = users.rename(columns={"region": "user_region"})
    return _frame(users, "users", _USER_FIELDS)


class PrecomputedScores:
    """Batch predictions in SQLite: each user's top items, looked up at request time.

    Each :meth:`write` stores one version of the predictions (a rerun with the same version
    replaces it) and makes it the current one; :meth:`top_items` reads the current version.
    Only parameterized SQL is used.

    A user the batch did not score — one who signed up after it ran, or any user when nothing
    has been written yet — gets an empty list: batch prediction has nothing for newcomers (the
    cold-start gap) and nothing fresher than its last run. The caller falls back to something
    else, for instance the online :meth:`~dmls.serving.service.ClickScorer.rank` or popular
    items.

    Parameters
    ----------
    path : str or Path
        The SQLite file (created if needed); ``":memory:"`` for a private in-memory store.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
        if not str(os.fspath(path)).strip():
            raise ValueError("path must name a file (or be ':memory:'), got an empty string")
        self.path = str(os.fspath(path))
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.execute("PRAGMA foreign_keys = ON")  # outside a transaction, where it takes effect
        with self._conn:
            self._conn.execute("""CREATE TABLE IF NOT EXISTS prediction_versions (
                version TEXT PRIMARY KEY, generated_at TEXT NOT NULL, written INTEGER NOT NULL,
                n_users INTEGER NOT NULL, n_rows INTEGER NOT NULL)""")
            self._conn.execute("""CREATE TABLE IF NOT EXISTS predictions (
                version TEXT NOT NULL REFERENCES prediction_versions(version) ON DELETE CASCADE,
                user_id INTEGER NOT NULL, rank INTEGER NOT NULL CHECK (rank >= 1),
                item_id INTEGER NOT NULL, score REAL NOT NULL,
                PRIMARY KEY (version, user_id, rank))""")

    def __repr__(self) -> str:
        return f"PrecomputedScores({self.path!r}, current={self.current_version!r})"

    def __enter__(self) -> "PrecomputedScores":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def write(self, predictions: pd.DataFrame, version: str, *, generated_at=None) -> int:
        """Store batch predictions as ``version`` (replacing it if present) and make them current.

        Parameters
        ----------
        predictions : DataFrame
            ``user_id, rank, item_id, score``, as :func:`batch_predict` returns; one row per
            (user, rank).
        version : str
            A name for this run, e.g. the model version and the date.
        generated_at : timestamp, optional
            When the predictions were made; now (UTC) if not given. Pass the batch's ``at`` in
            a simulation. A bare number is refused.

        Ids must be integers from 0 to 2**63 - 1, ranks integers from 1, scores finite numbers;
        booleans and strings are refused.

        Returns
        -------
        int
            Rows written.

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        _check_version(version)
        table = _frame(predictions, "predictions", PREDICTION_COLUMNS)
        stamp = pd.Timestamp.now(tz="UTC").tz_localize(None) if generated_at is None else _utc_naive(
            generated_at, "generated_at")
        try:
            user_ids = _integers(table["user_id"], "user_id", 0)
            ranks = _integers(table["rank"], "rank", 1)
            item_ids = _integers(table["item_id"], "item_id", 0)
            score = table["score"]
            if pd.api.types.is_bool_dtype(score.dtype) or (not pd.api.types.is_numeric_dtype(score.dtype) and (
                    pd.api.types.infer_dtype(score, skipna=True) not in _NUMERIC_KINDS)):
                raise TypeError(f"score must hold numbers, got {score.dtype} values")
            scores = pd.to_numeric(table["score"], errors="raise").to_numpy(dtype=float)
        except TypeError as error:
            raise TypeError(f"predictions: {error}") from None
        except (ValueError, OverflowError) as error:
            raise ValueError(f"predictions: {error}") from None
        if not np.isfinite(scores).all():
            raise ValueError("predictions: scores must be finite numbers")
        if (ranks < 1).any():
            raise ValueError("predictions: ranks start at 1")
        if table.duplicated(["user_id", "rank"]).any():
            raise ValueError("predictions must have one row per (user_id, rank)")
        rows = [(version, u, r, i, s) for u, r, i, s in zip(user_ids.tolist(), ranks.tolist(), item_ids.tolist(),
                                                              scores.tolist())]
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM prediction_versions WHERE version = ?", (version,))
            written = self._conn.execute("SELECT COALESCE(MAX(written), 0) + 1 FROM prediction_versions").fetchone()[0]
            self._conn.execute("INSERT INTO prediction_versions VALUES (?, ?, ?, ?, ?)",
                               (version, stamp.isoformat(), written, int(len(np.unique(user_ids))), len(rows)))
            self._conn.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    @property
    def current_version(self) -> str | None:
        """The version written last (None before any)."""
        with self._lock:
            row = self._conn.execute("SELECT version FROM prediction_versions ORDER BY written DESC LIMIT 1").fetchone()
        return None if row is None else row[0]

    def versions(self) -> pd.DataFrame:
        """Every stored version: ``version, generated_at, n_users, n_rows``, oldest write first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT version, generated_at, n_users, n_rows FROM prediction_versions ORDER BY written").fetchall()
        out = pd.DataFrame(rows, columns=["version", "generated_at", "n_users", "n_rows"])
        out["generated_at"] = pd.to_datetime(out["generated_at"], format="ISO8601")
        return out

    def top_items(self, user_id: int, k: int = 10, *, version: str | None = None) -> list[tuple[int, float]]:
        """The user's best ``k`` items as ``(item_id, score)``, best first, from the current version.

        An empty list if the batch did not score this user (see the class docstring: the
        cold-start gap). Fewer than ``k`` if the batch kept fewer.

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        if isinstance(user_id, bool) or not isinstance(user_id, (int, np.integer)):
            raise TypeError(f"user_id must be an integer, got {user_id!r}")
        user_id = check_int("user_id", user_id, 0, MAX_ID)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be a positive integer, got {type(k).__name__} {k!r}")
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        k = min(int(k), MAX_ID)  # more than any store holds; SQLite's LIMIT takes int64
        if version is not None:
            _check_version(version)
        if version is None:
            version = self.current_version
            if version is None:
                return []
        elif not self._has(version):
            raise KeyError(f"no predictions of version {version!r}")
        with self._lock:
            rows = self._conn.execute(
                "SELECT item_id, score FROM predictions WHERE version = ? AND user_id = ? ORDER BY rank LIMIT ?",
                (version, int(user_id), int(k))).fetchall()
        return [(int(item), float(score)) for item, score in rows]

    def generated_at(self, version: str) -> pd.Timestamp:
        """When ``version``'s predictions were made (UTC): how stale they are is ``now - generated_at``.

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        _check_version(version)
        with self._lock:
            row = self._conn.execute("SELECT generated_at FROM prediction_versions WHERE version = ?",
                                     (version,)).fetchone()
        if row is None:
            raise KeyError(f"no predictions of version {version!r}")
        return pd.Timestamp(row[0])

    def _has(self, version: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM prediction_versions WHERE version = ?",
                                      (version,)).fetchone() is not None


def _check_version(version) -> None:
    if not isinstance(version, str):
        raise TypeError(f"version must be a non-empty string, got {type(version).__name__} {version!r}")
    if not version.strip():
        raise ValueError(f"version must be a non-empty string, got {version!r}")


def _integers(column: pd.Series, name: str, minimum: int) -> np.ndarray:
    """The column as int64: whole numbers from ``minimum`` to 2**63 - 1, not missing, not
    booleans or strings (the pipeline's id check)."""
    try:
        return _pipeline_integers(column, "values", minimum)
    except TypeError as error:
        raise TypeError(f"{name} must hold whole numbers: {error}") from None
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{name} must hold whole numbers: {error}") from None

