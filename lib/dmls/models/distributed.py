"""Distributed training with ``torch.distributed``: synchronous data-parallel SGD, and a forward pass
split across processes.

Introduced in chapter 6 ("Distributed Training": data parallelism, model parallelism). The
processes are real: :func:`train_data_parallel` and :func:`model_parallel_forward` start several
local processes (start method "spawn") that meet over TCP on 127.0.0.1 and talk through the gloo
backend, the same calls a cluster of machines would make. A script that calls them needs the usual
``if __name__ == "__main__":`` guard, because "spawn" re-imports the main module in every process.
"""
from __future__ import annotations

import contextlib
import datetime
import queue as queue_module
import socket
import time
import traceback
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_number
from .eager_optim import sgd

#: Seeds go to ``torch.manual_seed`` and numpy (``seed + epoch``), which take 64-bit integers.
MAX_SEED = 2**63 - 1


@dataclass
class TrainingResult:
    """What :func:`train_data_parallel` returns.

    Attributes
    ----------
    weights : dict of str to numpy.ndarray
        The trained model's ``state_dict``, as numpy arrays.
    losses : list of float
        Mean training loss over the full data after each epoch.
    seconds : float
        Wall time spent in the training steps: neither process start-up nor the per-epoch loss
        evaluation is counted.
    world_size : int
        Number of processes that trained the model.
    samples_per_second : float
        ``epochs * len(X) / seconds``, the training throughput.

    Introduced in chapter 6 ("Distributed Training": data parallelism).
    """

    weights: dict[str, np.ndarray]
    losses: list[float]
    seconds: float
    world_size: int
    samples_per_second: float


def _check_hidden(hidden, allow_empty: bool = True) -> tuple[int, ...]:
    if isinstance(hidden, (int, np.integer)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a tuple of layer widths, got {hidden!r}")
    hidden = tuple(hidden)
    if not allow_empty and not hidden:
        raise ValueError("hidden needs at least one layer to split the network across two processes")
    for width in hidden:
        check_int("every width in hidden", width, 1)
    return tuple(int(w) for w in hidden)


def _check_X(X) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"X must be an array of real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-d array (rows, features), got shape {X.shape}")
    X = X.astype(np.float32)
    if not np.isfinite(X).all():
        raise ValueError("X must contain only finite numbers")
    return X


def _check_y(y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must be a 1-d array with one label per row of X ({n}), got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must contain only the labels 0 and 1")
    return y.astype(np.float32)


def _network(n_in: int, hidden: tuple[int, ...], seed: int):
    """The model every rank builds: identical weights because the seed is the same everywhere."""
    import torch
    import torch.nn as nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers, width = [], n_in
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        return nn.Sequential(*layers)


def _sum_across_ranks(tensor, world_size: int) -> None:
    import torch.distributed as dist

    if world_size > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)


def _barrier(world_size: int) -> None:
    import torch.distributed as dist

    if world_size > 1:
        dist.barrier()


def _apply_global_mean_gradient(params, batch_length: int, world_size: int) -> None:
    """Sum every rank's gradient of its summed loss and divide by the global batch length: the
    gradient of the mean loss over the whole batch, however unevenly the batch was sharded."""
    import torch

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])  # one all_reduce per step, not one per tensor
    _sum_across_ranks(flat, world_size)
    flat /= batch_length
    for p, chunk in zip(params, flat.split([p.numel() for p in params])):
        p.grad = chunk.view_as(p)


def _mean_loss(model, X, y, rank: int, world_size: int) -> float:
    import torch

    start, stop = _contiguous_slice(len(X), rank, world_size)
    with torch.no_grad():
        per_row = torch.nn.functional.binary_cross_entropy_with_logits(
            model(X[start:stop]).squeeze(1), y[start:stop], reduction="none")
        total = per_row.double().sum().reshape(1)
    _sum_across_ranks(total, world_size)
    return total.item() / len(X)


