"""Models: training, baselines, ensembles, tracking, tuning, distributed training.

Introduced in chapter 1 with the first click model; chapter 4 adds a small neural network with
losses for class imbalance; chapter 5 a model with learned id and position
embeddings; chapter 6 builds the rest.
"""
from .click import train_click_model
from .distributed import TrainingResult, model_parallel_forward, train_data_parallel
from .embedding import EmbeddingClassifier
from .neural import LOSSES, TorchClassifier, class_balanced_weights, focal_loss
from .tracking import code_version, dataset_fingerprint, experiment, local_tracking, runs_table

__all__ = ["EmbeddingClassifier", "LOSSES", "TorchClassifier", "class_balanced_weights", "focal_loss", "train_click_model",
           # chapter 6
           "TrainingResult", "code_version", "dataset_fingerprint", "experiment", "local_tracking",
           "model_parallel_forward", "runs_table", "train_data_parallel"]
