"""Behaviour of the simulated marketplace that every chapter relies on."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dmls.world import Behaviour, Log, PopularityPolicy, RandomPolicy, World, WorldConfig
from dmls.world.policies import Policy, Slates

from .conftest import small_world


def assert_logs_equal(a: Log, b: Log):
    assert a.start == b.start and a.end == b.end
    for name, table in a.tables.items():
        pd.testing.assert_frame_equal(table.reset_index(drop=True), b.tables[name].reset_index(drop=True), obj=name)


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_log():
    assert_logs_equal(small_world(seed=3).run(days=3), small_world(seed=3).run(days=3))


def test_different_seed_different_log():
    a, b = small_world(seed=3).run(days=2), small_world(seed=4).run(days=2)
    assert not a.impressions[["user_id", "item_id"]].equals(b.impressions[["user_id", "item_id"]])


def test_running_in_pieces_equals_running_at_once():
    whole = small_world(seed=8).run(days=4)
    world = small_world(seed=8)
    parts = Log.concat([world.run(days=1), world.run(days=2), world.run(days=1)])
    assert_logs_equal(whole, parts)
    assert world.now == whole.end


def test_policies_meet_the_same_sessions_and_candidates():
    """Common random numbers: the policy changes the slates, not who visits."""
    a = small_world(seed=2).run(days=2, policy=RandomPolicy())
    b = small_world(seed=2).run(days=2, policy=PopularityPolicy(temperature=0.0))
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    assert not a.impressions["item_id"].equals(b.impressions["item_id"])


# ----------------------------------------------------------------------------- shape of the log
def test_tables_are_consistent(two_week_log):
    world, log = two_week_log
    k = world.config.slate_size
    assert len(log.impressions) == k * len(log.sessions)
    assert log.impressions["impression_id"].is_unique and log.sessions["session_id"].is_unique
    assert (log.impressions.groupby("session_id")["item_id"].nunique() == k).all()
    assert set(log.impressions["position"]) == set(range(1, k + 1))
    assert log.clicks["impression_id"].isin(log.impressions["impression_id"]).all()
    assert log.purchases["impression_id"].isin(log.clicks["impression_id"]).all()
    assert log.returns["purchase_id"].isin(log.purchases["purchase_id"]).all()
    merged = log.clicks.merge(log.impressions[["impression_id", "shown_at", "user_id", "item_id"]], on="impression_id")
    assert (merged["clicked_at"] > merged["shown_at"]).all()
    assert (merged["user_id_x"] == merged["user_id_y"]).all() and (merged["item_id_x"] == merged["item_id_y"]).all()
    bought = log.purchases.merge(log.clicks[["impression_id", "clicked_at"]], on="impression_id")
    assert (bought["purchased_at"] > bought["clicked_at"]).all()
    for name in ("sessions", "impressions", "clicks", "purchases", "returns"):
        times = log.tables[name].iloc[:, -1] if name != "impressions" else log.impressions["shown_at"]
        assert times.between(log.start, log.end, inclusive="left").all(), name
    # Users shown in sessions had signed up before; items shown had been listed before.
    shown = log.impressions.merge(world.items[["item_id", "listed_at"]], on="item_id")
    assert (shown["listed_at"] < shown["shown_at"]).all()
    visits = log.sessions.merge(world.users[["user_id", "signup_at"]], on="user_id")
    assert (visits["signup_at"] < visits["started_at"]).all()


def test_logged_truth_matches_click_probability(two_week_log):
    world, log = two_week_log
    sample = log.impressions.sample(2_000, random_state=0)
    p = [world.click_probability(r.user_id, r.item_id, r.position, r.device, at=r.shown_at)
         for r in sample.itertuples()]
    np.testing.assert_allclose(p, sample["p_click"], rtol=1e-9)


def test_world_grows(two_week_log):
    world, log = two_week_log
    assert len(world.users) > world.config.n_users and len(world.items) > world.config.n_items
    assert world.users["user_id"].tolist() == list(range(len(world.users)))
    assert world.users["signup_at"].is_monotonic_increasing


# ----------------------------------------------------------------------------- statistics the book relies on
def test_click_rate_is_a_realistic_few_percent(two_week_log, random_log):
    for _, log in (two_week_log, random_log):
        ctr = len(log.clicks) / len(log.impressions)
        assert 0.01 < ctr < 0.06, ctr


def test_clicks_are_bernoulli_draws_of_p_click(two_week_log):
    """Observed clicks agree with the logged true probability within every decile of it."""
    _, log = two_week_log
    df = log.labeled_impressions()
    df["bin"] = pd.qcut(df["p_click"], 10, labels=False, duplicates="drop")
    g = df.groupby("bin").agg(n=("clicked", "size"), clicks=("clicked", "sum"), expected=("p_click", "sum"),
                              var=("p_click", lambda p: (p * (1 - p)).sum()))
    z = (g["clicks"] - g["expected"]) / np.sqrt(g["var"])
    assert (z.abs() < 4.5).all(), z


def test_click_rate_falls_with_position(random_log):
    world, log = random_log
    df = log.labeled_impressions()
    ctr = df.groupby("position")["clicked"].mean()
    assert ctr.is_monotonic_decreasing
    assert ctr.iloc[0] > 4 * ctr.iloc[-1]
    # Under a random policy attraction is independent of position, so the ratio of click rates is
    # the ratio of examination probabilities, per device.
    for device, decay in world.config.behaviour.position_decay.items():
        d = df[df["device"] == device]
        top, k = d[d["position"] == 1], 5
        lower = d[d["position"] == k]
        ratio = lower["clicked"].mean() / top["clicked"].mean()
        se = ratio * np.sqrt(1 / lower["clicked"].sum() + 1 / top["clicked"].sum())
        assert abs(ratio - k ** -decay) < 4 * se, (device, ratio, k ** -decay)


def test_purchase_and_click_delays(two_week_log):
    world, log = two_week_log
    b = world.config.behaviour
    bought = log.purchases.merge(log.clicks[["impression_id", "clicked_at"]], on="impression_id")
    hours = (bought["purchased_at"] - bought["clicked_at"]).dt.total_seconds() / 3600
    # Purchases made after the log's end are not in it, so compare with the truncated distribution:
    # a log-normal median, checked on the clicks of the first week whose purchases all had time to land.
    early = bought["clicked_at"] < log.start + pd.Timedelta(days=7)
    logs = np.log(hours[early])
    # Four standard errors: of a normal sample's median (1.2533 sigma / sqrt(n)) and of its spread.
    n = len(logs)
    assert abs(np.median(logs) - np.log(b.purchase_delay_median_h)) < 4 * 1.2533 * b.purchase_delay_sigma / np.sqrt(n)
    assert abs(logs.std() - b.purchase_delay_sigma) < 4 * b.purchase_delay_sigma / np.sqrt(2 * n)
    assert stats.kstest(logs, "norm", args=(np.log(b.purchase_delay_median_h), b.purchase_delay_sigma)).pvalue > 1e-3
    clicks = log.clicks.merge(log.impressions[["impression_id", "shown_at"]], on="impression_id")
    seconds = (clicks["clicked_at"] - clicks["shown_at"]).dt.total_seconds()
    assert abs(np.median(seconds) / b.click_delay_median_s - 1) < 0.05


def test_late_labels_stay_pending_until_their_time():
    world = small_world(seed=12)
    first = world.run(days=3)
    later = world.run(days=10)
    assert len(later.purchases) and (later.purchases["impression_id"].isin(first.clicks["impression_id"])).any()
    assert not first.purchases["purchase_id"].isin(later.purchases["purchase_id"]).any()


def test_popularity_loop_concentrates_exposure():
    """The popularity policy learns from its own clicks and narrows what gets shown."""
    def top_share(policy):
        log = small_world(seed=4).run(days=10, policy=policy)
        last = log.impressions[log.impressions["shown_at"] >= log.end - pd.Timedelta(days=2)]
        counts = last["item_id"].value_counts()
        return counts.head(len(counts) // 10).sum() / counts.sum()

    assert top_share(PopularityPolicy(temperature=0.25)) > 1.6 * top_share(RandomPolicy())


def test_attraction_depends_on_taste_price_and_quality(random_log):
    world, log = random_log
    df = log.labeled_impressions().merge(world.truth.items, on="item_id")
    attraction = df["p_click"] / df["p_examine"]
    assert stats.spearmanr(df["quality"], attraction).statistic > 0.1
    dearer = df["price"] > df.groupby("category", observed=True)["price"].transform("median")
    assert attraction[dearer].mean() < attraction[~dearer].mean()


# ----------------------------------------------------------------------------- event stream
def test_events_are_time_ordered_and_json(two_week_log):
    _, log = two_week_log
    small = Log(start=log.start, end=log.end, users=log.users, items=log.items, sellers=log.sellers,
                **{name: log.tables[name].head(300) for name in ("sessions", "impressions", "clicks", "purchases", "returns")})
    events = list(small.events())
    assert len(events) == sum(len(small.tables[n]) for n in ("sessions", "impressions", "clicks", "purchases", "returns"))
    ts = [e["ts"] for e in events]
    assert ts == sorted(ts)
    assert json.loads(json.dumps(events)) == events
    first = events[0]
    assert first["event"] == "session" and first["ts"].endswith("Z") and len(first["ts"]) == 24
    impression = next(e for e in events if e["event"] == "impression")
    assert set(impression) == {"event", "ts", "impression_id", "session_id", "user_id", "item_id", "position",
                               "device", "price", "propensity", "p_examine", "p_click"}
    assert [e["event"] for e in small.events(["clicks"])] == ["click"] * len(small.clicks)


def test_events_reject_unknown_table(two_week_log):
    with pytest.raises(ValueError, match="unknown event tables"):
        list(two_week_log[1].events(["purchases", "refunds"]))


def test_concat_needs_consecutive_logs():
    world = small_world()
    a = world.run(days=1)
    world.run(days=1)
    c = world.run(days=1)
    with pytest.raises(ValueError, match="consecutive"):
        Log.concat([a, c])
    with pytest.raises(ValueError, match="at least one"):
        Log.concat([])


def test_labeled_impressions_window(two_week_log):
    _, log = two_week_log
    all_time = log.labeled_impressions()
    hour = log.labeled_impressions(purchase_window="1h")
    assert all_time["clicked"].sum() == len(log.clicks)
    assert hour["purchased"].sum() < all_time["purchased"].sum()
    assert not (hour["purchased"] & ~hour["clicked"]).any()


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, message", [
    (dict(n_users=0), "n_users must be an integer from 1"),
    (dict(n_items=2.5), "n_items must be an integer from 1"),
    (dict(slate_size=12, n_candidates=10), "n_candidates .* at least slate_size"),
    (dict(n_items=10, n_candidates=30), "n_items .* at least n_candidates"),
    (dict(sessions_per_user_day=-1.0), "sessions_per_user_day"),
    (dict(sessions_per_user_day=float("nan")), "sessions_per_user_day"),
    (dict(start="not a date"), "start is not a date"),
    (dict(start="2026-03-02 12:00"), "must be a midnight"),
    (dict(behaviour="friendly"), "behaviour must be a Behaviour"),
])
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        WorldConfig(**kwargs)


def test_behaviour_rejects_bad_values():
    with pytest.raises(ValueError, match="region_offset needs a value for every region"):
        Behaviour(region_offset={"US": 0.0})
    with pytest.raises(ValueError, match="position_decay"):
        Behaviour(position_decay={"mobile": -1.0, "desktop": 1.0, "tablet": 1.0})
    with pytest.raises(ValueError, match="purchase_delay_median_h"):
        Behaviour(purchase_delay_median_h=0.0)


def test_world_rejects_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        World(seed=-1)
    with pytest.raises(TypeError, match="config must be a WorldConfig"):
        World({"n_users": 10})
    with pytest.raises(TypeError, match="scenarios\\[0\\] must be a Scenario"):
        World(scenarios=["drift"])
    world = small_world()
    with pytest.raises(ValueError, match="days must be positive"):
        world.run(days=0)
    with pytest.raises(ValueError, match="non-negative number of days"):
        world.run(days=-1)
    with pytest.raises(ValueError, match="whole number of hours"):
        world.run(days=1, step_days=0.01)
    with pytest.raises(TypeError, match="policy must be"):
        world.run(days=1, policy="popular")
    assert world.now == world.start  # nothing was simulated by the rejected calls


def test_click_probability_rejects_bad_queries():
    world = small_world()
    with pytest.raises(ValueError, match="unknown device"):
        world.click_probability(0, 0, 1, "phone")
    with pytest.raises(ValueError, match="item_id out of range"):
        world.click_probability(0, 10**6, 1, "mobile")
    with pytest.raises(ValueError, match="1-based"):
        world.click_probability(0, 0, 0, "mobile")
    with pytest.raises(TypeError, match="user_id must be integers"):
        world.click_probability(0.5, 0, 1, "mobile")
    p = world.click_probability(np.arange(5), 7, np.arange(1, 6), "desktop")
    assert p.shape == (5,) and ((p > 0) & (p < 1)).all()


class _Cheat(Policy):
    def __init__(self, how):
        self.how = how

    def rank(self, context, rng):
        items = context.candidates[:, :context.slate_size].copy()
        p = np.ones(items.shape)
        if self.how == "shape":
            items = items[:, :-1]
        elif self.how == "outsider":
            items[:, 0] = -1
        elif self.how == "repeat":
            items[:, 1] = items[:, 0]
        elif self.how == "propensity":
            p[:, 0] = 1.5
        elif self.how == "type":
            return items
        return Slates(items, p)


@pytest.mark.parametrize("how, message", [
    ("shape", "expected"), ("outsider", "not among its candidates"), ("repeat", "same item twice"),
    ("propensity", "propensities outside"), ("type", "must return Slates"),
])
def test_misbehaving_policy_is_named(how, message):
    world = small_world()
    with pytest.raises((ValueError, TypeError), match=f"_Cheat.rank.*{message}|{message}"):
        world.run(days=1, policy=_Cheat(how))


def test_failed_step_loses_nothing():
    """A policy that fails mid-run leaves the world as it was: the next run is as if it never happened."""
    world = small_world(seed=9)
    world.run(days=1)
    with pytest.raises(ValueError):
        world.run(days=2, policy=_Cheat("repeat"))
    after_failure = world.run(days=2)
    fresh = small_world(seed=9)
    fresh.run(days=1)
    assert_logs_equal(after_failure, fresh.run(days=2))
    pd.testing.assert_frame_equal(world.users, fresh.users)


def test_copies_continue_identically_and_independently():
    world = small_world(seed=21)
    world.run(days=2)
    twin = world.copy()
    assert_logs_equal(world.run(days=2), twin.run(days=2))
    twin.run(days=1, policy=RandomPolicy())
    assert twin.now > world.now and len(twin.users) >= len(world.users)


def test_event_stream_is_the_same_whatever_the_chunking(two_week_log):
    _, log = two_week_log
    small = Log(start=log.start, end=log.end, users=log.users, items=log.items, sellers=log.sellers,
                **{name: log.tables[name].head(200) for name in ("sessions", "impressions", "clicks", "purchases", "returns")})
    names = ["sessions", "impressions", "clicks", "purchases", "returns"]
    assert list(small._stream(names, chunk=7)) == list(small._stream(names, chunk=100_000)) == list(small.events())


def test_business_metrics_count_each_event_once(two_week_log):
    _, log = two_week_log
    m = log.business_metrics()
    assert m["click-through rate"] == pytest.approx(len(log.clicks) / len(log.impressions))
    assert m["purchases per 1,000 sessions"] == pytest.approx(1_000 * len(log.purchases) / len(log.sessions))
    doubled = Log(start=log.start, end=log.end, users=log.users, items=log.items, sellers=log.sellers,
                  sessions=log.sessions, impressions=pd.concat([log.impressions] * 2), clicks=pd.concat([log.clicks] * 2),
                  purchases=pd.concat([log.purchases] * 2), returns=log.returns)
    pd.testing.assert_series_equal(doubled.business_metrics(), m)


def test_recorded_candidates_hold_every_slate():
    world = small_world(seed=13, scenarios=[])
    log = world.run(days=2, record_candidates=True)
    c = world.config.n_candidates
    assert len(log.candidates) == c * len(log.sessions)
    assert set(log.candidates["retrieved"]) == set(range(c))
    shown = log.impressions[["session_id", "item_id"]].merge(log.candidates, on=["session_id", "item_id"])
    assert len(shown) == len(log.impressions)  # every shown item was among its session's candidates
    plain = small_world(seed=13).run(days=2)
    assert plain.candidates.empty
    pd.testing.assert_frame_equal(plain.impressions, log.impressions)  # recording changes nothing else


def test_recorded_candidates_follow_thinned_sessions():
    from dmls.world import SeasonalDemand
    world = small_world(seed=13, scenarios=[SeasonalDemand(onset=0, factor=3.0)])
    log = world.run(days=2, record_candidates=True)
    assert set(log.candidates["session_id"]) == set(log.sessions["session_id"])
