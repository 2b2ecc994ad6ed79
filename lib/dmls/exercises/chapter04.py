"""Chapter 4's checked exercises: a stratified allocation, an importance-sampling estimate by hand,
and how many of a careless labeling function's votes are right.

Every truth is computed from the library on the chapter's own marketplace, cached after the first
check: 4.1 on its users after the four weeks (the notebook's ``users``), 4.3 on its catalogue after
the three further days its importance-sampling section runs (the notebook's ``catalogue``).

Introduced in chapter 4 ("Training Data"), section "Exercises".
"""
from __future__ import annotations

import functools

import numpy as np

from . import as_number, close_to, exercise

#: The logged top-slot choices of exercise 4.2: was it clicked, the old ranker's probability of
#: the choice (propensity), and the new ranker's probability of the same choice.
IPS_CLICKED = (1, 0, 0, 1, 0, 0, 1, 0)
IPS_LOGGING = (0.5, 0.5, 0.5, 0.25, 0.25, 0.5, 0.1, 0.25)
IPS_TARGET = (0.25, 0.25, 0.5, 0.5, 0.5, 0.25, 0.4, 0.5)


@functools.cache
def _world():
    """The notebook's world after its four weeks (users sign up and listings appear as it runs)."""
    from dmls.world import NewRegion, World

    world = World(seed=2022, n_users=10_000, n_items=3_000, n_sellers=300,
                  scenarios=[NewRegion(onset=0, region="BR", share=0.01, launch_users=150)])
    world.run(days=28)
    return world


def _us_mobile(floor: int) -> int:
    from dmls.sampling import stratified

    users = _world().users
    both = users.assign(stratum=users["region"].astype(str) + "/" + users["device"].astype(str))
    sample = stratified(both, "stratum", n=300, seed=0, min_per_stratum=floor)
    return int((sample["stratum"] == "US/mobile").sum())


@functools.cache
def _us_mobile_with_floor() -> int:
    return _us_mobile(2)


@functools.cache
def _us_mobile_proportional() -> int:
    return _us_mobile(0)


@exercise("4.1", question="A sample of 300 users stratified by region and device (a column 'region/device'), "
                          "with min_per_stratum=2: how many users does the US/mobile stratum get?",
          hint="every stratum first gets its floor of 2; only what is left of the 300 is shared out in "
               "proportion to the strata's sizes (dmls.sampling.stratified does this; count its rows)",
          wrong_answers=(71, 0, 2, 300))
def _(answer):
    x = as_number(answer)
    if x == _us_mobile_proportional() and x != _us_mobile_with_floor():
        return False, "that is the proportional share without the floor."
    return close_to(x, _us_mobile_with_floor(), abs=0.5)


@functools.cache
def _ips_truth() -> float:
    from dmls.sampling import ips

    return ips(np.array(IPS_CLICKED, float), np.array(IPS_TARGET), np.array(IPS_LOGGING))


@exercise("4.2", question="Eight logged top-slot choices (dmls.exercises.chapter04.IPS_CLICKED, IPS_LOGGING, "
                          "IPS_TARGET): the inverse-propensity (IPS) estimate of the new ranker's click rate.",
          hint="weigh each click by target / logging probability and average over all eight choices, "
               "not only the clicked ones",
          wrong_answers=(3 / 8, 6.5 / 12.5, (0.5 + 2 + 4) / 3))
def _(answer):
    if abs(as_number(answer) - _snips_truth()) < 1e-3 and abs(_snips_truth() - _ips_truth()) > 1e-3:
        return False, "that is the self-normalised estimate (SNIPS), which divides by the sum of the weights; IPS divides by the number of choices."
    return close_to(answer, _ips_truth(), abs=1e-3)


@functools.cache
def _snips_truth() -> float:
    from dmls.sampling import snips

    return snips(np.array(IPS_CLICKED, float), np.array(IPS_TARGET), np.array(IPS_LOGGING))


@functools.cache
def _catalogue_world():
    """The world as the notebook's catalogue sees it: the four weeks, then the three logged days of
    its importance-sampling section (listings keep appearing while the world runs)."""
    world = _world().copy()
    world.run(days=3, record_candidates=True)
    return world


@functools.cache
def _copy_prohibited() -> int:
    world = _catalogue_world()
    title = world.items["title"].str.lower()
    issue = world.truth.items.set_index("item_id")["issue"].astype(str).loc[world.items["item_id"]].to_numpy()
    says_copy = title.str.contains("copy").to_numpy()
    return int((issue[says_copy] == "prohibited").sum())


@functools.cache
def _copy_votes() -> int:
    return int(_catalogue_world().items["title"].str.lower().str.contains("copy").sum())


@exercise("4.3", question="The labeling function 'says copy' votes 'prohibited' for every listing whose title "
                          "contains 'copy'. How many of the listings it votes on are really prohibited?",
          hint="restrict the notebook's catalogue to the titles containing 'copy' (lower-cased) and count "
               "those the simulator's truth (world.truth.items['issue']) calls prohibited",
          wrong_answers=(0, 0.2))
def _(answer):
    x = as_number(answer)
    if x == _copy_votes():
        return False, "that is how many listings it votes on, right or wrong."
    if 0 < x < 1:
        return False, "that is a share; the question asks for a number of listings."
    return close_to(x, _copy_prohibited(), abs=0.5)
