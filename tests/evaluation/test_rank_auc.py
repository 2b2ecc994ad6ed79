"""dmls.evaluation.rank_auc.roc_auc equals scikit-learn's roc_auc_score (chapter 2)."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dmls.evaluation.rank_auc import roc_auc


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("decimals", [None, 1, 2])  # None: no ties; 1: many ties across classes
def test_equals_scikit_learn(seed, decimals):
    rng = np.random.default_rng(seed)
    y = rng.random(5_000) < 0.07
    s = rng.normal(size=5_000) + 0.8 * y
    if decimals is not None:
        s = np.round(s, decimals)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_perfect_reversed_and_constant_scores():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, [1, 2, 3, 4]) == 1.0
    assert roc_auc(y, [4, 3, 2, 1]) == 0.0
    assert roc_auc(y, [5, 5, 5, 5]) == 0.5
    assert roc_auc(y.astype(bool), np.array([1, 2, 3, 4], dtype=np.int64)) == 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="one score per label"):
        roc_auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="binary"):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(TypeError, match="numbers"):
        roc_auc([0, 1], ["a", "b"])
