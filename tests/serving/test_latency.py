"""Latency summaries and the M/M/1 queue simulation, checked against the closed form."""
import math

import numpy as np
import pytest
from scipy import stats

from dmls.serving import latency_summary, max_utilisation, mm1_sojourn, simulate_queue


def test_ten_requests_mean_against_percentiles():
    s = latency_summary([100, 102, 100, 100, 99, 104, 110, 90, 3_000, 95])
    assert list(s.index) == ["mean", "p50", "p90", "p99", "max"]
    assert s["mean"] == pytest.approx(390.0)
    assert s["p50"] == pytest.approx(100.0)
    assert s["p99"] == pytest.approx(110 + 0.91 * (3_000 - 110))  # linear interpolation
    assert s["max"] == 3_000


def test_summary_takes_other_percentiles_and_rejects_bad_input():
    assert list(latency_summary([1, 2, 3], percentiles=(0.999,)).index) == ["mean", "p99.9", "max"]
    for bad in ([], [1, -1], [1, np.nan], [[1, 2]]):
        with pytest.raises(ValueError):
            latency_summary(bad)
    for bad in ("fast", None):
        with pytest.raises(TypeError):
            latency_summary(bad)
    with pytest.raises(ValueError, match="percentile"):
        latency_summary([1, 2], percentiles=(1.0,))


def test_closed_form():
    c = mm1_sojourn(150, 200)
    assert c["utilisation"] == pytest.approx(0.75)
    assert c["mean"] == pytest.approx(1 / 50)
    assert c["p50"] == pytest.approx(math.log(2) / 50)
    assert c["p99"] == pytest.approx(math.log(100) / 50)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_simulation_matches_the_closed_form(rho):
    mu = 200.0
    x = simulate_queue(rho * mu, mu, 400_000, seed=3, warmup=20_000)
    exact = mm1_sojourn(rho * mu, mu)
    assert x.shape == (400_000,) and (x > 0).all()
    assert x.mean() == pytest.approx(exact["mean"], rel=0.04)
    for q in (0.5, 0.9, 0.99):
        assert np.quantile(x, q) == pytest.approx(exact[f"p{100 * q:g}"], rel=0.05)
    # the whole distribution is exponential with rate mu - lambda (thinned: neighbours are correlated)
    assert stats.kstest(x[::200], "expon", args=(0, exact["mean"])).pvalue > 0.001


def test_simulation_is_seeded_and_queues_build_up():
    a = simulate_queue(100, 200, 1_000, seed=1)
    assert np.array_equal(a, simulate_queue(100, 200, 1_000, seed=1))
    assert not np.array_equal(a, simulate_queue(100, 200, 1_000, seed=2))
    light, heavy = (simulate_queue(r, 200, 50_000, seed=0, warmup=5_000) for r in (20, 180))
    assert np.quantile(heavy, 0.99) > 5 * np.quantile(light, 0.99)


def test_queue_rejects_an_overloaded_or_malformed_server():
    with pytest.raises(ValueError, match="below service_rate"):
        simulate_queue(200, 200, 10)
    with pytest.raises(ValueError, match="below service_rate"):
        mm1_sojourn(300, 200)
    with pytest.raises(ValueError, match="arrival_rate"):
        simulate_queue(-1, 200, 10)
    with pytest.raises(ValueError, match="n_requests"):
        simulate_queue(1, 2, 0)
    with pytest.raises(TypeError, match="warmup"):
        simulate_queue(1, 2, 10, warmup=1.5)


def test_max_utilisation_inverts_the_closed_form():
    mu, budget = 200.0, 0.1
    rho_mean, rho_p99 = max_utilisation(mu, budget), max_utilisation(mu, budget, q=0.99)
    assert rho_mean == pytest.approx(0.95)
    assert mm1_sojourn(rho_p99 * mu, mu)["p99"] == pytest.approx(budget)
    assert rho_p99 < rho_mean
    assert max_utilisation(200.0, 0.001, q=0.99) == 0.0  # even an idle server misses 1 ms at p99
    with pytest.raises(ValueError, match="budget"):
        max_utilisation(mu, 0)
