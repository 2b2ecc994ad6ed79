"""Bad input to the feature pipeline, its transformers and the leakage checks fails at the boundary,
with a ``TypeError`` (wrong type) or ``ValueError`` (bad value) naming the parameter or column:
never silently, never deep inside scikit-learn (issue 9)."""
import json

import numpy as np
import pandas as pd
import pytest

from dmls.features import (REQUEST_FIELDS, FeatureCross, FeaturePipeline, HashingEncoder, SinusoidalEncoding,
                           check_time_split, cross_split_duplicates, group_overlap, impression_attributes,
                           single_feature_power, time_split)
from dmls.world import World

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def rows():
    return World(seed=917, n_users=800, n_items=300).run(days=2).labeled_impressions()


@pytest.fixture(scope="module")
def fitted(rows):
    return FeaturePipeline().fit(rows)


@pytest.fixture(scope="module")
def request_(rows):
    return json.loads(rows[list(REQUEST_FIELDS)].head(1).to_json(orient="records", date_format="iso"))[0]


# ---------------------------------------------------------------------------- one request
BAD_FIELDS = [
    # positions are 1-based whole numbers, never missing
    ("position", 0, ValueError), ("position", -3, ValueError), ("position", 1.5, ValueError),
    ("position", NAN, ValueError), ("position", None, ValueError), ("position", INF, ValueError),
    ("position", True, TypeError), ("position", "3", TypeError),
    # a bare number is not a time: seconds, milliseconds or nanoseconds?
    ("shown_at", 12345, TypeError), ("shown_at", 1.7e9, TypeError), ("shown_at", True, TypeError),
    ("signup_at", 0, TypeError), ("listed_at", 99, TypeError),
    # categories are non-blank strings
    ("device", 3, TypeError), ("device", "", ValueError), ("device", "   ", ValueError), ("device", True, TypeError),
    ("user_region", 7, TypeError), ("category", "", ValueError), ("brand", 5, TypeError), ("brand", "", ValueError),
    # numbers are real and finite (or missing)
    ("price", INF, ValueError), ("price", -INF, ValueError), ("price", True, TypeError),
    ("age", INF, ValueError), ("age", "40", TypeError), ("rating", -INF, ValueError), ("rating", True, TypeError),
    # ids are integers that fit in int64, from 0
    ("user_id", 2**64, ValueError), ("user_id", -1, ValueError), ("user_id", "5", TypeError),
    ("user_id", True, TypeError), ("item_id", 2**63, ValueError), ("item_id", -7, ValueError),
]


@pytest.mark.parametrize("field, value, error", BAD_FIELDS, ids=[f"{f}={v!r}" for f, v, _ in BAD_FIELDS])
def test_a_bad_request_field_is_named(fitted, request_, field, value, error):
    with pytest.raises(error, match=f"column '{field}'"):
        fitted.transform_one(dict(request_, **{field: value}))


@pytest.mark.parametrize("field, value, error", BAD_FIELDS[::3], ids=[f"{f}={v!r}" for f, v, _ in BAD_FIELDS[::3]])
def test_a_bad_field_in_a_batch_of_requests_is_named(fitted, request_, field, value, error):
    with pytest.raises(error, match=f"column '{field}'"):
        fitted.transform_requests([request_, dict(request_, **{field: value})])


def test_wrong_types_are_still_value_errors_for_old_callers(fitted, request_):
    with pytest.raises(ValueError, match="column 'device'"):
        fitted.transform_one(dict(request_, device=3))


@pytest.mark.parametrize("requests", ["abc", 5, {"user_id": 1}], ids=["str", "int", "dict"])
def test_requests_must_be_a_list(fitted, requests):
    with pytest.raises(TypeError, match="requests must be a list"):
        fitted.transform_requests(requests)


def test_no_requests_or_rows_give_no_features(fitted, rows):
    n = len(fitted.get_feature_names_out())
    assert fitted.transform_requests([]).shape == (0, n)
    assert fitted.transform(rows.head(0)).shape == (0, n)


# ---------------------------------------------------------------------------- frames
def _with(rows: pd.DataFrame, column: str, value, at: int = 3) -> pd.DataFrame:
    out = rows.head(20).astype({column: object})
    out.iloc[at, out.columns.get_loc(column)] = value
    return out


@pytest.mark.parametrize("column, value, error", [
    ("position", 0, ValueError), ("position", 2.5, ValueError), ("price", np.inf, ValueError),
    ("age", -np.inf, ValueError), ("rating", np.inf, ValueError), ("device", 3, TypeError), ("device", "", ValueError),
    ("shown_at", 12345, TypeError), ("user_id", 2**64, ValueError), ("user_id", -1, ValueError),
])
def test_a_bad_value_in_a_frame_is_named(fitted, rows, column, value, error):
    with pytest.raises(error, match=f"column '{column}'"):
        fitted.transform(_with(rows, column, value))
    with pytest.raises(error, match=f"column '{column}'"):
        impression_attributes(_with(rows, column, value))


def test_integer_times_are_refused(fitted, rows):
    frame = rows.head(20).assign(shown_at=rows["shown_at"].head(20).astype("int64"))
    with pytest.raises(TypeError, match="column 'shown_at'.*bare numbers"):
        fitted.transform(frame)


