"""A small neural network classifier in PyTorch, with the losses class imbalance calls for.

Introduced in chapter 4 ("Class Imbalance": cost-sensitive learning, class-balanced loss, focal
loss) and used again for data augmentation; chapter 6 trains it among other model families and
chapter 7 compresses it.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import unique_labels

LOSSES = ("ce", "weighted", "class_balanced", "focal")


def class_balanced_weights(counts, beta: float = 0.999) -> np.ndarray:
    """Weights from the "effective number" of examples per class, (1 - beta) / (1 - beta ** n),
    normalised to sum to the number of classes (Cui et al., 2019). ``beta = 0`` gives equal
    weights; ``beta -> 1`` approaches inverse class frequency.

    Introduced in chapter 4 ("Handling Class Imbalance").
    """
    counts = np.asarray(counts, dtype=float)
    if (counts <= 0).any():
        raise ValueError("every class needs at least one example")
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    weights = (1 - beta) / (1 - np.power(beta, counts))
    return weights * len(counts) / weights.sum()


def focal_loss(logits, targets, gamma: float = 2.0, weight=None, sample_weight=None):
    """Mean focal loss, ``-(1 - p_t) ** gamma * log p_t`` per example (Lin et al., 2017), where
    ``p_t`` is the probability given to the true class; ``weight`` optionally scales each class.
    With ``gamma = 0`` it is cross-entropy. ``sample_weight`` makes it a weighted mean.
    Well-classified examples (``p_t`` near 1) contribute
    almost nothing, so training attends to the hard ones.

    Introduced in chapter 4 ("Handling Class Imbalance").
    """
    import torch

    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma!r}")
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

    Inputs must be numeric (scale them first). After ``fit``: ``classes_``, ``module_`` (the
    torch network), ``loss_curve_`` (mean loss per epoch).

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

        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise ValueError("X must be a 2-d array of finite numbers (encode and scale features first)")
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
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
        optimiser = torch.optim.Adam(self.module_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
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

    def _perturb(self, xb, yb):
        import torch

        xb = xb.clone().requires_grad_(True)
        grad, = torch.autograd.grad(torch.nn.functional.cross_entropy(self.module_(xb), yb), xb)
        return (xb + self.adversarial_epsilon * grad.sign()).detach()

    def decision_function(self, X) -> np.ndarray:
        import torch

        if not hasattr(self, "module_"):
            raise RuntimeError("TorchClassifier must be fitted before predicting")
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns, got shape {X.shape}")
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
