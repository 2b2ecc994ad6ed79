"""Labeling: hand labels, natural labels, and what to do when labels are scarce.

Introduced in chapter 4 ("Labeling").
"""
from .active import active_learning_curve
from .annotators import Annotator, annotate
from .natural import label_delays, window_tradeoff
from .weak import ABSTAIN, LabelModel, apply_labeling_functions, lf_summary, macro_f1, majority_vote

__all__ = ["ABSTAIN", "Annotator", "LabelModel", "active_learning_curve", "annotate", "apply_labeling_functions",
           "label_delays", "lf_summary", "macro_f1", "majority_vote", "window_tradeoff"]