def _contiguous_slice(n: int, rank: int, world_size: int) -> tuple[int, int]:
    bounds = np.linspace(0, n, world_size + 1).round().astype(int)
    return int(bounds[rank]), int(bounds[rank + 1])


def _train_rank(rank: int, world_size: int, *, X, y, hidden, epochs, batch_size, lr, seed):
    """One rank's share of synchronous data-parallel SGD; returns the result on rank 0."""
    import torch

    model = _network(X.shape[1], hidden, seed)
    params = list(model.parameters())
    optimiser = sgd(params, lr=lr)  # torch.optim.SGD without importing torch._dynamo
    n, losses, seconds = len(X), [], 0.0
    for epoch in range(epochs):
        order = np.random.default_rng(seed + epoch).permutation(n)  # the same on every rank
        _barrier(world_size)
        started = time.perf_counter()
        for first in range(0, n, batch_size):
            batch = order[first:first + batch_size]
            start, stop = _contiguous_slice(len(batch), rank, world_size)
            shard = torch.from_numpy(batch[start:stop])
            optimiser.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(X[shard]).squeeze(1), y[shard], reduction="sum")
            loss.backward()
            _apply_global_mean_gradient(params, len(batch), world_size)
            optimiser.step()
        _barrier(world_size)
        seconds += time.perf_counter() - started
        losses.append(_mean_loss(model, X, y, rank, world_size))
    if rank != 0:
        return None
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return TrainingResult(weights, losses, seconds, world_size, epochs * n / max(seconds, 1e-12))


def train_data_parallel(X, y, *, world_size: int = 2, hidden=(), epochs: int = 5, batch_size: int = 256,
                        lr: float = 0.1, seed: int = 0, backend: str = "gloo",
                        timeout: float = 300.0) -> TrainingResult:
    """Train a binary classifier with synchronous data-parallel SGD across ``world_size`` processes.

    Every process holds the whole model, initialised identically from ``seed``. Each epoch shuffles
    the rows with a generator seeded by ``seed + epoch`` (the same order on every process); each
    global batch of ``batch_size`` rows is cut into ``world_size`` contiguous shards and each
    process computes the summed loss of its own shard. The gradients are summed with
    ``all_reduce`` and divided by the global batch length, so every process takes the same step,
    the one single-process SGD takes on the whole batch, even when the batch does not divide
    evenly (up to float rounding). That division is why this does not use
    ``DistributedDataParallel``, which averages per-process means and so weighs a short shard's
    rows more.

    Parameters
    ----------
    X : array of shape (n, d)
        Real-valued features (scale them first).
    y : array of shape (n,)
        Labels, 0 or 1.
    world_size : int
        Number of processes. ``1`` trains in this process without ``torch.distributed``, through
        the same code, and is the reference the others should match.
    hidden : tuple of int
        Widths of ReLU hidden layers; ``()`` is logistic regression.
    epochs, batch_size, lr, seed
        Plain SGD (no momentum) on the mean binary cross-entropy of each global batch.
    backend : str
        The ``torch.distributed`` backend; "gloo" runs on CPUs.
    timeout : float
        Seconds to wait for the processes before giving up with a ``RuntimeError``.

    Returns
    -------
    TrainingResult

    Every process, including this one for ``world_size=1``, uses one CPU thread, so ``world_size``
    processes use ``world_size`` cores and throughputs compare fairly. An error in a process is
    raised here as a ``RuntimeError`` carrying that process's traceback.

    Introduced in chapter 6 ("Distributed Training": data parallelism).
    """
    import torch

    X = _check_X(X)
    y = _check_y(y, len(X))
    world_size = check_int("world_size", world_size, 1)
    if world_size > len(X):
        raise ValueError(f"world_size must be at most the number of rows ({len(X)}), got {world_size}")
    batch_size = check_int("batch_size", batch_size, 1)
    if batch_size < world_size:
        raise ValueError(f"batch_size must be >= world_size ({world_size}), got {batch_size}")
    epochs = check_int("epochs", epochs, 1)
    seed = check_int("seed", seed, 0, MAX_SEED - epochs)
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.number)):
        raise TypeError(f"lr must be a number, got {type(lr).__name__}")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    _check_launch(backend, timeout)
    work = dict(X=torch.from_numpy(X), y=torch.from_numpy(y), hidden=_check_hidden(hidden), epochs=epochs,
                batch_size=batch_size, lr=float(lr), seed=seed)
    if world_size == 1:
        with _one_thread():
            return _train_rank(0, 1, **work)
    return _launch(_train_rank, world_size, work, backend=backend, timeout=timeout)


