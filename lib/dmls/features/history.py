"""The first click-model features: the impression's context, and what the past says.

Introduced in chapter 1 ("When to Use Machine Learning"); used in chapters 2 and 3 and extended
in chapter 5.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from dmls.world import ALL_REGIONS, CATEGORY_NAMES, DEVICES

#: Columns of :func:`context_features`, in order.
CONTEXT_COLUMNS = ["position", "device", "user_region", "age", "category", "log_price", "rating"]
_HISTORY_COLUMNS = ["user_ctr", "item_ctr", "taste_share"]


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} needs a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; it got {list(frame.columns)}")


def context_features(rows: pd.DataFrame) -> pd.DataFrame:
    """What is known about an impression when it is shown: slot, device, user and item attributes.

    Categorical columns get fixed categories, so that a model sees the same codes in training
    and in serving whatever values a batch happens to contain.

    Introduced in chapter 1 ("When to Use Machine Learning").
    """
    _require(rows, ["position", "device", "user_region", "age", "category", "price", "rating"], "context_features")
    return pd.DataFrame({
        "position": rows["position"].to_numpy(),
        "device": pd.Categorical(rows["device"], categories=list(DEVICES)),
        "user_region": pd.Categorical(rows["user_region"], categories=list(ALL_REGIONS)),
        "age": rows["age"].to_numpy(dtype=float),
        "category": pd.Categorical(rows["category"], categories=list(CATEGORY_NAMES)),
        "log_price": np.log(rows["price"].to_numpy(dtype=float)),
        "rating": rows["rating"].to_numpy(dtype=float),
    })


class HistoryFeatures(TransformerMixin, BaseEstimator):
    """What past impressions say about a user and an item, learned by ``fit`` from a history.

    ``fit`` counts, in a table of labeled impressions (``user_id, item_id, category, clicked``),
    the impressions and clicks of each user, each item and each (user, category); ``transform``
    turns them into three features for new impressions:

    - ``user_ctr`` — the user's click rate, shrunk toward the overall rate by ``user_prior``
      pseudo-impressions (users with little history look average);
    - ``item_ctr`` — the same for the item, with ``item_prior``;
    - ``taste_share`` — the share of the user's past clicks that went to the item's category.

    Fitting on the past and transforming what comes after keeps the features honest: nothing
    from the rows being scored leaks into them (chapter 5, "Data Leakage"). ``fit_transform``
    is therefore *not* ``fit(X).transform(X)`` (which would hand each row its own label): it
    gives each row the features computed from the rows of ``X`` strictly earlier than it, by
    ``time_column`` — the point-in-time values a model would have seen when that row was live —
    and leaves the estimator fitted on all of ``X`` for later rows. That holds for the overall
    rate the counts are shrunk toward, too: a row's prior is the click rate of the rows before it
    (0.5, knowing nothing, for rows at the very first moment of ``X``), so appending later rows
    to ``X`` never changes an earlier row's features. scikit-learn's
    ``TargetEncoder`` makes the same distinction, with cross-fitting instead of time.

    Introduced in chapter 1 ("When to Use Machine Learning"); ``fit_transform`` in chapter 5.
    """

    def __init__(self, user_prior: float = 10.0, item_prior: float = 20.0, time_column: str = "shown_at"):
        self.user_prior = user_prior
        self.item_prior = item_prior
        self.time_column = time_column

    def fit(self, X: pd.DataFrame, y=None) -> "HistoryFeatures":
        _require(X, ["user_id", "item_id", "category", "clicked"], "HistoryFeatures.fit")
        for name in ("user_prior", "item_prior"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if len(X) == 0:
            raise ValueError("HistoryFeatures.fit needs at least one impression")
        clicked = X["clicked"].astype(bool)
        self.prior_ = float(clicked.mean())
        for name, table in _count_tables(X, clicked).items():
            setattr(self, name, table)
        self.n_impressions_ = len(X)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "prior_"):
            raise RuntimeError("HistoryFeatures must be fitted on a history before transform")
        _require(X, ["user_id", "item_id", "category"], "HistoryFeatures.transform")
        user = self.users_.reindex(X["user_id"].to_numpy()).fillna(0).to_numpy()
        item = self.items_.reindex(X["item_id"].to_numpy()).fillna(0).to_numpy()
        key = pd.MultiIndex.from_arrays([X["user_id"].to_numpy(), X["category"].astype(str).to_numpy()])
        in_category = self.user_category_.reindex(key).fillna(0).to_numpy()
        return self._features(user[:, 0], user[:, 1], item[:, 0], item[:, 1], in_category)

    def fit_transform(self, X: pd.DataFrame, y=None) -> pd.DataFrame:
        """Fit on ``X`` and return, for each row, the features from the rows before it in time."""
        self.fit(X)
        _require(X, [self.time_column], "HistoryFeatures.fit_transform")
        frame = pd.DataFrame({"user": X["user_id"].to_numpy(), "item": X["item_id"].to_numpy(),
                              "category": X["category"].astype(str).to_numpy(),
                              "time": X[self.time_column].to_numpy(),
                              "clicked": X["clicked"].astype(bool).to_numpy().astype(np.int64)})
        frame = frame.sort_values("time", kind="stable")  # the index keeps each row's position in X
        # The overall click rate of the rows strictly before each moment.
        seen = pd.Series(np.arange(len(frame)), index=frame.index).groupby(frame["time"], sort=False).transform("first")
        clicks = (frame["clicked"].cumsum() - frame["clicked"]).groupby(frame["time"], sort=False).transform("first")
        prior = np.where(seen.to_numpy() > 0, clicks.to_numpy() / np.maximum(seen.to_numpy(), 1), 0.5)
        prior = pd.Series(prior, index=frame.index).sort_index().to_numpy()
        before = {}
        for name, key in (("user", ["user"]), ("item", ["item"]), ("user_category", ["user", "category"])):
            grouped = frame.groupby(key, sort=False)["clicked"]
            counts = pd.DataFrame({"seen": grouped.cumcount(), "clicks": grouped.cumsum() - frame["clicked"]})
            # rows shown at the same moment (one slate) must not see each other's labels
            counts = counts.groupby([frame[k] for k in key + ["time"]], sort=False).transform("first")
            before[name] = counts.sort_index()
        return self._features(before["user"]["seen"].to_numpy(), before["user"]["clicks"].to_numpy(),
                              before["item"]["seen"].to_numpy(), before["item"]["clicks"].to_numpy(),
                              before["user_category"]["clicks"].to_numpy(), prior=prior)

    def _features(self, user_seen, user_clicks, item_seen, item_clicks, user_category_clicks, prior=None) -> pd.DataFrame:
        prior = self.prior_ if prior is None else prior
        return pd.DataFrame({
            "user_ctr": (user_clicks + self.user_prior * prior) / (user_seen + self.user_prior),
            "item_ctr": (item_clicks + self.item_prior * prior) / (item_seen + self.item_prior),
            "taste_share": (user_category_clicks + 0.1) / (user_clicks + 1.0),
        })

    def get_feature_names_out(self, input_features=None):
        return np.array(_HISTORY_COLUMNS, dtype=object)

    def partial_fit(self, X: pd.DataFrame, y=None) -> "HistoryFeatures":
        """Add the impressions of ``X`` to the counts: afterwards ``transform`` gives what ``fit`` on
        everything seen so far would give (the counts are sums, so the order of the batches does
        not matter). Unfitted, this is ``fit``; a batch with no rows changes nothing.

        This is how an online path keeps its history fresh between refits: each batch of newly
        labelled impressions is added as it arrives. Copies made from the fitted tables before
        (:class:`~dmls.serving.compiled.CompiledFeatures`) do not see the new counts.

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        if not hasattr(self, "prior_"):
            return self.fit(X)
        _require(X, ["user_id", "item_id", "category", "clicked"], "HistoryFeatures.partial_fit")
        if len(X) == 0:
            return self
        clicked = X["clicked"].astype(bool)
        # every new table first, then all of them at once: a batch that fails midway changes nothing
        tables = {name: getattr(self, name).add(added, fill_value=0).astype(np.int64)
                  for name, added in _count_tables(X, clicked).items()}
        n_clicks = round(self.prior_ * self.n_impressions_) + int(clicked.sum())  # prior_ is clicks / impressions
        for name, table in tables.items():
            setattr(self, name, table)
        self.n_impressions_ += len(X)
        self.prior_ = n_clicks / self.n_impressions_
        return self


def _count_tables(X: pd.DataFrame, clicked: pd.Series) -> dict:
    """What HistoryFeatures counts in ``X``: impressions and clicks per user and per item, and
    clicks per (user, category)."""
    return {"users_": clicked.groupby(X["user_id"]).agg(["size", "sum"]),
            "items_": clicked.groupby(X["item_id"]).agg(["size", "sum"]),
            "user_category_": X[clicked.to_numpy()].groupby(["user_id", "category"], observed=True).size()}


def click_features(rows: pd.DataFrame, history: HistoryFeatures) -> pd.DataFrame:
    """All features of the first click model: :func:`context_features` then ``history``'s.

    Introduced in chapter 1 ("When to Use Machine Learning").
    """
    return pd.concat([context_features(rows), history.transform(rows)], axis=1)
