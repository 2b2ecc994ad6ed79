"""The deployed model as an ONNX graph, run by ONNX Runtime: one file for the server, the edge and the browser.

Introduced in chapter 7 ("ML on the Cloud and on the Edge" and "Compiling and Optimizing Models
for Edge Devices"). :func:`to_onnx` exports a fitted classifier — the torch network of chapter 4
(:class:`~dmls.models.TorchClassifier`) with ``torch.onnx``, a scikit-learn classifier (logistic
regression, gradient-boosted trees) with ``skl2onnx`` — into a graph whose output is the class
probabilities. :class:`OnnxModel` runs it with ONNX Runtime at a chosen graph-optimisation level
and reports the graph's operators before and after the optimiser. The features stay in Python
(:class:`~dmls.serving.compiled.CompiledFeatures`): one feature definition, wherever the model runs.
"""
from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections import Counter

import numpy as np

#: ONNX Runtime's graph optimisation levels, from none to all.
OPTIMIZATION_LEVELS = ("disabled", "basic", "extended", "all")
OPSET = 17


def to_onnx(model, n_features: int) -> bytes:
    """A fitted classifier as an ONNX model (bytes) with one input ``features`` (float32, ``n``
    rows by ``n_features``) and an output ``probabilities`` (``n`` by the number of classes).

    Parameters
    ----------
    model : TorchClassifier or scikit-learn classifier
        Fitted. scikit-learn models are converted with skl2onnx (without its ZipMap output,
        which ONNX Runtime Web cannot run); a TorchClassifier's network is exported with a
        softmax on top, as its ``predict_proba`` computes.
    n_features : int
        Columns of the input.

    Introduced in chapter 7 ("ML on the Cloud and on the Edge").
    """
    import onnx

    from dmls._validation import check_int
    from dmls.models.neural import TorchClassifier

    check_int("n_features", n_features, minimum=1)
    if isinstance(model, TorchClassifier):
        if not hasattr(model, "module_"):
            raise ValueError("the TorchClassifier must be fitted before it is exported")
        data = _torch_to_onnx(model, n_features)
    elif callable(getattr(model, "predict_proba", None)) and hasattr(model, "classes_"):
        data = _sklearn_to_onnx(model, n_features)
    else:
        raise TypeError(f"to_onnx needs a fitted TorchClassifier or scikit-learn classifier, got {type(model).__name__}")
    onnx.checker.check_model(onnx.load_from_string(data))
    return data


