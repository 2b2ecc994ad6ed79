"""Hand labels, natural labels, weak supervision and active learning."""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, cohen_kappa_score

from dmls.labeling import (ABSTAIN, Annotator, LabelModel, active_learning_curve, annotate, apply_labeling_functions,
                           label_delays, lf_summary, majority_vote, window_tradeoff)
from dmls.world import World


def test_annotators_are_as_accurate_as_configured():
    truth = pd.Series(np.random.default_rng(0).choice(["ok", "bad", "odd"], size=4_000, p=[0.8, 0.1, 0.1]))
    team = [Annotator("careful", 0.95), Annotator("average", 0.8), Annotator("lazy", 0.6, lazy=True)]
    labels = annotate(truth, team, share=0.5, seed=1)
    assert set(labels["item"]) == set(truth.index)  # everyone labeled at least once
    share_ok = (truth == "ok").mean()
    for a in team:
        mine = labels[labels["annotator"] == a.name]
        accuracy = (mine["label"].to_numpy() == truth.loc[mine["item"]].to_numpy()).mean()
        # Right when looking; when guessing, right with chance 1/3 (random) or share_ok (always "ok").
        expected = a.diligence + (1 - a.diligence) * (share_ok if a.lazy else 1 / 3)
        assert abs(accuracy - expected) < 4 * np.sqrt(expected * (1 - expected) / len(mine))
    lazy = labels[labels["annotator"] == "lazy"]
    wrong = lazy["label"].to_numpy() != truth.loc[lazy["item"]].to_numpy()
    assert (lazy["label"][wrong] == "ok").all()  # a lazy annotator's mistakes all say "ok"


def test_agreement_falls_with_a_bad_annotator():
    truth = pd.Series(np.random.default_rng(2).choice(["ok", "bad"], size=2_000, p=[0.7, 0.3]))
    labels = annotate(truth, [Annotator("a", 0.95), Annotator("b", 0.95), Annotator("c", 0.55)], share=1.0, seed=3)
    wide = labels.pivot(index="item", columns="annotator", values="label")
    assert cohen_kappa_score(wide["a"], wide["b"]) > cohen_kappa_score(wide["a"], wide["c"]) + 0.25


@pytest.mark.parametrize("call, message", [
    (lambda t: annotate(t, []), "at least one annotator"),
    (lambda t: annotate(t, [Annotator("x", 0.9), Annotator("x", 0.8)]), "unique"),
    (lambda t: annotate(t, [Annotator("x", 0.9)], share=0), "share"),
    (lambda t: annotate(t.iloc[:0], [Annotator("x", 0.9)]), "no items"),
    (lambda t: Annotator("x", 1.5), "diligence"),
])
def test_annotation_rejects_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(pd.Series(["ok", "bad"]))


@pytest.fixture(scope="module")
def long_log():
    world = World(seed=7, n_users=3_000, n_items=800, n_sellers=80)
    return world.run(days=24)


def test_label_delays_and_window_tradeoff(long_log):
    delays = label_delays(long_log)
    med = delays.groupby("label")["hours"].median()
    assert med["click"] < 0.01 < med["purchase"] < med["return"]
    tradeoff = window_tradeoff(long_log, ["1h", "6h", "1D", "3D", "7D"])
    caught = tradeoff["purchases caught"]
    assert caught.is_monotonic_increasing and caught.iloc[-1] > 0.95 and caught.iloc[0] < 0.5
    assert tradeoff["'not bought' labels that are wrong"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="extend the log"):
        window_tradeoff(long_log, ["60D"])
    with pytest.raises(ValueError, match="positive"):
        window_tradeoff(long_log, ["0h"])


