"""Quota and judgment samples (chapter 4, "Nonprobability Sampling"): quotas are filled exactly, in
arrival order; a judgment sample is the top of the expert's ranking; bad input is refused clearly."""
import numpy as np
import pandas as pd
import pytest

from dmls.sampling import allocate, judgment_sample, quota_sample


@pytest.fixture()
def arrivals():
    rng = np.random.default_rng(4)
    return pd.DataFrame({"group": rng.choice(["a", "b", "c"], size=400, p=[0.6, 0.3, 0.1]),
                         "score": rng.normal(size=400)}, index=pd.Index(np.arange(1000, 1400), name="user_id"))


def test_quotas_are_filled_exactly_by_the_first_to_arrive(arrivals):
    quotas = {"a": 10, "b": 5, "c": 3}
    taken = quota_sample(arrivals, "group", quotas)
    assert taken.name == "user_id"
    assert arrivals.loc[taken, "group"].value_counts().to_dict() == quotas
    for group, count in quotas.items():
        first = arrivals.index[arrivals["group"] == group][:count]
        assert list(taken[arrivals.loc[taken, "group"].to_numpy() == group]) == list(first)


def test_quotas_in_proportion_match_the_population_mix(arrivals):
    quotas = allocate(arrivals["group"].value_counts(), 100)
    taken = quota_sample(arrivals, "group", quotas)
    assert len(taken) == 100
    assert (arrivals.loc[taken, "group"].value_counts() == quotas).all()


def test_a_zero_quota_and_an_absent_group_are_allowed(arrivals):
    taken = quota_sample(arrivals, "group", pd.Series({"a": 2, "c": 0, "z": 0}))
    assert len(taken) == 2


def test_judgment_sample_takes_the_top_of_the_ranking(arrivals):
    chosen = judgment_sample(arrivals, 5, "score")
    assert list(chosen) == list(arrivals["score"].sort_values(ascending=False, kind="stable").index[:5])
    assert list(judgment_sample(arrivals, 5, -arrivals["score"])) == \
        list(arrivals["score"].sort_values(kind="stable").index[:5])


def test_judgment_ties_keep_the_frame_order(arrivals):
    assert list(judgment_sample(arrivals, 3, pd.Series(1.0, index=arrivals.index))) == list(arrivals.index[:3])


@pytest.mark.parametrize("call, error, message", [
    (lambda f: quota_sample(f.values, "group", {"a": 1}), TypeError, "frame must be a DataFrame"),
    (lambda f: quota_sample(f, "nope", {"a": 1}), ValueError, "no column 'nope'"),
    (lambda f: quota_sample(f, "group", {}), ValueError, "quotas must be a non-empty"),
    (lambda f: quota_sample(f, "group", {"a": 1.5}), TypeError, "quota of 'a' must be an integer"),
    (lambda f: quota_sample(f, "group", {"a": True}), TypeError, "quota of 'a' must be an integer"),
    (lambda f: quota_sample(f, "group", {"a": -1}), ValueError, "quota of 'a' must be >= 0"),
    (lambda f: quota_sample(f, "group", {"c": 10_000}), ValueError, "fewer than its quota"),
    (lambda f: judgment_sample(f, 0, "score"), ValueError, "n must be a positive integer"),
    (lambda f: judgment_sample(f, 2.0, "score"), TypeError, "n must be a positive integer"),
    (lambda f: judgment_sample(f, 401, "score"), ValueError, "cannot take 401"),
    (lambda f: judgment_sample(f, 2, "nope"), ValueError, "no column 'nope'"),
    (lambda f: judgment_sample(f, 2, f["score"].iloc[:10]), ValueError, "a score to every row"),
    (lambda f: judgment_sample(f, 2, f["score"].where(f["score"] > 0)), ValueError, "missing or non-numeric"),
    (lambda f: judgment_sample(f.values, 2, "score"), TypeError, "frame must be a DataFrame"),
])
def test_bad_input_is_refused(arrivals, call, error, message):
    with pytest.raises(error, match=message):
        call(arrivals)
