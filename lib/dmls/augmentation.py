"""Data augmentation: more training data from the data we have.

Introduced in chapter 4 ("Data Augmentation"). The image helpers work on scikit-learn's 8x8
handwritten digits (a side example: the book's techniques are clearest on images); the text
helpers write listing titles from the marketplace's own vocabulary and mask their tokens as BERT does.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from dmls._validation import check_int, check_number
from dmls.world.catalog import ADJECTIVES, BRANDS, CATEGORIES, COLOURS, PROHIBITED_TERMS


def _matrix(X, name: str = "X") -> np.ndarray:
    raw = np.asarray(X)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got {raw.dtype}")
    X = raw.astype(float)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-d, one row per example, got shape {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: there is nothing to augment")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(X)).sum())} NaN or infinite values")
    return X


def _images(X) -> np.ndarray:
    X = _matrix(X)
    if X.shape[1] != 64:
        raise ValueError(f"X must be flattened 8x8 images, shape (n, 64), got {X.shape}")
    return X.reshape(-1, 8, 8)


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__} {rng!r}")


def shift_and_rotate(X, rng: np.random.Generator, max_shift: int = 1, max_degrees: float = 15.0) -> np.ndarray:
    """Each image moved by up to ``max_shift`` pixels and turned by up to ``max_degrees``:
    label-preserving for handwriting, which is never perfectly placed or upright.

    Raises
    ------
    TypeError
        If ``X`` does not hold numbers, ``rng`` is not a Generator, ``max_shift`` is not an
        integer or ``max_degrees`` not a number.
    ValueError
        If ``X`` is not a non-empty (n, 64) array of finite pixels, or ``max_shift`` or
        ``max_degrees`` is negative (or ``max_degrees`` not finite).

    Introduced in chapter 4 ("Simple Label-Preserving Transformations").
    """
    images = _images(X)
    _check_rng(rng)
    check_int("max_shift", max_shift, minimum=0)
    check_number("max_degrees", max_degrees, minimum=0)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        turned = ndimage.rotate(image, rng.uniform(-max_degrees, max_degrees), reshape=False, order=1, mode="constant")
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        out[i] = ndimage.shift(turned, (dy, dx), order=0, mode="constant")
    return np.clip(out, 0, 16).reshape(len(images), 64)


def add_noise(X, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Images with Gaussian noise added (pixel values stay in 0-16): a random perturbation.

    Raises
    ------
    TypeError
        If ``X`` does not hold numbers, ``rng`` is not a Generator or ``scale`` not a number.
    ValueError
        If ``X`` is not a non-empty (n, 64) array of finite pixels, or ``scale`` is negative or
        not finite.

    Introduced in chapter 4 ("Perturbation").
    """
    images = _images(X).reshape(len(X), 64)
    _check_rng(rng)
    check_number("scale", scale, minimum=0)
    return np.clip(images + rng.normal(0, scale, images.shape), 0, 16)


def fgsm(model, X, y, epsilon: float) -> np.ndarray:
    """Adversarial examples by the fast gradient sign method (Goodfellow et al., 2015): move
    every input by ``epsilon`` in the direction that increases the loss most. ``model`` is a
    fitted :class:`dmls.models.TorchClassifier`.

    Raises
    ------
    TypeError
        If ``model`` is not a fitted TorchClassifier (no ``module_`` and ``classes_``), ``X``
        does not hold numbers or ``epsilon`` is not a number.
    ValueError
        If ``X`` is not a non-empty 2-d array of finite values, ``y`` has not one label per row
        or holds a label the model does not know, or ``epsilon`` is negative or not finite.

    Introduced in chapter 4 ("Perturbation").
    """
    check_number("epsilon", epsilon, minimum=0)
    if not (hasattr(model, "module_") and hasattr(model, "classes_")):
        raise TypeError(f"model must be a fitted dmls.models.TorchClassifier, got {type(model).__name__}")
    X = _matrix(X)
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y must have one label per row of X ({len(X)}), got shape {y.shape}")
    unknown = ~np.isin(y, model.classes_)
    if unknown.any():
        raise ValueError(f"y holds labels the model does not know: {sorted(set(y[unknown].tolist()))[:5]}; "
                         f"its classes are {list(model.classes_)[:10]}")

    import torch

    X = torch.tensor(X.astype(np.float32), requires_grad=True)
    targets = torch.from_numpy(np.searchsorted(model.classes_, y).astype(np.int64))
    loss = torch.nn.functional.cross_entropy(model.module_(X), targets)
    loss.backward()
    return (X + epsilon * X.grad.sign()).detach().numpy()