def _model_parallel_rank(rank: int, world_size: int, *, X, hidden, seed):
    """Rank 0 runs the hidden layers and sends the activations; rank 1 runs the output layer."""
    import torch
    import torch.distributed as dist

    layers = _network(X.shape[1], hidden, seed)
    with torch.no_grad():
        if rank == 0:
            dist.send(layers[:-1](X).contiguous(), dst=1)
            return None
        activations = torch.empty(len(X), hidden[-1])
        dist.recv(activations, src=0)
        return layers[-1](activations).squeeze(1).numpy().copy()


def model_parallel_forward(X, *, hidden=(16,), seed: int = 0, backend: str = "gloo",
                           timeout: float = 120.0) -> tuple[np.ndarray, np.ndarray]:
    """A forward pass of one MLP split across two processes, and the same pass in one process.

    Process 0 holds the hidden layers and process 1 the output layer; the activations travel from
    one to the other with ``dist.send`` / ``dist.recv``. The network is initialised from ``seed``
    in both, so the two sets of logits agree.

    Parameters
    ----------
    X : array of shape (n, d)
        Real-valued inputs.
    hidden : tuple of int
        Widths of the ReLU hidden layers; at least one, so there is something to split.
    seed, backend, timeout
        As in :func:`train_data_parallel`.

    Returns
    -------
    (distributed_logits, single_process_logits) : tuple of numpy.ndarray of shape (n,)

    Introduced in chapter 6 ("Distributed Training": model parallelism).
    """
    import torch

    X = torch.from_numpy(_check_X(X))
    hidden = _check_hidden(hidden, allow_empty=False)
    seed = check_int("seed", seed, 0, MAX_SEED)
    _check_launch(backend, timeout)
    distributed = _launch(_model_parallel_rank, 2, dict(X=X, hidden=hidden, seed=seed), backend=backend,
                          timeout=timeout, result_rank=1)
    with torch.no_grad():
        single = _network(X.shape[1], hidden, seed)(X).squeeze(1).numpy()
    return distributed, single


@contextlib.contextmanager
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_launch(backend, timeout) -> None:
    """``backend`` a non-empty string, ``timeout`` a positive, finite number of seconds: checked
    before any process starts, and for ``world_size=1`` too, so that a call that works with one
    process does not fail only when scaled out."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string such as 'gloo', got {backend!r}")
    if not backend.strip():
        raise ValueError("backend must name a torch.distributed backend such as 'gloo', got an empty string")
    check_number("timeout", timeout, minimum=0, strict_minimum=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world_size, target, work, init_method, backend, timeout, results):
    """Entry point of every spawned process: join the group, run ``target``, report back."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    try:
        dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout))
        try:
            results.put((rank, "ok", target(rank, world_size, **work)))
        finally:
            dist.destroy_process_group()
    except BaseException:  # noqa: B036 - whatever happened, the parent must hear about it
        results.put((rank, "error", traceback.format_exc()))


