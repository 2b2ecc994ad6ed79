"""Offline evaluation: baselines, calibration, slices, behavioural tests, confidence, intervals.

Introduced in chapter 6 ("Model Offline Evaluation").
"""
from .baselines import PopularityBaseline, baseline_scores, random_baselines
from .behavioural import BehaviouralResult, directional_test, invariance_test, perturbation_test
from .calibration import ece_interval, expected_calibration_error, reliability_table
from .confidence import confidence_for_coverage, selective_prediction
from .slices import compare_on_slices, independent_difference, slice_differences, slice_report
from .uncertainty import (AUCComparison, Interval, SeedRuns, average_precision, clear_kept_counts, compare_aucs,
                          difference_interval, format_number, interval_table, mean_interval, metric_interval, repeat_over_seeds,
                          roc_auc)

__all__ = ["BehaviouralResult", "Interval", "format_number", "SeedRuns", "difference_interval", "interval_table",
           "mean_interval", "metric_interval", "repeat_over_seeds", "PopularityBaseline", "baseline_scores", "compare_on_slices",
           "confidence_for_coverage", "directional_test", "expected_calibration_error", "invariance_test",
           "perturbation_test", "reliability_table", "selective_prediction", "slice_report",
           # chapter 6: intervals for calibration and slices, random baselines
           "ece_interval", "independent_difference", "random_baselines", "slice_differences",
           # point estimates and several scorers at once (chapters 1, 2 and 4); kept resamples (chapter 5)
           "AUCComparison", "average_precision", "clear_kept_counts", "compare_aucs", "roc_auc"]
