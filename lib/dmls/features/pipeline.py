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

import numbers
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
from .transformers import MAX_BUCKETS, FeatureCross, HashingEncoder, SinusoidalEncoding, WrongTypeError

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
#: The most quantile bins ``n_age_bins`` may ask for.
MAX_AGE_BINS = 1_000
_INT64_MAX = int(np.iinfo(np.int64).max)
_NUMERIC_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "decimal", "empty"})
_NUMBER_KINDS_IN_TIMES = frozenset({"integer", "floating", "mixed-integer-float", "decimal", "boolean", "complex",
                                    "mixed-integer", "integer-na"})


def impression_attributes(rows: pd.DataFrame) -> pd.DataFrame:
    """What can be computed from one impression row alone, with the same types whatever the
    input's: ids as integers, categories as strings (missing ones as ``"<missing>"``), numbers
    as floats (missing ones as NaN), and derived numbers — ``log_price``, ``account_days`` and
    ``listing_days`` (log1p of the days since signup and since listing) and ``hour`` (of day,
    UTC, with fraction).

    Every column is checked, once per call and vectorised, and a bad value is named by its
    column (``column 'position' must hold number values: ...``):

    - ids (``user_id``, ``item_id``): whole numbers from 0 to 2**63 - 1 (they are stored as
      int64), never missing; not booleans or strings;
    - ``position``: whole numbers from 1 (slots are 1-based), never missing;
    - other numbers (``price``, ``age``, ``rating``): real numbers (not booleans or strings),
      finite or missing (NaN, imputed later); ``price`` is positive;
    - categories (``device``, ``user_region``, ``category``, ``brand``): strings that are not
      blank, or missing; a value never seen in training is allowed (see :class:`FeaturePipeline`);
    - times (``shown_at``, ``signup_at``, ``listed_at``): datetimes, Timestamps or date strings
      within 1677-2262, never missing. A bare number is refused: whether 12345 means seconds,
      milliseconds or nanoseconds cannot be guessed.

    A value of the wrong type raises a ``TypeError`` (which is also a ``ValueError``, as these
    checks raised before); a bad value a ``ValueError``.

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
        if isinstance(column, pd.DataFrame):
            raise ValueError(f"impression rows have more than one column named {name!r}")
        try:
            if kind == "id":
                out[name] = _ids(column)
            elif name == "position":
                out[name] = _positions(column)
            elif kind == "number":
                out[name] = _numbers(column)
            elif kind == "category":
                out[name] = _categories(column)
            else:
                out[name] = _times(column)
        except TypeError as error:
            raise WrongTypeError(f"column {name!r} must hold {kind} values: {error}") from None
        except (ValueError, OverflowError) as error:
            raise ValueError(f"column {name!r} must hold {kind} values: {error}") from None
    if (out["price"] <= 0).any():
        raise ValueError(f"price must be positive, got {_first(out['price'], out['price'] <= 0)!r}")
    frame = pd.DataFrame({
        "user_id": out["user_id"], "item_id": out["item_id"], "position": out["position"],
        "device": out["device"], "user_region": out["user_region"], "category": out["category"],
        "brand": out["brand"], "log_price": np.log(out["price"]), "age": out["age"], "rating": out["rating"],
        "account_days": np.log1p(np.clip(_days_between(out["shown_at"], out["signup_at"]), 0, None)),
        "listing_days": np.log1p(np.clip(_days_between(out["shown_at"], out["listed_at"]), 0, None)),
        "hour": (out["shown_at"] - out["shown_at"].astype("datetime64[D]")) / np.timedelta64(1, "h"),
        "shown_at": out["shown_at"],
    })
    return frame


def _days_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Days from ``earlier`` to ``later`` (datetime64[ns]). Times 1677-2262 can be more than
    292 years apart, which int64 nanoseconds cannot hold: numpy's subtraction would wrap around
    silently (a 584-year-old account would come out as minus 203 days). Those differences are
    computed in floating point; all others exactly as numpy computes them."""
    exact = (later - earlier) / np.timedelta64(1, "D")
    approx = (later.astype(np.int64).astype(float) - earlier.astype(np.int64).astype(float)) / 86_400e9
    return np.where(np.abs(approx) > 106_000, approx, exact)  # 2**63 ns is 106,751 days


def _first(values: np.ndarray, bad: np.ndarray):
    """The first of ``values`` where ``bad``, as a plain Python value for a message."""
    value = np.asarray(values, dtype=object)[np.flatnonzero(bad)[0]]
    return value.item() if isinstance(value, np.generic) else value


