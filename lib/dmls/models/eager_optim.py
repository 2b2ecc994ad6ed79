"""torch.optim's Adam and SGD without the import of ``torch._dynamo`` they trigger.

Introduced in chapter 6 ("Distributed Training" and the model families of "Evaluating ML
Models"), to keep the chapter's run short; ``TorchClassifier`` and chapter 5's
``EmbeddingClassifier`` train with them. ``torch.optim.Optimizer`` wraps ``add_param_group``,
``zero_grad`` and every ``step`` in guards for ``torch.compile``; the guards import
``torch._dynamo`` on first use, which costs over a second and a half of CPU in every process that
builds an optimiser, compiled or not. The classes here are subclasses of ``torch.optim.Adam`` and
``torch.optim.SGD`` that call the same methods with the guards peeled off: the same code updates
the same state, so the weights after any number of steps are bit for bit those of torch.optim
(the tests check it). Use them in eager code only; under ``torch.compile`` use torch.optim itself.
"""
from __future__ import annotations

import functools


def _unwrapped(method):
    """The function under torch's guard wrappers (``functools.wraps`` sets ``__wrapped__``)."""
    while hasattr(method, "__wrapped__"):
        method = method.__wrapped__
    return method


@functools.cache
def _eager_class(name: str):
    import torch

    base = getattr(torch.optim, name)
    add_param_group = _unwrapped(torch.optim.Optimizer.add_param_group)
    zero_grad = _unwrapped(torch.optim.Optimizer.zero_grad)
    step = _unwrapped(base.step)

    class Eager(base):
        __doc__ = f"torch.optim.{name} without the torch.compile guards (chapter 6)."

        def add_param_group(self, param_group):
            add_param_group(self, param_group)

        def zero_grad(self, set_to_none: bool = True):
            zero_grad(self, set_to_none)

        def step(self, closure=None):
            # what torch's guard does around step in eager mode: gradients off unless differentiable
            with torch.set_grad_enabled(self.defaults["differentiable"]):
                return step(self, closure)

    Eager.__name__ = Eager.__qualname__ = f"Eager{name}"
    return Eager


def adam(params, **options):
    """``torch.optim.Adam(params, **options)``, the same updates, without importing ``torch._dynamo``.

    Parameters
    ----------
    params : iterable of tensors or of parameter-group dicts
    **options
        As for ``torch.optim.Adam`` (``lr``, ``betas``, ``weight_decay``, ...).

    Returns
    -------
    torch.optim.Adam
        An instance of a subclass; ``state_dict`` and hooks work as usual.

    Introduced in chapter 6 (the neural network of "Evaluating ML Models").
    """
    return _eager_class("Adam")(params, **options)


def sgd(params, **options):
    """``torch.optim.SGD(params, **options)``, the same updates, without importing ``torch._dynamo``.

    Parameters
    ----------
    params : iterable of tensors or of parameter-group dicts
    **options
        As for ``torch.optim.SGD`` (``lr``, ``momentum``, ``weight_decay``, ...).

    Returns
    -------
    torch.optim.SGD
        An instance of a subclass; ``state_dict`` and hooks work as usual.

    Introduced in chapter 6 ("Distributed Training").
    """
    return _eager_class("SGD")(params, **options)
