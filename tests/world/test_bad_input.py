"""Bad input to the simulator is refused at the boundary with a message naming the parameter.

Each case was accepted silently, or failed deep inside numpy or pandas, before (found by review)."""
import numpy as np
import pytest

from dmls.world import (ConceptDrift, DeviceMixShift, MissingValues, PopularityPolicy, SeasonalDemand, World)
from dmls.world.config import Behaviour, WorldConfig


@pytest.fixture(scope="module")
def world():
    w = World(seed=917, n_users=300, n_items=100, n_sellers=10)
    w.run(days=1 / 24)
    return w


@pytest.mark.parametrize("make, error, message", [
    (lambda: Behaviour(base_logit=float("nan")), ValueError, r"Behaviour.base_logit must be a finite number"),
    (lambda: Behaviour(taste_weight=float("inf")), ValueError, r"Behaviour.taste_weight must be a finite number"),
    (lambda: Behaviour(base_logit="x"), TypeError, r"Behaviour.base_logit must be a number"),
    (lambda: Behaviour(click_delay_median_s="7"), TypeError, r"Behaviour.click_delay_median_s must be a number"),
    (lambda: Behaviour(region_offset={**Behaviour().region_offset, "US": float("nan")}), ValueError,
     r"Behaviour.region_offset\['US'\] must be a finite number"),
    (lambda: Behaviour(position_decay={"mobile": float("nan"), "desktop": 1, "tablet": 1}), ValueError,
     r"position_decay\['mobile'\]"),
    (lambda: Behaviour(region_offset=None), TypeError, r"Behaviour.region_offset must be a mapping"),
    (lambda: WorldConfig(start=None), TypeError, r"WorldConfig.start must be a date"),
    (lambda: WorldConfig(start=12345), TypeError, r"WorldConfig.start must be a date"),
    (lambda: WorldConfig(start="3026-01-01"), ValueError, r"WorldConfig.start must be between"),
    (lambda: WorldConfig(n_users=2**70), ValueError, r"WorldConfig.n_users must be an integer from 1"),
    (lambda: WorldConfig(sessions_per_user_day=1e300), ValueError, r"sessions_per_user_day must be a number from 0"),
    (lambda: PopularityPolicy(half_life_days=True), ValueError, r"half_life_days must be a positive number"),
    (lambda: PopularityPolicy(half_life_days=float("inf")), ValueError, r"half_life_days must be a positive number"),
    (lambda: MissingValues(strength=float("nan")), ValueError, r"MissingValues.strength must be a finite number"),
    (lambda: MissingValues(strength="x"), ValueError, r"MissingValues.strength must be a finite number"),
    (lambda: DeviceMixShift(mix=["mobile"]), TypeError, r"DeviceMixShift.mix must be a mapping"),
    (lambda: World(n_users=10, n_items=40, scenarios=[ConceptDrift(onset=None)]), ValueError,
     r"ConceptDrift.onset is neither a date nor a number"),
    (lambda: World(n_users=10, n_items=40, scenarios=[ConceptDrift(onset=1e300)]), ValueError,
     r"ConceptDrift.onset must be within a century"),
    (lambda: World(n_users=10, n_items=40, scenarios=[SeasonalDemand(until="x")]), ValueError,
     r"SeasonalDemand.until is neither a date"),
])
def test_bad_configuration_is_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("position", [0, -3, 1.5, float("nan"), float("inf"), True])
def test_click_probability_needs_a_whole_slot(world, position):
    with pytest.raises(ValueError, match="position must be whole numbers >= 1"):
        world.click_probability(0, 0, position, "mobile")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(device=3), ValueError, r"unknown device\(s\) \['3'\]"),
    (dict(device=""), ValueError, r"unknown device\(s\) \[''\]"),
    (dict(user_id=2**64), TypeError, "user_id must be integers"),
    (dict(user_id=1.0), TypeError, "user_id must be integers"),
    (dict(at=12345), TypeError, "at must be a date or time"),
    (dict(at="x"), ValueError, "at is not a date or time"),
    (dict(user_id=[0, 1], item_id=[0, 1, 2]), ValueError, "must broadcast to one shape"),
])
def test_click_probability_names_bad_queries(world, kwargs, error, message):
    args = dict(user_id=0, item_id=0, position=1, device="mobile") | kwargs
    with pytest.raises(error, match=message):
        world.click_probability(**args)


def test_run_and_log_name_bad_arguments(world):
    w = world.copy()
    with pytest.raises(TypeError, match="record_candidates must be True or False"):
        w.run(days=1 / 24, record_candidates="yes")
    assert w.now == world.now  # nothing was simulated
    log = w.run(days=1 / 24)
    with pytest.raises(TypeError, match="tables must be a list of table names"):
        list(log.events(tables="clicks"))
    with pytest.raises(TypeError, match="purchase_window must be a duration"):
        log.labeled_impressions(purchase_window=5)
    with pytest.raises(ValueError, match="purchase_window must be a duration >= 0"):
        log.labeled_impressions(purchase_window="-1h")
    with pytest.raises(ValueError, match="purchase_window is not a duration"):
        log.labeled_impressions(purchase_window="soon")
    assert np.isfinite(w.click_probability(0, 0, 2, "tablet")).all()