def synthetic_votes(n=8_000, seed=0):
    """Votes drawn from the label model's own assumptions, with known LF accuracies."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    specs = [(1, 0.8, 0.02), (1, 0.5, 0.10), (2, 0.7, 0.03), (2, 0.4, 0.2), (0, 0.6, 0.05), (1, 0.3, 0.3)]
    L = np.full((n, len(specs)), ABSTAIN)
    for j, (target, hit, false_alarm) in enumerate(specs):
        L[rng.random(n) < np.where(y == target, hit, false_alarm), j] = target
    return L, y


def test_label_model_recovers_lf_accuracies_and_beats_majority_vote():
    L, y = synthetic_votes()
    model = LabelModel(3).fit(L)
    voted = (L != ABSTAIN).any(axis=1)
    empirical = [(L[L[:, j] != ABSTAIN, j] == y[L[:, j] != ABSTAIN]).mean() for j in range(L.shape[1])]
    assert np.abs(model.accuracies_ - empirical).max() < 0.08
    np.testing.assert_allclose(model.class_prior_, [0.7, 0.2, 0.1], atol=0.03)
    lm = accuracy_score(y[voted], model.predict(L)[voted])
    mv = accuracy_score(y[voted], majority_vote(L, 3)[voted])
    assert lm > mv + 0.1
    proba = model.predict_proba(L)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(L)[~voted] == ABSTAIN).all() and (model.predict(L, abstain_without_votes=False) >= 0).all()


def test_lf_summary_counts_coverage_overlaps_and_conflicts():
    L = pd.DataFrame({"a": [0, 0, -1, 1], "b": [0, 1, -1, -1], "c": [-1, -1, -1, 1]})
    s = lf_summary(L, y_true=[0, 0, 1, 1])
    assert s.loc["a", "coverage"] == 0.75 and s.loc["a", "overlaps"] == 0.75 and s.loc["a", "conflicts"] == 0.25
    assert s.loc["b", "accuracy"] == 0.5 and s.loc["c", "conflicts"] == 0.0
    assert majority_vote(L, 2)[2] == ABSTAIN


def test_labeling_functions_are_checked():
    frame = pd.DataFrame({"x": [1, 2, 3]})
    out = apply_labeling_functions({"big": lambda f: np.where(f["x"] > 1, 1, ABSTAIN)}, frame, n_classes=2)
    assert out["big"].tolist() == [ABSTAIN, 1, 1]
    with pytest.raises(ValueError, match="votes must be"):
        apply_labeling_functions({"bad": lambda f: np.full(3, 7)}, frame, n_classes=2)
    with pytest.raises(ValueError, match="shape"):
        apply_labeling_functions({"short": lambda f: np.zeros(2, dtype=int)}, frame, n_classes=2)
    with pytest.raises(ValueError, match="no labeling functions"):
        apply_labeling_functions({}, frame, n_classes=2)
    with pytest.raises(RuntimeError, match="fitted"):
        LabelModel(2).predict(np.zeros((2, 1), dtype=int))
    with pytest.raises(ValueError, match="n_classes"):
        LabelModel(1)


def test_uncertainty_sampling_beats_random_on_average():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3_000, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.3, size=3_000) > 1.5).astype(int)  # rare positives
    X_test, y_test = X[2_000:], y[2_000:]
    gains = []
    for seed in range(3):
        args = dict(make_model=lambda: LogisticRegression(), X_pool=X[:2_000], y_pool=y[:2_000], X_test=X_test,
                    y_test=y_test, scoring="accuracy", initial=20, batch=10, rounds=8, seed=seed)
        active = active_learning_curve(strategy="uncertainty", **args)
        passive = active_learning_curve(strategy="random", **args)
        assert list(active.index) == list(range(20, 101, 10))
        gains.append(active.iloc[-1] - passive.iloc[-1])
    assert np.mean(gains) > 0
    with pytest.raises(ValueError, match="cannot be bought"):
        active_learning_curve(make_model=LogisticRegression, X_pool=X[:50], y_pool=y[:50], X_test=X_test,
                              y_test=y_test, scoring="accuracy", initial=20, batch=10, rounds=8)


def test_active_learning_seed_set_holds_two_classes():
    y = np.r_[np.ones(3), np.zeros(997)].astype(int)
    X = np.c_[y + np.random.default_rng(1).normal(scale=0.1, size=1_000), np.zeros(1_000)]
    curve = active_learning_curve(make_model=LogisticRegression, X_pool=X, y_pool=y, X_test=X, y_test=y,
                                  scoring="accuracy", initial=5, batch=5, rounds=2, seed=0)
    assert curve.index[0] >= 5 and len(curve) == 3
    with pytest.raises(ValueError, match="single class"):
        active_learning_curve(make_model=LogisticRegression, X_pool=X, y_pool=np.zeros(1_000, dtype=int),
                              X_test=X, y_test=y, scoring="accuracy", initial=5, batch=5, rounds=2)
