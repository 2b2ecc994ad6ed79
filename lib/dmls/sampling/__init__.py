"""Sampling: choosing which data to train and evaluate on, and correcting for how it was chosen.

Introduced in chapter 4 ("Sampling").
"""
from .importance import choice_probabilities, ips, snips, top_slot
from .nonprobability import convenience_sample, judgment_sample, quota_sample, snowball_sample
from .probability import allocate, simple_random, stratified, weighted
from .reservoir import Reservoir, reservoir_sample

__all__ = ["Reservoir", "allocate", "choice_probabilities", "convenience_sample", "ips", "judgment_sample",
           "quota_sample", "reservoir_sample", "simple_random", "snips", "snowball_sample", "stratified",
           "top_slot", "weighted"]
