"""Models: training, baselines, ensembles, tracking, tuning, distributed training.

Introduced in chapter 1 with the first click model; chapter 6 builds the rest.
"""
from .click import train_click_model

__all__ = ["train_click_model"]
