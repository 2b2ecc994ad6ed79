"""Package exports imported on first use (PEP 562), shared by the packages that need them.

``dmls.serving`` and ``dmls.models`` re-export names from modules that pull in torch, the web
framework or MLflow; a user (or a spawned worker process) who needs one name should not pay for
the others.

Introduced in chapter 1 (the latency helpers, without the service); used again in chapter 6.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, tuple[str, ...]], namespace: dict
                 ) -> tuple[list[str], Callable, Callable]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, whose ``exports`` map a submodule to
    the names it provides; a name is imported, and cached in ``namespace``, when first read.

    Introduced in chapter 1 (``dmls.serving``); ``dmls.models`` uses it from chapter 6.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(where))

    return sorted(where), __getattr__, __dir__
