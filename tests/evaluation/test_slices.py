"""Slice-based evaluation: per-slice metrics by hand, and Simpson's paradox in both its forms."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import log_loss, roc_auc_score

from dmls.evaluation import compare_on_slices, slice_report

COLUMNS = ["n", "share", "positive rate", "mean predicted", "ROC AUC", "log loss", "calibration"]


def small():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    p = np.array([0.9, 0.2, 0.6, 0.7, 0.1, 0.4, 0.3, 0.2])
    slices = pd.Series(["b", "b", "a", "a", "c", "a", "b", "c"], name="region")
    return y, p, slices


# ---------------------------------------------------------------------------- slice_report
def test_slice_report_by_hand():
    y, p, slices = small()
    report = slice_report(y, p, slices)
    assert list(report.index) == ["a", "b", "c", "all"] and report.index.name == "region"
    assert list(report.columns) == COLUMNS
    assert list(report["n"]) == [3, 3, 2, 8] and report["share"].to_numpy() == pytest.approx([3 / 8, 3 / 8, 2 / 8, 1])
    a = report.loc["a"]
    assert a["positive rate"] == pytest.approx(2 / 3) and a["mean predicted"] == pytest.approx(1.7 / 3)
    assert a["calibration"] == pytest.approx(1.7 / 2)
    assert a["ROC AUC"] == 0  # both positives (0.6, 0.4) below the negative's 0.7
    assert a["log loss"] == pytest.approx(log_loss([1, 0, 1], [0.6, 0.7, 0.4]))
    c = report.loc["c"]  # two negatives: no AUC, and no positives to calibrate against
    assert np.isnan(c["ROC AUC"]) and np.isnan(c["calibration"]) and c["positive rate"] == 0
    assert c["log loss"] == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    everything = report.loc["all"]
    assert everything["ROC AUC"] == pytest.approx(roc_auc_score(y, p))
    assert everything["log loss"] == pytest.approx(log_loss(y, p))
    assert everything["calibration"] == pytest.approx(p.mean() / y.mean())


def test_small_slices_are_dropped_but_still_count_in_all():
    y, p, slices = small()
    report = slice_report(y, p, slices, min_size=3)
    assert list(report.index) == ["a", "b", "all"] and report.loc["all", "n"] == 8
    assert list(slice_report(y, p, slices, min_size=9).index) == ["all"]


def test_index_name_and_label_order():
    y, p, slices = small()
    assert slice_report(y, p, slices.to_numpy()).index.name == "slice"
    assert slice_report(y, p, list(slices), name="where").index.name == "where"
    ordered = pd.Series(pd.Categorical(slices, categories=["c", "b", "a", "never seen"]), name="region")
    assert list(slice_report(y, p, ordered).index) == ["c", "b", "a", "all"]  # category order; unused ones skipped
    assert list(slice_report(y, p, [3, 1, 2, 2, 10, 1, 3, 3]).index) == [1, 2, 3, 10, "all"]


def test_slices_are_matched_to_labels_by_position():
    y, p, slices = small()
    reindexed = slices.set_axis(range(100, 108))
    pd.testing.assert_frame_equal(slice_report(y, p, reindexed), slice_report(y, p, slices))
    with pytest.raises(ValueError, match="different indexes; align them first"):
        slice_report(pd.Series(y), p, reindexed)


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1), st.sampled_from("abcd")), min_size=1, max_size=60))
def test_slices_add_up_to_all(rows):
    y, p, labels = (np.array(column) for column in zip(*rows))
    report = slice_report(y, p, labels)
    slices, everything = report.drop(index="all"), report.loc["all"]
    assert everything["n"] == len(y) and slices["n"].sum() == len(y)
    assert slices["share"].sum() == pytest.approx(1)
    assert (slices["n"] * slices["positive rate"]).sum() == pytest.approx(y.sum())
    assert (slices["n"] * slices["mean predicted"]).sum() == pytest.approx(p.sum())
    assert (slices["n"] * slices["log loss"]).sum() / len(y) == pytest.approx(everything["log loss"])


def test_kidney_stones_a_better_on_both_slices_b_better_overall():
    """Charig et al. (1986): treatment A succeeds more often on small and on large stones, B
    more often overall, because A was given the hard cases (large stones) far more often."""
    def patients(small_success, small_total, large_success, large_total):
        sizes = ["small"] * small_total + ["large"] * large_total
        success = [1] * small_success + [0] * (small_total - small_success)
        success += [1] * large_success + [0] * (large_total - large_success)
        return np.array(success), np.full(len(success), 0.5), pd.Series(sizes, name="stone")

    a, b = slice_report(*patients(81, 87, 192, 263)), slice_report(*patients(234, 270, 55, 80))
    rates = pd.DataFrame({"A": a["positive rate"], "B": b["positive rate"]})
    expected = {"A": [81 / 87, 192 / 263, 273 / 350], "B": [234 / 270, 55 / 80, 289 / 350]}
    pd.testing.assert_frame_equal(rates.loc[["small", "large", "all"]],
                                  pd.DataFrame(expected, index=pd.Index(["small", "large", "all"], name="stone")))
    assert (rates.loc[["small", "large"], "A"] > rates.loc[["small", "large"], "B"]).all()
    assert rates.loc["all", "A"] < rates.loc["all", "B"]
    assert a.loc["large", "share"] > 0.75 > 0.25 > b.loc["large", "share"]


@pytest.mark.parametrize("call, message", [
    (lambda y, p, s: slice_report(y, p, s.head(5)), r"one label per row of y_true \(8\), got shape \(5,\)"),
    (lambda y, p, s: slice_report(y, p, s.where(s != "c")), "slices has 2 missing labels"),
    (lambda y, p, s: slice_report(y, p[:5], s), "y_prob has 5 values but y_true has 8"),
    (lambda y, p, s: slice_report(y, p * 2, s), r"y_prob must hold probabilities in \[0, 1\]"),
    (lambda y, p, s: slice_report(y + 1, p, s), "y_true must hold binary labels"),
    (lambda y, p, s: slice_report(y, p, s, min_size=0), "min_size must be an integer >= 1, got 0"),
    (lambda y, p, s: compare_on_slices(y, p, p, s, metric="F1"), "metric must be one of .* got 'F1'"),
    (lambda y, p, s: compare_on_slices(y, p, p[:5], s), "prob_b has 5 values but y_true has 8"),
    (lambda y, p, s: compare_on_slices(y, p - 1, p, s), r"prob_a must hold probabilities in \[0, 1\]"),
    (lambda y, p, s: compare_on_slices(y, p, p, s, names=("x", "x")), "names must be two different names"),
    (lambda y, p, s: compare_on_slices(y, p, p, s, names=("x", "tie")), "names must be two different names"),
])
def test_bad_slice_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call(*small())


# ---------------------------------------------------------------------------- compare_on_slices
def auc_paradox(seed=0):
    """Two slices with click rates 20% and 80%. Model A knows the slice's rate and little else;
    model B ranks perfectly within each slice but puts the low-rate slice above the high-rate one."""
    rng = np.random.default_rng(seed)
    slices = np.repeat(["low", "high"], 100)
    y = np.concatenate([np.arange(100) < 20, np.arange(100) < 80]).astype(int)
    base = np.where(slices == "low", 0.2, 0.8)
    a = base + 0.02 * y + 0.05 * rng.random(200)  # weak signal within a slice
    b = np.where(slices == "low", 0.6, 0.1) + 0.3 * (y + rng.random(200) * 0.9) / 2  # perfect within a slice
    return y, a, b, pd.Series(slices, name="segment")


def test_auc_simpsons_paradox_a_wins_overall_b_wins_every_slice():
    y, a, b, slices = auc_paradox()
    table = compare_on_slices(y, a, b, slices, metric="ROC AUC")
    assert list(table.index) == ["high", "low", "all"] and list(table.columns) == ["A", "B", "better"]
    for segment in ("high", "low"):
        rows = (slices == segment).to_numpy()
        assert table.loc[segment, "B"] == roc_auc_score(y[rows], b[rows]) == 1.0
        assert table.loc[segment, "A"] == pytest.approx(roc_auc_score(y[rows], a[rows]))
        assert 0.5 < table.loc[segment, "A"] < 1
        assert table.loc[segment, "better"] == "B"
    assert table.loc["all", "A"] == pytest.approx(roc_auc_score(y, a)) and table.loc["all", "A"] > 0.8
    assert table.loc["all", "B"] == pytest.approx(roc_auc_score(y, b))
    assert table.loc["all", "better"] == "A"
    # 80 positives of "high" are ranked below 80 negatives of "low": 6,400 of the 10,000 pairs.
    assert table.loc["all", "B"] == pytest.approx(0.36)


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1), st.floats(0, 1), st.sampled_from("abc")),
                min_size=1, max_size=40), st.sampled_from(["accuracy", "log loss"]))
def test_no_paradox_for_metrics_that_average_over_the_same_rows(rows, metric):
    y, a, b, labels = (np.array(column) for column in zip(*rows))
    table = compare_on_slices(y, a, b, labels, metric=metric)
    slices, everything = table.drop(index="all"), table.loc["all"]
    weights = pd.Series(labels).value_counts().reindex(slices.index).to_numpy() / len(y)
    assert (weights * slices["A"]).sum() == pytest.approx(everything["A"])
    if (slices["better"] == "B").all():
        assert everything["better"] == "B"


def test_better_follows_the_metrics_direction_and_ties():
    y, p, slices = small()
    worse = np.clip(1 - p, 0, 1)
    loss = compare_on_slices(y, p, worse, slices, metric="log loss", names=("model", "flipped"))
    assert list(loss.columns) == ["model", "flipped", "better"]
    assert loss.loc["all", "model"] == pytest.approx(log_loss(y, p))
    assert loss.loc["all", "model"] < loss.loc["all", "flipped"]
    assert loss.loc["all", "better"] == "model"
    accuracy = compare_on_slices(y, p, worse, slices, metric="accuracy")
    assert accuracy.loc["all", "A"] == pytest.approx(((p >= 0.5) == y).mean()) == 0.75
    same = compare_on_slices(y, p, p ** 3, slices)  # same ranking, same AUC
    assert list(same["better"]) == ["tie", "tie", "n/a", "tie"]  # slice "c" has only negatives
    assert np.isnan(same.loc["c", "A"]) and np.isnan(same.loc["c", "B"])
    assert list(compare_on_slices(y, p, p, slices, min_size=3).index) == ["a", "b", "all"]
