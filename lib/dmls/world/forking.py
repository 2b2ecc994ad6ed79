"""A copy of a world that from now on also runs under more scenarios: a twin that branches off.

Introduced in chapter 2 ("Requirements for ML Systems"): the reliability and adaptability
sections compare a marketplace with and without a change (prices logged in cents, tastes that
turn) from the moment of the change. Simulating both from the start repeats the shared past;
a scenario changes only events at or after its onset, so the world with it is, up to the
onset, exactly the world without it, and the shared past can be simulated once.
"""
from __future__ import annotations

from typing import Sequence

from .scenarios import Scenario
from .simulator import World

__all__ = ["fork"]


def fork(world: World, scenarios: Sequence[Scenario]) -> World:
    """An independent copy of ``world`` at its current time, with ``scenarios`` added.

    The copy continues exactly as a world built with the original scenarios followed by
    ``scenarios`` (same seed and configuration) would from this moment: each scenario draws
    its state and its randomness from streams keyed by its position in the list, and none acts
    before its onset. So each onset must be at or after ``world.now``. ``world`` itself is left
    as it was.

    Parameters
    ----------
    world : World
        The world to branch off, at the moment of the branch.
    scenarios : sequence of Scenario
        At least one; each with its onset at or after ``world.now``.

    Returns
    -------
    World
        The twin.

    Examples
    --------
    >>> from dmls.world import PriceInCents, World
    >>> world = World(seed=1, n_users=500, n_items=200, n_sellers=20)
    >>> before = world.run(days=2)
    >>> cents = fork(world, [PriceInCents(onset=2)])  # from day 3 on, prices logged in cents
    >>> [type(s).__name__ for s in cents.scenarios], world.scenarios
    (['PriceInCents'], [])

    Introduced in chapter 2 ("Requirements for ML Systems").
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a dmls.world.World, got {type(world).__name__}")
    if isinstance(scenarios, Scenario) or not isinstance(scenarios, Sequence):
        raise TypeError("scenarios must be a list of Scenario objects, e.g. [PriceInCents(onset=25)]")
    scenarios = list(scenarios)
    if not scenarios:
        raise ValueError("scenarios must name at least one scenario to add")
    for i, s in enumerate(scenarios):
        if not isinstance(s, Scenario):
            raise TypeError(f"scenarios[{i}] must be a Scenario, got {type(s).__name__}")
        if s.onset_ms(world.config.start) < world._now_ms:
            raise ValueError(
                f"scenarios[{i}] ({type(s).__name__}) has its onset {s.onset!r} before the world's "
                f"current time {world.now}: the copy's past would not be that scenario's past")
    twin = world.copy()
    existing = twin.scenarios
    # Bind the whole list as World(scenarios=...) would, and keep the existing scenarios' own
    # bound state: only the new ones join, each with the stream of its position.
    bound = twin._bind(existing + scenarios)
    twin._scenarios = list(twin._scenarios) + bound[len(existing):]
    return twin