def _torch_to_onnx(model, n_features: int) -> bytes:
    import torch

    class WithSoftmax(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, features):
            return torch.softmax(self.module(features), dim=1)

    network = WithSoftmax(model.module_).eval()
    example = torch.zeros((1, n_features), dtype=torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated in favour of one that needs onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(network, (example,), buffer, input_names=["features"], output_names=["probabilities"],
                          dynamic_axes={"features": {0: "n"}, "probabilities": {0: "n"}}, opset_version=OPSET,
                          dynamo=False)
    return buffer.getvalue()


def _sklearn_to_onnx(model, n_features: int) -> bytes:
    from skl2onnx import to_onnx as skl_to_onnx

    example = np.zeros((1, n_features), dtype=np.float32)
    with warnings.catch_warnings():  # skl2onnx writes booleans where protobuf 6 expects ints (it accepts them)
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = skl_to_onnx(model, example, options={id(model): {"zipmap": False}}, target_opset=OPSET)
    # skl2onnx names the input X and the outputs label and probabilities; rename the input
    graph.graph.input[0].name, old = "features", graph.graph.input[0].name
    for node in graph.graph.node:
        node.input[:] = ["features" if name == old else name for name in node.input]
    return graph.SerializeToString()


def op_counts(data: bytes) -> Counter:
    """How many nodes of each operator type the ONNX graph ``data`` has.

    Introduced in chapter 7 ("Compiling and Optimizing Models for Edge Devices").
    """
    import onnx

    return Counter(node.op_type for node in onnx.load_from_string(data).graph.node)


class OnnxModel:
    """An ONNX classifier run by ONNX Runtime on the CPU.

    Parameters
    ----------
    data : bytes
        The model, from :func:`to_onnx`.
    optimization : {"disabled", "basic", "extended", "all"}
        ONNX Runtime's graph optimisation level: constant folding and redundant-node removal
        (basic), operator fusion (extended), layout changes (all).
    threads : int
        Intra-operator threads.

    ``predict_proba(X)`` takes float features and returns float64 probabilities; ``graph``
    holds the operator counts of the graph ONNX Runtime actually runs after optimisation.

    Introduced in chapter 7 ("Compiling and Optimizing Models for Edge Devices").
    """

    def __init__(self, data: bytes, optimization: str = "all", threads: int = 1):
        import onnxruntime as ort

        from dmls._validation import check_int

        if not isinstance(data, (bytes, bytearray)) or not data:
            raise TypeError(f"data must be the bytes of an ONNX model, got {type(data).__name__}")
        if optimization not in OPTIMIZATION_LEVELS:
            raise ValueError(f"optimization must be one of {OPTIMIZATION_LEVELS}, got {optimization!r}")
        check_int("threads", threads, minimum=1, maximum=64)
        options = ort.SessionOptions()
        options.graph_optimization_level = {
            "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimization]
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: it warns that an optimised graph is machine-specific
        with tempfile.TemporaryDirectory() as tmp:
            options.optimized_model_filepath = os.path.join(tmp, "optimized.onnx")
            try:
                self.session = ort.InferenceSession(bytes(data), options, providers=["CPUExecutionProvider"])
            except Exception as error:  # onnxruntime raises its own exception types
                raise ValueError(f"data is not an ONNX model ONNX Runtime can run: {error}") from None
            with open(options.optimized_model_filepath, "rb") as f:
                self.graph = op_counts(f.read())
        self.optimization = optimization
        self.size_bytes = len(data)
        self._input = self.session.get_inputs()[0]
        self.n_features = self._input.shape[1] if isinstance(self._input.shape[1], int) else None
        names = [o.name for o in self.session.get_outputs()]
        self._output = "probabilities" if "probabilities" in names else names[-1]

    def __repr__(self) -> str:
        return f"OnnxModel(optimization={self.optimization!r}, nodes={sum(self.graph.values())}, bytes={self.size_bytes})"

    def predict_proba(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or (self.n_features is not None and X.shape[1] != self.n_features):
            raise ValueError(f"X must be a 2-d array with {self.n_features} columns, got shape {X.shape}")
        if X.dtype == bool or not np.issubdtype(X.dtype, np.number):
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
        out = self.session.run([self._output], {self._input.name: X.astype(np.float32)})[0]
        return np.asarray(out, dtype=float)


def _json_value(value):
    """A JSON-ready scalar: ISO 8601 for times, None for missing, Python numbers and strings."""
    import pandas as pd

    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    return value


def browser_slates(scorer, log, *, n_users: int = 6, sessions_per_user: int = 3, seed: int = 0) -> dict:
    """The data of the book's browser page: a few users' sessions, each with its retrieved
    candidates as feature rows and the scores the Python scorer gives them.

    The features are computed here, in Python, by the scorer's own fitted pipeline (through
    :class:`~dmls.serving.compiled.CompiledFeatures`, the service's online path) for each
    candidate at the ranking slot; the page ships these rows and runs only the model (the ONNX
    graph of :func:`to_onnx`) in the reader's browser. The pipeline's hashing, history lookups and
    crosses stay in one place, at the price of a page that can rank only the sessions it ships.

    Parameters
    ----------
    scorer : ClickScorer
        The deployed scorer (its ``pipeline`` and ``model``).
    log : Log
        A run recorded with ``record_candidates=True`` (each session's retrieved items).
    n_users : int
        How many users the page offers (drawn with ``seed`` among those with the most sessions).
    sessions_per_user : int
        Sessions ("moments") per user: the first, the last and evenly spaced ones between.
    seed : int

    Returns
    -------
    dict
        JSON-ready: ``n_features``, ``input``/``output`` names, ``positive_column`` (the click
        class's column of the model's probabilities), ``version`` and ``users``: each with its
        attributes and ``sessions``, each session with its ``context`` and ``candidates`` (the
        item's attributes, ``features`` as ``{"indices", "values"}`` of the nonzero columns, and
        ``python_score``, the click probability :meth:`ClickScorer.rank` gives).

    Introduced in chapter 7 ("ML in Browsers").
    """
    import pandas as pd

    from dmls._validation import check_int

    from .compiled import CompiledFeatures
    from .service import CANDIDATE_FIELDS, CONTEXT_FIELDS, RANKING_POSITION, ClickScorer

    if not isinstance(scorer, ClickScorer):
        raise TypeError(f"scorer must be a ClickScorer, got {type(scorer).__name__}")
    check_int("n_users", n_users, minimum=1, maximum=1_000)
    check_int("sessions_per_user", sessions_per_user, minimum=1, maximum=100)
    check_int("seed", seed, minimum=0)
    candidates = getattr(log, "candidates", None)
    if not isinstance(candidates, pd.DataFrame) or candidates.empty:
        raise ValueError("log has no recorded candidates: run the world with record_candidates=True")
    sessions = log.sessions[log.sessions["session_id"].isin(candidates["session_id"])]
    per_user = sessions.groupby("user_id").size()
    if len(per_user) < n_users:
        raise ValueError(f"the log has sessions of {len(per_user)} users, fewer than n_users={n_users}")
    # Users with the most sessions first (so that several moments exist), the draw among equals.
    rng = np.random.default_rng(seed)
    order = pd.DataFrame({"n": per_user.to_numpy(), "tie": rng.random(len(per_user))}, index=per_user.index)
    chosen = sorted(order.sort_values(["n", "tie"], ascending=[False, True]).index[:n_users].tolist())
    users = log.users.set_index("user_id")
    items = log.items.set_index("item_id")
    compiled = CompiledFeatures(scorer.pipeline)
    positive = int(scorer._positive)
    out_users = []
    for user_id in chosen:
        user = users.loc[user_id]
        own = sessions[sessions["user_id"] == user_id].sort_values("started_at", kind="stable")
        picks = np.unique(np.linspace(0, len(own) - 1, min(sessions_per_user, len(own))).round().astype(int))
        out_sessions = []
        for _, session in own.iloc[picks].iterrows():
            context = {"user_id": int(user_id), "device": str(session["device"]),
                       "shown_at": pd.Timestamp(session["started_at"]).isoformat(),
                       "user_region": str(user["region"]), "age": _json_value(user["age"]),
                       "signup_at": pd.Timestamp(user["signup_at"]).isoformat()}
            ids = candidates.loc[candidates["session_id"] == session["session_id"]].sort_values("retrieved")["item_id"]
            slate = []
            for item_id in ids.tolist():
                row = items.loc[item_id]
                slate.append({"item_id": int(item_id), **{f: _json_value(row[f]) for f in CANDIDATE_FIELDS[1:]}})
            X = compiled.transform_slate({f: context[f] for f in CONTEXT_FIELDS},
                                         [{f: c[f] for f in CANDIDATE_FIELDS} for c in slate], RANKING_POSITION)
            ranked = {r["item_id"]: r["score"] for r in scorer.rank(context, slate)}
            model_scores = np.asarray(scorer.model.predict_proba(X), dtype=float)[:, positive]
            python_scores = np.array([ranked[c["item_id"]] for c in slate])
            if not np.allclose(model_scores, python_scores, rtol=0, atol=1e-9):  # pragma: no cover
                raise RuntimeError("the compiled features do not give the scorer's scores")
            for c, x, p in zip(slate, X, python_scores):
                nonzero = np.flatnonzero(x)
                c["title"] = _json_value(items.loc[c["item_id"], "title"]) if "title" in items.columns else None
                c["features"] = {"indices": nonzero.tolist(), "values": x[nonzero].tolist()}
                c["python_score"] = float(p)
            out_sessions.append({"session_id": int(session["session_id"]), "context": context, "candidates": slate})
        out_users.append({"user_id": int(user_id), "region": str(user["region"]), "age": _json_value(user["age"]),
                          "signup_at": pd.Timestamp(user["signup_at"]).isoformat(), "sessions": out_sessions})
    return {"version": scorer.version, "n_features": int(compiled.n_features), "input": "features",
            "output": "probabilities", "positive_column": positive, "ranking_position": RANKING_POSITION,
            "users": out_users}
