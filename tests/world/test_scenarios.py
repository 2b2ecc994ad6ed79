"""Each scenario moves exactly the distribution it names, and only after its onset.

Worlds with the same seed share their random streams, so a world with a scenario can be compared
with the same world without it: before the onset the two logs must be identical.
"""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dmls.world import (ConceptDrift, DeviceMixShift, DuplicateEvents, MissingValues, NewItems, NewRegion,
                        PriceInCents, RandomPolicy, SeasonalDemand)
from dmls.world.scenarios import Scenario

from .conftest import small_world

ONSET = 4  # days after the start
DAYS = 8


def run_pair(scenario, seed=1, policy_factory=RandomPolicy, **overrides):
    base = small_world(seed=seed, **overrides)
    shifted = small_world(seed=seed, scenarios=[scenario], **overrides)
    return base, base.run(days=DAYS, policy=policy_factory()), shifted, shifted.run(days=DAYS, policy=policy_factory())


def before(table, column, world):
    return table[table[column] < world.start + pd.Timedelta(days=ONSET)].reset_index(drop=True)


def after(table, column, world):
    return table[table[column] >= world.start + pd.Timedelta(days=ONSET)].reset_index(drop=True)


def test_onset_accepts_days_or_dates():
    world = small_world()
    start_ms = world.start.value // 1_000_000
    assert Scenario(onset=2).onset_ms(world.start) == start_ms + 2 * 86_400_000
    assert Scenario(onset="2026-03-04").onset_ms(world.start) == start_ms + 2 * 86_400_000
    with pytest.raises(ValueError, match="neither a date nor a number"):
        Scenario(onset="soon").onset_ms(world.start)
    with pytest.raises(ValueError, match="must be finite"):
        Scenario(onset=float("inf")).onset_ms(world.start)


def test_new_region_is_covariate_shift():
    scenario = NewRegion(onset=ONSET, region="BR", share=0.4, launch_users=500)
    base, base_log, world, log = run_pair(scenario, user_growth_per_day=0.05)
    users = world.users
    assert (before(users, "signup_at", world)["region"] != "BR").all()
    new = after(users, "signup_at", world)
    organic = len(new) - 500  # everyone but the launch cohort chose a region at random
    share = ((new["region"] == "BR").sum() - 500) / organic
    assert organic > 100 and abs(share - 0.4) < 4 * np.sqrt(0.24 / organic)
    pd.testing.assert_frame_equal(before(log.sessions, "started_at", world), before(base_log.sessions, "started_at", base))
    # Users of the new region visit after the onset; the response to any given (user, item, slot) is unchanged.
    visits = after(log.sessions, "started_at", world).merge(users, on="user_id")
    assert (visits["region"] == "BR").any()
    old_users = before(users, "signup_at", world)["user_id"]
    shared = base_log.impressions[base_log.impressions["user_id"].isin(old_users)].sample(500, random_state=0)
    np.testing.assert_allclose(
        world.click_probability(shared["user_id"].to_numpy(), shared["item_id"].to_numpy(), shared["position"].to_numpy(),
                                shared["device"].to_numpy(), at=world.now),
        base.click_probability(shared["user_id"].to_numpy(), shared["item_id"].to_numpy(), shared["position"].to_numpy(),
                               shared["device"].to_numpy(), at=base.now))


def test_device_mix_shift_moves_only_session_devices():
    scenario = DeviceMixShift(onset=ONSET, mix={"mobile": 1.0}, adoption=0.5)
    base, base_log, world, log = run_pair(scenario)
    pd.testing.assert_frame_equal(before(log.sessions, "started_at", world), before(base_log.sessions, "started_at", base))
    pd.testing.assert_frame_equal(world.users, base.users)
    late, late_base = after(log.sessions, "started_at", world), after(base_log.sessions, "started_at", base)
    assert (late[["session_id", "user_id", "started_at"]] == late_base[["session_id", "user_id", "started_at"]]).all().all()
    share, share_base = (late["device"] == "mobile").mean(), (late_base["device"] == "mobile").mean()
    expected = share_base + 0.5 * (1 - share_base)
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / len(late))


def test_seasonal_demand_is_label_shift():
    factor = 2.0
    scenario = SeasonalDemand(onset=ONSET, factor=factor)
    base, base_log, world, log = run_pair(scenario, n_users=6_000)
    pd.testing.assert_frame_equal(before(log.impressions, "shown_at", world), before(base_log.impressions, "shown_at", base))

    def session_labels(lg, w):
        s = after(lg.sessions, "started_at", w)
        s["clicked"] = s["session_id"].isin(lg.clicks["session_id"])
        return s.merge(w.users[["user_id", "region", "age"]], on="user_id")

    s, s_base = session_labels(log, world), session_labels(base_log, base)
    p = s_base["clicked"].mean()
    expected = factor * p / (factor * p + 1 - p)
    assert abs(s["clicked"].mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / len(s))
    # P(x | y) is unchanged: among clicking (and among non-clicking) visits, devices and ages look the same.
    for label in (True, False):
        a, b = s[s["clicked"] == label], s_base[s_base["clicked"] == label]
        table = pd.crosstab(np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a["device"].astype(str), b["device"].astype(str)])
        assert stats.chi2_contingency(table).pvalue > 1e-3
        assert stats.ks_2samp(a["age"], b["age"]).pvalue > 1e-3


