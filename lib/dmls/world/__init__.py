"""The simulated marketplace: the single source of data for the whole book.

Introduced in chapter 1 ("Understanding Machine Learning Systems").

>>> from dmls.world import World, scenarios
>>> world = World(seed=0, scenarios=[scenarios.ConceptDrift(onset=14)])
>>> log = world.run(days=28)               # doctest: +SKIP
"""
from . import scenarios
from .behaviour import ResponseModel
from .catalog import CATEGORY_NAMES, Truth
from .config import ALL_REGIONS, DEVICES, REGIONS, Behaviour, WorldConfig
from .log import Log
from .policies import ModelPolicy, OraclePolicy, Policy, PopularityPolicy, RandomPolicy, ScoringPolicy, SlateContext, Slates
from .scenarios import (ConceptDrift, DeviceMixShift, DuplicateEvents, MissingValues, NewItems, NewRegion,
                        PriceInCents, Scenario, SeasonalDemand)
from .simulator import World

__all__ = [
    "ALL_REGIONS", "Behaviour", "CATEGORY_NAMES", "ConceptDrift", "DEVICES", "DeviceMixShift", "DuplicateEvents",
    "Log", "MissingValues", "ModelPolicy", "NewItems", "NewRegion", "OraclePolicy", "Policy", "PopularityPolicy", "PriceInCents",
    "REGIONS", "RandomPolicy", "ResponseModel", "Scenario", "ScoringPolicy", "SeasonalDemand", "SlateContext",
    "Slates", "Truth", "World", "WorldConfig", "scenarios",
]
