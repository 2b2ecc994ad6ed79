import pytest

from dmls.world import RandomPolicy, World

SMALL = dict(n_users=3_000, n_items=800, n_sellers=80)


def small_world(seed=0, scenarios=(), **overrides):
    return World(seed=seed, scenarios=scenarios, **{**SMALL, **overrides})


@pytest.fixture(scope="session")
def two_week_log():
    """Two weeks of a mid-sized world under the default (popularity) policy."""
    world = World(seed=11, n_users=8_000, n_items=1_500, n_sellers=150)
    return world, world.run(days=14)


@pytest.fixture(scope="session")
def random_log():
    """A week under the random policy: position is independent of the item."""
    world = World(seed=5, n_users=10_000, n_items=2_000, n_sellers=200)
    return world, world.run(days=7, policy=RandomPolicy())
