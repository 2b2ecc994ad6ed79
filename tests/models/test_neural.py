"""The torch classifier and its losses; the augmentation helpers."""
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import average_precision_score

from dmls.augmentation import add_noise, fgsm, mixup, shift_and_rotate, template_titles
from dmls.models import TorchClassifier, class_balanced_weights, focal_loss


def test_focal_loss_reduces_to_cross_entropy_and_downweights_easy_examples():
    logits = torch.tensor([[2.0, -1.0], [0.1, 0.0], [-3.0, 3.0]])
    targets = torch.tensor([0, 1, 1])
    ce = torch.nn.functional.cross_entropy(logits, targets)
    assert torch.isclose(focal_loss(logits, targets, gamma=0.0), ce)
    # By hand for gamma = 2.
    p_t = torch.softmax(logits, 1)[torch.arange(3), targets]
    manual = (-(1 - p_t) ** 2 * torch.log(p_t)).mean()
    assert torch.isclose(focal_loss(logits, targets, gamma=2.0), manual)
    easy, hard = focal_loss(logits[2:], targets[2:], 2.0), focal_loss(logits[1:2], targets[1:2], 2.0)
    ce_easy, ce_hard = (torch.nn.functional.cross_entropy(logits[i:i + 1], targets[i:i + 1]) for i in (2, 1))
    assert easy / ce_easy < hard / ce_hard  # the easy example lost more of its weight
    with pytest.raises(ValueError, match="gamma"):
        focal_loss(logits, targets, gamma=-1)


def test_class_balanced_weights():
    w = class_balanced_weights([1000, 10], beta=0.999)
    assert w[1] > w[0] and np.isclose(w.sum(), 2)
    np.testing.assert_allclose(class_balanced_weights([1000, 10], beta=0.0), [1.0, 1.0])
    close_to_inverse = class_balanced_weights([1000, 10], beta=0.999999)
    assert abs(close_to_inverse[1] / close_to_inverse[0] - 100) < 1
    with pytest.raises(ValueError, match="beta"):
        class_balanced_weights([3, 4], beta=1.0)
    with pytest.raises(ValueError, match="at least one example"):
        class_balanced_weights([3, 0])


@pytest.fixture(scope="module")
def imbalanced():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6_000, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] ** 2 + rng.normal(scale=0.5, size=6_000) > 3.2).astype(int)
    return X, y


@pytest.mark.parametrize("loss", ["ce", "weighted", "class_balanced", "focal"])
def test_every_loss_learns_the_rare_class(imbalanced, loss):
    X, y = imbalanced
    assert 0.02 < y.mean() < 0.1
    model = TorchClassifier(hidden=(16,), loss=loss, epochs=15, batch_size=256, lr=1e-2).fit(X[:4000], y[:4000])
    assert average_precision_score(y[4000:], model.predict_proba(X[4000:])[:, 1]) > 3 * y.mean()
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_reweighting_raises_recall_of_the_rare_class(imbalanced):
    X, y = imbalanced
    fit = lambda loss: TorchClassifier(hidden=(16,), loss=loss, epochs=15, batch_size=256).fit(X[:4000], y[:4000])
    recall = {loss: fit(loss).predict(X[4000:])[y[4000:] == 1].mean() for loss in ("ce", "weighted")}
    assert recall["weighted"] > recall["ce"]


def test_classifier_follows_the_estimator_api(imbalanced):
    X, y = imbalanced
    model = TorchClassifier(hidden=(), epochs=2)
    assert clone(model).get_params() == model.get_params()
    a = model.fit(X, y).predict_proba(X)
    b = TorchClassifier(hidden=(), epochs=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)  # same seed, same model
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-6)
    assert set(model.predict(X)) <= {0, 1} and list(model.classes_) == [0, 1]


@pytest.mark.parametrize("call, message", [
    (lambda X, y: TorchClassifier(loss="hinge").fit(X, y), "loss must be one of"),
    (lambda X, y: TorchClassifier().fit(X[:, :, None], y), "2-d array"),
    (lambda X, y: TorchClassifier().fit(X, y[:10]), "labels"),
    (lambda X, y: TorchClassifier().fit(X, np.zeros(len(y))), "two classes"),
    (lambda X, y: TorchClassifier().fit(X, y, sample_weight=-np.ones(len(y))), "sample_weight"),
    (lambda X, y: TorchClassifier().predict(X), "fitted"),
    (lambda X, y: TorchClassifier(epochs=1).fit(X, y).predict(X[:, :2]), "columns"),
])
def test_bad_input_is_named(imbalanced, call, message):
    X, y = imbalanced
    with pytest.raises((ValueError, RuntimeError), match=message):
        call(X, y)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


def test_image_augmentations_keep_shape_and_range(digits):
    X, _ = digits
    rng = np.random.default_rng(0)
    for out in (shift_and_rotate(X[:50], rng), add_noise(X[:50], rng, 2.0)):
        assert out.shape == (50, 64) and out.min() >= 0 and out.max() <= 16
    assert not np.allclose(shift_and_rotate(X[:50], rng), X[:50])
    np.testing.assert_allclose(shift_and_rotate(X[:5], rng, max_shift=0, max_degrees=0), X[:5])
    with pytest.raises(ValueError, match="8x8"):
        shift_and_rotate(X[:5, :10], rng)


def test_fgsm_finds_inputs_the_model_gets_wrong(digits):
    X, y = digits
    model = TorchClassifier(hidden=(32,), epochs=20, batch_size=64).fit(X[:1000] / 16, y[:1000])
    clean = (model.predict(X[1000:] / 16) == y[1000:]).mean()
    attacked = fgsm(model, X[1000:] / 16, y[1000:], epsilon=0.1)
    assert np.abs(attacked - X[1000:] / 16).max() <= 0.1 + 1e-6
    assert (model.predict(attacked) == y[1000:]).mean() < clean - 0.3


def test_mixup_mixes_inputs_and_labels_alike():
    rng = np.random.default_rng(0)
    X = np.array([[0.0, 0.0], [10.0, 10.0], [4.0, 8.0]])
    mixed, soft = mixup(X, np.array([0, 1, 2]), 3, rng, alpha=0.4)
    np.testing.assert_allclose(soft.sum(axis=1), 1)
    # Each mixed input is the same blend of its pair as its soft label is of their labels.
    lam = soft.max(axis=1)
    assert mixed.shape == X.shape and ((lam >= 0.5) & (lam <= 1)).all()
    with pytest.raises(ValueError, match="alpha"):
        mixup(X, np.array([0, 1, 2]), 3, rng, alpha=0)


def test_template_titles():
    rng = np.random.default_rng(1)
    plain, flagged = template_titles(20, rng), template_titles(20, rng, prohibited=True)
    from dmls.world.catalog import PROHIBITED_TERMS
    assert not any(term in t for t in plain for term in PROHIBITED_TERMS)
    assert all(any(term in t for term in PROHIBITED_TERMS) for t in flagged)
    with pytest.raises(ValueError, match="non-negative"):
        template_titles(-1, rng)