def test_seasonal_demand_ends():
    scenario = SeasonalDemand(onset=2, until=4, factor=3.0)
    base, base_log, world, log = run_pair(scenario)
    late = lambda t, w: t[t["started_at"] >= w.start + pd.Timedelta(days=4)]["user_id"].reset_index(drop=True)
    # After the season, visits are drawn at the usual rate again.
    assert abs(len(late(log.sessions, world)) / len(late(base_log.sessions, base)) - 1) < 0.03
    with pytest.raises(ValueError, match="until must come after"):
        small_world(scenarios=[SeasonalDemand(onset=3, until=2)])


def test_concept_drift_changes_p_click_given_x_only():
    scenario = ConceptDrift(onset=ONSET, strength=1.0)
    base, base_log, world, log = run_pair(scenario)
    cols = ["session_id", "user_id", "item_id", "position", "device", "shown_at"]
    pd.testing.assert_frame_equal(log.impressions[cols], base_log.impressions[cols])  # P(x) identical
    early, early_base = before(log.impressions, "shown_at", world), before(base_log.impressions, "shown_at", base)
    np.testing.assert_array_equal(early["p_click"], early_base["p_click"])
    late, late_base = after(log.impressions, "shown_at", world), after(base_log.impressions, "shown_at", base)
    change = np.abs(np.log(late["p_click"]) - np.log(late_base["p_click"]))
    assert change.mean() > 0.3
    # Population-level click rate stays in the same range: tastes turned, they did not vanish.
    assert 0.5 < late["p_click"].mean() / late_base["p_click"].mean() < 2


def test_gradual_concept_drift_ramps():
    scenario = ConceptDrift(onset=0, strength=0.8, ramp_days=10)
    onset = scenario.onset_ms(small_world().start)
    w = scenario.weight(np.array([onset - 1, onset, onset + 5 * 86_400_000, onset + 20 * 86_400_000]), onset)
    np.testing.assert_allclose(w, [0.0, 0.0, 0.4, 0.8])


def test_new_items_arrive_at_onset_with_new_brands():
    scenario = NewItems(onset=ONSET, n_items=300)
    base, base_log, world, log = run_pair(scenario)
    onset = world.start + pd.Timedelta(days=ONSET)
    wave = world.items[world.items["listed_at"] == onset]
    assert len(wave) == 300
    assert not wave["brand"].isin(base.items["brand"]).any()
    shown = log.impressions[log.impressions["item_id"].isin(wave["item_id"])]
    assert len(shown) and (shown["shown_at"] > onset).all()
    pd.testing.assert_frame_equal(before(log.impressions, "shown_at", world), before(base_log.impressions, "shown_at", base))


def test_price_in_cents_changes_the_record_not_the_behaviour():
    scenario = PriceInCents(onset=ONSET)
    base, base_log, world, log = run_pair(scenario)
    pd.testing.assert_frame_equal(log.impressions.drop(columns="price"), base_log.impressions.drop(columns="price"))
    early = before(log.impressions, "shown_at", world)
    np.testing.assert_array_equal(early["price"], before(base_log.impressions, "shown_at", base)["price"])
    late, late_base = after(log.impressions, "shown_at", world), after(base_log.impressions, "shown_at", base)
    np.testing.assert_allclose(late["price"], np.round(late_base["price"] * 100))
    new = world.items["listed_at"] >= world.start + pd.Timedelta(days=ONSET)
    assert new.any()
    np.testing.assert_allclose(world.items.loc[new, "price"], np.round(base.items.loc[new, "price"] * 100))
    np.testing.assert_array_equal(world.items.loc[~new, "price"], base.items.loc[~new, "price"])


def _missing_pair(**kwargs):
    scenario = MissingValues(onset=-10_000, table="users", **kwargs)  # every user row is affected
    base = small_world(seed=6, n_users=20_000)
    world = small_world(seed=6, n_users=20_000, scenarios=[scenario])
    users = base.users.assign(missing=world.users[kwargs.get("column", "age")].isna().to_numpy())
    return users


def test_mcar_is_independent_of_everything():
    users = _missing_pair(column="age", mechanism="MCAR", rate=0.3)
    assert abs(users["missing"].mean() - 0.3) < 0.015
    assert stats.ttest_ind(users.loc[users.missing, "age"], users.loc[~users.missing, "age"]).pvalue > 1e-3
    table = pd.crosstab(users["missing"], users["device"])
    assert stats.chi2_contingency(table).pvalue > 1e-3


