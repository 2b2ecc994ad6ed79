"""Checked exercises of chapter 7 ("Model Deployment and Prediction Service").

Introduced in chapter 7; each checker computes its truth from ``dmls`` itself.
"""
from __future__ import annotations

import functools

import numpy as np

from . import close_to, exercise


@functools.cache
def _peak_predictions_per_second(users: int = 1_000_000) -> float:
    """Predictions per second in the busiest hour of day of chapter 7's world, scaled to ``users``."""
    from dmls.world import World

    world = World(seed=7, n_users=3_000, n_items=1_200, n_sellers=120)
    rows = world.run(days=14).labeled_impressions()
    visits = rows.drop_duplicates("session_id")
    per_hour = visits["shown_at"].dt.hour.value_counts() / 14  # visits in each hour of the day, per day
    scale = users / world.users.shape[0]
    return float(per_hour.max() / 3_600 * scale * world.config.n_candidates)


@exercise("7.1", question="Chapter 7's marketplace (World(seed=7, n_users=3_000, n_items=1_200, n_sellers=120), "
          "14 days) asks for one slate per visit and one prediction per candidate "
          "(world.config.n_candidates). With 1,000,000 users of the same habits (scale by 1,000,000 / the "
          "users the world has after the 14 days), how many predictions per second does its busiest hour "
          "of the day need (visits in each hour of the day, averaged over the 14 days)?",
          hint="visits in the busiest hour of the day (per day) / 3,600 s, times the scale factor, times the "
               "candidates each slate scores; the world grows, so scale by its users after the run.",
          wrong_answers=(101.2, 6.83, 12_298.0, 0.633, 210.9))
def _(answer):
    return close_to(answer, _peak_predictions_per_second(), rel=0.01, what="predictions per second")


@functools.cache
def _share_without_a_list() -> float:
    """Share of sessions after a one-off batch run whose user signed up after it (a world the chapter does not use)."""
    import pandas as pd

    from dmls.world import World

    world = World(seed=3, n_users=400, n_items=150, user_growth_per_day=0.05)
    sessions = world.run(days=4).labeled_impressions().drop_duplicates("session_id")
    run = world.start + pd.Timedelta(days=1)
    sessions = sessions[sessions["shown_at"] >= run]
    return float((sessions["signup_at"] > run).mean())


@exercise("7.2", question="A batch job writes a precomputed list for every user who has signed up by the time it "
          "runs. In World(seed=3, n_users=400, n_items=150, user_growth_per_day=0.05), run for 4 days, the job "
          "runs once, at world.start + 1 day, and is never refreshed. What share of the sessions from then to "
          "the end of the run have no precomputed list (their user signed up after the job ran)?",
          hint="count sessions, not users, and only those that start after the job ran; a session has no "
               "list when its user's signup_at is later than the run.",
          wrong_answers=(0.0, 0.126, 0.0255, 1.0))
def _(answer):
    return close_to(answer, _share_without_a_list(), abs=0.005, what="the share")


@functools.cache
def _int8_tensor_bytes(n_inputs: int = 110, hidden: int = 32, n_classes: int = 2) -> int:
    """Bytes of the weights and biases of a 110-32-2 network after dynamic int8 quantization, read from
    the quantized layers themselves (scales, zero points and the file's container not counted)."""
    from dmls.models import TorchClassifier
    from dmls.serving.compression import quantize_dynamic

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, n_inputs)).astype(np.float32)
    y = np.arange(64) % n_classes
    net = quantize_dynamic(TorchClassifier(hidden=(hidden,), epochs=1, seed=0).fit(X, y))
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    total = 0
    for layer in net.module_.modules():
        if isinstance(layer, DynamicLinear):
            weight, bias = layer.weight(), layer.bias()
            total += weight.numel() * weight.element_size() + bias.numel() * bias.element_size()
    if total == 0:
        raise RuntimeError("the quantized network has no quantized linear layers")
    return total


@exercise("7.3", question="A click network maps 110 features to one hidden layer of 32 units and then to 2 "
          "classes. After quantize_dynamic (int8 weights, float32 biases), how many bytes do its weights and "
          "biases take together, the per-layer scales and the file's overhead not counted?",
          hint="each layer has inputs x outputs weights at one byte each after quantization, and one bias "
               "per output unit, still at four bytes.",
          wrong_answers=(14_472, 3_618, 3_584, 7_309))
def _(answer):
    return close_to(answer, _int8_tensor_bytes(), abs=0.5, what="the bytes")


@functools.cache
def _fused_node_count() -> int:
    """Nodes ONNX Runtime runs for a TorchClassifier(hidden=(64, 32, 16)) at the extended optimization level."""
    from dmls.models import TorchClassifier
    from dmls.serving.onnx_export import OnnxModel, to_onnx

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    net = TorchClassifier(hidden=(64, 32, 16), epochs=1, seed=0).fit(X, y)
    return int(sum(OnnxModel(to_onnx(net, 10), optimization="extended").graph.values()))


@exercise("7.4", question="Export a TorchClassifier(hidden=(64, 32, 16)) with dmls.serving.onnx_export.to_onnx and "
          "load it with OnnxModel(..., optimization='extended'). How many nodes does the graph ONNX Runtime "
          "runs have (sum(model.graph.values()))? Work it out from the section before running it.",
          hint="the exported graph has a Gemm per layer, a Relu after each hidden layer and a Softmax on top; "
               "at the extended level each Relu is fused into the Gemm before it.",
          wrong_answers=(8, 4, 3, 7))
def _(answer):
    if isinstance(answer, (int, np.integer)) and not isinstance(answer, bool):
        truth = _fused_node_count()
        return int(answer) == truth, (f"{truth} nodes." if int(answer) == truth else
                                      f"{int(answer)} nodes is {'too many' if answer > truth else 'too few'}.")
    raise ValueError(f"the answer is a whole number of nodes, got {type(answer).__name__}")
