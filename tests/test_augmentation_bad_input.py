"""Bad input to the augmentation helpers fails at the boundary, naming the parameter (issue: input validation).

Each call here was accepted silently (often returning NaN images), or failed deep inside numpy/scipy, before
the checks were added. The model-free checks of fgsm run before torch is needed.
"""
import numpy as np
import pytest

from dmls.augmentation import add_noise, fgsm, mixup, shift_and_rotate, template_titles

DIGITS = np.random.default_rng(917).integers(0, 17, size=(4, 64)).astype(float)
Y = np.array([0, 1, 2, 3])


def rng():
    return np.random.default_rng(917)


class FakeTorchClassifier:
    classes_ = np.arange(4)
    module_ = None  # never reached: the labels are checked first


@pytest.mark.parametrize("call, error, message", [
    (lambda: shift_and_rotate(DIGITS, 0), TypeError, "rng must be a numpy Generator"),
    (lambda: shift_and_rotate(DIGITS, rng(), max_shift=-1), ValueError, "max_shift must be >= 0"),
    (lambda: shift_and_rotate(DIGITS, rng(), max_shift=1.5), TypeError, "max_shift must be an integer"),
    (lambda: shift_and_rotate(DIGITS, rng(), max_shift=True), TypeError, "max_shift must be an integer"),
    (lambda: shift_and_rotate(DIGITS, rng(), max_degrees=float("nan")), ValueError, "max_degrees must be a finite"),
    (lambda: shift_and_rotate(DIGITS, rng(), max_degrees=float("inf")), ValueError, "max_degrees must be a finite"),
    (lambda: shift_and_rotate(DIGITS, rng(), max_degrees=-5), ValueError, "max_degrees must be >= 0"),
    (lambda: shift_and_rotate(np.full((1, 64), np.nan), rng()), ValueError, "X holds 64 NaN or infinite values"),
    (lambda: shift_and_rotate(np.full((1, 64), "a"), rng()), TypeError, "X must hold numbers"),
    (lambda: shift_and_rotate(np.zeros((0, 64)), rng()), ValueError, "X is empty"),
    (lambda: add_noise(DIGITS, rng(), scale=-1), ValueError, "scale must be >= 0"),
    (lambda: add_noise(DIGITS, rng(), scale=float("nan")), ValueError, "scale must be a finite"),
    (lambda: add_noise(DIGITS, rng(), scale=float("inf")), ValueError, "scale must be a finite"),
    (lambda: add_noise(DIGITS, 917), TypeError, "rng must be a numpy Generator"),
    (lambda: mixup(DIGITS, Y, 4, rng(), alpha=float("nan")), ValueError, "alpha must be a finite"),
    (lambda: mixup(DIGITS, Y, 4, rng(), alpha=float("inf")), ValueError, "alpha must be a finite"),
    (lambda: mixup(DIGITS, Y, 4, rng(), alpha="1"), TypeError, "alpha must be a number"),
    (lambda: mixup(DIGITS, np.array([0, 1, 2, 9]), 4, rng()), ValueError, "y must hold classes from 0 to 3"),
    (lambda: mixup(DIGITS, np.array([0, 1, 2, -1]), 4, rng()), ValueError, "y must hold classes from 0 to 3"),
    (lambda: mixup(DIGITS, np.array([0, 1, 2, 1.5]), 4, rng()), TypeError, "y must hold integer classes"),
    (lambda: mixup(DIGITS, np.array([0, 1, 2]), 4, rng()), ValueError, r"y must have one class per row of X \(4\)"),
    (lambda: mixup(DIGITS, Y, 1.5, rng()), TypeError, "n_classes must be an integer"),
    (lambda: mixup(DIGITS, np.zeros(4, int), True, rng()), TypeError, "n_classes must be an integer"),
    (lambda: mixup(DIGITS, Y, 4, 0), TypeError, "rng must be a numpy Generator"),
    (lambda: mixup(np.full((2, 3), np.nan), np.array([0, 1]), 2, rng()), ValueError, "X holds 6 NaN"),
    (lambda: mixup(np.arange(4.0), Y, 4, rng()), ValueError, "X must be 2-d"),
    (lambda: template_titles(2, 0), TypeError, "rng must be a numpy Generator"),
    (lambda: template_titles(2, rng(), prohibited="no"), TypeError, "prohibited must be True or False"),
    (lambda: fgsm(FakeTorchClassifier(), DIGITS, Y, float("nan")), ValueError, "epsilon must be a finite"),
    (lambda: fgsm(FakeTorchClassifier(), DIGITS, Y, float("inf")), ValueError, "epsilon must be a finite"),
    (lambda: fgsm(FakeTorchClassifier(), DIGITS, Y, "0.1"), TypeError, "epsilon must be a number"),
    (lambda: fgsm(None, DIGITS, Y, 0.1), TypeError, "model must be a fitted dmls.models.TorchClassifier"),
    (lambda: fgsm(FakeTorchClassifier(), DIGITS, np.array([0, 1, 2, 7]), 0.1), ValueError,
     "y holds labels the model does not know: \\[7\\]"),
])
def test_bad_augmentation_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_valid_augmentation_is_unchanged():
    mixed, soft = mixup(DIGITS / 16, Y, 4, rng(), alpha=0.4)
    assert mixed.shape == (4, 64) and np.allclose(soft.sum(axis=1), 1)
    assert shift_and_rotate(DIGITS.astype(int), rng(), max_shift=0, max_degrees=0).shape == (4, 64)


def test_calls_shown_in_the_chapters_validate_too():
    """Five calls left alone at first because their source is shown in a chapter."""
    import numpy as np
    import pandas as pd

    from dmls.evaluation import PopularityBaseline
    from dmls.labeling.weak import LabelModel
    from dmls.platform.lineage import ModelVersion
    from dmls.sampling import Reservoir

    with pytest.raises(TypeError, match="items must be an iterable"):
        Reservoir(3).extend(5)
    with pytest.raises(TypeError, match="ModelVersion.code must be a fingerprint string"):
        ModelVersion(code=5, data="d", params="p")
    with pytest.raises(TypeError, match="other must be a ModelVersion"):
        ModelVersion("c", "d", "p").diff(5)
    with pytest.raises(ValueError, match="y has missing labels"):
        PopularityBaseline().fit(pd.DataFrame({"item_id": [1, 2, 3]}), np.array([1.0, np.nan, 0.0]))
    L = np.array([[0, 1], [1, -1], [-1, -1], [1, 1]])
    model = LabelModel(n_classes=2).fit(L)
    with pytest.raises(TypeError, match="abstain_without_votes must be True or False"):
        model.predict(L, abstain_without_votes="no")
