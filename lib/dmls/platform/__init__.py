"""The ML platform: what ties data, code and models together.

Introduced in chapter 1 (lineage: "Machine Learning Systems Versus Traditional Software");
chapter 10 adds workflows, the model store and the feature store.
"""
from .lineage import ModelVersion, code_fingerprint, dataset_fingerprint, params_fingerprint

__all__ = ["ModelVersion", "code_fingerprint", "dataset_fingerprint", "params_fingerprint"]
