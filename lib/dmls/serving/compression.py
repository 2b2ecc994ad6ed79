"""Model compression: make a fitted network smaller or faster to serve.

Introduced in chapter 7 ("Model Compression"): low-rank factorization, knowledge distillation,
pruning and quantization, applied to the :class:`~dmls.models.TorchClassifier` of chapter 4.
Every function takes a fitted classifier and returns a new one (a deep copy; the original is left
as it was) whose ``module_`` is the compressed network, so ``predict_proba`` works unchanged.
:func:`compression_report` puts the results side by side: size, parameters, quality, speed.

Torch does the work where it has a tool for it (:func:`torch.ao.quantization.quantize_dynamic`,
:mod:`torch.nn.utils.prune`); low-rank factorization and the distillation loop are written out
here because they are short and are the point of the section.
"""
from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss, roc_auc_score

from dmls._validation import check_bool, check_int
from dmls.models.neural import MAX_SEED, TorchClassifier

QUANTIZED_DTYPES = ("qint8", "float16")
_ENGINES = ("x86", "fbgemm", "qnnpack", "onednn")


# ---------------------------------------------------------------- checks


def _check_model(model, name: str = "model", *, float_only: bool = True) -> None:
    if not isinstance(model, TorchClassifier):
        raise TypeError(f"{name} must be a dmls.models.TorchClassifier, got {type(model).__name__}")
    if not hasattr(model, "module_"):
        raise NotFittedError(f"{name} must be fitted (call {name}.fit(X, y) first)")
    if float_only and _is_quantized(model.module_):
        raise ValueError(f"{name} is quantized; prune, factorize or distill the float model, then quantize")


