"""Lineage: which code, data and parameters a model came from.

Introduced in chapter 1 ("Machine Learning Systems Versus Traditional Software"): in an ML
system the same code trained on different data is a different program, so a model's version has
to name its data as well as its code.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import pandas as pd

DIGITS = 12
_PARTS = ("code", "data", "params", "history", "serving_history")


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:DIGITS]


def dataset_fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of a table: the same columns, dtypes and values in the same order give the
    same fingerprint; changing any value, column or row order gives another.

    Introduced in chapter 1 ("Machine Learning Systems Versus Traditional Software").
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"dataset_fingerprint needs a DataFrame, got {type(frame).__name__}")
    schema = json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode()
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return _digest(schema, rows)


def code_fingerprint(*objects: Callable | type) -> str:
    """Hash of the source code of functions or classes (what the training code says, not its name).

    Introduced in chapter 1 ("Machine Learning Systems Versus Traditional Software").
    """
    if not objects:
        raise ValueError("code_fingerprint needs at least one function or class")
    try:
        sources = [inspect.getsource(obj).encode() for obj in objects]
    except (TypeError, OSError) as exc:
        raise TypeError(f"code_fingerprint needs functions or classes with source code: {exc}") from exc
    return _digest(*sources)


def params_fingerprint(params: Mapping[str, Any]) -> str:
    """Hash of a configuration (key order does not matter). Raises TypeError unless ``params`` is
    a JSON-serialisable mapping whose keys, at every level, are strings (JSON writes 1 as "1").

    Introduced in chapter 1 ("Machine Learning Systems Versus Traditional Software").
    """
    _check_params(params)
    try:
        text = json.dumps(params, sort_keys=True, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"params must be JSON-serialisable to be versioned: {exc}") from exc
    return _digest(text.encode())


@dataclass(frozen=True)
class ModelVersion:
    """A model's identity: the fingerprints of its training code, data and parameters, and of the
    history its features read.

    ``history`` fingerprints the table a model's history features are computed from (the past
    clicks behind ``user_ctr``, ``item_ctr`` and ``taste_share``), which changes the model's
    behaviour as much as its training rows do; it is empty (``""``) for a model without one, and
    then the version's ``id`` is what it was before history was versioned.

    ``serving_history`` fingerprints the history the features read at prediction time, when it is
    not the one the model was trained with (a model trained on last month's counts and fed this
    week's is another system than the same model fed last month's). It is empty (``""``) when
    not given, and then the ``id`` is what it was before serving history was versioned.

    Introduced in chapter 1 ("Machine Learning Systems Versus Traditional Software"); the model
    store of chapter 10 keeps one per model.
    """

    code: str
    data: str
    params: str
    history: str = ""
    serving_history: str = ""

    def __post_init__(self):
        for name in _PARTS:
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"ModelVersion.{name} must be a fingerprint string, got {type(getattr(self, name)).__name__}")

    @property
    def id(self) -> str:
        parts = [self.code.encode(), self.data.encode(), self.params.encode()]
        if self.history:
            parts.append(b"history:" + self.history.encode())
        if self.serving_history:
            parts.append(b"serving_history:" + self.serving_history.encode())
        return _digest(*parts)

    @classmethod
    def of(cls, train: Callable, data: pd.DataFrame, params: Mapping[str, Any], *,
           history: pd.DataFrame | None = None,
           serving_history: pd.DataFrame | None = None) -> "ModelVersion":
        """The version of the model ``train`` fits on ``data`` with ``params``, its training features
        computed from ``history`` (a table, or None for a model without history features) and, if
        given, its features at prediction time from ``serving_history``."""
        return cls(code_fingerprint(train), dataset_fingerprint(data), params_fingerprint(params),
                   "" if history is None else dataset_fingerprint(history),
                   "" if serving_history is None else dataset_fingerprint(serving_history))

    def diff(self, other: "ModelVersion") -> list[str]:
        """Which of code, data, params, history and serving_history differ from ``other``."""
        if not isinstance(other, ModelVersion):
            raise TypeError(f"other must be a ModelVersion, got {type(other).__name__}")
        return [name for name in _PARTS if getattr(self, name) != getattr(other, name)]


def _check_params(params, path: str = "params") -> None:
    """Refuse what JSON would version wrongly: a non-mapping, or keys that are not strings.

    ``json.dumps`` writes the keys 1, 1.0, True and "1" as the same text (or refuses to sort
    mixed keys), so two different configurations would share a fingerprint.
    """
    if path == "params" and not isinstance(params, Mapping):
        raise TypeError(f"params_fingerprint needs a mapping, got {type(params).__name__}")
    if isinstance(params, Mapping):
        for key, value in params.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} keys must be strings, got {type(key).__name__} {key!r}: JSON would write "
                                f"it as a string, and another configuration could get the same fingerprint")
            _check_params(value, f"{path}[{key!r}]")
    elif isinstance(params, (list, tuple)):
        for i, value in enumerate(params):
            _check_params(value, f"{path}[{i}]")
