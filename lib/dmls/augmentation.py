"""Data augmentation: more training data from the data we have.

Introduced in chapter 4 ("Data Augmentation"). The image helpers work on scikit-learn's 8x8
handwritten digits (a side example: the book's techniques are clearest on images); the text
helper writes listing titles from the marketplace's own vocabulary.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from dmls.world.catalog import ADJECTIVES, BRANDS, CATEGORIES, COLOURS, PROHIBITED_TERMS


def _images(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"expected flattened 8x8 images, shape (n, 64), got {X.shape}")
    return X.reshape(-1, 8, 8)


def shift_and_rotate(X, rng: np.random.Generator, max_shift: int = 1, max_degrees: float = 15.0) -> np.ndarray:
    """Each image moved by up to ``max_shift`` pixels and turned by up to ``max_degrees``:
    label-preserving for handwriting, which is never perfectly placed or upright.

    Introduced in chapter 4 ("Simple Label-Preserving Transformations").
    """
    images = _images(X)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        turned = ndimage.rotate(image, rng.uniform(-max_degrees, max_degrees), reshape=False, order=1, mode="constant")
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        out[i] = ndimage.shift(turned, (dy, dx), order=0, mode="constant")
    return np.clip(out, 0, 16).reshape(len(images), 64)


def add_noise(X, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Images with Gaussian noise added (pixel values stay in 0-16): a random perturbation.

    Introduced in chapter 4 ("Perturbation").
    """
    images = _images(X).reshape(len(X), 64)
    return np.clip(images + rng.normal(0, scale, images.shape), 0, 16)


def fgsm(model, X, y, epsilon: float) -> np.ndarray:
    """Adversarial examples by the fast gradient sign method (Goodfellow et al., 2015): move
    every input by ``epsilon`` in the direction that increases the loss most. ``model`` is a
    fitted :class:`dmls.models.TorchClassifier`.

    Introduced in chapter 4 ("Perturbation").
    """
    import torch

    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
    X = torch.tensor(np.asarray(X, dtype=np.float32), requires_grad=True)
    targets = torch.from_numpy(np.searchsorted(model.classes_, np.asarray(y)).astype(np.int64))
    loss = torch.nn.functional.cross_entropy(model.module_(X), targets)
    loss.backward()
    return (X + epsilon * X.grad.sign()).detach().numpy()


def mixup(X, y, n_classes: int, rng: np.random.Generator, alpha: float = 0.4):
    """Convex combinations of random pairs of examples and of their one-hot labels (Zhang et
    al., 2018): ``lam * x_i + (1 - lam) * x_j`` with ``lam ~ Beta(alpha, alpha)``. Returns the
    mixed inputs and soft labels.

    Introduced in chapter 4 ("Data Synthesis").
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha!r}")
    onehot = np.eye(n_classes)[y]
    partner = rng.permutation(len(X))
    lam = rng.beta(alpha, alpha, size=(len(X), 1))
    return lam * X + (1 - lam) * X[partner], lam * onehot + (1 - lam) * onehot[partner]


def template_titles(n: int, rng: np.random.Generator, prohibited: bool = False) -> list[str]:
    """Listing titles written from templates and the marketplace's vocabulary; with
    ``prohibited``, each carries one of the terms that mark counterfeit goods.

    Introduced in chapter 4 ("Data Synthesis").
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    categories = list(CATEGORIES)
    titles = []
    for _ in range(n):
        category = categories[rng.integers(len(categories))]
        noun = CATEGORIES[category][3][rng.integers(8)]
        brand = BRANDS[category][rng.integers(len(BRANDS[category]))]
        title = f"{brand} {ADJECTIVES[rng.integers(len(ADJECTIVES))]} {noun}"
        if rng.random() < 0.5:
            title += f", {COLOURS[rng.integers(len(COLOURS))]}"
        if prohibited:
            term = PROHIBITED_TERMS[rng.integers(len(PROHIBITED_TERMS))]
            title = f"{term} {title}" if rng.random() < 0.5 else f"{title} ({term})"
        titles.append(title)
    return titles
