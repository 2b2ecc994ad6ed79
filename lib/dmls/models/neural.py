"""A small neural network classifier in PyTorch, with the losses class imbalance calls for.

Introduced in chapter 4 ("Class Imbalance": cost-sensitive learning, class-balanced loss, focal
loss) and used again for data augmentation; chapter 6 trains it among other model families and
chapter 7 compresses it.
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import unique_labels

from dmls._validation import check_int, check_number

LOSSES = ("ce", "weighted", "class_balanced", "focal")
#: Seeds are given to ``torch.manual_seed``, which takes 64-bit integers.
MAX_SEED = 2**63 - 1


def _check_hidden(hidden) -> tuple[int, ...]:
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a tuple of layer widths, got {type(hidden).__name__} {hidden!r}")
    return tuple(check_int("every width in hidden", width, 1) for width in hidden)


def _check_beta(beta) -> float:
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, numbers.Real):
        raise TypeError(f"beta must be a number in [0, 1), got {type(beta).__name__} {beta!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    return float(beta)


def _numeric_matrix(X, name: str = "X") -> np.ndarray:
    """``X`` as a float32 array, refusing text (a ``TypeError`` naming ``X``)."""
    try:
        return np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must hold numbers (encode and scale features first): {error}") from None


def class_balanced_weights(counts, beta: float = 0.999) -> np.ndarray:
    """Weights from the "effective number" of examples per class, (1 - beta) / (1 - beta ** n),
    normalised to sum to the number of classes (Cui et al., 2019). ``beta = 0`` gives equal
    weights; ``beta -> 1`` approaches inverse class frequency.

    ``counts`` is a 1-d array of finite, positive numbers (one per class); ``beta`` a number in
    [0, 1).

    Introduced in chapter 4 ("Handling Class Imbalance").
    """
    try:
        counts = np.asarray(counts, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"counts must be numbers of examples per class: {error}") from None
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a 1-d array with one count per class, got shape {counts.shape}")
    if not np.isfinite(counts).all():
        raise ValueError("counts must be finite numbers")
    if (counts <= 0).any():
        raise ValueError("every class needs at least one example")
    beta = _check_beta(beta)
    weights = (1 - beta) / (1 - np.power(beta, counts))
    return weights * len(counts) / weights.sum()


def focal_loss(logits, targets, gamma: float = 2.0, weight=None, sample_weight=None):
    """Mean focal loss, ``-(1 - p_t) ** gamma * log p_t`` per example (Lin et al., 2017), where
    ``p_t`` is the probability given to the true class; ``weight`` optionally scales each class.
    With ``gamma = 0`` it is cross-entropy. ``sample_weight`` makes it a weighted mean.
    Well-classified examples (``p_t`` near 1) contribute
    almost nothing, so training attends to the hard ones.

    ``logits`` is a float tensor of shape (n, classes), ``targets`` an integer tensor of shape
    (n,) of class indices; ``gamma`` a finite number >= 0.

    Introduced in chapter 4 ("Handling Class Imbalance").
    """
    import torch

    gamma = check_number("gamma", gamma, minimum=0)
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise TypeError(f"logits must be a 2-d torch.Tensor (rows, classes), got {type(logits).__name__} "
                        f"of shape {getattr(logits, 'shape', None)}")
    if not isinstance(targets, torch.Tensor) or targets.ndim != 1 or targets.dtype.is_floating_point \
            or targets.dtype == torch.bool or targets.is_complex():
        raise TypeError(f"targets must be a 1-d integer torch.Tensor of class indices, got {type(targets).__name__} "
                        f"{getattr(targets, 'dtype', '')} of shape {getattr(targets, 'shape', None)}")
    if len(targets) != len(logits):
        raise ValueError(f"targets must have one class index per row of logits ({len(logits)}), got {len(targets)}")
    if len(targets) and (int(targets.min()) < 0 or int(targets.max()) >= logits.shape[1]):
        raise ValueError(f"targets must be class indices in [0, {logits.shape[1] - 1}]")
    log_p = torch.log_softmax(logits, dim=1)
    log_pt = log_p.gather(1, targets[:, None]).squeeze(1)
    loss = -((1 - log_pt.exp()) ** gamma) * log_pt
    if weight is not None:
        loss = loss * weight[targets]
    if sample_weight is not None:
        return (loss * sample_weight).sum() / sample_weight.sum()
    return loss.mean()


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron trained with Adam on mini-batches; scikit-learn's estimator API.

    Parameters
    ----------
    hidden : tuple of int
        Widths of the hidden layers (ReLU); ``()`` is logistic regression.
    loss : {"ce", "weighted", "class_balanced", "focal"}
        Cross-entropy; cross-entropy weighted by inverse class frequency (cost-sensitive);
        weighted by :func:`class_balanced_weights` with ``beta``; or :func:`focal_loss` with
        ``gamma``.
    epochs, batch_size, lr, weight_decay, seed
        Training settings; the same seed gives the same model.
    adversarial_epsilon : float
        If positive, every batch is trained together with its fast-gradient-sign perturbation of
        this size, computed against the current network (adversarial training, chapter 4,
        "Perturbation").

    Inputs must be numeric (scale them first) and finite, in ``fit`` and in prediction. The
    parameters are checked by ``fit``: widths, ``epochs`` and ``batch_size`` integers >= 1;
    ``lr`` > 0; ``gamma``, ``weight_decay`` and ``adversarial_epsilon`` finite and >= 0;
    ``beta`` in [0, 1); ``seed`` an integer in [0, 2**63 - 1]. After ``fit``: ``classes_``,
    ``module_`` (the torch network), ``loss_curve_`` (mean loss per epoch).

    Introduced in chapter 4 ("Handling Class Imbalance").
    """

    def __init__(self, hidden=(32,), loss: str = "ce", gamma: float = 2.0, beta: float = 0.999, epochs: int = 5,
                 batch_size: int = 1024, lr: float = 1e-2, weight_decay: float = 0.0,
                 adversarial_epsilon: float = 0.0, seed: int = 0):
        self.hidden = hidden
        self.loss = loss
        self.gamma = gamma
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.adversarial_epsilon = adversarial_epsilon
        self.seed = seed

    def _network(self, n_in: int, n_out: int):
        import torch.nn as nn

        layers, width = [], n_in
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_out))
        return nn.Sequential(*layers)

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (numeric) and labels ``y``; ``sample_weight`` weighs examples (soft labels
        can be given as one row per class, weighted by its probability, as mixup does)."""
        import torch

        if not isinstance(self.loss, str) or self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        self._check_params()
        X = _numeric_matrix(X)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise ValueError("X must be a 2-d array of finite numbers (encode and scale features first)")
        if len(X) == 0:
            raise ValueError("X must have at least one row")
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be a 1-d array of labels, got shape {y.shape}")
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
        if pd.isna(y).any():
            raise ValueError("y must not have missing labels")
        self.classes_ = unique_labels(y)
        if len(self.classes_) < 2:
            raise ValueError("y needs at least two classes")
        targets = np.searchsorted(self.classes_, y)
        counts = np.bincount(targets, minlength=len(self.classes_))
        if sample_weight is None:
            sample_weight = np.ones(len(y))
        sample_weight = np.asarray(sample_weight, dtype=np.float32)
        if sample_weight.shape != (len(y),) or not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
            raise ValueError("sample_weight must be one finite, non-negative weight per example")
        weight = None
        if self.loss == "weighted":
            weight = torch.tensor(len(y) / (len(counts) * counts), dtype=torch.float32)
        elif self.loss == "class_balanced":
            weight = torch.tensor(class_balanced_weights(counts, self.beta), dtype=torch.float32)
        gamma = self.gamma if self.loss == "focal" else 0.0

        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        self.n_features_in_ = X.shape[1]
        self.module_ = self._network(X.shape[1], len(self.classes_))
        from dmls.models.eager_optim import adam  # torch.optim.Adam without importing torch._dynamo

        optimiser = adam(self.module_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(targets.astype(np.int64))
        wt = torch.from_numpy(sample_weight)
        self.loss_curve_ = []
        self.module_.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(Xt), generator=generator)
            total = 0.0
            for start in range(0, len(Xt), self.batch_size):
                batch = order[start:start + self.batch_size]
                xb, yb, wb = Xt[batch], yt[batch], wt[batch]
                if self.adversarial_epsilon > 0:
                    xb = torch.cat([xb, self._perturb(xb, yb)])
                    yb, wb = torch.cat([yb, yb]), torch.cat([wb, wb])
                optimiser.zero_grad()
                loss = focal_loss(self.module_(xb), yb, gamma=gamma, weight=weight, sample_weight=wb)
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
            self.loss_curve_.append(total / len(Xt))
        self.module_.eval()
        return self

    def _check_params(self) -> None:
        _check_hidden(self.hidden)
        check_number("gamma", self.gamma, minimum=0)
        _check_beta(self.beta)
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_number("lr", self.lr, minimum=0, strict_minimum=True)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_number("adversarial_epsilon", self.adversarial_epsilon, minimum=0)
        check_int("seed", self.seed, 0, MAX_SEED)

    def _perturb(self, xb, yb):
        import torch

        xb = xb.clone().requires_grad_(True)
        grad, = torch.autograd.grad(torch.nn.functional.cross_entropy(self.module_(xb), yb), xb)
        return (xb + self.adversarial_epsilon * grad.sign()).detach()

    def decision_function(self, X) -> np.ndarray:
        import torch

        if not hasattr(self, "module_"):
            raise RuntimeError("TorchClassifier must be fitted before predicting")
        X = _numeric_matrix(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("X must contain only finite numbers (impute and scale features first)")
        with torch.no_grad():
            return self.module_(torch.from_numpy(X)).numpy()

    def predict_proba(self, X) -> np.ndarray:
        logits = self.decision_function(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)  # checks that the model is fitted
        return self.classes_[scores.argmax(axis=1)]
