"""dmls.world.forking.fork: a twin branched off now runs as if built with the scenarios (chapter 2)."""
import pandas as pd
import pytest

from dmls.world import ConceptDrift, Log, NewItems, PriceInCents, World
from dmls.world.forking import fork

SMALL = dict(seed=3, n_users=600, n_items=250, n_sellers=20)


def _rows(log):
    return log.labeled_impressions().reset_index(drop=True)


@pytest.mark.parametrize("added", [[PriceInCents(onset=3)], [ConceptDrift(onset=3.5)]])
def test_a_fork_continues_as_a_world_built_with_the_scenario(added):
    base = [NewItems(onset=4, n_items=30)]
    world = World(scenarios=base, **SMALL)
    first = world.run(days=3)
    twin = fork(world, added)
    forked = Log.concat([first, twin.run(days=2)])
    built = World(scenarios=base + added, **SMALL).run(days=5)
    pd.testing.assert_frame_equal(_rows(forked), _rows(built))
    for name in ("sessions", "clicks", "purchases", "returns"):
        pd.testing.assert_frame_equal(getattr(forked, name).reset_index(drop=True),
                                      getattr(built, name).reset_index(drop=True))


def test_the_original_world_is_left_as_it_was():
    world = World(**SMALL)
    world.run(days=2)
    twin = fork(world, [ConceptDrift(onset=2)])
    assert world.scenarios == [] and len(twin.scenarios) == 1
    alone = World(**SMALL)
    alone.run(days=2)
    pd.testing.assert_frame_equal(_rows(world.run(days=1)), _rows(alone.run(days=1)))


def test_a_fork_changes_what_the_scenario_changes():
    world = World(**SMALL)
    world.run(days=2)
    cents = fork(world, [PriceInCents(onset=2)])
    a, b = _rows(world.copy().run(days=1)), _rows(cents.run(days=1))
    assert (b["clicked"] == a["clicked"]).all()
    assert (b["price"] == (a["price"] * 100).round()).all()


def test_bad_input_is_refused():
    world = World(**SMALL)
    world.run(days=2)
    with pytest.raises(ValueError, match="before the world's current time"):
        fork(world, [PriceInCents(onset=1)])
    with pytest.raises(ValueError, match="at least one"):
        fork(world, [])
    with pytest.raises(TypeError, match="list of Scenario"):
        fork(world, PriceInCents(onset=2))
    with pytest.raises(TypeError, match=r"scenarios\[0\]"):
        fork(world, ["cents"])
    with pytest.raises(TypeError, match="must be a dmls.world.World"):
        fork("world", [PriceInCents(onset=2)])
