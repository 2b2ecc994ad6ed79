"""Feature transformers that scikit-learn does not provide, with its estimator API.

Introduced in chapter 5 ("Common Feature Engineering Operations"). Imputation with missing
indicators, robust and log scaling and quantile binning are scikit-learn's own
(``SimpleImputer(add_indicator=True)``, ``RobustScaler``, ``FunctionTransformer(np.log1p)``,
``KBinsDiscretizer``) and are used as they are; what is added here:

- :class:`HashingEncoder` — categorical columns to a fixed number of hashed one-hot buckets, so
  that a category never seen in training (a new brand) still gets a column instead of an error;
- :class:`FeatureCross` — crosses of two or more categorical columns, hashed the same way;
- :class:`SinusoidalEncoding` — a continuous position (or any periodic or ordered number) as
  sines and cosines of several frequencies.

All three accept DataFrames or arrays, keep their parameters as given until ``fit``, end fitted
attributes in ``_``, work inside ``Pipeline`` and ``ColumnTransformer`` and pass scikit-learn's
estimator checks (``tests/features/test_transformers.py``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.utils.validation import check_is_fitted, validate_data


class WrongTypeError(TypeError, ValueError):
    """A value of the wrong type. A ``TypeError``, as every wrong type is since issue 9, and still a
    ``ValueError``, which these checks raised for wrong types before, so that callers catching that
    keep working.

    Introduced in chapter 5 ("Common Feature Engineering Operations"), for the checks of the
    feature transformers and pipeline; the models of chapter 5 use it too.
    """


#: The most buckets scikit-learn's ``FeatureHasher`` can hash into (a 32-bit column index).
MAX_BUCKETS = int(np.iinfo(np.int32).max)
#: The most frequencies :class:`SinusoidalEncoding` makes: beyond 2**63 / period, the codes of
#: nearby numbers are float rounding noise.
MAX_FREQUENCIES = 64
#: The wavelength schemes of :class:`SinusoidalEncoding` (``"harmonic"`` is an older name of
#: ``"dyadic"``, kept so that code written before the rename runs unchanged).
WAVELENGTHS = ("dyadic", "geometric", "harmonic")


def _check_buckets(n_buckets) -> None:
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)):
        raise WrongTypeError(f"n_buckets must be a positive integer, got {type(n_buckets).__name__} {n_buckets!r}")
    if not 1 <= n_buckets <= MAX_BUCKETS:
        raise ValueError(f"n_buckets must be a positive integer of at most {MAX_BUCKETS:,}, got {n_buckets!r}")


def _check_bool(name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def _remember_columns(estimator, X) -> None:
    """Set ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame) without converting
    the values, which may be strings, numbers or missing."""
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        estimator.feature_names_in_ = np.asarray(X.columns, dtype=object)
        estimator.n_features_in_ = X.shape[1]
    else:
        validate_data(estimator, X, dtype=None, ensure_all_finite=False, reset=True)
    names = getattr(estimator, "feature_names_in_", None)
    estimator._names = [str(c) for c in names] if names is not None else \
        [f"x{i}" for i in range(estimator.n_features_in_)]


def _object_values(estimator, X) -> np.ndarray:
    """``X`` as a 2-d object array, checked against the columns seen in ``fit``."""
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != estimator.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} columns; {type(estimator).__name__} was fitted with "
                             f"{estimator.n_features_in_}")
        names = getattr(estimator, "feature_names_in_", None)
        if names is not None and list(X.columns) != list(names):
            raise ValueError(f"X has columns {list(X.columns)}; {type(estimator).__name__} was fitted with "
                             f"{list(names)}")
        return X.astype(object).to_numpy()
    X = validate_data(estimator, X, dtype=None, ensure_all_finite=False, reset=False)
    return np.asarray(X, dtype=object)


def _category_text(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, (float, np.floating))
                                                              and np.isnan(value)):
        return "<missing>"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))  # 3.0 and 3 are the same category
    return str(value)


_SAFE_KINDS = {"string", "integer", "floating", "integer-na", "mixed-integer-float", "empty", "categorical"}


def _category_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct :func:`_category_text` of ``values`` in order of first appearance, and each
    value's index into them: ``texts[codes]`` is the text of every value. Computed once per
    distinct value, unless booleans are mixed in: pandas counts ``True`` and ``1`` as one value,
    and they must stay apart."""
    values = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in _SAFE_KINDS:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        texts = np.asarray([_category_text(u) for u in uniques], dtype=object)
    else:
        codes = np.arange(len(values))
        texts = np.asarray([_category_text(v) for v in values], dtype=object)
    text_codes, distinct = pd.factorize(texts)  # 3 and 3.0 are one text
    return text_codes[codes], np.asarray(distinct, dtype=object)


