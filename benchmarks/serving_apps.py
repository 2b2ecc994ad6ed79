"""The two prediction services the serving benchmark compares, built the same way in every worker.

``fast()`` is the book's service (:func:`dmls.serving.prediction_app`: validation at the boundary,
the compiled scoring path, metrics, fallbacks). ``naive()`` is what a reader would write first:
FastAPI, the request body as a dict, a pandas DataFrame per request, the same fitted pipeline's
``transform`` and the same model's ``predict_proba``. Both fit the same seeded model on start-up,
so that uvicorn can run either with several worker processes (``--factory``).

Run as a script (``serving_apps.py NAME --port P --workers W``), it serves one of them through
:func:`dmls.serving.service.serve_workers`: ``uvicorn --workers W`` itself leaves Nagle's algorithm
on for W > 1 and every keep-alive request then waits ~40 ms on the client's delayed ACK. Both
services are launched this same way.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

SEED = 0
DAYS = 2


@functools.cache
def fitted():
    """(scorer, labeled rows) of a seeded world: the model both services serve."""
    from sklearn.linear_model import LogisticRegression

    from dmls.features import FeaturePipeline
    from dmls.serving import ClickScorer
    from dmls.world import World

    rows = World(seed=SEED, n_users=2_000, n_items=600).run(days=DAYS).labeled_impressions()
    pipeline = FeaturePipeline()
    model = LogisticRegression(max_iter=1_000).fit(pipeline.fit_transform(rows), rows["clicked"])
    return ClickScorer(pipeline, model, version="bench-lr-1"), rows


def fast():
    from dmls.serving import prediction_app

    return prediction_app(fitted()[0])


def naive():
    import pandas as pd
    from fastapi import FastAPI

    scorer, _ = fitted()
    pipeline, model = scorer.pipeline, scorer.model
    app = FastAPI(title="naive click service")

    @app.post("/predict")
    def predict(body: dict) -> dict:
        p = model.predict_proba(pipeline.transform(pd.DataFrame([body])))[0, 1]
        return {"p_click": float(p)}

    @app.post("/rank")
    def rank(body: dict) -> dict:
        rows = pd.DataFrame([{**body["context"], **c, "position": 1} for c in body["candidates"]])
        p = model.predict_proba(pipeline.transform(rows))[:, 1]
        order = sorted(range(len(p)), key=lambda i: -p[i])
        return {"ranking": [{"item_id": body["candidates"][i]["item_id"], "score": float(p[i])} for i in order]}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fast or the naive click service.")
    parser.add_argument("name", choices=("fast", "naive"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    from dmls.serving.service import serve_workers

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    serve_workers(f"serving_apps:{args.name}", host=args.host, port=args.port, workers=args.workers, factory=True)


if __name__ == "__main__":
    main()