def mixup(X, y, n_classes: int, rng: np.random.Generator, alpha: float = 0.4):
    """Convex combinations of random pairs of examples and of their one-hot labels (Zhang et
    al., 2018): ``lam * x_i + (1 - lam) * x_j`` with ``lam ~ Beta(alpha, alpha)``. Returns the
    mixed inputs and soft labels.

    Raises
    ------
    TypeError
        If ``X`` does not hold numbers, ``y`` does not hold integer classes, ``n_classes`` is
        not an integer, ``rng`` not a Generator or ``alpha`` not a number.
    ValueError
        If ``X`` is not a non-empty 2-d array of finite values, ``y`` has not one class from 0
        to ``n_classes - 1`` per row, ``n_classes`` < 1, or ``alpha`` is not positive and finite.

    Introduced in chapter 4 ("Data Synthesis").
    """
    X = _matrix(X)
    y = np.asarray(y)
    n_classes = check_int("n_classes", n_classes, minimum=1)
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer classes from 0 to n_classes - 1, got {y.dtype}")
    if y.shape != (len(X),):
        raise ValueError(f"y must have one class per row of X ({len(X)}), got shape {y.shape}")
    if ((y < 0) | (y >= n_classes)).any():
        raise ValueError(f"y must hold classes from 0 to {n_classes - 1} (n_classes={n_classes}), "
                         f"got {sorted(set(y[(y < 0) | (y >= n_classes)].tolist()))[:5]}")
    _check_rng(rng)
    check_number("alpha", alpha, minimum=0, strict_minimum=True)
    onehot = np.eye(n_classes)[y]
    partner = rng.permutation(len(X))
    lam = rng.beta(alpha, alpha, size=(len(X), 1))
    return lam * X + (1 - lam) * X[partner], lam * onehot + (1 - lam) * onehot[partner]


def template_titles(n: int, rng: np.random.Generator, prohibited: bool = False, terms=None) -> list[str]:
    """Listing titles written from templates and the marketplace's vocabulary; with
    ``prohibited``, each carries one of the terms that mark counterfeit goods.

    ``terms`` are the words a prohibited title carries. By default they are the marketplace's own
    hidden list (``dmls.world.catalog.PROHIBITED_TERMS``), which only the simulator knows: an upper
    bound on what templates can do. Pass the terms a practitioner would guess instead.

    Raises
    ------
    TypeError
        If ``rng`` is not a Generator, ``prohibited`` not a bool, or ``terms`` not a list of strings.
    ValueError
        If ``n`` is not a non-negative integer, or ``terms`` is empty.

    Introduced in chapter 4 ("Data Synthesis").
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    _check_rng(rng)
    if not isinstance(prohibited, (bool, np.bool_)):
        raise TypeError(f"prohibited must be True or False, got {type(prohibited).__name__} {prohibited!r}")
    if terms is None:
        terms = PROHIBITED_TERMS
    else:
        terms = _strings("terms", terms)
    chosen_terms = tuple(terms)
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
            term = chosen_terms[rng.integers(len(chosen_terms))]
            title = f"{term} {title}" if rng.random() < 0.5 else f"{title} ({term})"
        titles.append(title)
    return titles


def _strings(name: str, values) -> list[str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a list of strings, not one string {values!r}")
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name} must be a list of strings, got {type(values).__name__}") from None
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{name} must hold strings, got {type(bad[0]).__name__} {bad[0]!r}")
    if not values:
        raise ValueError(f"{name} is empty")
    return values


MASK = "[MASK]"


def mask_tokens(texts, rng: np.random.Generator, rate: float = 0.15, vocabulary=None,
                mask: str = MASK) -> list[str]:
    """BERT-style token masking as text augmentation: each whitespace token of each text is chosen
    with probability ``rate``; a chosen token becomes ``mask`` 80% of the time, a random token of
    ``vocabulary`` 10% of the time, and stays as it is otherwise. Every text keeps its label.

    ``vocabulary`` defaults to the tokens of ``texts`` themselves (with their frequencies), so a
    replacement is a plausible word of the same corpus. Returns one new text per input text.

    Raises
    ------
    TypeError
        If ``texts`` or ``vocabulary`` is not a list of strings, ``rng`` is not a Generator, or
        ``rate`` is not a number.
    ValueError
        If ``texts`` is empty or ``rate`` is outside [0, 1].

    Introduced in chapter 4 ("Simple Label-Preserving Transformations": BERT's masking, for text).
    """
    texts = _strings("texts", texts)
    _check_rng(rng)
    rate = check_number("rate", rate, minimum=0.0, maximum=1.0)
    if not isinstance(mask, str) or not mask:
        raise TypeError(f"mask must be a non-empty string, got {mask!r}")
    tokens = [t.split() for t in texts]
    vocab = [w for ws in tokens for w in ws] if vocabulary is None else _strings("vocabulary", vocabulary)
    if not vocab:
        raise ValueError("there is no token to replace with: vocabulary is empty")
    out = []
    for words in tokens:
        chosen = rng.random(len(words)) < rate
        action = rng.random(len(words))
        picks = rng.integers(len(vocab), size=len(words))
        new = [mask if c and a < 0.8 else vocab[p] if c and a < 0.9 else w
               for w, c, a, p in zip(words, chosen, action, picks)]
        out.append(" ".join(new))
    return out
