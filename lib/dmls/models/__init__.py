"""Models: training, baselines, ensembles, tracking, tuning, distributed training.

Introduced in chapter 1 with the first click model; chapter 4 adds a small neural network with
losses for class imbalance; chapter 5 a model with learned id and position
embeddings; chapter 6 builds the rest.

The names below are imported on first use (PEP 562): a worker process that needs only the
distributed training loop does not pay for scikit-learn, MLflow and the feature pipeline.
"""
from __future__ import annotations

from dmls._lazy import lazy_exports

_EXPORTS = {
    "click": ("train_click_model",),
    "distributed": ("TrainingResult", "model_parallel_forward", "train_data_parallel"),
    "embedding": ("EmbeddingClassifier",),
    "neural": ("LOSSES", "TorchClassifier", "class_balanced_weights", "focal_loss"),
    "tracking": ("code_version", "dataset_fingerprint", "experiment", "local_tracking", "runs_table"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
