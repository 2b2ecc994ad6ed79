"""The online path made fast: a fitted feature pipeline compiled into arrays and lookup tables.

Introduced in chapter 7 ("Model Deployment and Prediction Service"). A request to rank one
slate holds one context and a few dozen candidates. Run through
:meth:`~dmls.features.FeaturePipeline.transform`, almost all of its time goes to building a
DataFrame and to scikit-learn's per-call input checks, not to arithmetic. :class:`CompiledFeatures`
reads the fitted pipeline's own parameters (the imputer's medians, the scaler's centre and
scale, the age-bin edges, the one-hot categories, the hash buckets, the history counts) once,
and computes the same features for a slate with a few NumPy operations. It is not a second
feature definition: every number comes from the fitted pipeline, and the tests check that its
features equal ``transform``'s to 1e-9 over random requests.

Only ISO 8601 calendar times are accepted as strings (``2026-03-02``, ``2026-03-02T14:05``,
``2026-03-02 14:05:00.5+01:00``, ``...Z``): the forms on which Python's ``datetime`` and
pandas agree. ``transform`` accepts more (``March 2, 2026``); a service should accept less.
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

import numpy as np
from sklearn.utils import murmurhash3_32

from dmls.features.pipeline import MISSING, REQUEST_FIELDS, _checked_requests

#: The time strings the compiled path accepts: an ISO 8601 calendar date, optionally a time of
#: day (minutes, seconds, up to six decimals) and an offset or ``Z``.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}"
                      r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?")
_EPOCH = datetime(1970, 1, 1)
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_HOUR = 3_600 * 10**9
_MIN_NS, _MAX_NS = -(2**63) + 1, 2**63 - 1  # what datetime64[ns] holds (1677 to 2262)
_CACHE_LIMIT = 100_000
_NUMERIC_INPUTS = ["log_price", "age", "rating", "account_days", "listing_days"]


def _time_ns(field: str, value) -> int:
    """A time as integer nanoseconds since 1970 (UTC), as the pipeline's datetime64[ns] holds it."""
    if isinstance(value, str):
        if not ISO_TIME.fullmatch(value):
            raise ValueError(f"{field} must be an ISO 8601 time such as 2026-03-02T14:05:00Z, got {value!r}")
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif hasattr(value, "value") and hasattr(value, "tz_localize"):  # a pandas Timestamp, nanoseconds exact
        if value is None or value != value:
            raise ValueError(f"{field} cannot be missing")
        ns = int(value.tz_convert("UTC").as_unit("ns").value if value.tzinfo else value.as_unit("ns").value)
        return ns
    elif isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ValueError(f"{field} cannot be missing")
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if value is None:
        raise ValueError(f"{field}: times cannot be missing")
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a date or time (an ISO 8601 string or a datetime), got "
                        f"{type(value).__name__} {value!r}")
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    delta = value - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
    if not _MIN_NS <= ns <= _MAX_NS:
        raise ValueError(f"{field} must be a time from 1677 to 2262, got {value!r}")
    return ns


def _days_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """As :func:`dmls.features.pipeline._days_between`, on integer nanoseconds."""
    with np.errstate(over="ignore"):
        exact = (later - earlier) / _NS_PER_DAY
    approx = (later.astype(float) - earlier.astype(float)) / 86_400e9
    return np.where(np.abs(approx) > 106_000, approx, exact)


def _id(field: str, value) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{field} must be an integer, got bool {value!r}")
    if isinstance(value, (int, np.integer)):
        value = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    elif isinstance(value, numbers.Real):
        raise ValueError(f"{field} must be a whole number from 0 to 2**63 - 1, got {value!r}")
    else:
        raise TypeError(f"{field} must be an integer, got {type(value).__name__} {value!r}")
    if not 0 <= value <= _MAX_NS:
        raise ValueError(f"{field} must be a whole number from 0 to 2**63 - 1, got {value!r}")
    return value