def _launch(target, world_size: int, work: dict, *, backend: str, timeout: float, result_rank: int = 0,
            start_method: str = "spawn"):
    """Run ``target(rank, world_size, **work)`` in ``world_size`` processes (spawned, or forked from
    this one with ``start_method="fork"``); return what ``result_rank`` returned, or raise
    ``RuntimeError`` with the first failing process's traceback."""
    import torch.multiprocessing as mp

    _check_launch(backend, timeout)
    context = mp.get_context(start_method)
    results = context.Queue()
    init_method = f"tcp://127.0.0.1:{_free_port()}"
    processes = [context.Process(target=_worker, daemon=True,
                                 args=(rank, world_size, target, work, init_method, backend, timeout, results))
                 for rank in range(world_size)]
    finished = False
    try:
        for p in processes:
            p.start()
        outputs = _collect(processes, results, timeout)
        finished = True
        return outputs[result_rank]
    finally:
        _stop(processes, wait=finished)
        results.close()


def _collect(processes, results, timeout: float) -> dict:
    outputs, deadline, dead_since = {}, time.monotonic() + timeout, {}
    while len(outputs) < len(processes):
        try:
            rank, status, value = results.get(timeout=0.2)
        except queue_module.Empty:
            _check_progress(processes, outputs, dead_since, deadline, timeout)
            continue
        if status == "error":
            raise RuntimeError(f"process {rank} of {len(processes)} failed:\n{value}")
        outputs[rank] = value
    return outputs


def _check_progress(processes, outputs, dead_since, deadline, timeout) -> None:
    now = time.monotonic()
    for rank, p in enumerate(processes):
        if p.exitcode is not None and rank not in outputs:
            # A process that reported and exited may have its message still in the pipe: grace period.
            if now - dead_since.setdefault(rank, now) > 2.0:
                raise RuntimeError(f"process {rank} exited with code {p.exitcode} without reporting a result")
    if now > deadline:
        raise RuntimeError(f"distributed run did not finish within {timeout} seconds")


def _stop(processes, wait: bool) -> None:
    """Join the processes; after a failure, stop the ones still blocked waiting for their peers."""
    for p in processes:
        if p.pid is not None and wait:
            p.join(timeout=10)
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join()


# ----------------------------------------------------------------------------- asynchronous SGD
@dataclass
class StaleTrainingResult:
    """What :func:`train_stale_sgd` returns.

    Attributes
    ----------
    weights : dict of str to numpy.ndarray
        The trained model's ``state_dict``, as numpy arrays.
    losses : list of float
        Mean training loss over the full data after each epoch (``inf`` once it has diverged).
    staleness : int
        How many updates old the weights were on which each gradient was computed.
    updates : int
        Number of updates applied.
    diverged : bool
        Whether the loss or the weights stopped being finite (training then stops early).

    Introduced in chapter 6 ("Distributed Training": asynchronous SGD and stale gradients).
    """

    weights: dict[str, np.ndarray]
    losses: list[float]
    staleness: int
    updates: int
    diverged: bool


def _train_stale(*, X, y, hidden, epochs, batch_size, lr, seed, staleness):
    import torch
    from torch.nn.utils import parameters_to_vector, vector_to_parameters

    model = _network(X.shape[1], hidden, seed)
    reader = _network(X.shape[1], hidden, seed)  # the copy a worker computes its gradient on
    params, reader_params = list(model.parameters()), list(reader.parameters())
    optimiser = sgd(params, lr=lr)  # torch.optim.SGD without importing torch._dynamo
    history = [parameters_to_vector(params).detach().clone()]  # weights after 0, 1, 2, ... updates
    n, losses, updates, diverged = len(X), [], 0, False
    for epoch in range(epochs):
        order = np.random.default_rng(seed + epoch).permutation(n)  # as in train_data_parallel
        for first in range(0, n, batch_size):
            batch = torch.from_numpy(order[first:first + batch_size])
            source = model if staleness == 0 else reader
            if staleness:
                vector_to_parameters(history[0], reader_params)  # the weights `staleness` updates ago
            source.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                source(X[batch]).squeeze(1), y[batch], reduction="sum")
            loss.backward()
            _apply_global_mean_gradient(list(source.parameters()), len(batch), 1)
            if staleness:
                for p, q in zip(params, reader_params):
                    p.grad = q.grad
            optimiser.step()
            updates += 1
            if staleness:
                history.append(parameters_to_vector(params).detach().clone())
                if len(history) > staleness + 1:
                    history.pop(0)
        loss_now = _mean_loss(model, X, y, 0, 1)
        if not np.isfinite(loss_now) or not all(torch.isfinite(p).all() for p in params):
            diverged = True
            losses.append(float("inf"))
            break
        losses.append(loss_now)
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return StaleTrainingResult(weights, losses, staleness, updates, diverged)


