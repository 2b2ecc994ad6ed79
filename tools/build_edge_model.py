#!/usr/bin/env python3
"""Build the model file and the data of chapter 7's browser page ("ML in Browsers").

The page (``book/_static/edge/ranker.html``) runs the chapter's deployed click model in the
reader's browser with ONNX Runtime Web. This script rebuilds that model as the chapter's setup
does (the same world, the same two weeks, the same pipeline and logistic regression), exports it
with :func:`dmls.serving.onnx_export.to_onnx`, lets the world run one more day recording each
session's retrieved candidates, and writes, into DEST:

- ``click-model.onnx``: the model (a few kilobytes);
- ``slates.json``: a few users' sessions of that day, each candidate's feature row (computed
  here by the pipeline: the page runs the model, not the features) and its Python score.

``make book`` runs it into ``book/_vendor/edge-model`` (built, not committed), which the site
serves as ``_static/edge-model``.

Usage: build_edge_model.py [DEST]     (default: book/_vendor/edge-model)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def build(dest: Path, *, seed: int = 7, n_users: int = 3_000, n_items: int = 1_200, n_sellers: int = 120,
          days: int = 14, train_days: int = 10) -> dict:
    """Write the page's model and data into ``dest``; return the data written."""
    from sklearn.linear_model import LogisticRegression

    from dmls.features import FeaturePipeline
    from dmls.serving import ClickScorer
    from dmls.serving.onnx_export import browser_slates, to_onnx
    from dmls.world import World

    # The chapter's setup cell: the marketplace, the deployed pipeline and model.
    world = World(seed=seed, n_users=n_users, n_items=n_items, n_sellers=n_sellers)
    rows = world.run(days=days).labeled_impressions()
    train = rows[(rows["shown_at"] - world.start).dt.days < train_days]
    features = FeaturePipeline(brand_buckets=32, cross_buckets=32)
    model = LogisticRegression(max_iter=1_000).fit(features.fit_transform(train), train["clicked"])
    scorer = ClickScorer(features, model, version="ch7-logreg")
    # The next day's sessions, with what the marketplace retrieved for each.
    data = browser_slates(scorer, world.run(days=1, record_candidates=True))
    onnx_bytes = to_onnx(model, data["n_features"])
    dest.mkdir(parents=True, exist_ok=True)
    data["model"] = "click-model.onnx"
    data["model_bytes"] = len(onnx_bytes)
    (dest / "click-model.onnx").write_bytes(onnx_bytes)
    (dest / "slates.json").write_text(json.dumps(data, separators=(",", ":")))
    return data


def main(argv: list[str]) -> int:
    import numpy as np

    np.random.seed(0)
    root = Path(__file__).resolve().parents[1]
    dest = Path(argv[1]) if len(argv) > 1 else root / "book" / "_vendor" / "edge-model"
    data = build(dest)
    n = sum(len(u["sessions"]) for u in data["users"])
    print(f"{dest}: click-model.onnx ({data['model_bytes']:,} bytes), slates.json "
          f"({len(data['users'])} users, {n} sessions)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