def _number(field: str, value) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{field} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isinf(value):
        raise ValueError(f"{field} must be finite (or missing), got {value!r}")
    return value


def _category(field: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string (or missing), got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{field} must not be blank, got {value!r}")
    return value


def _category_text(value) -> str:
    """As :func:`dmls.features.transformers._category_text` for the values a request holds."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _token(key: tuple) -> str:
    """The token FeatureHasher hashes: ``"brand=value"`` as given, or for a cross
    ``"a&b=x|y"`` with each value's text escaped as :class:`~dmls.features.FeatureCross` does."""
    if len(key) == 1:
        return key[0]
    name, *values = key
    return name + "=" + "|".join(_category_text(v).replace("\\", "\\\\").replace("|", "\\|") for v in values)


def _set_ones(out: np.ndarray, rows: np.ndarray, start: int, columns: list[int]) -> None:
    """``out[row, start + column] = 1`` where the column is known (not -1)."""
    columns = np.asarray(columns, dtype=np.intp)
    known = columns >= 0
    out[rows[known], start + columns[known]] = 1.0


class CompiledFeatures:
    """A fitted :class:`~dmls.features.FeaturePipeline`, compiled for scoring a few rows at a time.

    Parameters
    ----------
    pipeline : FeaturePipeline
        Fitted. Its parameters are copied into arrays and dictionaries; refitting the pipeline
        afterwards does not change a compiled copy.

    :meth:`transform_requests` takes the same request dicts as the pipeline's method of that name
    and returns the same features as a dense array; :meth:`transform_slate` takes one context
    and its candidates. Values are checked as the pipeline checks them; a bad one raises a
    ``TypeError`` or ``ValueError`` naming its field.

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """

    def __init__(self, pipeline):
        if not hasattr(pipeline, "columns_"):
            raise ValueError("the pipeline must be fitted before it is compiled")
        ct = pipeline.columns_
        self.n_features = len(ct.get_feature_names_out())
        self.slices = dict(ct.output_indices_)
        parts = {name: (transformer, columns) for name, transformer, columns in ct.transformers_}
        known = {"numeric", "age_bins", "onehot", "brand", "hour", "crosses", "position", "remainder"}
        unknown = set(parts) - known
        if unknown:
            raise ValueError(f"cannot compile a pipeline with steps {sorted(unknown)}")
        imputer, scaler = parts["numeric"][0].steps[0][1], parts["numeric"][0].steps[1][1]
        self.numeric_columns = list(parts["numeric"][1])
        self.medians = imputer.statistics_.astype(float)
        self.indicator_columns = (np.asarray(imputer.indicator_.features_, dtype=int)
                                  if imputer.add_indicator and imputer.indicator_ is not None else np.zeros(0, int))
        self.center = np.asarray(scaler.center_ if scaler.center_ is not None else 0.0, dtype=float)
        self.scale = np.asarray(scaler.scale_ if scaler.scale_ is not None else 1.0, dtype=float)
        age_imputer, binner = parts["age_bins"][0].steps[0][1], parts["age_bins"][0].steps[1][1]
        self.age_median = float(age_imputer.statistics_[0])
        self.age_edges = np.asarray(binner.bin_edges_[0][1:-1], dtype=float)
        self.age_n_bins = int(binner.n_bins_[0])
        onehot, self.onehot_columns = parts["onehot"][0], list(parts["onehot"][1])
        self.onehot_index, offset = [], 0
        for categories in onehot.categories_:
            self.onehot_index.append({str(c): offset + i for i, c in enumerate(categories)})
            offset += len(categories)
        brand = parts["brand"][0]
        self.brand_hash = (brand.n_buckets, brand.alternate_sign)
        hour = parts["hour"][0]
        self.hour_scales = hour._scales()
        self.crosses = None
        if "crosses" in parts and parts["crosses"][0] != "drop":
            cross, columns = parts["crosses"]
            names = list(columns)
            self.crosses = ([("&".join(names[i] for i in group), [names[i] for i in group])
                             for group in cross.groups_], cross.n_buckets, cross.alternate_sign)
        self.position_kind = pipeline.position
        if self.position_kind == "onehot":
            self.position_index = {float(c): i for i, c in enumerate(parts["position"][0].categories_[0])}
        elif self.position_kind == "sinusoidal":
            self.position_scales = parts["position"][0]._scales()
        self.history = None
        if pipeline.history:
            h = pipeline.history_
            users = h.users_.to_numpy()
            items = h.items_.to_numpy()
            self.history = {
                "prior": h.prior_, "user_prior": float(h.user_prior), "item_prior": float(h.item_prior),
                "users": dict(zip(h.users_.index.tolist(), map(tuple, users.tolist()))),
                "items": dict(zip(h.items_.index.tolist(), map(tuple, items.tolist()))),
                "user_category": {(u, str(c)): float(n) for (u, c), n in h.user_category_.items()},
            }
        self._buckets: dict = {}
        self._times: dict = {}

    def __repr__(self) -> str:
        return f"CompiledFeatures(n_features={self.n_features}, history={self.history is not None})"

    # -------------------------------------------------------------- hashing, cached per token
    def _add_hashed(self, out: np.ndarray, start: int, keys: list[tuple], n_buckets: int, alternate_sign: bool):
        """Add each row's hashed one-hot: ``keys[row]`` is ``("brand=" + value,)`` for the brand, or
        ``(cross name, value, value, ...)`` for a cross; the bucket of each key is cached."""
        cache = self._buckets
        columns, signs = [], []
        for key in keys:
            hit = cache.get(key)
            if hit is None:
                hit = self._bucket(_token(key), n_buckets, alternate_sign)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[key] = hit
            columns.append(hit[0])
            signs.append(hit[1])
        np.add.at(out, (np.arange(len(keys)), start + np.asarray(columns, dtype=np.intp)), signs)

    @staticmethod
    def _bucket(token: str, n_buckets: int, alternate_sign: bool) -> tuple[int, float]:
        h = murmurhash3_32(token, seed=0)  # what FeatureHasher computes for a string token
        return abs(h) % n_buckets, (-1.0 if alternate_sign and h < 0 else 1.0)

    # -------------------------------------------------------------- features
    def transform_requests(self, requests: Sequence[Mapping]) -> np.ndarray:
        """Dense features of request dicts (:data:`~dmls.features.REQUEST_FIELDS` each).

        Introduced in chapter 7 ("Model Deployment and Prediction Service").
        """
        return self._features(_checked_requests(requests))  # the pipeline's own checks

    def transform_slate(self, context: Mapping, candidates: Sequence[Mapping], position: int = 1) -> np.ndarray:
        """Dense features of each candidate shown to ``context`` at ``position``: the rows of
        :meth:`transform_requests` for ``{**context, **candidate, "position": position}``, with the
        context's fields checked and converted once for the whole slate.

        Introduced in chapter 7 ("Model Deployment and Prediction Service").
        """
        n = len(candidates)
        values = {}
        for field in REQUEST_FIELDS:
            if field == "position":
                values[field] = self._convert(field, [position]) * n
            elif field in context and all(field not in c for c in candidates):
                values[field] = self._convert(field, [context[field]]) * n
            else:
                values[field] = self._convert(field, [c[field] if field in c else context[field] for c in candidates])
        return self._encode(values, n)

    def _features(self, rows: list[Mapping]) -> np.ndarray:
        values = {field: self._convert(field, [r[field] for r in rows]) for field in REQUEST_FIELDS}
        return self._encode(values, len(rows))

    def _convert(self, field: str, raw: list) -> list:
        """One field's values checked and converted, as :func:`~dmls.features.impression_attributes` does."""
        kind = REQUEST_FIELDS[field]
        if kind == "id":
            return [v if type(v) is int and 0 <= v <= _MAX_NS else _id(field, v) for v in raw]
        if kind == "number":
            return [float(v) if type(v) is float or type(v) is int else _number(field, v) for v in raw]
        if kind == "category":
            return [v if type(v) is str and v and not v.isspace() else _category(field, v) for v in raw]
        cache = self._times
        out = []
        for v in raw:
            ns = cache.get(v) if type(v) is str else None
            if ns is None:
                ns = _time_ns(field, v)
                if type(v) is str:
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    cache[v] = ns
            out.append(ns)
        return out

    def _encode(self, values: dict, n: int) -> np.ndarray:
        out = np.zeros((n, self.n_features))
        if n == 0:
            return out
        users, items = values["user_id"], values["item_id"]
        position = np.asarray(values["position"], dtype=float)
        bad = ~np.isfinite(position) | (position < 1) | (position != np.floor(position))
        if bad.any():
            raise ValueError(f"position must be a whole number from 1 (the top slot), got {position[bad][0]!r}")
        price = np.asarray(values["price"], dtype=float)
        if np.isinf(price).any() or (price <= 0).any():
            raise ValueError(f"price must be positive and finite, got {price[np.isinf(price) | (price <= 0)][0]!r}")
        age = np.asarray(values["age"], dtype=float)
        rating = np.asarray(values["rating"], dtype=float)
        for name, column in (("age", age), ("rating", rating)):
            if np.isinf(column).any():
                raise ValueError(f"{name} must be finite (or missing), got {column[np.isinf(column)][0]!r}")
        cats = {f: values[f] for f in ("device", "user_region", "category", "brand")}
        shown = np.asarray(values["shown_at"], dtype=np.int64)
        signup = np.asarray(values["signup_at"], dtype=np.int64)
        listed = np.asarray(values["listed_at"], dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_price = np.log(price)
        account_days = np.log1p(np.clip(_days_between(shown, signup), 0, None))
        listing_days = np.log1p(np.clip(_days_between(shown, listed), 0, None))
        hour = (shown - (shown // _NS_PER_DAY) * _NS_PER_DAY) / _NS_PER_HOUR
        numeric = {"log_price": log_price, "age": age, "rating": rating, "account_days": account_days,
                   "listing_days": listing_days}
        if self.history is not None:
            numeric.update(self._history(users, items, cats["category"]))
        x = np.column_stack([numeric[c] for c in self.numeric_columns])
        indicators = np.isnan(x[:, self.indicator_columns]).astype(float)
        x = np.where(np.isnan(x), self.medians, x)
        out[:, self.slices["numeric"]] = (np.column_stack([x, indicators]) - self.center) / self.scale
        a = np.where(np.isnan(age), self.age_median, age)
        bins = np.searchsorted(self.age_edges, a, side="right")
        start = self.slices["age_bins"].start
        out[np.arange(n), start + np.minimum(bins, self.age_n_bins - 1)] = 1.0
        rows = np.arange(n)
        start = self.slices["onehot"].start
        for column, index in zip(self.onehot_columns, self.onehot_index):
            _set_ones(out, rows, start, [index.get(v, -1) for v in cats[column]])
        n_buckets, alternate = self.brand_hash
        self._add_hashed(out, self.slices["brand"].start, [("brand=" + v,) for v in cats["brand"]], n_buckets, alternate)
        angles = hour[:, None] * self.hour_scales[None, :]
        out[:, self.slices["hour"]] = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
        if self.crosses is not None:
            groups, n_buckets, alternate = self.crosses
            columns_of = {"position": position.tolist(), "user_id": users, "item_id": items, **cats}
            for name, columns in groups:
                keys = list(zip(*(columns_of[c] for c in columns)))
                self._add_hashed(out, self.slices["crosses"].start, [(name,) + k for k in keys], n_buckets, alternate)
        if self.position_kind == "onehot":
            _set_ones(out, rows, self.slices["position"].start, [self.position_index.get(p, -1) for p in position.tolist()])
        elif self.position_kind == "sinusoidal":
            angles = position[:, None] * self.position_scales[None, :]
            out[:, self.slices["position"]] = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
        elif self.position_kind == "number":
            out[:, self.slices["position"]] = position[:, None]
        return out

    def _history(self, users: list[int], items: list[int], categories: list[str]) -> dict:
        h = self.history
        user = np.asarray([h["users"].get(u, (0, 0)) for u in users], dtype=float).reshape(-1, 2)
        item = np.asarray([h["items"].get(i, (0, 0)) for i in items], dtype=float).reshape(-1, 2)
        in_category = np.asarray([h["user_category"].get((u, c), 0.0) for u, c in zip(users, categories)])
        prior = h["prior"]
        return {"user_ctr": (user[:, 1] + h["user_prior"] * prior) / (user[:, 0] + h["user_prior"]),
                "item_ctr": (item[:, 1] + h["item_prior"] * prior) / (item[:, 0] + h["item_prior"]),
                "taste_share": (in_category + 0.1) / (user[:, 1] + 1.0)}


class CompiledScorer:
    """A :class:`~dmls.serving.ClickScorer` whose features come from :class:`CompiledFeatures`.

    Same scores as the scorer it compiles (to 1e-9), same checks, same ranking; a binary
    logistic regression is evaluated as one dot product, any other classifier through its own
    ``predict_proba`` on the dense features.

    Parameters
    ----------
    scorer : ClickScorer

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """

    def __init__(self, scorer):
        from .service import ClickScorer

        if not isinstance(scorer, ClickScorer):
            raise TypeError(f"CompiledScorer needs a ClickScorer, got {type(scorer).__name__}")
        self.scorer = scorer
        self.version = scorer.version
        self.model = scorer.model
        self.features = CompiledFeatures(scorer.pipeline)
        self._linear = None
        coef = getattr(scorer.model, "coef_", None)
        from sklearn.linear_model import LogisticRegression

        if type(scorer.model) is LogisticRegression and coef is not None and coef.shape[0] == 1:
            sign = 1.0 if scorer._positive == 1 else -1.0
            self._linear = (sign * coef[0].astype(float), sign * float(scorer.model.intercept_[0]))

    def __repr__(self) -> str:
        kind = "linear" if self._linear is not None else type(self.model).__name__
        return f"CompiledScorer(version={self.version!r}, model={kind}, features={self.features.n_features})"

    @property
    def n_features(self) -> int:
        return self.features.n_features

    def _proba(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        if self._linear is not None:
            w, b = self._linear
            z = x @ w + b
            with np.errstate(over="ignore"):
                return 1.0 / (1.0 + np.exp(-z))
        return self.scorer._proba(x)

    def score_many(self, requests: Sequence[Mapping]) -> np.ndarray:
        """Click probabilities of request dicts, as :meth:`ClickScorer.score_many` gives them.

        Introduced in chapter 7 ("Model Deployment and Prediction Service").
        """
        return self._proba(self.features.transform_requests(requests))

    def score_one(self, request: Mapping) -> float:
        """Click probability of one request dict.

        Introduced in chapter 7 ("Model Deployment and Prediction Service").
        """
        if not isinstance(request, Mapping):
            raise TypeError(f"request must be a mapping of field to value, got {type(request).__name__}")
        return float(self.score_many([request])[0])

    def rank(self, context: Mapping, candidates: Sequence[Mapping]) -> list[dict]:
        """Candidates best first, each scored at position 1, as :meth:`ClickScorer.rank` does.

        Introduced in chapter 7 ("Model Deployment and Prediction Service").
        """
        from .service import CANDIDATE_FIELDS, CONTEXT_FIELDS, RANKING_POSITION, _ranked, _slate_item_ids

        item_ids = _slate_item_ids(context, candidates)
        if not item_ids:
            return []
        shared = {f: context[f] for f in CONTEXT_FIELDS}
        slate = [{f: c[f] for f in CANDIDATE_FIELDS} for c in candidates]
        return _ranked(item_ids, self._proba(self.features.transform_slate(shared, slate, RANKING_POSITION)))