def test_mar_depends_on_the_other_column_only():
    users = _missing_pair(column="age", mechanism="MAR", depends_on="device", rate=0.3, strength=2.0)
    assert abs(users["missing"].mean() - 0.3) < 0.015
    by_device = users.groupby("device", observed=True)["missing"].mean()
    assert by_device["tablet"] > by_device["mobile"] + 0.2
    # Within a device, whether age is missing says nothing about the age.
    mobile = users[users["device"] == "mobile"]
    assert stats.ttest_ind(mobile.loc[mobile.missing, "age"], mobile.loc[~mobile.missing, "age"]).pvalue > 1e-3


def test_mnar_depends_on_the_value_itself():
    users = _missing_pair(column="age", mechanism="MNAR", rate=0.3, strength=1.5)
    assert abs(users["missing"].mean() - 0.3) < 0.015
    assert users.loc[users.missing, "age"].mean() > users.loc[~users.missing, "age"].mean() + 5


def test_missing_values_only_after_onset():
    scenario = MissingValues(onset=ONSET, table="impressions", column="price", mechanism="MCAR", rate=0.5)
    world = small_world(scenarios=[scenario])
    log = world.run(days=DAYS, policy=RandomPolicy())
    assert before(log.impressions, "shown_at", world)["price"].notna().all()
    assert abs(after(log.impressions, "shown_at", world)["price"].isna().mean() - 0.5) < 0.02


def test_duplicates_only_after_onset():
    scenario = DuplicateEvents(onset=ONSET, rate=0.05)
    base, base_log, world, log = run_pair(scenario)
    early = before(log.impressions, "shown_at", world)
    assert not early.duplicated().any()
    late = after(log.impressions, "shown_at", world)
    assert abs(late.duplicated().mean() - 0.05 / 1.05) < 0.01
    pd.testing.assert_frame_equal(log.impressions.drop_duplicates().reset_index(drop=True), base_log.impressions)
    assert log.clicks.duplicated().any()
    assert log.labeled_impressions()["impression_id"].is_unique


@pytest.mark.parametrize("make, message", [
    (lambda: NewRegion(region="US"), "NewRegion.region must be one of"),
    (lambda: NewRegion(share=1.5), "NewRegion.share"),
    (lambda: NewRegion(launch_users=-3), "launch_users"),
    (lambda: DeviceMixShift(mix={"phone": 1.0}), "unknown devices"),
    (lambda: DeviceMixShift(mix={"mobile": 0.5}), "summing to 1"),
    (lambda: SeasonalDemand(factor=0.5), "factor must be a number >= 1"),
    (lambda: ConceptDrift(strength=0.0), "ConceptDrift.strength"),
    (lambda: ConceptDrift(ramp_days=-1), "ramp_days"),
    (lambda: NewItems(n_items=0), "n_items"),
    (lambda: PriceInCents(tables=("users",)), "PriceInCents.tables"),
    (lambda: MissingValues(mechanism="MAYBE"), "mechanism must be one of"),
    (lambda: MissingValues(mechanism="MAR"), "needs depends_on"),
    (lambda: MissingValues(mechanism="MCAR", depends_on="device"), "only used with mechanism 'MAR'"),
    (lambda: MissingValues(rate=0.0), "MissingValues.rate"),
    (lambda: MissingValues(table="orders"), "MissingValues.table"),
    (lambda: MissingValues(column="user_id"), "cannot be an id"),
    (lambda: DuplicateEvents(rate=1.0), "DuplicateEvents.rate"),
    (lambda: DuplicateEvents(tables=("users",)), "event tables"),
])
def test_scenarios_reject_bad_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_missing_values_column_must_exist():
    with pytest.raises(ValueError, match="has no column 'income'"):
        small_world(scenarios=[MissingValues(table="users", column="income")])
    with pytest.raises(ValueError, match="numeric or categorical"):
        small_world(scenarios=[MissingValues(table="items", column="title", mechanism="MNAR", onset=-5000)])


def test_every_table_a_scenario_can_name_is_logged_through_it():
    """A logging scenario never silently does nothing: each table it may name passes through it."""
    for table, column in [("users", "age"), ("items", "rating"), ("sellers", "region"), ("sessions", "device"),
                          ("impressions", "price"), ("clicks", "position"), ("purchases", "amount")]:
        scenario = MissingValues(onset=-10_000, table=table, column=column, mechanism="MCAR", rate=0.5)
        world = small_world(scenarios=[scenario])
        log = world.run(days=10, policy=RandomPolicy())
        recorded = log.tables[table]
        assert len(recorded) and recorded[column].isna().any(), table
