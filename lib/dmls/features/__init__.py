"""Features: what a model sees of an impression.

Introduced in chapter 1 ("When to Use Machine Learning") with a first set — the impression's
context and what history says about its user and item; chapter 5 builds the feature pipeline
shared by training and serving (:class:`FeaturePipeline`), the transformers it is made of and
the leakage checks.
"""
from .history import CONTEXT_COLUMNS, HistoryFeatures, click_features, context_features
from .leakage import (Finding, check_time_split, cross_split_duplicates, group_overlap, leakage_report,
                      single_feature_power, time_split)
from .pipeline import REQUEST_FIELDS, FeaturePipeline, impression_attributes
from .transformers import FeatureCross, HashingEncoder, SinusoidalEncoding

__all__ = ["CONTEXT_COLUMNS", "FeatureCross", "FeaturePipeline", "Finding", "HashingEncoder", "HistoryFeatures",
           "REQUEST_FIELDS", "SinusoidalEncoding", "check_time_split", "click_features", "context_features",
           "cross_split_duplicates", "group_overlap", "impression_attributes", "leakage_report",
           "single_feature_power", "time_split"]
