"""A scenario changes only events at or after its onset, even when the onset falls inside a step.

The simulator draws a whole step (one day by default) at once, so an onset of 2.5 days or one
in the middle of an hour splits a step. The promise is the same as for an onset on a step
boundary: the world with the scenario and the same world without it record identical events up
to the onset. Also for scenarios combined: adding a second scenario leaves everything before
its own onset as the first scenario alone made it.
"""
from __future__ import annotations

import pandas as pd
import pytest

from dmls.world import (ConceptDrift, DeviceMixShift, DuplicateEvents, MissingValues, NewItems, NewRegion,
                        PriceInCents, RandomPolicy, SeasonalDemand, World)
from dmls.world.scenarios import TIME_COLUMNS

SIZE = dict(n_users=2_500, n_items=600, n_sellers=60, user_growth_per_day=0.03, item_growth_per_day=0.03)
DAYS = 4
# 2.5 days is inside the third one-day step; the second onset is also inside an hour.
ONSETS = [2.5, 1 + 13 / 24 + 0.41 / 24]
TABLES = ("sessions", "impressions", "clicks", "purchases", "returns")


def _run(seed, scenarios, policy):
    world = World(seed=seed, scenarios=scenarios, **SIZE)
    return world, world.run(days=DAYS, policy=policy())


def _before(table: pd.DataFrame, column: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    out = table[table[column] < cutoff].reset_index(drop=True)
    return out.astype({c: "float64" for c in out.columns if pd.api.types.is_integer_dtype(out[c])})


def assert_same_before(onset_days, with_it, without_it):
    (w1, log1), (w0, log0) = with_it, without_it
    cutoff = w1.start + pd.Timedelta(days=onset_days)
    for name in TABLES:
        pd.testing.assert_frame_equal(_before(log1.tables[name], TIME_COLUMNS[name], cutoff),
                                      _before(log0.tables[name], TIME_COLUMNS[name], cutoff),
                                      obj=f"{name} before the onset")
    for name, frame1, frame0 in (("users", w1.users, w0.users), ("items", w1.items, w0.items)):
        pd.testing.assert_frame_equal(_before(frame1, TIME_COLUMNS[name], cutoff), _before(frame0, TIME_COLUMNS[name], cutoff),
                                      obj=f"{name} before the onset")
    # and the scenario did change something after it (the comparison is not vacuous)
    changed = any(not log1.tables[n].equals(log0.tables[n]) for n in TABLES) or not w1.users.equals(w0.users) \
        or not w1.items.equals(w0.items)
    assert changed, "the scenario changed nothing at all"


SCENARIOS = {
    "new region": lambda onset: NewRegion(onset=onset, region="IN", share=0.5, launch_users=300),
    "device mix": lambda onset: DeviceMixShift(onset=onset, adoption=0.7),
    "seasonal demand": lambda onset: SeasonalDemand(onset=onset, factor=2.5),
    "seasonal demand that ends": lambda onset: SeasonalDemand(onset=onset, factor=1.7, until=onset + 0.6),
    "concept drift": lambda onset: ConceptDrift(onset=onset, strength=0.9),
    "new items": lambda onset: NewItems(onset=onset, n_items=120),
    "price in cents": lambda onset: PriceInCents(onset=onset),
    "missing MCAR": lambda onset: MissingValues(onset=onset, table="impressions", column="price", rate=0.2),
    "missing MNAR": lambda onset: MissingValues(onset=onset, table="users", column="age", mechanism="MNAR", rate=0.3),
    "duplicates": lambda onset: DuplicateEvents(onset=onset, rate=0.1, tables=("sessions", "impressions", "clicks", "purchases")),
}


@pytest.mark.parametrize("onset", ONSETS, ids=["2.5 d", "mid-hour"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_scenario_changes_nothing_before_its_onset(name, onset):
    scenario = SCENARIOS[name](onset)
    assert_same_before(onset, _run(23, [scenario], RandomPolicy), _run(23, [], RandomPolicy))


@pytest.mark.parametrize("name", ["seasonal demand", "concept drift", "duplicates", "new region"])
def test_under_a_learning_policy_too(name):
    """The popularity policy learns from each step; it must not see the future either."""
    from dmls.world import PopularityPolicy

    scenario = SCENARIOS[name](2.5)
    assert_same_before(2.5, _run(29, [scenario], PopularityPolicy), _run(29, [], PopularityPolicy))


@pytest.mark.parametrize("first, second", [
    ("missing MCAR", "seasonal demand"),
    ("duplicates", "seasonal demand"),
    ("device mix", "seasonal demand"),
    ("duplicates", "new region"),
    ("missing MCAR", "duplicates"),
])
def test_a_second_scenario_changes_nothing_before_its_own_onset(first, second):
    a, b = SCENARIOS[first](0.7), SCENARIOS[second](2.5)
    assert_same_before(2.5, _run(31, [a, b], RandomPolicy), _run(31, [a], RandomPolicy))
