"""The fast macro F1 of chapter 4 ("Weak supervision") gives what scikit-learn gives, weights included."""
import numpy as np
import pytest
from sklearn.metrics import f1_score

from dmls.labeling import macro_f1


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 4, 300))
    w = rng.integers(0, 4, 300).astype(float)
    assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro"))
    assert macro_f1(y, p, sample_weight=w) == pytest.approx(f1_score(y, p, average="macro", sample_weight=w))
    assert macro_f1(y.astype(float), p.astype(float)) == pytest.approx(f1_score(y, p, average="macro"))


@pytest.mark.parametrize("args, message", [
    (([0, 1], [0]), "of one length"),
    (([0.5, 1], [0, 1]), "integer class labels"),
    (([0, -1], [0, 1]), "labels must be >= 0"),
    (([0, 1], [0, 1], [1, -1]), "sample_weight must be non-negative"),
])
def test_bad_input_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        macro_f1(*args)
