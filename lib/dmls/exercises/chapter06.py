"""Checked exercises of chapter 6 ("Model Development and Offline Evaluation").

Introduced in chapter 6; each checker computes its truth from ``dmls`` itself.
"""
from __future__ import annotations

import functools

import numpy as np

from . import close_to, exercise


@functools.cache
def _valid_labels():
    """The click labels of the chapter's validation day (day 5 of its world)."""
    from dmls.world import World

    world = World(seed=6, n_users=6_000, n_items=2_000, n_sellers=200)
    rows = world.run(days=8).labeled_impressions()
    day = (rows["shown_at"] - world.start).dt.days
    return rows.loc[day == 5, "clicked"].to_numpy().astype(int)


@functools.cache
def _uniform_f1() -> float:
    from dmls.evaluation import random_baselines

    return float(random_baselines(_valid_labels(), n_draws=2).loc["uniformly random", "expected F1"])


@exercise("6.1", question="What F1 (clicks as the positive class) does a uniformly random predictor "
          "expect on the chapter's validation day (day 5)? The closed form (random_baselines' "
          "'expected F1'), not one draw's measured F1.",
          hint="precision is the click rate whatever a random predictor says; its recall is the share of "
               "rows it calls positive. F1 = 2PR / (P + R).",
          wrong_answers=(0.5, 0.1667, 0.0668, 0.0))
def _(answer):
    return close_to(answer, _uniform_f1(), abs=5e-4, what="F1")


@exercise("6.2", question="Nine classifiers are each right with probability 0.7 and make independent mistakes. "
          "How often is their majority vote right?",
          hint="the vote is right when at least five of the nine are: a binomial tail, P(X >= 5).",
          wrong_answers=(0.7, 0.837, 0.922, 0.7297))
def _(answer):
    from dmls.models.ensembles import majority_vote_accuracy

    return close_to(answer, majority_vote_accuracy(9, 0.7), abs=1e-3, what="the probability")


@exercise("6.3", question="A pipeline of 4 stages runs each batch as 12 micro-batches. What fraction of "
          "the time is a stage idle (the bubble)?",
          hint="each stage waits stages - 1 micro-batch slots to fill and drain the pipeline, out of "
               "micro-batches + stages - 1 slots in all.",
          wrong_answers=(0.25, 0.75, 0.3333, 0.0))
def _(answer):
    from dmls.models.distributed import pipeline_bubble

    return close_to(answer, pipeline_bubble(4, 12), abs=1e-3, what="the idle fraction")


@exercise("6.4", question="Should a ranker that learned the chapter's marketplace pass an invariance test "
          "on the user's region? Answer True or False, from what the simulator's "
          "dmls.world.config.Behaviour does with a region (a question about the data, not about rules).",
          hint="look at dmls.world.config.Behaviour: does a user's region change the click probability?",
          wrong_answers=(True,))
def _(answer):
    from dmls.world.config import REGIONS, Behaviour

    if isinstance(answer, np.bool_):
        answer = bool(answer)  # what a comparison of numpy values gives
    if not isinstance(answer, bool):
        raise ValueError("the answer is True or False")
    b = Behaviour()
    region_matters = (len({b.region_offset[r] for r in REGIONS}) > 1
                      or len({b.price_sensitivity[r] for r in REGIONS}) > 1)
    return answer == (not region_matters), ("right: the simulator gives each region its own click propensity "
                                           "and price sensitivity, so a good ranker depends on region."
                                           if answer == (not region_matters) else "")
