"""Bad input to the labeling functions fails at the boundary, naming the parameter (issue: input validation).

Each call here was accepted silently, or failed deep inside numpy/scikit-learn, before the checks were added.
"""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from dmls.labeling import (ABSTAIN, Annotator, LabelModel, active_learning_curve, annotate, apply_labeling_functions,
                           label_delays, lf_summary, majority_vote, window_tradeoff)
from dmls.world import World

RNG = np.random.default_rng(917)
L = RNG.integers(-1, 2, size=(30, 3))
TRUTH = pd.Series(RNG.choice(["ok", "bad"], 40))
FRAME = pd.DataFrame({"x": np.arange(12)})
X_POOL = RNG.normal(size=(200, 3))
Y_POOL = (X_POOL[:, 0] > 0).astype(int)


def zeros(f):
    return np.zeros(len(f), dtype=int)


def curve(**kwargs):
    arguments = {"make_model": LogisticRegression, "X_pool": X_POOL, "y_pool": Y_POOL, "X_test": X_POOL,
                 "y_test": Y_POOL, "initial": 10, "batch": 5, "rounds": 2} | kwargs
    return active_learning_curve(**arguments)


@pytest.mark.parametrize("call, error, message", [
    (lambda: Annotator("x", "0.5"), TypeError, "diligence must be a number"),
    (lambda: Annotator("x", True), TypeError, "diligence must be a number"),
    (lambda: Annotator(5, 0.5), TypeError, "Annotator name must be a string"),
    (lambda: Annotator("", 0.5), ValueError, "Annotator name must not be empty"),
    (lambda: Annotator("x", 0.5, lazy="yes"), TypeError, "lazy must be True or False"),
    (lambda: Annotator("x", 0.5, cost_per_label=-1), ValueError, "cost_per_label must be >= 0"),
    (lambda: Annotator("x", 0.5, cost_per_label=float("nan")), ValueError, "cost_per_label must be a finite"),
    (lambda: annotate(TRUTH, [Annotator("x", .9)], share="1"), TypeError, "share must be a number"),
    (lambda: annotate(TRUTH, [Annotator("x", .9)], share=True), TypeError, "share must be a number"),
    (lambda: annotate(TRUTH, [Annotator("x", .9)], seed=1.5), TypeError, "seed must be an integer"),
    (lambda: annotate(TRUTH, [Annotator("x", .9)], seed=-1), ValueError, "seed must be >= 0"),
    (lambda: annotate(["ok", "bad"], [Annotator("x", .9)]), TypeError, "truth must be a Series"),
    (lambda: annotate(TRUTH, ["x"]), TypeError, "annotators must be Annotator objects"),
    (lambda: annotate(TRUTH, Annotator("x", .9)), TypeError, "annotators must be a list of Annotator"),
    (lambda: annotate(pd.Series(["ok", None, "bad"]), [Annotator("x", .9)]), ValueError, "truth has 1 missing"),
    (lambda: annotate(pd.Series(["ok", "bad"], index=[1, 1]), [Annotator("x", .9)]), ValueError, "truth has repeated"),
    (lambda: annotate(pd.Series(["ok", 1]), [Annotator("x", .9)]), ValueError, "truth mixes classes"),
])
def test_bad_annotation_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.fixture(scope="module")
def log():
    world = World(seed=917, n_users=300, n_items=150, n_sellers=15)
    world.run(days=2)
    return world.run(days=6)


@pytest.mark.parametrize("windows, error, message", [
    ([3600], TypeError, "windows must hold durations .* not the bare number 3600"),
    ([True], TypeError, "windows must hold durations"),
    ("1h", TypeError, "windows must be a list of durations"),
    (pd.Timedelta("1h"), TypeError, "windows must be a list of durations"),
    (None, TypeError, "windows must be a list of durations"),
    (["x"], ValueError, "windows holds 'x', which is not a duration"),
    ([pd.NaT], ValueError, "windows holds NaT, which is not a duration"),
])
def test_bad_label_windows_are_named(log, windows, error, message):
    with pytest.raises(error, match=message):
        window_tradeoff(log, windows)


def test_label_windows_still_take_strings_and_timedeltas(log):
    table = window_tradeoff(log, ["1h", pd.Timedelta(hours=6), np.timedelta64(1, "D")])
    assert list(table.index) == [pd.Timedelta(hours=1), pd.Timedelta(hours=6), pd.Timedelta(days=1)]


def test_natural_labels_need_a_log():
    with pytest.raises(TypeError, match="log must be a dmls.world.Log"):
        label_delays(None)
    with pytest.raises(TypeError, match="log must be a dmls.world.Log"):
        window_tradeoff(None, ["1h"])