def _category_texts(values: np.ndarray) -> np.ndarray:
    """:func:`_category_text` of every value (see :func:`_category_codes`)."""
    codes, texts = _category_codes(values)
    return texts[codes]


def _escaped(texts: np.ndarray) -> np.ndarray:
    """Texts with the cross separator escaped, so that ("x|y", "z") and ("x", "y|z") differ."""
    return np.asarray([t.replace("\\", "\\\\").replace("|", "\\|") for t in texts], dtype=object)


def _hashed_onehot(columns, n_buckets: int, alternate_sign: bool) -> sparse.csr_matrix:
    """Sum of one-hot vectors, one per ``(name, codes, texts)`` column, of the bucket
    ``"name=" + texts[code]`` hashes to (scikit-learn's ``FeatureHasher``, applied once per
    distinct token)."""
    hasher = FeatureHasher(n_features=n_buckets, input_type="string", alternate_sign=alternate_sign)
    n = len(columns[0][1])
    if n == 0:
        return sparse.csr_matrix((0, n_buckets), dtype=np.float64)
    rows, cols, vals = [], [], []
    for name, codes, texts in columns:
        hashed = hasher.transform([[f"{name}={t}"] for t in texts]).tocsr()
        rows.append(np.arange(n))
        cols.append(hashed.indices[codes])
        vals.append(hashed.data[codes])
    data = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
    return sparse.csr_matrix(data, shape=(n, n_buckets), dtype=np.float64)


def _token_buckets(columns, n_buckets: int, alternate_sign: bool) -> pd.DataFrame:
    """The tokens ``"name=" + text`` of ``(name, codes, texts)`` columns, texts in order of first
    appearance, and the bucket each hashes to."""
    hasher = FeatureHasher(n_features=n_buckets, input_type="string", alternate_sign=alternate_sign)
    tokens = [f"{name}={t}" for name, _, texts in columns for t in texts]
    if not tokens:
        return pd.DataFrame({"token": [], "bucket": []})
    return pd.DataFrame({"token": tokens, "bucket": hasher.transform([[t] for t in tokens]).tocsr().indices})


