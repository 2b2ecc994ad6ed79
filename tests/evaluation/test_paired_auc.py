"""compare_aucs gives, in one pass, the intervals metric_interval and difference_interval give one by one."""
import numpy as np
import pytest

from dmls.evaluation import difference_interval, metric_interval
from dmls.evaluation.paired_auc import compare_aucs


def sample(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    scores = {
        "strong": y * 1.0 + rng.normal(size=n),
        "weak": y * 0.3 + rng.normal(size=n),
        "tied": np.round(y * 0.5 + rng.normal(size=n), 1),  # ties, handled by midranks
    }
    return y, scores


def test_matches_the_one_at_a_time_intervals():
    y, scores = sample()
    result = compare_aucs(y, scores)
    for name, s in scores.items():
        one = metric_interval("roc_auc", y, s)
        got = result.auc[name]
        assert (got.estimate, got.low, got.high) == pytest.approx((one.estimate, one.low, one.high), abs=1e-12)
    for a in scores:
        for b in scores:
            if a != b:
                one = difference_interval("roc_auc", y, scores[a], scores[b])
                got = result.difference(a, b)
                assert (got.estimate, got.low, got.high) == pytest.approx((one.estimate, one.low, one.high),
                                                                          abs=1e-12)


def test_winner_is_the_scorer_ahead_of_every_other():
    y, scores = sample(n=5_000)
    assert compare_aucs(y, scores).winner() == "strong"
    rng = np.random.default_rng(1)
    noise = {"a": rng.normal(size=y.size), "b": rng.normal(size=y.size)}
    assert compare_aucs(y, noise).winner() is None


def test_bad_input_is_refused():
    y, scores = sample(n=200)
    with pytest.raises(ValueError, match="at least two"):
        compare_aucs(y, {"strong": scores["strong"]})
    with pytest.raises(TypeError, match="map names"):
        compare_aucs(y, [scores["strong"], scores["weak"]])
    with pytest.raises(ValueError, match="both classes"):
        compare_aucs(np.zeros(200), scores)
    with pytest.raises(ValueError, match="values"):
        compare_aucs(y, {"a": scores["strong"], "b": scores["weak"][:10]})
    with pytest.raises(KeyError, match="scorers are"):
        compare_aucs(y, scores).difference("strong", "strong")
    with pytest.raises(ValueError, match="confidence"):
        compare_aucs(y, scores, confidence=1.5)