def _is_quantized(module) -> bool:
    return any("quantized" in type(m).__module__ for m in module.modules())


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_fraction(name: str, value, *, closed: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    inside = 0 <= value <= 1 if closed else 0 < value < 1
    if not inside:
        raise ValueError(f"{name} must be in {'[0, 1]' if closed else '(0, 1)'}, got {value!r}")
    return float(value)


def _check_X(X, model) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"X must be an array of real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] != model.n_features_in_:
        raise ValueError(f"X must be a non-empty 2-d array with {model.n_features_in_} columns, got shape {X.shape}")
    X = X.astype(np.float32)
    if not np.isfinite(X).all():
        raise ValueError("X must contain only finite numbers")
    return X


def _linear_layers(module) -> list:
    import torch.nn as nn

    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def _weights_and_biases(module):
    """(weight, bias) of every linear layer as float tensors, quantized layers included."""
    import torch.nn as nn

    for m in module.modules():
        if isinstance(m, nn.Linear):
            yield m.weight.detach(), None if m.bias is None else m.bias.detach()
        elif "quantized" in type(m).__module__ and callable(getattr(m, "weight", None)):
            bias = m.bias()
            yield m.weight().dequantize(), None if bias is None else bias.detach()


# ---------------------------------------------------------------- measuring


def model_size_bytes(model) -> int:
    """Bytes of the classifier's network as saved to disk: its ``state_dict`` through
    :func:`torch.save`. Quantized networks are measured the same way.

    Parameters
    ----------
    model : TorchClassifier
        A fitted classifier, compressed or not.

    Returns
    -------
    int
        Size of the serialized state dict in bytes (weights plus a little pickle overhead).

    Introduced in chapter 7 ("Model Compression").
    """
    import torch

    _check_model(model, float_only=False)
    buffer = io.BytesIO()
    torch.save(model.module_.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def sparsity(model) -> float:
    """Fraction of the weights of all linear layers that are exactly zero (biases not counted).

    Parameters
    ----------
    model : TorchClassifier
        A fitted classifier, compressed or not.

    Returns
    -------
    float
        Zero weights / all weights, in [0, 1].

    Introduced in chapter 7 ("Model Compression": pruning).
    """
    _check_model(model, float_only=False)
    weights = [w for w, _ in _weights_and_biases(model.module_)]
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


def _parameter_counts(module) -> tuple[int, int]:
    tensors = [t for pair in _weights_and_biases(module) for t in pair if t is not None]
    return sum(t.numel() for t in tensors), sum(int((t != 0).sum()) for t in tensors)


# ---------------------------------------------------------------- quantization


def _ensure_quantized_engine() -> str:
    import torch

    supported = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    if torch.backends.quantized.engine in supported:
        return torch.backends.quantized.engine
    for engine in _ENGINES:
        if engine in supported:
            torch.backends.quantized.engine = engine
            return engine
    raise RuntimeError("this PyTorch build has no quantized engine (torch.backends.quantized.supported_engines "
                       f"is {torch.backends.quantized.supported_engines}); quantization needs fbgemm/x86 or qnnpack")


def quantize_dynamic(model, dtype: str = "qint8"):
    """Dynamic quantization of every linear layer with :func:`torch.ao.quantization.quantize_dynamic`:
    weights are stored as 8-bit integers (or 16-bit floats), activations are quantized on the fly
    at prediction time. No calibration data is needed.

    Parameters
    ----------
    model : TorchClassifier
        A fitted, float (not yet quantized) classifier; it is not changed.
    dtype : {"qint8", "float16"}
        Storage type of the weights; ``"qint8"`` makes them four times smaller. (``"float16"``
        weights are unpacked to float32 when the state dict is saved, so :func:`model_size_bytes`
        does not shrink for them.)

    Returns
    -------
    TorchClassifier
        A copy whose ``module_`` is the quantized network.

    Raises
    ------
    RuntimeError
        If this PyTorch build has no quantized engine. If the current engine is unusable, one
        that is supported is selected (``torch.backends.quantized.engine``, a global setting).

    Notes
    -----
    ``torch.ao.quantization`` is deprecated in favour of the separate ``torchao`` package; its
    deprecation warnings are silenced here while the API still works.

    Introduced in chapter 7 ("Model Compression": quantization).
    """
    import torch
    import torch.nn as nn

    _check_model(model)
    if dtype not in QUANTIZED_DTYPES:
        raise ValueError(f"dtype must be one of {QUANTIZED_DTYPES}, got {dtype!r}")
    _ensure_quantized_engine()
    compressed = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")
        compressed.module_ = torch.ao.quantization.quantize_dynamic(
            compressed.module_, {nn.Linear}, dtype=getattr(torch, dtype))
    return compressed


# ---------------------------------------------------------------- pruning


def prune_magnitude(model, amount: float = 0.5, *, structured: bool = False):
    """Magnitude pruning with :mod:`torch.nn.utils.prune`, made permanent with ``prune.remove``.

    Unstructured (the default): the ``amount`` fraction of all linear weights with the smallest
    absolute value, ranked across layers (``prune.global_unstructured`` with L1), is set to zero.
    Structured: in every hidden linear layer the ``amount`` fraction of output neurons with the
    smallest L2 norm (``prune.ln_structured``, ``dim=0``) loses its whole row of weights and its
    bias, so the neuron outputs zero; the output layer is kept whole.

    Parameters
    ----------
    model : TorchClassifier
        A fitted, float classifier; it is not changed.
    amount : float in (0, 1)
        Fraction of weights (unstructured) or of neurons per hidden layer (structured) to remove.
    structured : bool
        Remove whole neurons rather than single weights.

    Returns
    -------
    TorchClassifier
        A copy with the pruned network. Its tensors keep their dense shape (the zeros are still
        stored), so :func:`model_size_bytes` does not change: pruning saves space only with sparse
        storage or, for structured pruning, by rebuilding smaller layers
        (:func:`remove_dead_neurons`).

    Introduced in chapter 7 ("Model Compression": pruning).
    """
    _check_model(model)
    amount = _check_fraction("amount", amount, closed=False)
    check_bool("structured", structured)
    compressed = copy.deepcopy(model)
    layers = _linear_layers(compressed.module_)
    if structured:
        _prune_neurons(layers[:-1], amount)
    else:
        _prune_weights(layers, amount)
    return compressed


def _prune_weights(layers, amount: float) -> None:
    import torch.nn.utils.prune as prune

    parameters = [(layer, "weight") for layer in layers]
    prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, amount=amount)
    for layer, name in parameters:
        prune.remove(layer, name)


def _prune_neurons(layers, amount: float) -> None:
    import torch.nn.utils.prune as prune

    if not layers:
        raise ValueError("structured pruning needs a hidden layer; the model has none (hidden=())")
    for layer in layers:
        prune.ln_structured(layer, "weight", amount=amount, n=2, dim=0)
        if layer.bias is not None:
            prune.custom_from_mask(layer, "bias", mask=layer.weight_mask[:, 0])
            prune.remove(layer, "bias")
        prune.remove(layer, "weight")


def remove_dead_neurons(model):
    """Rebuild a network without its dead hidden neurons, so that structured pruning saves space
    and time: a neuron whose incoming weights and bias are all zero outputs ``relu(0) = 0``, so
    its row of its layer and its column of the next layer can be dropped without changing any
    prediction. :func:`prune_magnitude` with ``structured=True`` leaves such neurons in dense
    tensors of the original shape; this makes the layers narrower.

    Parameters
    ----------
    model : TorchClassifier
        A fitted, float classifier whose network is linear layers with a ReLU between each pair
        (as :class:`~dmls.models.TorchClassifier` builds them, or as :func:`low_rank` leaves
        them); it is not changed.

    Returns
    -------
    TorchClassifier
        A copy with the same predictions (to floating-point rounding) and narrower hidden layers.
        A layer whose neurons are all dead keeps one, so that every layer has a width.

    Raises
    ------
    ValueError
        If the network has a layer other than ``Linear`` and ``ReLU``, or two activations in a row.

    Introduced in chapter 7 ("Model Compression": pruning).
    """
    import torch
    import torch.nn as nn

    _check_model(model)
    compressed = copy.deepcopy(model)
    layers = list(compressed.module_)
    for i, layer in enumerate(layers):
        if not isinstance(layer, (nn.Linear, nn.ReLU)):
            raise ValueError(f"remove_dead_neurons handles Linear and ReLU layers only; layer {i} is "
                             f"{type(layer).__name__}")
        if isinstance(layer, nn.ReLU) and (i == 0 or not isinstance(layers[i - 1], nn.Linear)):
            raise ValueError(f"layer {i} is a ReLU that does not follow a Linear layer")
    with torch.no_grad():
        for i in range(len(layers) - 2):
            first, activation, second = layers[i], layers[i + 1], layers[i + 2]
            if not (isinstance(first, nn.Linear) and isinstance(activation, nn.ReLU)
                    and isinstance(second, nn.Linear)):
                continue
            dead = (first.weight == 0).all(dim=1)
            if first.bias is not None:
                dead &= first.bias == 0
            keep = torch.nonzero(~dead).flatten()
            if len(keep) == 0:
                keep = torch.tensor([0])
            if len(keep) == first.out_features:
                continue
            narrower = nn.Linear(first.in_features, len(keep), bias=first.bias is not None)
            narrower.weight.copy_(first.weight[keep])
            if first.bias is not None:
                narrower.bias.copy_(first.bias[keep])
            following = nn.Linear(len(keep), second.out_features, bias=second.bias is not None)
            following.weight.copy_(second.weight[:, keep])
            if second.bias is not None:
                following.bias.copy_(second.bias)
            layers[i], layers[i + 2] = narrower, following
    compressed.module_ = nn.Sequential(*layers).eval()
    return compressed


# ---------------------------------------------------------------- low-rank factorization


def factorize_linear(layer, rank: int):
    """Replace one linear layer ``y = W x + b`` by two, ``y = B (A x) + b``, from the truncated
    singular value decomposition ``W ≈ U_r diag(s_r) V_r^T``: ``A = diag(sqrt(s_r)) V_r^T``
    (``rank x in``, no bias) and ``B = U_r diag(sqrt(s_r))`` (``out x rank``, the original bias).
    ``B A`` is the best rank-``rank`` approximation of ``W`` in Frobenius norm (Eckart–Young);
    with ``rank = min(in, out)`` it is ``W`` itself.

    Parameters
    ----------
    layer : torch.nn.Linear
        The layer to factorize; it is not changed.
    rank : int
        Inner width, from 1 to ``min(in_features, out_features)``.

    Returns
    -------
    tuple of torch.nn.Linear
        ``(first, second)``: apply ``first`` then ``second``.

    Introduced in chapter 7 ("Model Compression": low-rank factorization).
    """
    import torch
    import torch.nn as nn

    if not isinstance(layer, nn.Linear):
        raise TypeError(f"layer must be a torch.nn.Linear, got {type(layer).__name__}")
    rank = check_int("rank", rank, 1)
    if rank > min(layer.in_features, layer.out_features):
        raise ValueError(f"rank must be <= min(in_features, out_features) = "
                         f"{min(layer.in_features, layer.out_features)}, got {rank}")
    with torch.no_grad():
        U, s, Vh = torch.linalg.svd(layer.weight.double(), full_matrices=False)
        root = s[:rank].sqrt()
        first = nn.Linear(layer.in_features, rank, bias=False)
        second = nn.Linear(rank, layer.out_features, bias=layer.bias is not None)
        first.weight.copy_(root[:, None] * Vh[:rank])
        second.weight.copy_(U[:, :rank] * root)
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    return first, second


def low_rank(model, rank: int):
    """Low-rank factorization of a classifier's network: every linear layer with
    ``min(in_features, out_features) > rank`` is replaced by the two thinner layers of
    :func:`factorize_linear`; narrower layers are kept as they are.

    A layer of shape ``out x in`` has ``out * in`` weights; its factorization has
    ``rank * (in + out)``, fewer when ``rank`` is small.

    Parameters
    ----------
    model : TorchClassifier
        A fitted, float classifier; it is not changed.
    rank : int >= 1
        Inner width of the factorized layers.

    Returns
    -------
    TorchClassifier
        A copy whose ``module_`` is the factorized network (a flat ``torch.nn.Sequential``).

    Introduced in chapter 7 ("Model Compression": low-rank factorization).
    """
    import torch.nn as nn

    _check_model(model)
    rank = check_int("rank", rank, 1)
    compressed = copy.deepcopy(model)
    layers = []
    for layer in compressed.module_:
        if isinstance(layer, nn.Linear) and min(layer.in_features, layer.out_features) > rank:
            layers.extend(factorize_linear(layer, rank))
        else:
            layers.append(layer)
    compressed.module_ = nn.Sequential(*layers).eval()
    return compressed


# ---------------------------------------------------------------- knowledge distillation


def distillation_loss(student_logits, teacher_logits, temperature: float = 2.0, targets=None,
                      alpha: float = 0.0):
    """Knowledge-distillation loss (Hinton et al., 2015):
    ``T**2 * KL(softmax(teacher / T) || softmax(student / T))``, averaged over the batch; with
    ``alpha > 0``, mixed as ``(1 - alpha) * that + alpha * cross_entropy(student, targets)``.

    The ``T**2`` keeps the gradients' scale roughly independent of the temperature ``T``; a higher
    ``T`` softens both distributions so the student also learns how the teacher ranks the wrong
    classes.

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor of shape (n, classes)
        Unnormalised scores.
    temperature : float > 0
    targets : torch.Tensor of shape (n,), optional
        Hard labels as class indices; needed when ``alpha > 0``.
    alpha : float in [0, 1]
        Weight of the hard-label cross-entropy.

    Returns
    -------
    torch.Tensor
        A scalar.

    Introduced in chapter 7 ("Model Compression": knowledge distillation).
    """
    import torch
    import torch.nn.functional as F

    temperature = _check_positive("temperature", temperature)
    alpha = _check_fraction("alpha", alpha, closed=True)
    for name, logits in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
            raise TypeError(f"{name} must be a float torch.Tensor, got {type(logits).__name__} "
                            f"{getattr(logits, 'dtype', '')}")
        if logits.ndim != 2:
            raise ValueError(f"{name} must have shape (n, classes), got {tuple(logits.shape)}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student_logits has shape {tuple(student_logits.shape)} but teacher_logits "
                         f"has {tuple(teacher_logits.shape)}")
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.log_softmax(teacher_logits / temperature, dim=1),
                    reduction="batchmean", log_target=True) * temperature ** 2
    if alpha == 0:
        return soft
    if targets is None:
        raise ValueError("targets (hard labels) are needed when alpha > 0")
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point() or targets.is_complex() \
            or targets.dtype == torch.bool:
        raise TypeError(f"targets must be an integer torch.Tensor of class indices, got {type(targets).__name__} "
                        f"{getattr(targets, 'dtype', '')}")
    if tuple(targets.shape) != (student_logits.shape[0],):
        raise ValueError(f"targets must have shape ({student_logits.shape[0]},), one class per row, "
                         f"got {tuple(targets.shape)}")
    if len(targets) and (int(targets.min()) < 0 or int(targets.max()) >= student_logits.shape[1]):
        raise ValueError(f"targets must be class indices in [0, {student_logits.shape[1] - 1}]")
    return (1 - alpha) * soft + alpha * F.cross_entropy(student_logits, targets)


