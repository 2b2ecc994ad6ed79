"""The exported ONNX graphs score as the Python models do, at every optimisation level."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from dmls.features import REQUEST_FIELDS
from dmls.models import TorchClassifier
from dmls.serving.compiled import CompiledFeatures
from dmls.serving.onnx_export import OPTIMIZATION_LEVELS, OnnxModel, op_counts, to_onnx
from dmls.world import World

from .conftest import fitted_scorer

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def data():
    scorer, _, rows = fitted_scorer(seed=5, n_users=800, n_items=300, version="v", days=3)
    fresh = World(seed=9, n_users=800, n_items=300).run(days=1).labeled_impressions()  # a world the models never saw
    requests = [{f: r[f] for f in REQUEST_FIELDS} for r in json.loads(fresh.head(3000).to_json(orient="records",
                                                                                             date_format="iso"))]
    X_fresh = CompiledFeatures(scorer.pipeline).transform_requests(requests)
    X_train = scorer.pipeline.transform(rows).toarray()
    return scorer, X_train, rows["clicked"].to_numpy(), X_fresh


@pytest.fixture(scope="module")
def models(data):
    scorer, X, y, _ = data
    return {"logistic regression": scorer.model,
            "boosted trees": HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, y),
            "torch network": TorchClassifier(hidden=(32, 16), epochs=2, seed=0).fit(X, y)}


@pytest.mark.parametrize("name", ["logistic regression", "boosted trees", "torch network"])
@pytest.mark.parametrize("level", OPTIMIZATION_LEVELS)
def test_onnx_scores_equal_the_python_models_on_fresh_data(data, models, name, level):
    _, X, _, X_fresh = data
    model = models[name]
    onnx_model = OnnxModel(to_onnx(model, X.shape[1]), optimization=level)
    np.testing.assert_allclose(onnx_model.predict_proba(X_fresh), model.predict_proba(X_fresh), rtol=0, atol=1e-5)
    assert onnx_model.n_features == X.shape[1]


def test_the_optimiser_fuses_the_networks_layers(data, models):
    _, X, _, _ = data
    exported = to_onnx(models["torch network"], X.shape[1])
    assert op_counts(exported) == {"Gemm": 3, "Relu": 2, "Softmax": 1}
    fused = OnnxModel(exported, optimization="extended").graph
    assert fused["FusedGemm"] == 2 and sum(fused.values()) < sum(op_counts(exported).values())
    assert OnnxModel(exported, optimization="disabled").graph == op_counts(exported)


def test_trees_and_linear_models_are_single_operators(data, models):
    _, X, _, _ = data
    assert op_counts(to_onnx(models["boosted trees"], X.shape[1])) == {"TreeEnsembleClassifier": 1}
    assert op_counts(to_onnx(models["logistic regression"], X.shape[1])) == {"LinearClassifier": 1}


def test_bad_input_is_named(data, models):
    _, X, _, X_fresh = data
    model = OnnxModel(to_onnx(models["logistic regression"], X.shape[1]))
    with pytest.raises(ValueError, match="columns"):
        model.predict_proba(X_fresh[:, :5])
    with pytest.raises(TypeError, match="real numbers"):
        model.predict_proba(np.array([["a"] * X.shape[1]]))
    with pytest.raises(ValueError, match="optimization"):
        OnnxModel(to_onnx(models["logistic regression"], X.shape[1]), optimization="max")
    with pytest.raises(ValueError, match="ONNX Runtime can run"):
        OnnxModel(b"not a model")
    with pytest.raises(TypeError, match="bytes"):
        OnnxModel("model.onnx")
    with pytest.raises(TypeError, match="TorchClassifier or scikit-learn classifier"):
        to_onnx(object(), 3)
    with pytest.raises(ValueError, match="fitted"):
        to_onnx(TorchClassifier(), 3)
    with pytest.raises(ValueError, match="n_features"):
        to_onnx(models["logistic regression"], 0)


@pytest.fixture(scope="module")
def page_data():
    from sklearn.linear_model import LogisticRegression

    from dmls.features import FeaturePipeline
    from dmls.serving import ClickScorer
    from dmls.serving.onnx_export import browser_slates

    world = World(seed=4, n_users=500, n_items=200, n_sellers=20)
    rows = world.run(days=2).labeled_impressions()
    features = FeaturePipeline(brand_buckets=16, cross_buckets=16)
    scorer = ClickScorer(features, LogisticRegression(max_iter=500).fit(features.fit_transform(rows), rows["clicked"]), version="t")
    log = world.run(days=1, record_candidates=True)
    return scorer, log, browser_slates(scorer, log, n_users=3, sessions_per_user=2, seed=1)


def test_browser_slates_ship_the_pipelines_rows_and_the_scorers_scores(page_data):
    import pandas as pd

    scorer, log, data = page_data
    assert len(data["users"]) == 3 and all(len(u["sessions"]) == 2 for u in data["users"])
    json.dumps(data, allow_nan=False)  # strict JSON: no NaN reaches the page
    onnx_model = OnnxModel(to_onnx(scorer.model, data["n_features"]))
    for user in data["users"]:
        for session in user["sessions"]:
            retrieved = log.candidates[log.candidates["session_id"] == session["session_id"]]
            assert [c["item_id"] for c in session["candidates"]] == retrieved.sort_values("retrieved")["item_id"].tolist()
            X = np.zeros((len(session["candidates"]), data["n_features"]))
            for i, c in enumerate(session["candidates"]):
                X[i, c["features"]["indices"]] = c["features"]["values"]
            frame = pd.DataFrame([{**session["context"], **{k: c[k] for k in c if k not in ("features", "python_score", "title")},
                                   "position": data["ranking_position"]} for c in session["candidates"]])
            for column in ("shown_at", "signup_at", "listed_at"):
                frame[column] = pd.to_datetime(frame[column])
            np.testing.assert_allclose(X, scorer.pipeline.transform(frame).toarray(), rtol=0, atol=1e-12)
            python = np.array([c["python_score"] for c in session["candidates"]])
            np.testing.assert_allclose(python, scorer.score_frame(frame), rtol=0, atol=1e-12)
            np.testing.assert_allclose(onnx_model.predict_proba(X)[:, data["positive_column"]], python, atol=1e-5)


def test_browser_slates_refuse_bad_input(page_data):
    from dmls.serving.onnx_export import browser_slates

    scorer, log, _ = page_data
    with pytest.raises(TypeError, match="ClickScorer"):
        browser_slates(scorer.model, log)
    with pytest.raises(ValueError, match="record_candidates"):
        browser_slates(scorer, World(seed=1, n_users=50, n_items=30).run(days=1))
    with pytest.raises(ValueError, match="n_users"):
        browser_slates(scorer, log, n_users=0)
    with pytest.raises(ValueError, match="fewer than n_users"):
        browser_slates(scorer, log, n_users=1_000)