@pytest.mark.parametrize("change, error, message", [
    (dict(position=0), ValueError, "column 'position'"),
    (dict(price=np.inf), ValueError, "column 'price'"),
    (dict(clicked=np.nan), ValueError, "column 'clicked'"),
    (dict(clicked="yes"), ValueError, "column 'clicked'"),
])
def test_fit_names_bad_training_rows(rows, change, error, message):
    with pytest.raises(error, match=message):
        FeaturePipeline().fit(rows.head(200).assign(**change))


@pytest.mark.parametrize("params, error, message", [
    (dict(history="yes"), TypeError, "history must be True or False"),
    (dict(sparse_output="no"), TypeError, "sparse_output must be True or False"),
    (dict(crosses=5), TypeError, "crosses must be a tuple"),
    (dict(crosses=(("device", "device"),)), ValueError, "each cross must name different columns"),
    (dict(brand_buckets=2**40), ValueError, "brand_buckets"),
    (dict(n_age_bins=2**40), ValueError, "n_age_bins"),
])
def test_bad_pipeline_parameters_are_named(rows, params, error, message):
    with pytest.raises(error, match=message):
        FeaturePipeline(**params).fit(rows.head(200))


# ---------------------------------------------------------------------------- transformers
@pytest.fixture()
def brands():
    return pd.DataFrame({"brand": ["acme", "bolt", "acme"], "device": ["mobile", "desktop", "mobile"]})


@pytest.mark.parametrize("make, error, message", [
    (lambda: HashingEncoder(n_buckets=2**40), ValueError, "n_buckets"),
    (lambda: HashingEncoder(alternate_sign="yes"), TypeError, "alternate_sign"),
    (lambda: FeatureCross(alternate_sign=2), TypeError, "alternate_sign"),
    (lambda: FeatureCross(groups="ab"), TypeError, "groups must be a list"),
    (lambda: FeatureCross(groups=5), TypeError, "groups must be a list"),
    (lambda: FeatureCross(groups=["brand"]), TypeError, "each group in groups"),
    (lambda: FeatureCross(groups=[("brand", "brand")]), ValueError, "groups names the same column twice"),
])
def test_bad_transformer_parameters_are_named(brands, make, error, message):
    with pytest.raises(error, match=message):
        make().fit(brands)


@pytest.mark.parametrize("params, message", [
    (dict(n_frequencies=2**40), "n_frequencies"), (dict(n_frequencies=2_000), "n_frequencies"),
    (dict(period=1e-320), "period"),
])
def test_sinusoidal_refuses_codes_that_would_not_be_finite(params, message):
    with pytest.raises(ValueError, match=message):
        SinusoidalEncoding(**params).fit([[1.0]])


# ---------------------------------------------------------------------------- leakage checks
@pytest.fixture(scope="module")
def split(rows):
    return rows.head(300)


@pytest.mark.parametrize("call, error, message", [
    (lambda f: time_split(f, "shown_at", test_size=True), TypeError, "test_size must be a number"),
    (lambda f: time_split(f, "shown_at", test_size="0.2"), TypeError, "test_size must be a number"),
    (lambda f: time_split(f.assign(shown_at=f["shown_at"].where(f.index > 5)), "shown_at"), ValueError,
     r"frame\['shown_at'\] has 6 missing times"),
    (lambda f: time_split(f, ["shown_at"]), TypeError, "time_column must be one column name"),
    (lambda f: check_time_split(f.assign(shown_at=pd.NaT), f, "shown_at"), ValueError, r"train\['shown_at'\]"),
    (lambda f: cross_split_duplicates(f, f, columns="user_id"), TypeError, "columns must be a list"),
    (lambda f: cross_split_duplicates(f, f, columns=5), TypeError, "columns must be a list"),
    (lambda f: group_overlap(f, f, "user_id", max_share=np.nan), ValueError, "max_share"),
    (lambda f: group_overlap(f, f, "user_id", max_share=2), ValueError, "max_share"),
    (lambda f: group_overlap(f, f, "user_id", max_share=-1), ValueError, "max_share"),
    (lambda f: group_overlap(f, f, ["user_id"]), TypeError, "group must be one column name"),
    (lambda f: single_feature_power(f[["price"]], f["clicked"], threshold="x"), TypeError, "threshold"),
    (lambda f: single_feature_power(f[["price"]], f["clicked"], threshold=True), TypeError, "threshold"),
    (lambda f: single_feature_power(f[["brand"]], f["clicked"], random_state="x"), TypeError, "random_state"),
    (lambda f: single_feature_power(f[["brand"]], f["clicked"], random_state=-1), ValueError, "random_state"),
    (lambda f: single_feature_power(f[[]], f["clicked"]), ValueError, "X must have at least one feature"),
    (lambda f: single_feature_power(f[["price"]].assign(price=np.inf), f["clicked"]), ValueError,
     r"X\['price'\] has infinite values"),
])
def test_bad_leakage_check_input_is_named(split, call, error, message):
    with pytest.raises(error, match=message):
        call(split)
