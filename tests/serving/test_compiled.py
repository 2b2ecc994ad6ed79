"""The compiled online path computes the fitted pipeline's own features and the scorer's scores."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from dmls.features import REQUEST_FIELDS, FeaturePipeline
from dmls.serving.compiled import CompiledFeatures, CompiledScorer
from dmls.serving.service import CANDIDATE_FIELDS, CONTEXT_FIELDS, ClickScorer
from dmls.world import MissingValues, World

from .conftest import fitted_scorer


@pytest.fixture(scope="module")
def rows():
    world = World(seed=11, n_users=600, n_items=250, scenarios=[
        MissingValues(onset=0, table="users", column="age", mechanism="MCAR", rate=0.2)])
    return world.run(days=2).labeled_impressions()


@pytest.fixture(scope="module")
def scorer(rows):
    pipeline = FeaturePipeline()
    model = LogisticRegression(max_iter=1000).fit(pipeline.fit_transform(rows), rows["clicked"])
    return ClickScorer(pipeline, model, version="lr-1")


@pytest.fixture(scope="module")
def compiled(scorer):
    return CompiledScorer(scorer)


def as_requests(frame: pd.DataFrame) -> list[dict]:
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    return [{f: r[f] for f in REQUEST_FIELDS} for r in records]


@pytest.fixture(scope="module")
def requests(rows):
    return as_requests(rows.sample(400, random_state=1))


def assert_same_features(pipeline, compiled_features, requests):
    expected = pipeline.transform_requests(requests)
    expected = expected.toarray() if hasattr(expected, "toarray") else np.asarray(expected)
    np.testing.assert_allclose(compiled_features.transform_requests(requests), expected, rtol=1e-9, atol=1e-9)


def test_features_and_scores_equal_the_pipelines_on_held_out_days(scorer, compiled):
    later = World(seed=11, n_users=600, n_items=250).run(days=3).labeled_impressions()
    fresh = as_requests(later[(later["shown_at"] - later["shown_at"].min()).dt.days == 2].head(500))
    assert_same_features(scorer.pipeline, compiled.features, fresh)
    np.testing.assert_allclose(compiled.score_many(fresh), scorer.score_many(fresh), rtol=0, atol=1e-9)


@pytest.mark.parametrize("params", [
    {"position": "sinusoidal"}, {"position": "number"}, {"position": "none"}, {"history": False},
    {"crosses": (("user_region", "category"), ("brand", "item_id"), ("device", "user_id", "position"))},
    {"crosses": ()}, {"n_age_bins": 3, "brand_buckets": 7, "cross_buckets": 3},
])
def test_every_pipeline_setting_compiles_to_the_same_features(rows, requests, params):
    pipeline = FeaturePipeline(**params).fit(rows)
    assert_same_features(pipeline, CompiledFeatures(pipeline), requests)


def test_a_tree_model_scores_through_its_own_predict_proba(rows, requests):
    pipeline = FeaturePipeline(sparse_output=False)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(pipeline.fit_transform(rows),
                                                                            rows["clicked"])
    scorer = ClickScorer(pipeline, model, version="hgb-1")
    np.testing.assert_allclose(CompiledScorer(scorer).score_many(requests), scorer.score_many(requests),
                               rtol=0, atol=1e-9)


def test_a_model_whose_positive_class_comes_first_is_scored_the_right_way_round(rows, requests):
    pipeline = FeaturePipeline().fit(rows)
    labels = np.where(rows["clicked"], "clicked", "skipped")
    model = LogisticRegression(max_iter=1000).fit(pipeline.transform(rows), rows["clicked"].to_numpy() == False)  # noqa: E712
    scorer = ClickScorer(pipeline, model, version="flipped")  # classes [False, True]; positive = not clicked
    assert list(model.classes_) == [False, True] and len(set(labels)) == 2
    np.testing.assert_allclose(CompiledScorer(scorer).score_many(requests), scorer.score_many(requests),
                               rtol=0, atol=1e-9)


# ---------------------------------------------------------------- random requests
ISO_FORMS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%SZ"]


@st.composite
def times(draw):
    moment = draw(st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2250, 12, 31)))
    kind = draw(st.sampled_from(["naive", "utc", "offset", "object", "timestamp"]))
    if kind == "object":
        return moment
    if kind == "timestamp":
        return pd.Timestamp(moment)
    text = moment.strftime(draw(st.sampled_from(ISO_FORMS)))
    if kind == "offset" and not text.endswith("Z") and "T" in text:
        minutes = draw(st.integers(-14 * 60, 14 * 60))
        sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
        text += f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text


categories = st.one_of(st.none(), st.sampled_from(["mobile", "desktop", "tablet", "EU", "US", "books", "toys"]),
                       st.text(min_size=1, max_size=12).filter(lambda s: s.strip()))
numbers = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False), st.integers(-1000, 1000),
                    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False))


@st.composite
def random_request(draw, base):
    request = dict(draw(st.sampled_from(base)))
    for field in draw(st.sets(st.sampled_from(sorted(REQUEST_FIELDS)))):
        kind = REQUEST_FIELDS[field]
        if field == "position":
            request[field] = draw(st.one_of(st.integers(1, 60), st.floats(1, 60).map(float).map(np.floor)))
        elif field == "price":
            request[field] = draw(st.floats(min_value=5e-324, max_value=1e300, allow_infinity=False))
        elif kind == "id":
            request[field] = draw(st.integers(0, 2**63 - 1))
        elif kind == "number":
            request[field] = draw(numbers)
        elif kind == "category":
            request[field] = draw(categories)
        else:
            request[field] = draw(times())
    return request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_random_requests_get_the_pipelines_features_and_scores(scorer, compiled, requests, data):
    batch = data.draw(st.lists(random_request(requests[:50]), min_size=1, max_size=8))
    assert_same_features(scorer.pipeline, compiled.features, batch)
    np.testing.assert_allclose(compiled.score_many(batch), scorer.score_many(batch), rtol=0, atol=1e-9)


def test_times_far_apart_do_not_wrap_around(scorer, compiled, requests):
    old = dict(requests[0], signup_at="1678-01-01T00:00:00Z", listed_at="1678-01-01", shown_at="2262-01-01T00:00Z")
    attributes = scorer.pipeline.transform_requests([old])
    assert_same_features(scorer.pipeline, compiled.features, [old])
    from dmls.features import impression_attributes
    days = np.expm1(impression_attributes(pd.DataFrame([old], dtype=object))["account_days"].iloc[0])
    assert days == pytest.approx(584 * 365.2425, rel=1e-3) and attributes.shape[0] == 1


# ---------------------------------------------------------------- ranking
def slate(requests, n=30):
    context = {f: requests[0][f] for f in CONTEXT_FIELDS}
    seen, candidates = set(), []
    for r in requests:
        if r["item_id"] not in seen:
            seen.add(r["item_id"])
            candidates.append({f: r[f] for f in CANDIDATE_FIELDS})
    return context, candidates[:n]


def test_rank_orders_as_the_scorer_does(scorer, compiled, requests):
    context, candidates = slate(requests)
    expected, got = scorer.rank(context, candidates), compiled.rank(context, candidates)
    assert [e["item_id"] for e in got] == [e["item_id"] for e in expected]
    np.testing.assert_allclose([e["score"] for e in got], [e["score"] for e in expected], rtol=0, atol=1e-9)
    assert compiled.rank(context, []) == []


# ---------------------------------------------------------------- bad input
BAD = [
    ("user_id", True), ("user_id", -1), ("user_id", "5"), ("user_id", 2**63), ("item_id", 1.5), ("item_id", None),
    ("position", 0), ("position", 1.5), ("position", None), ("position", "1"),
    ("price", 0.0), ("price", -3.0), ("price", float("inf")), ("price", "9.99"), ("price", True),
    ("age", float("-inf")), ("age", "old"), ("rating", [4]),
    ("device", ""), ("device", "  "), ("device", 5), ("brand", {"a": 1}),
    ("shown_at", 12345), ("shown_at", None), ("shown_at", "yesterday"), ("signup_at", 1.7e9),
    ("listed_at", "2300-01-01"), ("listed_at", float("nan")),
]


@pytest.mark.parametrize("field, value", BAD, ids=[f"{f}={v!r}" for f, v in BAD])
def test_what_the_pipeline_refuses_the_compiled_path_refuses_naming_the_field(scorer, compiled, requests,
                                                                              field, value):
    request = dict(requests[0], **{field: value})
    with pytest.raises((TypeError, ValueError)):
        scorer.pipeline.transform_requests([request])
    with pytest.raises((TypeError, ValueError), match=field):
        compiled.features.transform_requests([request])


@pytest.mark.parametrize("text", ["2026-W10-1", "March 2, 2026", "20260302T140500", "2026-03-02T14:05:00+01:00:30",
                                  "2026-03-02T14:05:00.1234567"])
def test_only_iso_calendar_times_are_accepted(compiled, requests, text):
    with pytest.raises(ValueError, match="shown_at must be an ISO 8601 time"):
        compiled.features.transform_requests([dict(requests[0], shown_at=text)])


def test_missing_fields_and_wrong_containers_are_named(compiled, requests):
    with pytest.raises(ValueError, match=r"request 0 lacks fields \['price'\]"):
        compiled.features.transform_requests([{k: v for k, v in requests[0].items() if k != "price"}])
    with pytest.raises(TypeError, match="list of request dicts"):
        compiled.features.transform_requests(requests[0])
    with pytest.raises(TypeError, match="request 1 must be a mapping"):
        compiled.features.transform_requests([requests[0], 5])
    with pytest.raises(TypeError, match="needs a ClickScorer"):
        CompiledScorer(object())
    with pytest.raises(ValueError, match="must be fitted"):
        CompiledFeatures(FeaturePipeline())


@pytest.mark.parametrize("bad", ["one request", "requests[0] (a dict)", "a string", "a missing field",
                                 "a number among them"])
def test_the_request_list_is_refused_as_the_pipeline_refuses_it(scorer, compiled, requests, bad):
    bad_requests = {
        "one request": requests[0].items(),  # not a sequence
        "requests[0] (a dict)": requests[0],
        "a string": "user_id=1",
        "a missing field": [requests[0], {k: v for k, v in requests[1].items() if k != "rating"}],
        "a number among them": [requests[0], 5],
    }[bad]
    with pytest.raises((TypeError, ValueError)) as pipeline_error:
        scorer.pipeline.transform_requests(bad_requests)
    with pytest.raises((TypeError, ValueError)) as compiled_error:
        compiled.features.transform_requests(bad_requests)
    assert type(compiled_error.value) is type(pipeline_error.value)
    assert str(compiled_error.value) == str(pipeline_error.value)


def test_rank_refuses_what_the_scorer_refuses(scorer, compiled, requests):
    context, candidates = slate(requests, 5)
    for bad_context, bad_candidates in [
        (context, candidates + [candidates[0]]),                      # a repeated item
        ({k: v for k, v in context.items() if k != "device"}, candidates),
        (context, [dict(candidates[0], position=3)]),
        (dict(context, price=3.0), candidates),
        (context, [dict(candidates[0], item_id="7")]),
        (context, "not a list"),
    ]:
        with pytest.raises((TypeError, ValueError)):
            scorer.rank(bad_context, bad_candidates)
        with pytest.raises((TypeError, ValueError)):
            compiled.rank(bad_context, bad_candidates)


def test_a_compiled_copy_does_not_follow_a_refit(rows, requests):
    scorer, _, small = fitted_scorer(seed=4, n_users=300, n_items=120, version="v")
    compiled = CompiledScorer(scorer)
    before = compiled.score_many(requests[:20])
    scorer.pipeline.fit(rows)  # refit in place: the compiled copy keeps the old parameters
    np.testing.assert_array_equal(compiled.score_many(requests[:20]), before)
    assert "linear" in repr(compiled) and "CompiledFeatures" in repr(compiled.features)


def test_times_with_offsets_are_converted_to_utc(compiled, requests):
    base = datetime(2026, 3, 2, 14, 5, tzinfo=timezone.utc)
    a = dict(requests[0], shown_at=base.isoformat())
    b = dict(requests[0], shown_at=base.astimezone(timezone(timedelta(hours=-5))).isoformat())
    c = dict(requests[0], shown_at=base.replace(tzinfo=None))
    x = compiled.features.transform_requests([a, b, c])
    np.testing.assert_array_equal(x[0], x[1])
    np.testing.assert_array_equal(x[0], x[2])