def _hard_targets(y, teacher, n: int):
    import torch

    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must have one label per row of X ({n}), got shape {y.shape}")
    if not np.isin(y, teacher.classes_).all():
        raise ValueError(f"y has labels that the teacher does not know; its classes are {list(teacher.classes_)}")
    return torch.from_numpy(np.searchsorted(teacher.classes_, y).astype(np.int64))


def distill(teacher, X, *, hidden=(8,), temperature: float = 2.0, epochs: int = 5, lr: float = 1e-2,
            batch_size: int = 1024, seed: int = 0, y=None, alpha: float = 0.0):
    """Train a small student network to imitate a teacher: knowledge distillation.

    The student is a :class:`~dmls.models.TorchClassifier` with hidden layers ``hidden``, trained
    with Adam on :func:`distillation_loss` between its logits and the teacher's logits on ``X``
    (the teacher's soft targets). With ``alpha > 0`` and labels ``y`` the loss also includes
    cross-entropy on the hard labels. ``X`` need not be labelled: any inputs from the right
    distribution will do.

    Parameters
    ----------
    teacher : TorchClassifier
        A fitted classifier (it may be quantized); it is not changed.
    X : array-like of shape (n, teacher.n_features_in_)
        Training inputs, numeric and scaled as for the teacher.
    hidden : tuple of int
        Hidden-layer widths of the student.
    temperature : float > 0
        Softmax temperature of the distillation loss.
    epochs, lr, batch_size, seed
        Training settings, as in :class:`~dmls.models.TorchClassifier`; the same seed gives the
        same student.
    y : array-like of shape (n,), optional
        Hard labels, needed when ``alpha > 0``.
    alpha : float in [0, 1]
        Weight of the hard-label cross-entropy.

    Returns
    -------
    TorchClassifier
        The fitted student, with ``classes_``, ``n_features_in_``, ``module_`` and ``loss_curve_``.

    Introduced in chapter 7 ("Model Compression": knowledge distillation).
    """
    import torch

    _check_model(teacher, "teacher", float_only=False)
    X = _check_X(X, teacher)
    _check_positive("temperature", temperature)
    alpha = _check_fraction("alpha", alpha, closed=True)
    student = _student(teacher, hidden, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    if alpha > 0 and y is None:
        raise ValueError("y (hard labels) is needed when alpha > 0")
    targets = None if y is None else _hard_targets(y, teacher, len(X))
    with torch.no_grad():
        teacher_logits = teacher.module_(torch.from_numpy(X))
    _train_student(student, torch.from_numpy(X), teacher_logits, targets, temperature, alpha)
    return student


def _student(teacher, hidden, **settings):
    if isinstance(hidden, (int, np.integer, str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a tuple of layer widths, got {hidden!r}")
    hidden = tuple(check_int("every width in hidden", width, 1) for width in hidden)
    for name in ("epochs", "batch_size", "seed"):
        check_int(name, settings[name], 0 if name == "seed" else 1, MAX_SEED if name == "seed" else None)
    _check_positive("lr", settings["lr"])
    student = TorchClassifier(hidden=hidden, **settings)
    student.classes_ = teacher.classes_.copy()
    student.n_features_in_ = teacher.n_features_in_
    return student


def _train_student(student, Xt, teacher_logits, targets, temperature: float, alpha: float) -> None:
    import torch

    generator = torch.Generator().manual_seed(student.seed)
    torch.manual_seed(student.seed)
    student.module_ = student._network(Xt.shape[1], len(student.classes_))
    optimiser = torch.optim.Adam(student.module_.parameters(), lr=student.lr)
    student.loss_curve_ = []
    student.module_.train()
    for _ in range(student.epochs):
        order = torch.randperm(len(Xt), generator=generator)
        total = 0.0
        for start in range(0, len(Xt), student.batch_size):
            batch = order[start:start + student.batch_size]
            optimiser.zero_grad()
            loss = distillation_loss(student.module_(Xt[batch]), teacher_logits[batch], temperature,
                                     None if targets is None else targets[batch], alpha)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        student.loss_curve_.append(total / len(Xt))
    student.module_.eval()


# ---------------------------------------------------------------- comparing


def _timed_ms_per_1000(model, X: np.ndarray, repeats: int = 5, statistic: str = "median") -> float:
    from ..data.measure import time_call

    timing = time_call(lambda: model.predict_proba(X), repeats=repeats)
    return getattr(timing, statistic) * 1e3 * 1000 / len(X)


def _quality(model, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    proba = model.predict_proba(X)
    if len(model.classes_) == 2:
        auc = roc_auc_score(y, proba[:, 1]) if len(np.unique(y)) == 2 else np.nan
    else:
        auc = roc_auc_score(y, proba, multi_class="ovr", labels=model.classes_)
    return log_loss(y, proba, labels=model.classes_), auc


def compression_report(models: dict, X, y, *, repeats: int = 5, statistic: str = "median") -> pd.DataFrame:
    """Compare classifiers, compressed or not, on size, parameters, quality and speed.

    Parameters
    ----------
    models : dict of str to TorchClassifier
        Named fitted classifiers, e.g. ``{"original": m, "int8": quantize_dynamic(m)}``.
    X : array-like of shape (n, features)
        Evaluation inputs.
    y : array-like of shape (n,)
        Their labels.
    repeats : int >= 1
        Timed ``predict_proba`` calls on ``X`` per model.
    statistic : {"median", "min"}
        Which of those calls the time column reports: the median (a typical call) or the fastest
        (the one least disturbed by other work on the machine).

    Returns
    -------
    pandas.DataFrame
        One row per model, indexed by name, with columns ``size KB`` (:func:`model_size_bytes` /
        1024), ``parameters`` (weights and biases of the linear layers), ``non-zero`` (those that
        are not zero, which pruning lowers), ``log loss``, ``ROC AUC`` (one-vs-rest macro average
        when there are more than two classes) and ``ms per 1,000 rows`` (median of five timed
        ``predict_proba`` calls on ``X`` by default, see ``repeats`` and ``statistic``; it depends
        on the machine).

    Introduced in chapter 7 ("Model Compression").
    """
    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a non-empty dict of name -> fitted TorchClassifier")
    repeats = check_int("repeats", repeats, 1)
    if statistic not in ("median", "min"):
        raise ValueError(f"statistic must be 'median' or 'min', got {statistic!r}")
    rows = {}
    for name, model in models.items():
        _check_model(model, f"models[{name!r}]", float_only=False)
        Xc = _check_X(X, model)
        yc = np.asarray(y)
        if yc.shape != (len(Xc),):
            raise ValueError(f"y must have one label per row of X ({len(Xc)}), got shape {yc.shape}")
        if pd.isna(yc).any():
            raise ValueError("y must not have missing labels")
        unknown = ~np.isin(yc, model.classes_)
        if unknown.any():
            raise ValueError(f"y has labels that models[{name!r}] does not know, such as "
                             f"{yc[unknown][0].tolist()!r}; its classes are {model.classes_.tolist()}")
        parameters, non_zero = _parameter_counts(model.module_)
        loss, auc = _quality(model, Xc, yc)
        rows[name] = {"size KB": model_size_bytes(model) / 1024, "parameters": parameters, "non-zero": non_zero,
                      "log loss": loss, "ROC AUC": auc, "ms per 1,000 rows": _timed_ms_per_1000(model, Xc, repeats, statistic)}
    return pd.DataFrame.from_dict(rows, orient="index")
