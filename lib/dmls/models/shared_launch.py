"""Data parallelism and model parallelism in one pair of processes, started once.

Introduced in chapter 6 ("Distributed Training"). Each process that
:func:`dmls.models.distributed.train_data_parallel` or
:func:`dmls.models.distributed.model_parallel_forward` starts is a fresh interpreter that imports
torch and the library before it does anything, a few seconds of CPU each. A chapter that shows
both kinds of parallelism can run them in the same two processes: :func:`data_and_model_parallel`
trains with synchronous data-parallel SGD, then runs a model-parallel forward pass, through the
same rank functions the two separate calls use, so the results are the same.

With ``start_method="fork"`` (POSIX only) the two processes are copies of the calling one instead
of fresh interpreters: they start with torch and the library already imported, which in chapter 6's
notebook saves the few seconds of CPU each fresh interpreter spends importing them. The training
and the forward pass are the same code on the same inputs, so the results are the same too.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int, check_number
from .distributed import (
    MAX_SEED,
    TrainingResult,
    _check_hidden,
    _check_launch,
    _check_X,
    _check_y,
    _launch,
    _model_parallel_rank,
    _network,
    _train_rank,
)

START_METHODS = ("spawn", "fork")


def _both_rank(rank: int, world_size: int, *, train: dict, forward: dict):
    """Train (every rank), then the split forward pass; rank 1 sends its logits back to rank 0."""
    import torch
    import torch.distributed as dist

    trained = _train_rank(rank, world_size, **train)
    logits = _model_parallel_rank(rank, world_size, **forward)
    if rank == 1:
        dist.send(torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32)), dst=0)
        return None
    received = torch.empty(len(forward["X"]), dtype=torch.float32)
    dist.recv(received, src=1)
    return trained, received.numpy().copy()


def data_and_model_parallel(X, y, X_forward, *, hidden=(), epochs: int = 5, batch_size: int = 256,
                            lr: float = 0.1, seed: int = 0, forward_hidden=(16,), forward_seed: int = 0,
                            backend: str = "gloo", timeout: float = 300.0, start_method: str = "spawn"
                            ) -> tuple[TrainingResult, np.ndarray, np.ndarray]:
    """``train_data_parallel(X, y, world_size=2, ...)`` and ``model_parallel_forward(X_forward, ...)``
    in the same two processes.

    Parameters
    ----------
    X, y, hidden, epochs, batch_size, lr, seed
        As in :func:`dmls.models.distributed.train_data_parallel` (two processes).
    X_forward : array of shape (m, d)
        Inputs of the model-parallel forward pass.
    forward_hidden, forward_seed
        ``hidden`` and ``seed`` of :func:`dmls.models.distributed.model_parallel_forward`.
    backend, timeout
        As in both; the timeout covers the two steps together.
    start_method : {"spawn", "fork"}
        ``"spawn"`` starts two fresh interpreters, as the two separate calls do; ``"fork"`` copies
        this process, which skips their imports (POSIX only; the caller must not hold locks or
        threads the copies would need).

    Returns
    -------
    (TrainingResult, distributed_logits, single_process_logits)
        What the two separate calls return.

    Introduced in chapter 6 ("Distributed Training"), which runs both in one launch to start two
    processes instead of four.
    """
    import torch

    X = _check_X(X)
    y = _check_y(y, len(X))
    if len(X) < 2:
        raise ValueError(f"two processes need at least two rows, got {len(X)}")
    batch_size = check_int("batch_size", batch_size, 2)
    epochs = check_int("epochs", epochs, 1)
    seed = check_int("seed", seed, 0, MAX_SEED - epochs)
    check_number("lr", lr, minimum=0, strict_minimum=True)
    X_forward = torch.from_numpy(_check_X(X_forward))
    forward_hidden = _check_hidden(forward_hidden, allow_empty=False)
    forward_seed = check_int("forward_seed", forward_seed, 0, MAX_SEED)
    _check_launch(backend, timeout)
    if start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {START_METHODS}, got {start_method!r}")
    train = dict(X=torch.from_numpy(X), y=torch.from_numpy(y), hidden=_check_hidden(hidden), epochs=epochs,
                 batch_size=batch_size, lr=float(lr), seed=seed)
    forward = dict(X=X_forward, hidden=forward_hidden, seed=forward_seed)
    trained, distributed = _launch(_both_rank, 2, dict(train=train, forward=forward), backend=backend,
                                   timeout=timeout, start_method=start_method)
    with torch.no_grad():
        single = _network(X_forward.shape[1], forward_hidden, forward_seed)(X_forward).squeeze(1).numpy()
    return trained, distributed, single