def _described(value) -> str:
    return f"{type(value).__name__} {value!r}"


def _objects(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=object)


def _is_plain_numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _ids(column: pd.Series) -> np.ndarray:
    """Ids as int64: whole numbers in [0, 2**63 - 1], not missing, not booleans or strings."""
    return _integers(column, "ids", minimum=0)


def _integers(column: pd.Series, what: str, minimum: int) -> np.ndarray:
    if column.isna().any():
        raise ValueError(f"{what} cannot be missing")
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise TypeError(f"{what} must be integers, got booleans")
    if pd.api.types.is_integer_dtype(dtype):
        values = column.to_numpy()
        if values.dtype.kind == "u" and len(values) and values.max() > _INT64_MAX:
            bad = values > _INT64_MAX
        else:
            bad = values < minimum
        if bad.any():
            raise ValueError(f"{what} must be whole numbers from {minimum} to 2**63 - 1, got {_first(values, bad)!r}")
        return values.astype(np.int64)
    if pd.api.types.is_float_dtype(dtype):
        return _whole_floats(column.to_numpy(dtype=float), what, minimum)
    values = _objects(column)
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind == "integer":
        if len(values) and (values.min() < minimum or values.max() > _INT64_MAX):
            bad = np.asarray([v < minimum or v > _INT64_MAX for v in values])
            raise ValueError(f"{what} must be whole numbers from {minimum} to 2**63 - 1, got {_first(values, bad)!r}")
        return values.astype(np.int64)
    if kind in ("floating", "mixed-integer-float", "decimal"):
        return _whole_floats(values.astype(float), what, minimum)
    if kind == "empty":
        return np.zeros(0, dtype=np.int64)
    bad = np.asarray([isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) for v in values])
    raise TypeError(f"{what} must be integers, got {_described(_first(values, bad))}")


def _whole_floats(values: np.ndarray, what: str, minimum: int) -> np.ndarray:
    bad = ~np.isfinite(values) | (values != np.floor(values)) | (values < minimum) | (values >= 2.0 ** 63)
    if bad.any():
        raise ValueError(f"{what} must be whole numbers from {minimum} to 2**63 - 1, got {_first(values, bad)!r}")
    return values.astype(np.int64)


