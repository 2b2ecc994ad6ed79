"""tree_permutation_importance: scikit-learn's permutation importance, computed on the model's bins."""
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance

from dmls.features.importance import tree_permutation_importance


@pytest.fixture(scope="module")
def fitted():
    """A small click-like problem: a strong, a weak and a useless feature, ties, and missing values."""
    rng = np.random.default_rng(0)
    n = 3_000
    X = pd.DataFrame({
        "strong": rng.normal(size=n),
        "weak": rng.integers(0, 5, size=n).astype(float),  # few distinct values: ties across bins
        "noise": rng.normal(size=n),
    })
    X.loc[rng.random(n) < 0.1, "weak"] = np.nan  # the missing-value bin
    logit = 2 * X["strong"] + 0.3 * X["weak"].fillna(2) - 2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X[:2_000], y[:2_000])
    return model, X[2_000:], y[2_000:]


@pytest.mark.parametrize("seed", [0, 7])
def test_equals_scikit_learn(fitted, seed):
    model, X, y = fitted
    ours = tree_permutation_importance(model, X, y, n_repeats=3, random_state=seed)
    theirs = permutation_importance(model, X, y, scoring="neg_log_loss", n_repeats=3, random_state=seed)
    assert ours.importances.shape == (3, 3)
    np.testing.assert_allclose(ours.importances, theirs.importances, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.importances_std, theirs.importances_std, rtol=0, atol=1e-12)
    assert ours.importances_mean.argmax() == 0  # the strong feature matters most


def test_equals_scikit_learn_on_an_array(fitted):
    model, X, y = fitted
    array_model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X.to_numpy(), y)
    ours = tree_permutation_importance(array_model, X.to_numpy(), y, n_repeats=2, random_state=1)
    theirs = permutation_importance(array_model, X.to_numpy(), y, scoring="neg_log_loss", n_repeats=2,
                                    random_state=1)
    np.testing.assert_allclose(ours.importances, theirs.importances, rtol=0, atol=1e-12)


def test_does_not_change_the_input(fitted):
    model, X, y = fitted
    before = X.copy()
    tree_permutation_importance(model, X, y, n_repeats=2, random_state=0)
    pd.testing.assert_frame_equal(X, before)


def test_bad_input(fitted):
    model, X, y = fitted
    with pytest.raises(TypeError, match="HistGradientBoostingClassifier"):
        tree_permutation_importance(object(), X, y)
    with pytest.raises(ValueError, match="fitted"):
        tree_permutation_importance(HistGradientBoostingClassifier(), X, y)
    with pytest.raises(ValueError, match="one label per row"):
        tree_permutation_importance(model, X, y[:-1])
    with pytest.raises(ValueError, match="n_repeats"):
        tree_permutation_importance(model, X, y, n_repeats=0)
    with pytest.raises(TypeError, match="n_repeats"):
        tree_permutation_importance(model, X, y, n_repeats=2.0)
    with pytest.raises(ValueError, match="feature names"):
        tree_permutation_importance(model, X.rename(columns={"strong": "other"}), y)
    three = HistGradientBoostingClassifier(max_iter=3).fit(X, np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="binary"):
        tree_permutation_importance(three, X, np.arange(len(X)) % 3)
    categorical = HistGradientBoostingClassifier(max_iter=3, categorical_features=[1]).fit(X.fillna(0), y)
    with pytest.raises(ValueError, match="categorical"):
        tree_permutation_importance(categorical, X.fillna(0), y)
