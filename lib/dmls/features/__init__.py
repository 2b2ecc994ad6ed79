"""Features: what a model sees of an impression.

Introduced in chapter 1 ("When to Use Machine Learning") with a first set — the impression's
context and what history says about its user and item; chapter 5 builds the full feature
pipeline (transformers shared by training and serving, leakage checks) on top.
"""
from .history import CONTEXT_COLUMNS, HistoryFeatures, click_features, context_features

__all__ = ["CONTEXT_COLUMNS", "HistoryFeatures", "click_features", "context_features"]