def _numbers(column: pd.Series) -> np.ndarray:
    """Real numbers as floats: finite or missing (NaN); not booleans or strings."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise TypeError("numbers must be real numbers, got booleans")
    if _is_plain_numeric(dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
    else:
        objects = _objects(column)
        if pd.api.types.infer_dtype(objects, skipna=True) not in _NUMERIC_KINDS:
            bad = np.asarray([not pd.isna(v) and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real))
                              for v in objects])
            raise TypeError(f"numbers must be real numbers, got {_described(_first(objects, bad))}")
        values = pd.to_numeric(pd.Series(objects, dtype=object), errors="raise").to_numpy(dtype=float,
                                                                                            na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(f"numbers must be finite (or missing), got {_first(values, infinite)!r}")
    return values


def _positions(column: pd.Series) -> np.ndarray:
    """Slots as floats: whole numbers from 1, not missing."""
    values = _numbers(column)
    bad = np.isnan(values) | (values < 1) | (values != np.floor(values))
    if bad.any():
        raise ValueError(f"positions are whole numbers from 1 (the top slot), got {_first(values, bad)!r}")
    return values


def _categories(column: pd.Series) -> np.ndarray:
    """Categories as strings (missing ones as ``"<missing>"``): strings that are not blank."""
    missing = column.isna().to_numpy()
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        distinct = np.asarray(column.cat.categories, dtype=object)[np.unique(codes[codes >= 0])]
    else:
        try:
            distinct = pd.unique(_objects(column)[~missing])
        except TypeError:  # unhashable values, such as lists
            distinct = _objects(column)[~missing]
    if pd.api.types.infer_dtype(distinct, skipna=False) not in ("string", "empty"):
        bad = np.asarray([not isinstance(v, str) for v in distinct])
        raise TypeError(f"categories must be strings (or missing), got {_described(_first(distinct, bad))}")
    blank = np.asarray([not v.strip() for v in distinct], dtype=bool)
    if blank.any():
        raise ValueError(f"categories must not be blank, got {_first(distinct, blank)!r}")
    return np.where(missing, MISSING, column.astype(object).astype(str).to_numpy())


def _times(column: pd.Series) -> np.ndarray:
    """Times as naive UTC datetime64[ns]; bare numbers and missing times are refused."""
    dtype = column.dtype
    if not pd.api.types.is_datetime64_any_dtype(dtype):
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            if column.notna().any():
                example = _first(column.to_numpy(), column.notna().to_numpy())
                raise TypeError(f"times must be dates or times (strings, datetimes or Timestamps), not bare "
                                f"numbers: whether a number means seconds, milliseconds or nanoseconds cannot be "
                                f"guessed; got {column.dtype} values such as {example!r}")
        else:
            objects = _objects(column)
            kind = pd.api.types.infer_dtype(objects, skipna=True)
            if kind in _NUMBER_KINDS_IN_TIMES or kind == "mixed":
                bad = np.asarray([isinstance(v, (bool, np.bool_, numbers.Number)) and not pd.isna(v) for v in objects])
                if bad.any():
                    raise TypeError(f"times must be dates or times (strings, datetimes or Timestamps), not bare "
                                    f"numbers: whether a number means seconds, milliseconds or nanoseconds cannot be "
                                    f"guessed; got {_described(_first(objects, bad))}")
    # as_unit raises on times outside 1677-2262 where a plain cast would wrap them silently
    values = pd.to_datetime(column, utc=True, format="mixed").dt.tz_localize(None).dt.as_unit("ns").to_numpy()
    if np.isnat(values).any():
        raise ValueError("times cannot be missing")
    return values


def _checked_requests(requests) -> list[Mapping]:
    """``requests`` as a list, after checking that it is a sequence (not one dict, not a string)
    of mappings that each carry every one of :data:`REQUEST_FIELDS`. Shared by
    :meth:`FeaturePipeline.transform_requests` and chapter 7's compiled features, so that both
    refuse the same requests with the same messages."""
    if isinstance(requests, (Mapping, str, bytes)) or not isinstance(requests, Sequence):
        raise TypeError(f"requests must be a list of request dicts, got {type(requests).__name__}")
    for i, request in enumerate(requests):
        if not isinstance(request, Mapping):
            raise TypeError(f"request {i} must be a mapping of field to value, got {type(request).__name__}")
        missing = [f for f in REQUEST_FIELDS if f not in request]
        if missing:
            raise ValueError(f"request {i} lacks fields {missing}")
    return list(requests)


class FeaturePipeline(TransformerMixin, BaseEstimator):
    """Impressions (a DataFrame, or one request dict) to the numeric features a ranker uses.

    Steps, all fitted on the training rows: :func:`impression_attributes`; the user's and item's
    click history (:class:`HistoryFeatures`, point-in-time in ``fit_transform``); then one
    ``ColumnTransformer`` that

    - imputes missing numbers with the median, adding a missing-indicator column for each number
      that had missing values in the training rows (a column complete in training gets none, and
      a value missing later is imputed without a flag), then scales them robustly (median and
      interquartile range): ``log_price, age, rating, account_days, listing_days`` and the
      history features;
    - bins ``age`` into ``n_age_bins`` quantile bins, one-hot;
    - one-hot encodes ``device, user_region, category`` (unknown values get all zeros);
    - hashes ``brand`` into ``brand_buckets`` columns (:class:`HashingEncoder`) — new brands
      keep working;
    - crosses the pairs in ``crosses`` into ``cross_buckets`` hashed columns (:class:`FeatureCross`);
    - encodes the hour of day as sines and cosines (:class:`SinusoidalEncoding`, period 24);
    - encodes the slate ``position`` as chosen by ``position``: one-hot (a learned weight per
      slot), sinusoidal (the Transformer's geometric wavelengths, from ``2 pi`` to 40 slots, so
      that no two slots share a code), the plain number, or not at all.

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
            least, most = (2, MAX_AGE_BINS) if name == "n_age_bins" else (1, MAX_BUCKETS)
            what = f"a positive integer{' of at least 2' if name == 'n_age_bins' else ''}"
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise WrongTypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
            if not least <= value <= most:
                raise ValueError(f"{name} must be {what} (at most {most:,}), got {value!r}")
        if not isinstance(self.position, str) or self.position not in POSITION_ENCODINGS:
            raise ValueError(f"position must be one of {POSITION_ENCODINGS}, got {self.position!r}")
        for name in ("history", "sparse_output"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        allowed = set(CATEGORICAL) | {"brand", "position", "user_id", "item_id"}
        if isinstance(self.crosses, (str, bytes)) or not hasattr(self.crosses, "__iter__"):
            raise TypeError(f"crosses must be a tuple of column pairs, got {type(self.crosses).__name__} "
                            f"{self.crosses!r}")
        for pair in self.crosses:
            if isinstance(pair, (str, bytes)) or not hasattr(pair, "__iter__"):
                raise ValueError(f"each cross must name two or more of {sorted(allowed)}, got {pair!r}")
            names = list(pair)
            if len(names) < 2 or not all(isinstance(c, str) for c in names) or not set(names) <= allowed:
                raise ValueError(f"each cross must name two or more of {sorted(allowed)}, got {pair!r}")
            if len(set(names)) < len(names):
                raise ValueError(f"each cross must name different columns, got {pair!r}")

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
        if self.history:
            if "clicked" not in X.columns:
                raise ValueError("the history features need labels: pass y or a 'clicked' column")
            clicked = X["clicked"]
            if clicked.isna().any() or not set(pd.unique(clicked.to_numpy())).issubset({0, 1}):
                raise ValueError("column 'clicked' must hold clicks: booleans or 0/1, none missing")
        return X

    def _column_transformer(self) -> ColumnTransformer:
        numeric = NUMERIC + (HISTORY if self.history else [])
        parts = [
            ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), RobustScaler()), numeric),
            ("age_bins", make_pipeline(SimpleImputer(strategy="median"),
                                       KBinsDiscretizer(n_bins=self.n_age_bins, strategy="quantile",
                                                        random_state=0)), ["age"]),
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
            parts.append(("position", SinusoidalEncoding(n_frequencies=3, period=40.0, wavelengths="geometric"),
                          ["position"]))
        elif self.position == "number":
            parts.append(("position", "passthrough", ["position"]))
        return ColumnTransformer(parts, sparse_threshold=1.0)

    # ------------------------------------------------------------------ features
    def transform(self, X):
        """Features of a DataFrame of impressions (training, evaluation or batch prediction).

        Its columns are checked as :func:`impression_attributes` says, naming the column of a bad
        value; no rows give a matrix with no rows."""
        if not hasattr(self, "columns_"):
            raise RuntimeError("FeaturePipeline must be fitted before transform")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"FeaturePipeline needs a DataFrame of impressions, got {type(X).__name__}")
        attributes = impression_attributes(X)
        if len(attributes) == 0:  # no rows, no features: scikit-learn's imputer would refuse the empty table
            return self._finish(sparse.csr_matrix((0, len(self.columns_.get_feature_names_out()))))
        table = attributes
        if self.history:
            table = pd.concat([attributes, self.history_.transform(attributes).set_index(attributes.index)], axis=1)
        return self._finish(self.columns_.transform(table))

    def transform_one(self, request: Mapping):
        """Features of one request — a dict with the :data:`REQUEST_FIELDS` (more are ignored);
        times may be ISO 8601 strings. One row, exactly as :meth:`transform` would compute it.
        The values are checked as :func:`impression_attributes` says."""
        if not isinstance(request, Mapping):
            raise TypeError(f"request must be a mapping of field to value, got {type(request).__name__}")
        return self.transform_requests([request])

    def transform_requests(self, requests: Sequence[Mapping]):
        """Features of several requests as they arrive over HTTP, one row each, in one batch: the
        rows :meth:`transform_one` would give one at a time. The list is checked first (a list of
        dicts, each with every field: :func:`_checked_requests`, which chapter 7's compiled path
        shares), then every field as :func:`impression_attributes` says (``position`` a whole
        number from 1, ids integers within int64, times not bare numbers, categories non-blank
        strings, numbers finite)."""
        requests = _checked_requests(requests)
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

    def update_history(self, X, y=None) -> "FeaturePipeline":
        """Add newly labelled impressions to the click history; every other step stays as fitted.

        Afterwards :meth:`transform` reads the counts of the training rows plus every batch added
        (:meth:`HistoryFeatures.partial_fit`): how an online path keeps its users' and items'
        click rates fresh between refits, with the encoders, the scaler and the model unchanged.
        ``X`` needs the :data:`REQUEST_FIELDS` and a ``clicked`` column (or ``y``); an empty batch
        changes nothing, and a bad one raises before anything is added.

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        if not hasattr(self, "columns_"):
            raise RuntimeError("FeaturePipeline must be fitted before its history is updated")
        if not self.history:
            raise ValueError("this FeaturePipeline has no click-history features (history=False) to update")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"FeaturePipeline needs a DataFrame of impressions, got {type(X).__name__}")
        if len(X) == 0:
            return self
        rows = self._labeled(X, y)
        self.history_.partial_fit(impression_attributes(rows).assign(clicked=rows["clicked"].to_numpy(dtype=bool)))
        return self
