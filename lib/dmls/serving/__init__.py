"""Serving: batch and online prediction, compression, and latency.

Introduced in chapter 7 ("Model Deployment and Prediction Service"); the latency summary and the
queue simulation (:mod:`dmls.serving.latency`) in chapter 1 ("Computational priorities").

The names below are imported on first use (PEP 562), so that ``from dmls.serving import
latency_summary`` does not pay for loading torch and the web framework that compression and the
service need.
"""
from __future__ import annotations

from dmls._lazy import lazy_exports

_EXPORTS = {
    # compression (chapter 7, "Model Compression")
    "compression": ("compression_report", "distill", "distillation_loss", "factorize_linear", "low_rank",
                    "model_size_bytes", "prune_magnitude", "quantize_dynamic", "remove_dead_neurons", "sparsity"),
    # batch and online prediction (chapter 7, "Batch Prediction Versus Online Prediction")
    "batch": ("PrecomputedScores", "batch_predict"),
    "policies": ("BatchPredictionPolicy", "OnlineScoringPolicy"),
    # the fast online path (chapter 7, "Model Deployment and Prediction Service")
    "compiled": ("CompiledFeatures", "CompiledScorer"),
    "service": ("CANDIDATE_FIELDS", "CONTEXT_FIELDS", "ClickScorer", "PredictRequest", "RankCandidate",
                "RankContext", "RankRequest", "listening_socket", "prediction_app", "serve_workers"),
    # latency as a distribution, and the queue that makes its tail (chapter 1, "Computational priorities")
    "latency": ("PERCENTILES", "latency_summary", "max_utilisation", "mm1_sojourn", "simulate_queue"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
