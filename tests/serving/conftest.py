"""Shared set-up for the serving tests: a world and a click scorer fitted on its first days."""
from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from dmls.features import FeaturePipeline
from dmls.serving.service import ClickScorer
from dmls.world import World


def fitted_scorer(seed: int, n_users: int, n_items: int, version: str, days: int = 2):
    """(scorer, world, labeled rows): a logistic click model on ``days`` of a small world."""
    world = World(seed=seed, n_users=n_users, n_items=n_items)
    rows = world.run(days=days).labeled_impressions()
    pipeline = FeaturePipeline()
    model = LogisticRegression(max_iter=1000).fit(pipeline.fit_transform(rows), rows["clicked"])
    return ClickScorer(pipeline, model, version=version), world, rows
