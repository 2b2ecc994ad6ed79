"""Models: training, baselines, ensembles, tracking, tuning, distributed training.

Introduced in chapter 1 with the first click model; chapter 4 adds a small neural network with
losses for class imbalance; chapter 5 a model with learned id and position
embeddings; chapter 6 builds the rest.
"""
from .click import train_click_model
from .embedding import EmbeddingClassifier
from .neural import LOSSES, TorchClassifier, class_balanced_weights, focal_loss

__all__ = ["EmbeddingClassifier", "LOSSES", "TorchClassifier", "class_balanced_weights", "focal_loss", "train_click_model"]