def train_stale_sgd(X, y, *, staleness: int, hidden=(), epochs: int = 5, batch_size: int = 256,
                    lr: float = 0.1, seed: int = 0) -> StaleTrainingResult:
    """SGD whose every gradient is computed on weights ``staleness`` updates old: asynchronous SGD.

    In asynchronous data parallelism (a parameter server, Hogwild!) each of ``W`` workers reads
    the current weights, computes a gradient on its own batch and sends it back, and the server
    applies every gradient as soon as it arrives, without waiting for the others. In the steady
    state of ``W`` equally fast workers taking turns, the other ``W - 1`` workers' updates land
    while one computes, so every gradient is ``W - 1`` updates stale. This runs that schedule
    deterministically in one process: update ``t`` applies the gradient of batch ``t`` taken at the
    weights after update ``t - staleness`` (the initial weights while ``t < staleness``). Real
    asynchronous training has random delays as well; a fixed delay isolates what staleness does.

    With ``staleness=0`` this is exactly :func:`train_data_parallel` with ``world_size=1`` (same
    initial weights, same batches in the same order, the same float operations), which the tests
    check; synchronous data parallelism on ``W`` workers with batches of ``b`` is that with
    ``batch_size = W * b``.

    Parameters
    ----------
    X, y, hidden, epochs, batch_size, lr, seed
        As in :func:`train_data_parallel`.
    staleness : int
        Updates between reading the weights and applying the gradient computed on them (>= 0).

    Returns
    -------
    StaleTrainingResult
        Training stops early, with ``diverged=True``, if the loss or the weights stop being finite.

    Introduced in chapter 6 ("Distributed Training": asynchronous SGD and stale gradients).
    """
    import torch

    X = _check_X(X)
    y = _check_y(y, len(X))
    staleness = check_int("staleness", staleness, 0, 100_000)
    batch_size = check_int("batch_size", batch_size, 1)
    epochs = check_int("epochs", epochs, 1)
    seed = check_int("seed", seed, 0, MAX_SEED - epochs)
    lr = check_number("lr", lr, minimum=0, strict_minimum=True)
    with _one_thread(), np.errstate(all="ignore"):
        return _train_stale(X=torch.from_numpy(X), y=torch.from_numpy(y), hidden=_check_hidden(hidden),
                            epochs=epochs, batch_size=batch_size, lr=float(lr), seed=seed, staleness=staleness)


def pipeline_bubble(stages: int, micro_batches: int) -> float:
    """The idle fraction of a pipeline-parallel step: ``(stages - 1) / (micro_batches + stages - 1)``.

    With ``stages`` workers each holding consecutive layers and every batch cut into
    ``micro_batches`` (GPipe), each stage waits ``stages - 1`` micro-batch times to start and to
    drain, out of ``micro_batches + stages - 1`` in all.

    Introduced in chapter 6 ("Distributed Training": pipeline parallelism).
    """
    stages = check_int("stages", stages, 1)
    micro_batches = check_int("micro_batches", micro_batches, 1)
    return (stages - 1) / (micro_batches + stages - 1)
