"""The ranker's feature pipeline: one definition for training batches and for single requests.

Introduced in chapter 5 ("Common Feature Engineering Operations"). Chapter 7 serves it (a
request arrives as one dict; :meth:`FeaturePipeline.transform_one` turns it into the same
features the model was trained on) and chapter 8 monitors its inputs and outputs.

A request or a training row describes one impression: who is shown what, where and when, with
the user's and the item's attributes already looked up (:data:`REQUEST_FIELDS`).
``World.run(...).labeled_impressions()`` has these columns; chapter 7's feature store supplies
them online.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, RobustScaler

from .history import HistoryFeatures
from .transformers import FeatureCross, HashingEncoder, SinusoidalEncoding

#: What a request must carry, and the kind of each value.
REQUEST_FIELDS = {
    "user_id": "id", "item_id": "id", "position": "number", "device": "category", "price": "number",
    "shown_at": "time", "user_region": "category", "age": "number", "signup_at": "time",
    "category": "category", "brand": "category", "rating": "number", "listed_at": "time",
}
MISSING = "<missing>"
CATEGORICAL = ["device", "user_region", "category"]
NUMERIC = ["log_price", "age", "rating", "account_days", "listing_days"]
HISTORY = ["user_ctr", "item_ctr", "taste_share"]
POSITION_ENCODINGS = ("onehot", "sinusoidal", "number", "none")


def impression_attributes(rows: pd.DataFrame) -> pd.DataFrame:
    """What can be computed from one impression row alone, with the same types whatever the
    input's: ids as integers, categories as strings (missing ones as ``"<missing>"``), numbers
    as floats (missing ones as NaN), and derived numbers — ``log_price``, ``account_days`` and
    ``listing_days`` (log1p of the days since signup and since listing) and ``hour`` (of day,
    UTC, with fraction).

    Introduced in chapter 5 ("Common Feature Engineering Operations").
    """
    if not isinstance(rows, pd.DataFrame):
        raise TypeError(f"impression_attributes needs a DataFrame, got {type(rows).__name__}")
    missing = [c for c in REQUEST_FIELDS if c not in rows.columns]
    if missing:
        raise ValueError(f"impression rows need columns {missing}")
    out = {}
    for name, kind in REQUEST_FIELDS.items():
        column = rows[name]
        try:
            if kind == "id":
                out[name] = _ids(column)
            elif kind == "number":
                out[name] = pd.to_numeric(column.astype(object), errors="raise").to_numpy(dtype=float)
            elif kind == "category":
                out[name] = np.where(column.isna().to_numpy(), MISSING, column.astype(object).astype(str).to_numpy())
            else:
                # as_unit raises on times outside 1677-2262 where a plain cast would wrap them silently
                out[name] = pd.to_datetime(column, utc=True, format="mixed").dt.tz_localize(None).dt.as_unit(
                    "ns").to_numpy()
                if np.isnat(out[name]).any():
                    raise ValueError("times cannot be missing")
        except (TypeError, ValueError) as error:
            raise ValueError(f"column {name!r} must hold {kind} values: {error}") from None
    if (out["price"] <= 0).any():
        raise ValueError("price must be positive")
    day = np.timedelta64(1, "D")
    frame = pd.DataFrame({
        "user_id": out["user_id"], "item_id": out["item_id"], "position": out["position"],
        "device": out["device"], "user_region": out["user_region"], "category": out["category"],
        "brand": out["brand"], "log_price": np.log(out["price"]), "age": out["age"], "rating": out["rating"],
        "account_days": np.log1p(np.clip((out["shown_at"] - out["signup_at"]) / day, 0, None)),
        "listing_days": np.log1p(np.clip((out["shown_at"] - out["listed_at"]) / day, 0, None)),
        "hour": (out["shown_at"] - out["shown_at"].astype("datetime64[D]")) / np.timedelta64(1, "h"),
        "shown_at": out["shown_at"],
    })
    return frame


def _ids(column: pd.Series) -> np.ndarray:
    if column.isna().any():
        raise ValueError("ids cannot be missing")
    values = pd.to_numeric(column.astype(object), errors="raise").to_numpy()
    if not np.all(np.equal(np.mod(values, 1), 0)):
        raise ValueError("ids must be whole numbers")
    return values.astype(np.int64)


class FeaturePipeline(TransformerMixin, BaseEstimator):
    """Impressions (a DataFrame, or one request dict) to the numeric features a ranker uses.

    Steps, all fitted on the training rows: :func:`impression_attributes`; the user's and item's
    click history (:class:`HistoryFeatures`, point-in-time in ``fit_transform``); then one
    ``ColumnTransformer`` that

    - imputes missing numbers with the median and adds a missing-indicator column, then scales
      them robustly (median and interquartile range): ``log_price, age, rating, account_days,
      listing_days`` and the history features;
    - bins ``age`` into ``n_age_bins`` quantile bins, one-hot;
    - one-hot encodes ``device, user_region, category`` (unknown values get all zeros);
    - hashes ``brand`` into ``brand_buckets`` columns (:class:`HashingEncoder`) — new brands
      keep working;
    - crosses the pairs in ``crosses`` into ``cross_buckets`` hashed columns (:class:`FeatureCross`);
    - encodes the hour of day as sines and cosines (:class:`SinusoidalEncoding`, period 24);
    - encodes the slate ``position`` as chosen by ``position``: one-hot (a learned weight per
      slot), sinusoidal, the plain number, or not at all.

    Parameters
    ----------
    brand_buckets, cross_buckets : int
        Hash buckets for the brand and for the crosses.
    crosses : tuple of column pairs
        Columns to cross (names from ``device, user_region, category, brand, position, user_id,
        item_id``). The default crosses the device with the slot: how fast attention falls down
        the slate depends on the screen.
    n_age_bins : int
        Quantile bins for age.
    position : {"onehot", "sinusoidal", "number", "none"}
        How to encode the slot an item was shown in.
    history : bool
        Whether to add the click-history features.
    sparse_output : bool
        Return a ``scipy.sparse`` CSR matrix (default) or a dense array.

    ``fit(X, y)`` takes labels from ``y`` or, if ``y`` is None, from ``X["clicked"]`` (needed only
    with ``history``). :meth:`transform` and :meth:`transform_one` run the same code, so a row's
    features are the same whether it is scored in a batch or alone.

    Introduced in chapter 5 ("Common Feature Engineering Operations").
    """

    def __init__(self, brand_buckets: int = 256, cross_buckets: int = 256,
                 crosses=(("device", "position"),), n_age_bins: int = 6,
                 position: str = "onehot", history: bool = True, sparse_output: bool = True):
        self.brand_buckets = brand_buckets
        self.cross_buckets = cross_buckets
        self.crosses = crosses
        self.n_age_bins = n_age_bins
        self.position = position
        self.history = history
        self.sparse_output = sparse_output

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit every step on ``X`` and return its features, with point-in-time history."""
        self._check_params()
        rows = self._labeled(X, y)
        attributes = impression_attributes(rows)
        table = attributes
        if self.history:
            self.history_ = HistoryFeatures()
            past = self.history_.fit_transform(attributes.assign(clicked=rows["clicked"].to_numpy()))
            table = pd.concat([attributes, past.set_index(attributes.index)], axis=1)
        self.columns_ = self._column_transformer()
        return self._finish(self.columns_.fit_transform(table))

    def _check_params(self) -> None:
        for name in ("brand_buckets", "cross_buckets", "n_age_bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (2 if name == "n_age_bins" else 1):
                raise ValueError(f"{name} must be a positive integer{' of at least 2' if name == 'n_age_bins' else ''}, "
                                 f"got {value!r}")
        if self.position not in POSITION_ENCODINGS:
            raise ValueError(f"position must be one of {POSITION_ENCODINGS}, got {self.position!r}")
        allowed = set(CATEGORICAL) | {"brand", "position", "user_id", "item_id"}
        for pair in self.crosses:
            if len(pair) < 2 or not set(pair) <= allowed:
                raise ValueError(f"each cross must name two or more of {sorted(allowed)}, got {pair!r}")

    def _labeled(self, X, y) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"FeaturePipeline needs a DataFrame of impressions, got {type(X).__name__}")
        if len(X) == 0:
            raise ValueError("FeaturePipeline.fit needs at least one impression")
        if y is not None:
            y = np.asarray(y)
            if y.shape != (len(X),):
                raise ValueError(f"y must have one label per row: {len(X)} rows, y has shape {y.shape}")
            values = set(pd.unique(y).tolist())
            if not values <= {0, 1}:  # True == 1 and False == 0
                raise ValueError(f"y must be clicks: booleans or 0/1, got values {sorted(map(str, values))[:5]}")
            return X.assign(clicked=y.astype(bool))
        if self.history and "clicked" not in X.columns:
            raise ValueError("the history features need labels: pass y or a 'clicked' column")
        return X

    def _column_transformer(self) -> ColumnTransformer:
        numeric = NUMERIC + (HISTORY if self.history else [])
        parts = [
            ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), RobustScaler()), numeric),
            ("age_bins", make_pipeline(SimpleImputer(strategy="median"),
                                       KBinsDiscretizer(n_bins=self.n_age_bins, strategy="quantile")), ["age"]),
            ("onehot", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("brand", HashingEncoder(n_buckets=self.brand_buckets), ["brand"]),
            ("hour", SinusoidalEncoding(n_frequencies=2, period=24.0), ["hour"]),
        ]
        if self.crosses:
            columns = sorted({c for pair in self.crosses for c in pair}, key=list(REQUEST_FIELDS).index)
            parts.append(("crosses", FeatureCross(groups=[tuple(p) for p in self.crosses],
                                                  n_buckets=self.cross_buckets), columns))
        if self.position == "onehot":
            parts.append(("position", OneHotEncoder(handle_unknown="ignore"), ["position"]))
        elif self.position == "sinusoidal":
            parts.append(("position", SinusoidalEncoding(n_frequencies=3, period=40.0), ["position"]))
        elif self.position == "number":
            parts.append(("position", "passthrough", ["position"]))
        return ColumnTransformer(parts, sparse_threshold=1.0)

    # ------------------------------------------------------------------ features
    def transform(self, X):
        """Features of a DataFrame of impressions (training, evaluation or batch prediction)."""
        if not hasattr(self, "columns_"):
            raise RuntimeError("FeaturePipeline must be fitted before transform")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"FeaturePipeline needs a DataFrame of impressions, got {type(X).__name__}")
        attributes = impression_attributes(X)
        table = attributes
        if self.history:
            table = pd.concat([attributes, self.history_.transform(attributes).set_index(attributes.index)], axis=1)
        return self._finish(self.columns_.transform(table))

    def transform_one(self, request: Mapping):
        """Features of one request — a dict with the :data:`REQUEST_FIELDS` (more are ignored);
        times may be ISO 8601 strings. One row, exactly as :meth:`transform` would compute it."""
        return self.transform_requests([request])

    def transform_requests(self, requests: Sequence[Mapping]):
        """Features of several requests as they arrive over HTTP, one row each, in one batch: the
        rows :meth:`transform_one` would give one at a time."""
        for i, request in enumerate(requests):
            if not isinstance(request, Mapping):
                raise TypeError(f"request {i} must be a mapping of field to value, got {type(request).__name__}")
            missing = [f for f in REQUEST_FIELDS if f not in request]
            if missing:
                raise ValueError(f"request {i} lacks fields {missing}")
        rows = pd.DataFrame({f: [r[f] for r in requests] for f in REQUEST_FIELDS}, dtype=object)
        return self.transform(rows)

    def _finish(self, matrix):
        if self.sparse_output:
            return sparse.csr_matrix(matrix)
        return matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)

    def get_feature_names_out(self, input_features=None):
        if not hasattr(self, "columns_"):
            raise RuntimeError("FeaturePipeline must be fitted first")
        return self.columns_.get_feature_names_out()