@pytest.mark.parametrize("call, error, message", [
    (lambda: apply_labeling_functions({"a": zeros}, FRAME, 1.5), TypeError, "n_classes must be an integer"),
    (lambda: apply_labeling_functions({"a": zeros}, FRAME, True), TypeError, "n_classes must be an integer"),
    (lambda: apply_labeling_functions({"a": lambda f: -np.ones(len(f), int)}, FRAME, 0), ValueError,
     "n_classes must be >= 1"),
    (lambda: apply_labeling_functions([zeros], FRAME, 2), TypeError, "lfs must be a dict"),
    (lambda: apply_labeling_functions({"a": 3}, FRAME, 2), TypeError, "labeling function 'a' must be callable"),
    (lambda: apply_labeling_functions({"a": zeros}, [1, 2], 2), TypeError, "frame must be a DataFrame"),
    (lambda: apply_labeling_functions({"a": lambda f: np.ones(len(f), bool)}, FRAME, 2), TypeError,
     "labeling function 'a' returned booleans"),
    (lambda: lf_summary(pd.DataFrame(L), np.zeros(5)), ValueError, r"y_true must have one label per row of L \(30\)"),
    (lambda: lf_summary(L[:0]), ValueError, "the label matrix L has no rows"),
    (lambda: lf_summary(L - 5), ValueError, "L: votes must be -1 or a class"),
    (lambda: majority_vote(L, 1.5), TypeError, "n_classes must be an integer"),
    (lambda: majority_vote(np.zeros((3, 2), int), True), TypeError, "n_classes must be an integer"),
    (lambda: majority_vote(-np.ones((3, 2), int), 0), ValueError, "n_classes must be >= 1"),
    (lambda: majority_vote(L, 2, seed=1.5), TypeError, "seed must be an integer"),
    (lambda: majority_vote(L.astype(float), 2), TypeError, "label matrix L must hold integers"),
    (lambda: LabelModel(2).fit(L > 0), TypeError, "label matrix L must hold integers"),
    (lambda: LabelModel(2).fit(L[:0]), ValueError, "the label matrix L has no rows"),
    (lambda: LabelModel(2, max_iter=0), ValueError, "max_iter must be >= 1"),
    (lambda: LabelModel(2, max_iter=1.5), TypeError, "max_iter must be an integer"),
    (lambda: LabelModel(2, tol=float("nan")), ValueError, "tol must be a finite number"),
    (lambda: LabelModel(2, tol=-1), ValueError, "tol must be >= 0"),
    (lambda: LabelModel(2, smoothing=-1), ValueError, "smoothing must be >= 0"),
    (lambda: LabelModel(2, smoothing=float("inf")), ValueError, "smoothing must be a finite number"),
])
def test_bad_weak_supervision_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_weak_supervision_still_takes_valid_votes():
    votes = apply_labeling_functions({"a": zeros, "b": lambda f: np.full(len(f), ABSTAIN)}, FRAME, 2)
    assert votes.shape == (12, 2)
    assert majority_vote(np.array([[0, 1], [1, 1]]), 2, seed=917)[1] == 1
    assert LabelModel(2, smoothing=0).fit(L).n_iter_ >= 1


@pytest.mark.parametrize("kwargs, error, message", [
    ({"initial": 0}, ValueError, "initial must be >= 1"),
    ({"initial": -5}, ValueError, "initial must be >= 1"),
    ({"initial": True}, TypeError, "initial must be an integer"),
    ({"batch": 0}, ValueError, "batch must be >= 1"),
    ({"batch": -1}, ValueError, "batch must be >= 1"),
    ({"batch": 2.5}, TypeError, "batch must be an integer"),
    ({"rounds": -1}, ValueError, "rounds must be >= 0"),
    ({"rounds": 1.5}, TypeError, "rounds must be an integer"),
    ({"seed": 1.5}, TypeError, "seed must be an integer"),
    ({"scoring": "nope"}, ValueError, "scoring 'nope' is not a scikit-learn scorer name"),
    ({"scoring": 5}, TypeError, "scoring must be a scorer name or a callable"),
    ({"make_model": LogisticRegression()}, TypeError, "make_model must be a callable"),
    ({"X_pool": X_POOL[:50]}, ValueError, "X_pool has 50 rows but there are 200 labels"),
    ({"X_test": X_POOL[:10]}, ValueError, "X_test has 10 rows but there are 200 labels"),
    ({"y_pool": Y_POOL[:, None]}, ValueError, "y_pool must be 1-d"),
    ({"y_pool": np.r_[Y_POOL[:-1], np.nan]}, ValueError, "y_pool has 1 missing labels"),
])
def test_bad_active_learning_input_is_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        curve(**kwargs)
