"""Serving: batch and online prediction, compression. Introduced in chapter 7 ("Model Deployment and Prediction Service")."""
from .compression import (
    compression_report,
    distill,
    distillation_loss,
    factorize_linear,
    low_rank,
    model_size_bytes,
    prune_magnitude,
    quantize_dynamic,
    sparsity,
)
from .batch import PrecomputedScores, batch_predict
from .service import (CANDIDATE_FIELDS, CONTEXT_FIELDS, ClickScorer, PredictRequest, RankCandidate, RankContext,
                      RankRequest, prediction_app)

__all__ = [
    # compression (chapter 7, "Model Compression")
    "compression_report", "distill", "distillation_loss", "factorize_linear", "low_rank", "model_size_bytes",
    "prune_magnitude", "quantize_dynamic", "sparsity",
    # batch and online prediction (chapter 7, "Batch Prediction Versus Online Prediction")
    "CANDIDATE_FIELDS", "CONTEXT_FIELDS", "ClickScorer", "PrecomputedScores", "PredictRequest", "RankCandidate",
    "RankContext", "RankRequest", "batch_predict", "prediction_app",
]