class _CategoricalInputMixin:
    """Tells scikit-learn's checks that the estimator takes strings, categories and missing
    values as input."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


class HashingEncoder(_CategoricalInputMixin, TransformerMixin, BaseEstimator):
    """One-hot encoding into ``n_buckets`` columns chosen by hashing ``"column=value"``.

    Every value, seen in training or not, lands in some bucket: a new category costs a collision
    at worst, never an error. Different categories may share a bucket (a collision); with enough
    buckets collisions are rare, and chapter 5 measures what they cost.

    Parameters
    ----------
    n_buckets : int
        Number of output columns.
    alternate_sign : bool
        Give each token a hashed sign (+1/-1), so that collisions tend to cancel rather than add.

    Introduced in chapter 5 ("Encoding Categorical Features").
    """

    def __init__(self, n_buckets: int = 1024, alternate_sign: bool = False):
        self.n_buckets = n_buckets
        self.alternate_sign = alternate_sign

    def fit(self, X, y=None):
        _check_buckets(self.n_buckets)
        _check_bool("alternate_sign", self.alternate_sign)
        _remember_columns(self, X)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        values = _object_values(self, X)
        return _hashed_onehot([(name, *_category_codes(values[:, j])) for j, name in enumerate(self._names)],
                              self.n_buckets, self.alternate_sign)

    def buckets(self, X) -> pd.DataFrame:
        """The distinct tokens (``"column=value"``) in ``X`` and the bucket each hashes to; tokens
        that share a bucket collide."""
        check_is_fitted(self, "n_features_in_")
        values = _object_values(self, X)
        return _token_buckets([(name, *_category_codes(values[:, j])) for j, name in enumerate(self._names)],
                              self.n_buckets, self.alternate_sign)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "n_features_in_")
        return np.asarray([f"hash{i}" for i in range(self.n_buckets)], dtype=object)


class FeatureCross(_CategoricalInputMixin, TransformerMixin, BaseEstimator):
    """Crossed categorical features, one-hot encoded by hashing.

    For each group of input columns the cross is the combination of their values
    (``device&category = "mobile|books"``); every cross value is hashed, like
    :class:`HashingEncoder` does, into one of ``n_buckets`` output columns. A cross has up to the
    product of its inputs' cardinalities as values: it is how a linear model learns an
    interaction, and how the number of features explodes, which is why its values are hashed.
    :meth:`crossed` returns the cross values themselves.

    Parameters
    ----------
    groups : list of tuples of column positions or names, optional
        The columns to cross; by default all input columns together.
    n_buckets : int
        Number of output columns, shared by all groups.
    alternate_sign : bool
        As in :class:`HashingEncoder`.

    Introduced in chapter 5 ("Feature Crossing").
    """

    def __init__(self, groups=None, n_buckets: int = 1024, alternate_sign: bool = False):
        self.groups = groups
        self.n_buckets = n_buckets
        self.alternate_sign = alternate_sign

    def fit(self, X, y=None):
        _check_buckets(self.n_buckets)
        _check_bool("alternate_sign", self.alternate_sign)
        _remember_columns(self, X)
        names = self._names
        if self.groups is None:
            if self.n_features_in_ < 2:
                raise ValueError(f"FeatureCross needs at least two columns to cross; got n_features = {self.n_features_in_}")
            groups = [tuple(range(self.n_features_in_))]
        else:
            if isinstance(self.groups, (str, bytes)) or not hasattr(self.groups, "__iter__"):
                raise TypeError(f"groups must be a list of tuples of columns, got {type(self.groups).__name__} "
                                f"{self.groups!r}")
            groups = list(self.groups)
        if not groups:
            raise ValueError("groups must name at least one group of columns")
        resolved = []
        for group in groups:
            if isinstance(group, (str, bytes)) or not hasattr(group, "__iter__"):
                raise TypeError(f"each group in groups must be a tuple of columns, got {type(group).__name__} "
                                f"{group!r}")
            idx = []
            for col in group:
                if isinstance(col, (int, np.integer)) and not isinstance(col, bool):
                    if not 0 <= col < self.n_features_in_:
                        raise ValueError(f"column position {col} is out of range for {self.n_features_in_} columns")
                    idx.append(int(col))
                elif col in names:
                    idx.append(names.index(col))
                else:
                    raise ValueError(f"unknown column {col!r} in groups; columns: {names}")
            if len(idx) < 2:
                raise ValueError(f"a cross needs at least two columns, got {group!r}")
            if len(set(idx)) < len(idx):
                raise ValueError(f"a cross in groups names the same column twice: {group!r}")
            resolved.append(tuple(idx))
        self.groups_ = resolved
        return self

    def crossed(self, X) -> pd.DataFrame:
        """The cross values, one string column per group (named ``a&b``)."""
        return pd.DataFrame({name: texts[codes] for name, codes, texts in self._crosses(X)}, dtype=object)

    def _crosses(self, X) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """For each group: its name, and its cross values as codes into the distinct values (in
        order of first appearance), each ``"x|y"`` of its columns' escaped texts. The texts are
        built once per distinct combination, not once per row."""
        check_is_fitted(self, "groups_")
        values = _object_values(self, X)
        columns = [_category_codes(values[:, j]) for j in range(values.shape[1])]
        escaped = [_escaped(texts) for _, texts in columns]
        out = []
        for name, group in zip(self._group_names(), self.groups_):
            combined = columns[group[0]][0].astype(np.int64)
            for j in group[1:]:
                codes, texts = columns[j]
                # codes stay below the number of rows, so the product cannot overflow
                combined = pd.factorize(combined * len(texts) + codes)[0].astype(np.int64)
            first = np.unique(combined, return_index=True)[1]  # a row of each combination, by code
            texts = np.asarray(["|".join(escaped[j][columns[j][0][row]] for j in group) for row in first],
                               dtype=object)
            out.append((name, combined, texts))
        return out

    def transform(self, X):
        return _hashed_onehot(self._crosses(X), self.n_buckets, self.alternate_sign)

    def buckets(self, X) -> pd.DataFrame:
        """The distinct cross tokens (``"a&b=x|y"``) in ``X`` and the bucket each hashes to."""
        return _token_buckets(self._crosses(X), self.n_buckets, self.alternate_sign)

    def _group_names(self) -> list[str]:
        return ["&".join(self._names[i] for i in group) for group in self.groups_]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "groups_")
        return np.asarray([f"cross{i}" for i in range(self.n_buckets)], dtype=object)


class SinusoidalEncoding(TransformerMixin, BaseEstimator):
    """Each numeric column as ``sin`` and ``cos`` of ``2 pi x / wavelength`` at ``n_frequencies``
    wavelengths: nearby values get nearby codes, and a model can read both coarse and fine
    differences in position.

    Parameters
    ----------
    n_frequencies : int
        Number of wavelengths; each gives a sine and a cosine column.
    period : float
        The longest wavelength.
    wavelengths : {"dyadic", "geometric"}
        ``"dyadic"`` (the default): ``period, period/2, period/4, ...`` (octaves: a geometric
        sequence of ratio 2 that starts at ``period``). Every wavelength divides ``period``, so the
        code repeats exactly after ``period`` — right for a cyclic number such as the hour of the
        day (period 24), wrong for a position whose range reaches ``period``: values ``period``
        apart get the same code, and values ``period/2`` apart agree on every wavelength but the
        longest. ``"geometric"``: the Transformer's scheme (Vaswani et al., 2017), wavelengths
        evenly spaced on a log scale from ``min_wavelength`` up to ``period`` (the Transformer
        uses ``2 pi`` to about ``2 pi * 10000``). For a position, either scheme needs a longest
        wavelength well beyond the range of positions; then distinct positions get distinct codes
        and the dot product of two codes falls, roughly, with their distance. ``"harmonic"`` is
        accepted as an older name of ``"dyadic"`` (the wavelengths are not true harmonics,
        ``period/k``).
    min_wavelength : float
        The shortest wavelength of ``"geometric"`` (default ``2 pi``); at most ``period``. Not used
        by ``"dyadic"``.

    Introduced in chapter 5 ("Discrete and Continuous Positional Embeddings").
    """

    def __init__(self, n_frequencies: int = 4, period: float = 20.0, wavelengths: str = "dyadic",
                 min_wavelength: float = 2 * np.pi):
        self.n_frequencies = n_frequencies
        self.period = period
        self.wavelengths = wavelengths
        self.min_wavelength = min_wavelength

    def fit(self, X, y=None):
        if isinstance(self.n_frequencies, bool) or not isinstance(self.n_frequencies, (int, np.integer)):
            raise WrongTypeError(f"n_frequencies must be a positive integer, got {type(self.n_frequencies).__name__} "
                             f"{self.n_frequencies!r}")
        if not 1 <= self.n_frequencies <= MAX_FREQUENCIES:
            raise ValueError(f"n_frequencies must be a positive integer of at most {MAX_FREQUENCIES}, "
                             f"got {self.n_frequencies!r}")
        if isinstance(self.period, (bool, np.bool_)) or not isinstance(self.period, (int, float, np.number)):
            raise WrongTypeError(f"period must be a positive number, got {type(self.period).__name__} {self.period!r}")
        if not (np.isfinite(self.period) and self.period > 0):
            raise ValueError(f"period must be a positive number, got {self.period!r}")
        if not isinstance(self.wavelengths, str) or self.wavelengths not in WAVELENGTHS:
            raise ValueError(f"wavelengths must be one of {WAVELENGTHS}, got {self.wavelengths!r}")
        if self.wavelengths == "geometric":
            if isinstance(self.min_wavelength, (bool, np.bool_)) or \
                    not isinstance(self.min_wavelength, (int, float, np.number)):
                raise WrongTypeError(f"min_wavelength must be a positive number, got "
                                     f"{type(self.min_wavelength).__name__} {self.min_wavelength!r}")
            if not (np.isfinite(self.min_wavelength) and 0 < self.min_wavelength <= self.period):
                raise ValueError(f"min_wavelength must be a positive number no larger than period "
                                 f"({self.period!r}), got {self.min_wavelength!r}")
        if not np.isfinite(self._scales()).all():
            raise ValueError(f"period {self.period!r} is too small: its highest frequency overflows")
        validate_data(self, X, reset=True)
        return self

    def _scales(self) -> np.ndarray:
        """``2 pi / wavelength`` for each wavelength, longest first."""
        k = np.arange(self.n_frequencies)
        with np.errstate(over="ignore", divide="ignore"):
            if self.wavelengths == "geometric":
                ratio = (self.min_wavelength / self.period) ** (k / max(self.n_frequencies - 1, 1))
                return 2 * np.pi / (self.period * ratio)
            return 2 * np.pi * (2.0 ** k) / self.period

    @property
    def wavelengths_(self) -> np.ndarray:
        """The wavelengths used, longest first (after ``fit``)."""
        check_is_fitted(self, "n_features_in_")
        return 2 * np.pi / self._scales()

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False)
        scales = self._scales()
        angles = X[:, :, None] * scales[None, None, :]
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=2).reshape(len(X), -1)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "n_features_in_")
        names = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray([f"{n}_{f}{k}" for n in names for f in ("sin", "cos") for k in range(self.n_frequencies)],
                          dtype=object)
