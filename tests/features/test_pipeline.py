"""The ranker's feature pipeline: one definition for batches and single requests; point-in-time history."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from dmls.features import REQUEST_FIELDS, FeaturePipeline, HistoryFeatures, impression_attributes
from dmls.world import MissingValues, NewItems, World

TEST_DAY = 3


@pytest.fixture(scope="module")
def world_rows():
    """Four days; ages go missing for users who sign up from day 1 on (MAR, by region) and a
    wave of items by new "Nova" brands is listed on day 2 and shown from day 3, the test day."""
    world = World(seed=3, n_users=2_000, n_items=500, n_sellers=50, user_growth_per_day=0.05, scenarios=[
        MissingValues(onset=1, table="users", column="age", mechanism="MAR", depends_on="region", rate=0.3),
        NewItems(onset=2, n_items=50),
    ])
    rows = world.run(days=4).labeled_impressions()
    day = (rows["shown_at"] - world.start).dt.days
    return rows[day < TEST_DAY], rows[day == TEST_DAY]


@pytest.fixture(scope="module")
def fitted(world_rows):
    train, _ = world_rows
    return FeaturePipeline().fit(train)


def as_requests(rows: pd.DataFrame) -> list[dict]:
    """Rows as a service receives them: JSON, so times are ISO strings and missing values None."""
    return json.loads(rows.to_json(orient="records", date_format="iso"))


def is_new_brand(rows):
    return rows["brand"].str.startswith("Nova")


# ---------------------------------------------------------------------------- batch == single
def test_batch_and_single_requests_get_identical_features(world_rows, fitted):
    train, test = world_rows
    assert train["age"].isna().any() and not is_new_brand(train).any()
    missing_age, new_brand = test[test["age"].isna()], test[is_new_brand(test)]
    rest = test.drop(missing_age.index.union(new_brand.index))
    sample = pd.concat([missing_age.sample(30, random_state=0), new_brand.sample(30, random_state=0),
                        rest.sample(460, random_state=0)])
    assert len(sample) >= 500 and sample["age"].isna().sum() >= 30 and is_new_brand(sample).sum() >= 30

    events = as_requests(sample)
    assert isinstance(events[0]["shown_at"], str) and sum(e["age"] is None for e in events) >= 30

    batch = fitted.transform(sample)
    singles = sparse.vstack([fitted.transform_one(event) for event in events]).tocsr()
    assert batch.shape == singles.shape == (len(sample), len(fitted.get_feature_names_out()))
    np.testing.assert_array_equal(singles.toarray(), batch.toarray())  # exactly, not approximately


def test_impression_attributes_types_do_not_depend_on_the_input(world_rows):
    _, test = world_rows
    rows = test.head(50)
    from_frame = impression_attributes(rows)
    from_json = impression_attributes(pd.DataFrame(as_requests(rows), dtype=object))
    pd.testing.assert_frame_equal(from_json, from_frame)
    assert from_frame["user_id"].dtype == np.int64 and from_frame["age"].dtype == np.float64
    assert from_frame["device"].map(type).eq(str).all()
    assert from_frame["hour"].between(0, 24).all()
    with pytest.raises(ValueError, match=r"need columns \['price'\]"):
        impression_attributes(rows.drop(columns="price"))
    with pytest.raises(TypeError, match="DataFrame"):
        impression_attributes(rows.to_numpy())


# ---------------------------------------------------------------------------- point-in-time history
def test_history_fit_transform_is_point_in_time(world_rows):
    train, test = world_rows
    rows = pd.concat([train, test])
    history = HistoryFeatures()
    features = history.fit_transform(rows)
    assert len(features) == len(rows) and list(features.columns) == ["user_ctr", "item_ctr", "taste_share"]
    prior = rows["clicked"].mean()
    assert history.prior_ == prior and history.n_impressions_ == len(rows)  # fitted on all rows for later ones
    first = rows["shown_at"].min()
    sampled = np.random.default_rng(0).choice(np.flatnonzero((rows["shown_at"] > first).to_numpy()), 50, replace=False)
    for i in sampled:
        row = rows.iloc[[i]]
        past = rows[rows["shown_at"] < row["shown_at"].iloc[0]]
        brute = HistoryFeatures().fit(past)  # its prior is the click rate of the past only
        np.testing.assert_allclose(features.iloc[i].to_numpy(), brute.transform(row).iloc[0].to_numpy(), rtol=1e-12)
    # Not fit(X).transform(X), which hands every row its own label (and the future's).
    leaky = HistoryFeatures().fit(rows).transform(rows)
    for name in ("user_ctr", "item_ctr"):
        assert roc_auc_score(rows["clicked"], leaky[name]) > roc_auc_score(rows["clicked"], features[name]) + 0.05


def test_rows_of_one_slate_do_not_see_each_others_clicks():
    t0, t1 = pd.Timestamp("2026-03-02 10:00"), pd.Timestamp("2026-03-02 11:00")
    rows = pd.DataFrame({
        "user_id": [1, 1, 1], "item_id": [10, 11, 10], "category": ["books", "toys", "books"],
        "shown_at": [t1, t0, t0], "clicked": [False, False, True],
    })  # rows 1 and 2 are one slate, given out of time order
    history = HistoryFeatures(user_prior=10, item_prior=20)
    out = history.fit_transform(rows)
    # The slate's rows have no past at all, not even an overall rate: both get 0.5, whichever was clicked.
    np.testing.assert_allclose(out.loc[[1, 2], "user_ctr"], 0.5)
    np.testing.assert_allclose(out.loc[[1, 2], "item_ctr"], 0.5)
    np.testing.assert_allclose(out.loc[[1, 2], "taste_share"], 0.1)
    # The later row sees both: the user had 2 impressions and 1 click (in books), the item 1 and 1.
    later = out.loc[0]
    prior = 1 / 2  # the click rate of the two rows before it
    assert later["user_ctr"] == pytest.approx((1 + 10 * prior) / (2 + 10))
    assert later["item_ctr"] == pytest.approx((1 + 20 * prior) / (1 + 20))
    assert later["taste_share"] == pytest.approx((1 + 0.1) / (1 + 1))


def test_history_fit_transform_needs_a_time_column(world_rows):
    train, _ = world_rows
    rows = train.head(200)
    with pytest.raises(ValueError, match="shown_at"):
        HistoryFeatures().fit_transform(rows.drop(columns="shown_at"))
    renamed = rows.rename(columns={"shown_at": "t"})
    pd.testing.assert_frame_equal(HistoryFeatures(time_column="t").fit_transform(renamed),
                                  HistoryFeatures().fit_transform(rows))


# ---------------------------------------------------------------------------- FeaturePipeline
def test_labels_from_y_or_from_the_clicked_column_agree(world_rows, fitted):
    train, test = world_rows
    unlabeled = train.drop(columns="clicked")
    from_y = FeaturePipeline().fit(unlabeled, train["clicked"].to_numpy())
    np.testing.assert_array_equal(from_y.transform(test).toarray(), fitted.transform(test).toarray())
    np.testing.assert_array_equal(FeaturePipeline().fit_transform(unlabeled, train["clicked"]).toarray(),
                                  FeaturePipeline().fit_transform(train).toarray())
    # fit_transform gives training rows their point-in-time history, unlike fit(X).transform(X).
    assert (FeaturePipeline().fit_transform(train) != fitted.transform(train)).nnz > 0


def test_history_needs_labels_unless_turned_off(world_rows):
    train, test = world_rows
    with pytest.raises(ValueError, match="history features need labels"):
        FeaturePipeline().fit(train.drop(columns="clicked"))
    with pytest.raises(ValueError, match="one label per row"):
        FeaturePipeline().fit(train, train["clicked"].to_numpy()[:-1])
    plain = FeaturePipeline(history=False).fit(train.drop(columns="clicked"))
    names = plain.get_feature_names_out()
    assert not any(n.endswith(("user_ctr", "item_ctr", "taste_share")) for n in names)
    assert "numeric__user_ctr" in FeaturePipeline().fit(train).get_feature_names_out()
    assert plain.transform(test).shape == (len(test), len(names))


def test_string_labels_are_not_all_clicks(world_rows):
    train, _ = world_rows
    labels = np.where(train["clicked"], "yes", "no")
    try:
        pipe = FeaturePipeline().fit(train.drop(columns="clicked"), labels)
    except (TypeError, ValueError):
        return
    assert pipe.history_.prior_ == pytest.approx(train["clicked"].mean())


POSITION_NAMES = {
    "onehot": [f"position__position_{k:.1f}" for k in range(1, 11)],
    "sinusoidal": [f"position__position_{f}{k}" for f in ("sin", "cos") for k in range(3)],
    "number": ["position__position"],
    "none": [],
}


@pytest.mark.parametrize("position", list(POSITION_NAMES))
def test_each_position_encoding(world_rows, position):
    train, test = world_rows
    pipe = FeaturePipeline(position=position, history=False).fit(train)
    names = list(pipe.get_feature_names_out())
    assert [n for n in names if n.startswith("position__")] == POSITION_NAMES[position]
    out = pipe.transform(test)
    assert out.shape == (len(test), len(names))
    if position == "number":
        np.testing.assert_array_equal(out[:, names.index("position__position")].toarray().ravel(), test["position"])


def test_dense_output_equals_sparse_output(world_rows, fitted):
    train, test = world_rows
    dense = FeaturePipeline(sparse_output=False).fit(train).transform(test)
    assert isinstance(dense, np.ndarray) and not sparse.issparse(dense)
    sparse_out = fitted.transform(test)
    assert sparse.issparse(sparse_out)
    np.testing.assert_array_equal(dense, sparse_out.toarray())
    assert len(fitted.get_feature_names_out()) == sparse_out.shape[1]


def test_unseen_categories_do_not_raise(world_rows, fitted):
    _, test = world_rows
    rows = test.head(20).assign(brand="Brandnew", device="smartwatch", user_region="BR")
    names = list(fitted.get_feature_names_out())
    out = fitted.transform(rows).toarray()
    device = [names.index(n) for n in names if n.startswith("onehot__device_")]
    assert out.shape == (20, len(names)) and (out[:, device] == 0).all()  # unknown device: all zeros
    brand = [names.index(n) for n in names if n.startswith("brand__")]
    np.testing.assert_array_equal(out[:, brand].sum(axis=1), 1)  # a new brand still gets a bucket


def test_missing_age_is_imputed_with_an_indicator(world_rows, fitted):
    train, test = world_rows
    names = list(fitted.get_feature_names_out())
    assert "numeric__missingindicator_age" in names
    event = as_requests(test[test["age"].notna()].head(1))[0]
    median = fitted.columns_.named_transformers_["numeric"][0].statistics_[1]
    assert median == train["age"].median()
    missing = fitted.transform_one(dict(event, age=None)).toarray()[0]
    imputed = fitted.transform_one(dict(event, age=median)).toarray()[0]
    indicator = names.index("numeric__missingindicator_age")
    assert missing[indicator] == 1 and imputed[indicator] == 0
    np.testing.assert_array_equal(np.delete(missing, indicator), np.delete(imputed, indicator))
    # Fitted where no age was missing: no indicator, and a missing age still goes through.
    complete = FeaturePipeline(history=False).fit(train[train["age"].notna()])
    assert not any("missingindicator" in n for n in complete.get_feature_names_out())
    assert complete.transform(test[test["age"].isna()].head(5)).shape[0] == 5


@pytest.mark.parametrize("params, message", [
    (dict(brand_buckets=0), "brand_buckets"), (dict(cross_buckets=True), "cross_buckets"),
    (dict(n_age_bins=1), "n_age_bins"), (dict(n_age_bins=2.5), "n_age_bins"),
    (dict(position="bogus"), "position must be one of"),
    (dict(crosses=(("device", "seller"),)), "each cross must name"),
    (dict(crosses=(("device",),)), "each cross must name"),
])
def test_bad_parameters_are_named(world_rows, params, message):
    train, _ = world_rows
    with pytest.raises(ValueError, match=message):
        FeaturePipeline(**params).fit(train.head(100))


def test_crosses_can_be_chosen_or_dropped(world_rows):
    train, test = world_rows
    none = FeaturePipeline(crosses=(), history=False).fit(train)
    assert not any(n.startswith("crosses__") for n in none.get_feature_names_out())
    with_position = FeaturePipeline(crosses=(("device", "position"),), cross_buckets=16, history=False).fit(train)
    assert sum(n.startswith("crosses__") for n in with_position.get_feature_names_out()) == 16
    assert with_position.transform(test).shape[0] == len(test)


def test_bad_input_is_named(world_rows, fitted):
    train, test = world_rows
    event = as_requests(test.head(1))[0]
    with pytest.raises(RuntimeError, match="fitted"):
        FeaturePipeline().transform(test)
    with pytest.raises(RuntimeError, match="fitted"):
        FeaturePipeline().get_feature_names_out()
    with pytest.raises(TypeError, match="DataFrame"):
        fitted.transform(test.to_numpy())
    with pytest.raises(TypeError, match="DataFrame"):
        FeaturePipeline().fit(train.to_numpy())
    with pytest.raises(ValueError, match="at least one impression"):
        FeaturePipeline().fit(train.head(0))
    with pytest.raises(ValueError, match=r"lacks fields \['price'\]"):
        fitted.transform_one({k: v for k, v in event.items() if k != "price"})
    with pytest.raises(ValueError, match="column 'price' must hold number values"):
        fitted.transform_one(dict(event, price="abc"))
    with pytest.raises(ValueError, match="column 'price' must hold number values"):
        fitted.transform(test.head(3).assign(price="abc"))
    with pytest.raises(ValueError, match="column 'shown_at' must hold time values"):
        fitted.transform_one(dict(event, shown_at="yesterday"))
    with pytest.raises(ValueError, match="column 'user_id' must hold id values"):
        fitted.transform_one(dict(event, user_id=None))
    for year in ("0001-01-01T00:00:00", "9999-01-01T00:00:00"):  # outside what nanoseconds hold: no silent wrap
        with pytest.raises(ValueError, match="column 'listed_at' must hold time values"):
            fitted.transform_one(dict(event, listed_at=year))
    with pytest.raises(TypeError, match="mapping"):
        fitted.transform_one(list(event.values()))
    for price in (0, -3.5):
        with pytest.raises(ValueError, match="price must be positive"):
            fitted.transform_one(dict(event, price=price))
    # Extra fields are ignored.
    np.testing.assert_array_equal(fitted.transform_one(dict(event, title="x", extra=1)).toarray(),
                                  fitted.transform_one(event).toarray())
    assert set(REQUEST_FIELDS) <= set(event)


def test_missing_request_time_is_named(world_rows, fitted):
    _, test = world_rows
    event = as_requests(test.head(1))[0]
    with pytest.raises(ValueError, match="shown_at"):
        fitted.transform_one(dict(event, shown_at=None))


def test_clone_and_sklearn_pipeline(world_rows, fitted):
    train, test = world_rows
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "columns_")
    model = Pipeline([("features", FeaturePipeline(brand_buckets=64, cross_buckets=64)),
                      ("lr", LogisticRegression(max_iter=300))])
    model.fit(train, train["clicked"])
    proba = model.predict_proba(test)
    assert proba.shape == (len(test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert roc_auc_score(test["clicked"], proba[:, 1]) > 0.6


def test_fit_does_not_depend_on_numpys_global_random_state(world_rows):
    """Past 200 000 rows scikit-learn's quantile binning subsamples; the pipeline seeds it, so a
    notebook's earlier draws from ``np.random`` cannot move the age bins."""
    train, _ = world_rows
    big = pd.concat([train] * (210_000 // len(train) + 1), ignore_index=True)
    big["age"] = big["age"] + np.random.default_rng(0).normal(0, 0.5, len(big))
    edges = []
    for seed in (1, 2):
        np.random.seed(seed)
        pipeline = FeaturePipeline(history=False).fit(big)
        binner = pipeline.columns_.named_transformers_["age_bins"][-1]
        edges.append(binner.bin_edges_[0])
    np.testing.assert_array_equal(edges[0], edges[1])


def _dense(matrix):
    return matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)


def test_update_history_reads_as_a_history_fitted_on_everything_and_leaves_the_rest(world_rows):
    import copy

    train, test = world_rows
    pipeline = FeaturePipeline().fit(train)
    before = _dense(pipeline.transform(test))
    updated = copy.deepcopy(pipeline)
    half = len(test) // 2
    updated.update_history(test.iloc[:half]).update_history(test.iloc[half:])
    # the counts as if fitted on training and test rows together; the encoders and scaler as fitted
    expected = copy.deepcopy(pipeline)
    expected.history_ = HistoryFeatures().fit(impression_attributes(pd.concat([train, test])).assign(
        clicked=pd.concat([train, test])["clicked"].to_numpy()))
    np.testing.assert_array_equal(_dense(updated.transform(test)), _dense(expected.transform(test)))
    assert not np.array_equal(_dense(updated.transform(test)), before)  # the test day's clicks now count
    np.testing.assert_array_equal(_dense(pipeline.transform(test)), before)  # the original is untouched
    assert updated.columns_ is not pipeline.columns_ and updated.history_.n_impressions_ == len(train) + len(test)


def test_update_history_refuses_what_it_cannot_add_and_adds_nothing_then(world_rows):
    train, test = world_rows
    pipeline = FeaturePipeline().fit(train)
    counts, before = pipeline.history_.n_impressions_, _dense(pipeline.transform(test))
    with pytest.raises(RuntimeError, match="fitted"):
        FeaturePipeline().update_history(test)
    with pytest.raises(ValueError, match="history=False"):
        FeaturePipeline(history=False).fit(train).update_history(test)
    with pytest.raises(ValueError, match="clicked"):
        pipeline.update_history(test.drop(columns="clicked"))
    bad = test.copy()
    bad.loc[bad.index[-1], "price"] = -1.0  # one bad row: the whole batch is refused
    with pytest.raises(ValueError, match="price"):
        pipeline.update_history(bad)
    with pytest.raises(TypeError, match="DataFrame"):
        pipeline.update_history(test.to_dict("records"))
    assert pipeline.update_history(test.iloc[:0]) is pipeline
    assert pipeline.history_.n_impressions_ == counts
    np.testing.assert_array_equal(_dense(pipeline.transform(test)), before)
