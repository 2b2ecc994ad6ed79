"""The chapter 5 transformers: hashed one-hot, hashed crosses and sinusoidal encodings."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from dmls.features import FeatureCross, HashingEncoder, SinusoidalEncoding


# ---------------------------------------------------------------------------- scikit-learn's own checks
@parametrize_with_checks([HashingEncoder(n_buckets=16), FeatureCross(), SinusoidalEncoding()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def hashed(tokens, n_buckets, alternate_sign=False):
    """What FeatureHasher makes of rows of ``"column=value"`` tokens: the encoding by hand."""
    return FeatureHasher(n_features=n_buckets, input_type="string", alternate_sign=alternate_sign
                         ).transform(tokens).toarray()


@pytest.fixture
def brands():
    return pd.DataFrame({"brand": ["Acme", "Zenfamo", "Acme", "Lisa"],
                         "device": ["mobile", "desktop", "tablet", "mobile"]})


# ---------------------------------------------------------------------------- HashingEncoder
def test_hashing_encoder_hashes_column_equals_value_tokens(brands):
    enc = HashingEncoder(n_buckets=64).fit(brands)
    out = enc.transform(brands)
    assert sparse.issparse(out) and out.shape == (4, 64)
    expected = hashed([[f"brand={b}", f"device={d}"] for b, d in zip(brands.brand, brands.device)], 64)
    np.testing.assert_array_equal(out.toarray(), expected)
    # One active column per input column (or one with weight 2 where the two collide).
    np.testing.assert_array_equal(out.toarray().sum(axis=1), 2)


def test_unseen_categories_never_fail_and_seen_ones_keep_their_bucket(brands):
    enc = HashingEncoder(n_buckets=32).fit(brands)
    fitted = enc.transform(brands).toarray()
    new = pd.DataFrame({"brand": ["Nova0", "Acme", "Nova7"], "device": ["smartwatch", "mobile", "mobile"]})
    out = enc.transform(new).toarray()
    assert out.shape == (3, 32)
    np.testing.assert_array_equal(out.sum(axis=1), 2)  # every value lands somewhere
    np.testing.assert_array_equal(out[1], fitted[0])  # ("Acme", "mobile") seen in fit: same buckets
    # Hashing is stateless: a fresh encoder fitted on other rows puts the values in the same buckets.
    other = HashingEncoder(n_buckets=32).fit(new)
    np.testing.assert_array_equal(other.transform(brands).toarray(), fitted)


def test_dataframe_and_ndarray_input_map_alike(brands):
    enc = HashingEncoder(n_buckets=32).fit(brands)
    from_frame = enc.transform(brands).toarray()
    with pytest.warns(UserWarning, match="feature names"):
        from_array = enc.transform(brands.to_numpy()).toarray()
    np.testing.assert_array_equal(from_array, from_frame)
    # An encoder fitted on an array names the columns x0, x1, ...
    on_array = HashingEncoder(n_buckets=32).fit(brands.to_numpy())
    renamed = brands.set_axis(["x0", "x1"], axis=1)
    np.testing.assert_array_equal(on_array.transform(brands.to_numpy()).toarray(),
                                  HashingEncoder(n_buckets=32).fit(renamed).transform(renamed).toarray())


@pytest.mark.parametrize("missing", [None, np.nan, float("nan")])
def test_missing_values_become_a_missing_token(missing):
    frame = pd.DataFrame({"brand": pd.Series(["Acme", missing], dtype=object), "age": [31.0, np.nan]})
    out = HashingEncoder(n_buckets=128).fit(frame).transform(frame).toarray()
    expected = hashed([["brand=Acme", "age=31"], ["brand=<missing>", "age=<missing>"]], 128)
    np.testing.assert_array_equal(out, expected)
    cross = FeatureCross().fit(frame).crossed(frame)
    assert list(cross["brand&age"]) == ["Acme|31", "<missing>|<missing>"]


def test_missing_values_in_an_object_array():
    X = np.array([["a", None], [np.nan, "b"]], dtype=object)
    out = HashingEncoder(n_buckets=64).fit(X).transform(X).toarray()
    np.testing.assert_array_equal(out, hashed([["x0=a", "x1=<missing>"], ["x0=<missing>", "x1=b"]], 64))


def test_pandas_na_is_missing_too():
    nullable = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "s": pd.array(["x", None], dtype="string")})
    plain = pd.DataFrame({"n": [1.0, np.nan], "s": ["x", None]})
    enc = HashingEncoder(n_buckets=64).fit(plain)
    np.testing.assert_array_equal(enc.transform(nullable).toarray(), enc.transform(plain).toarray())


def test_buckets_lists_distinct_tokens_and_their_bucket(brands):
    enc = HashingEncoder(n_buckets=64).fit(brands)
    table = enc.buckets(brands)
    assert list(table.columns) == ["token", "bucket"]
    assert sorted(table.token) == sorted({f"brand={b}" for b in brands.brand} | {f"device={d}" for d in brands.device})
    for token, bucket in table.itertuples(index=False):
        assert hashed([[token]], 64)[0].nonzero()[0].tolist() == [bucket]
    assert (HashingEncoder(n_buckets=1).fit(brands).buckets(brands).bucket == 0).all()  # all collide
    cross = FeatureCross(n_buckets=64).fit(brands).buckets(brands)
    assert set(cross.token) == {f"brand&device={b}|{d}" for b, d in zip(brands.brand, brands.device)}


def test_three_and_three_point_zero_are_one_category():
    ints = pd.DataFrame({"size": [3, 4]})
    floats = pd.DataFrame({"size": [3.0, 4.0]})
    enc = HashingEncoder(n_buckets=64).fit(ints)
    np.testing.assert_array_equal(enc.transform(floats).toarray(), enc.transform(ints).toarray())
    np.testing.assert_array_equal(enc.transform(ints).toarray(), hashed([["size=3"], ["size=4"]], 64))
    # 3.5 is not 3: non-integral floats keep their value.
    three_and_a_half = enc.transform(pd.DataFrame({"size": [3.5]})).toarray()
    assert not np.array_equal(three_and_a_half, enc.transform(ints.head(1)).toarray())


@given(values=st.lists(st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["a", "b", "3", "<NA>"]),
                                 st.floats(-3, 3).map(lambda f: round(f, 1))), min_size=1, max_size=15))
def test_a_rows_encoding_does_not_depend_on_the_rest_of_the_batch(values):
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object), "w": pd.Series(values[::-1], dtype=object)})
    enc = HashingEncoder(n_buckets=2**12).fit(frame)
    batch = enc.transform(frame).toarray()
    for i in range(len(frame)):
        np.testing.assert_array_equal(enc.transform(frame.iloc[[i]]).toarray()[0], batch[i])
    cross = FeatureCross(n_buckets=2**12).fit(frame)
    crossed = cross.crossed(frame)
    for i in range(len(frame)):
        assert cross.crossed(frame.iloc[[i]]).iloc[0, 0] == crossed.iloc[i, 0]


def test_booleans_and_integers_are_encoded_row_by_row():
    frame = pd.DataFrame({"flag": pd.Series([True, 1], dtype=object)})
    enc = HashingEncoder(n_buckets=2**12).fit(frame)
    alone = enc.transform(frame.iloc[[1]]).toarray()[0]
    np.testing.assert_array_equal(enc.transform(frame).toarray()[1], alone)


def test_one_bucket_makes_everything_collide(brands):
    out = HashingEncoder(n_buckets=1).fit(brands).transform(brands).toarray()
    np.testing.assert_array_equal(out, np.full((4, 1), 2.0))


def test_same_value_in_different_columns_hashes_to_different_tokens():
    frame = pd.DataFrame({"seller_country": ["DE"], "user_region": ["DE"]})
    out = HashingEncoder(n_buckets=2**20).fit(frame).transform(frame)
    assert out.nnz == 2  # "seller_country=DE" and "user_region=DE" are two tokens
    np.testing.assert_array_equal(out.toarray(), hashed([["seller_country=DE", "user_region=DE"]], 2**20))


def test_alternate_sign_gives_signed_buckets(brands):
    out = HashingEncoder(n_buckets=2**16, alternate_sign=True).fit(brands).transform(brands).toarray()
    assert set(np.unique(out)) <= {-1.0, 0.0, 1.0} and (out < 0).any()
    np.testing.assert_array_equal(np.abs(out).sum(axis=1), 2)


def test_feature_names_out_have_one_name_per_column(brands):
    assert len(HashingEncoder(n_buckets=16).fit(brands).get_feature_names_out()) == 16
    assert len(FeatureCross(n_buckets=8).fit(brands).get_feature_names_out()) == 8
    sin = SinusoidalEncoding(n_frequencies=3).fit(pd.DataFrame({"position": [1.0, 2.0], "hour": [3.0, 4.0]}))
    names = sin.get_feature_names_out()
    assert len(names) == 2 * 2 * 3 == sin.transform(pd.DataFrame({"position": [1.0], "hour": [2.0]})).shape[1]
    assert list(names[:6]) == ["position_sin0", "position_sin1", "position_sin2",
                               "position_cos0", "position_cos1", "position_cos2"]
    for transformer in (HashingEncoder(), FeatureCross(), SinusoidalEncoding()):
        with pytest.raises(NotFittedError):
            transformer.get_feature_names_out()


def clicks_by_category(n=600, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"brand": rng.choice(["Acme", "Dorsol", "Lisa", "Nova"], n),
                          "device": rng.choice(["mobile", "desktop"], n),
                          "position": rng.integers(1, 11, n).astype(float)})
    y = ((frame.brand.isin(["Acme", "Lisa"])) ^ (rng.random(n) < 0.1)).astype(int)
    return frame, y


def test_works_inside_column_transformer_and_pipeline():
    X, y = clicks_by_category()
    columns = ColumnTransformer([
        ("brand", HashingEncoder(n_buckets=32), ["brand"]),
        ("cross", FeatureCross(n_buckets=32), ["brand", "device"]),
        ("position", SinusoidalEncoding(n_frequencies=2), ["position"]),
    ])
    model = Pipeline([("features", columns), ("scale", StandardScaler(with_mean=False)),
                      ("lr", LogisticRegression(max_iter=500))])
    model.fit(X[:400], y[:400])
    accuracy = (model.predict(X[400:]) == y[400:]).mean()
    assert accuracy > 0.85  # the label is the brand group, flipped 10% of the time
    names = model[:-2].get_feature_names_out()
    assert len(names) == 32 + 32 + 4 and names[0] == "brand__hash0" and names[-1] == "position__position_cos1"
    # New brands at predict time: no error.
    new = X.head(3).assign(brand=["Nova9", "Brandnew", "Acme"])
    assert model.predict_proba(new).shape == (3, 2)


@pytest.mark.parametrize("estimator", [HashingEncoder(n_buckets=8, alternate_sign=True),
                                       FeatureCross(groups=[("a", "b")], n_buckets=4),
                                       SinusoidalEncoding(n_frequencies=2, period=7.0)], ids=type)
def test_clone_keeps_parameters_and_drops_fit(estimator):
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    estimator.fit(X)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params() and not hasattr(copy, "n_features_in_")
    np.testing.assert_array_equal(_dense(copy.fit(X).transform(X)), _dense(estimator.transform(X)))


def _dense(matrix):
    return matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)


@pytest.mark.parametrize("make", [HashingEncoder, lambda n_buckets: FeatureCross(n_buckets=n_buckets)],
                         ids=["HashingEncoder", "FeatureCross"])
@pytest.mark.parametrize("n_buckets", [0, -3, True, 2.5, "8"])
def test_bad_bucket_counts_are_named(make, n_buckets, brands):
    with pytest.raises(ValueError, match="n_buckets must be a positive integer"):
        make(n_buckets=n_buckets).fit(brands)


@pytest.mark.parametrize("make", [HashingEncoder, FeatureCross], ids=lambda c: c.__name__)
def test_transform_checks_the_columns(make, brands):
    enc = make(n_buckets=8).fit(brands)
    with pytest.raises(ValueError, match="X has 1 columns; .* fitted with 2"):
        enc.transform(brands[["brand"]])
    with pytest.raises(ValueError, match=r"X has columns \['brand', 'seller'\]; .* fitted with \['brand', 'device'\]"):
        enc.transform(brands.rename(columns={"device": "seller"}))
    with pytest.raises(ValueError, match="columns"):
        enc.transform(brands[["device", "brand"]])  # the same columns, swapped
    with pytest.raises(ValueError, match="features"):
        HashingEncoder(n_buckets=8).fit(brands.to_numpy()).transform(brands.to_numpy()[:, :1])


# ---------------------------------------------------------------------------- FeatureCross
def test_crossed_values_and_names(brands):
    cross = FeatureCross(groups=[("brand", "device"), (1, 0)], n_buckets=64).fit(brands)
    values = cross.crossed(brands)
    assert list(values.columns) == ["brand&device", "device&brand"]
    assert list(values["brand&device"]) == ["Acme|mobile", "Zenfamo|desktop", "Acme|tablet", "Lisa|mobile"]
    assert values["device&brand"].iloc[0] == "mobile|Acme"
    # transform hashes "group=cross value" tokens.
    expected = hashed([[f"brand&device={a}", f"device&brand={b}"] for a, b in values.itertuples(index=False)], 64)
    np.testing.assert_array_equal(cross.transform(brands).toarray(), expected)
    # By default all columns are crossed together.
    assert list(FeatureCross().fit(brands).crossed(brands).columns) == ["brand&device"]


@given(rows=st.lists(st.tuples(st.sampled_from(["mobile", "desktop", "tablet"]),
                               st.text(alphabet="abcxyz", min_size=1, max_size=3),
                               st.one_of(st.none(), st.integers(0, 4))), min_size=1, max_size=40))
def test_number_of_cross_values_is_number_of_combinations(rows):
    frame = pd.DataFrame(rows, columns=["device", "brand", "rating"]).astype(object)
    values = FeatureCross(groups=[("device", "brand"), ("device", "brand", "rating")]).fit(frame).crossed(frame)
    assert values["device&brand"].nunique() == len({(d, b) for d, b, _ in rows})
    assert values["device&brand&rating"].nunique() == len(set(rows))


def test_cross_values_with_the_separator_stay_distinct():
    frame = pd.DataFrame({"a": ["x|y", "x"], "b": ["z", "y|z"]})
    values = FeatureCross().fit(frame).crossed(frame)
    assert values["a&b"].nunique() == 2


@pytest.mark.parametrize("groups, message", [
    ([("brand", "seller")], "unknown column 'seller'"),
    ([(0, 2)], "position 2 is out of range"),
    ([(-1, 0)], "position -1 is out of range"),
    ([("brand",)], "at least two columns"),
    ([], "at least one group"),
])
def test_bad_groups_are_named(brands, groups, message):
    with pytest.raises(ValueError, match=message):
        FeatureCross(groups=groups).fit(brands)


def test_cross_of_one_column_is_refused(brands):
    with pytest.raises(ValueError, match="at least two columns"):
        FeatureCross().fit(brands[["brand"]])
    with pytest.raises(NotFittedError):
        FeatureCross().crossed(brands)


# ---------------------------------------------------------------------------- SinusoidalEncoding
def _sin_cos(out, n_columns, n_frequencies):
    parts = out.reshape(len(out), n_columns, 2, n_frequencies)
    return parts[:, :, 0, :], parts[:, :, 1, :]


def test_sinusoidal_values_by_hand():
    out = SinusoidalEncoding(n_frequencies=2, period=20.0).fit([[0.0]]).transform([[5.0], [0.0]])
    # x = 5 is a quarter period: angles pi/2 and pi.
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.0, -1.0], [0.0, 0.0, 1.0, 1.0]], atol=1e-12)


positions = st.lists(st.floats(-1_000, 1_000, allow_nan=False), min_size=1, max_size=20)


@given(xs=positions, n_frequencies=st.integers(1, 6), period=st.floats(0.5, 100))
def test_sinusoidal_is_bounded_and_on_the_unit_circle(xs, n_frequencies, period):
    X = np.column_stack([xs, xs[::-1]])
    out = SinusoidalEncoding(n_frequencies=n_frequencies, period=period).fit(X).transform(X)
    assert out.shape == (len(xs), 2 * 2 * n_frequencies)
    assert np.all(np.abs(out) <= 1.0)
    sin, cos = _sin_cos(out, 2, n_frequencies)
    np.testing.assert_allclose(sin ** 2 + cos ** 2, 1.0, atol=1e-12)


@given(xs=positions, period=st.floats(1, 50), n_frequencies=st.integers(1, 4))
def test_sinusoidal_is_periodic(xs, period, n_frequencies):
    X = np.asarray(xs)[:, None]
    enc = SinusoidalEncoding(n_frequencies=n_frequencies, period=period).fit(X)
    np.testing.assert_allclose(enc.transform(X + period), enc.transform(X), atol=1e-8)


@given(x=st.floats(-100, 100), step=st.floats(-0.5, 0.5), n_frequencies=st.integers(1, 5))
def test_nearby_positions_get_nearby_codes(x, step, n_frequencies):
    period = 20.0
    enc = SinusoidalEncoding(n_frequencies=n_frequencies, period=period).fit([[x]])
    a, b = enc.transform([[x], [x + step]])
    # Each (sin, cos) pair moves along the unit circle at speed 2 pi 2^k / period.
    speeds = 2 * np.pi * 2.0 ** np.arange(n_frequencies) / period
    assert np.linalg.norm(a - b) <= abs(step) * np.sqrt((speeds ** 2).sum()) + 1e-9


@pytest.mark.parametrize("params, message", [
    (dict(n_frequencies=0), "n_frequencies"), (dict(n_frequencies=True), "n_frequencies"),
    (dict(n_frequencies=2.5), "n_frequencies"), (dict(period=0), "period"), (dict(period=-20.0), "period"),
    (dict(period=np.inf), "period"), (dict(period=np.nan), "period"), (dict(period="20"), "period"),
])
def test_bad_sinusoidal_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        SinusoidalEncoding(**params).fit([[1.0]])


def test_sinusoidal_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        SinusoidalEncoding().fit([[1.0], [np.nan]])
    enc = SinusoidalEncoding().fit([[1.0], [2.0]])
    with pytest.raises(ValueError, match="NaN"):
        enc.transform([[np.nan]])
    with pytest.raises(ValueError, match="features"):
        enc.transform([[1.0, 2.0]])
