"""tools/build_edge_model.py writes the browser page's model and data (chapter 7, "ML in Browsers")."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]


def test_the_tool_writes_a_model_that_scores_the_shipped_rows_as_python_did(tmp_path):
    from dmls.serving.onnx_export import OnnxModel

    tool = runpy.run_path(str(ROOT / "tools" / "build_edge_model.py"))
    returned = tool["build"](tmp_path, seed=2, n_users=400, n_items=200, n_sellers=20, days=3, train_days=2)
    written = json.loads((tmp_path / "slates.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert written == json.loads(json.dumps(returned))
    model = (tmp_path / written["model"]).read_bytes()
    assert written["model_bytes"] == len(model)
    onnx_model = OnnxModel(model)
    n = 0
    for user in written["users"]:
        for session in user["sessions"]:
            X = np.zeros((len(session["candidates"]), written["n_features"]), dtype=np.float32)
            for i, c in enumerate(session["candidates"]):
                X[i, c["features"]["indices"]] = c["features"]["values"]
            scores = onnx_model.predict_proba(X)[:, written["positive_column"]]
            np.testing.assert_allclose(scores, [c["python_score"] for c in session["candidates"]], rtol=0, atol=1e-5)
            n += 1
    assert n >= 3
