"""Importance sampling: estimate how a new ranking policy would do, from logs of the old one.

Introduced in chapter 4 ("Importance Sampling"). Logs are a sample drawn by the logging policy;
to learn about another policy, weight each logged outcome by how much more (or less) likely the
new policy was to make the logged choice: ``target probability / logging probability``. We do it
for the top slot of each slate, where the logging policy's propensity is the probability of the
logged item being chosen first.
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from dmls.world import Log, ScoringPolicy, World


def top_slot(log: Log) -> pd.DataFrame:
    """One row per session: the item shown first, its propensity under the logging policy,
    the true click probability, and whether it was clicked.

    Raises
    ------
    TypeError
        If ``log`` is not a :class:`dmls.world.Log`.

    Introduced in chapter 4 ("Importance Sampling").
    """
    _check_log(log)
    imp = log.impressions.drop_duplicates("impression_id")
    top = imp[imp["position"] == 1]
    clicked = top["impression_id"].isin(log.clicks["impression_id"])
    cols = ["session_id", "user_id", "item_id", "device", "shown_at", "propensity", "p_click"]
    return top[cols].assign(clicked=clicked.to_numpy()).sort_values("session_id", ignore_index=True)


def choice_probabilities(policy: ScoringPolicy, world: World, log: Log) -> pd.DataFrame:
    """For every logged session, the probability that ``policy`` would have put the logged top
    item first, given the same candidates. Needs a log run with ``record_candidates=True``.

    Raises
    ------
    TypeError
        If ``policy`` is not a :class:`dmls.world.ScoringPolicy`, ``world`` not a
        :class:`dmls.world.World` or ``log`` not a :class:`dmls.world.Log`.
    ValueError
        If the log has no (or incomplete) candidates.

    Introduced in chapter 4 ("Importance Sampling").
    """
    from .support import candidate_probabilities

    top, probabilities, logged = candidate_probabilities(policy, world, log)
    return top.assign(target=(probabilities * logged).sum(axis=1))


def _check_log(log) -> None:
    if not isinstance(log, Log):
        raise TypeError(f"log must be a dmls.world.Log (what World.run returns), got {type(log).__name__}")


def _as_floats(name: str, values) -> np.ndarray:
    raw = np.asarray(values)
    if raw.dtype.kind == "O" and all(isinstance(x, numbers.Real) for x in raw.ravel()):
        raw = raw.astype(float)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got {raw.dtype} values such as {raw.ravel()[:3].tolist()}")
    return raw.astype(float)


def _checked(rewards, target, logging):
    rewards, target, logging = (_as_floats(name, a) for name, a in
                                (("rewards", rewards), ("target", target), ("logging", logging)))
    if not rewards.shape == target.shape == logging.shape or rewards.ndim != 1 or len(rewards) == 0:
        raise ValueError("rewards, target and logging probabilities must be 1-d arrays of the same, non-zero length")
    if not ((logging > 0) & (logging <= 1)).all():
        raise ValueError("logging probabilities must be in (0, 1]: a choice the logging policy could not make "
                         "cannot be reweighted")
    if not ((target >= 0) & (target <= 1)).all():
        raise ValueError("target probabilities must be in [0, 1]")
    if not np.isfinite(rewards).all():
        raise ValueError(f"rewards must be finite numbers; {int((~np.isfinite(rewards)).sum())} are NaN or infinite")
    return rewards, target / logging


def ips(rewards, target, logging) -> float:
    """Inverse propensity scoring: the mean of ``reward * target / logging``. Unbiased when the
    logging policy gave every choice the target policy makes a positive probability.

    Raises
    ------
    TypeError
        If ``rewards``, ``target`` or ``logging`` does not hold numbers.
    ValueError
        If they are not 1-d of one, non-zero length; if a reward is NaN or infinite, a target
        probability outside [0, 1] or a logging probability outside (0, 1].

    Introduced in chapter 4 ("Importance Sampling").
    """
    rewards, weights = _checked(rewards, target, logging)
    return float(np.mean(rewards * weights))


def snips(rewards, target, logging) -> float:
    """Self-normalised IPS: divides by the sum of the weights instead of the count. A little
    biased, usually far less variable.

    Raises
    ------
    TypeError, ValueError
        As :func:`ips`; and ValueError if no logged choice has a positive target probability.

    Introduced in chapter 4 ("Importance Sampling").
    """
    rewards, weights = _checked(rewards, target, logging)
    total = weights.sum()
    if total == 0:
        raise ValueError("the target policy never makes any logged choice: nothing to reweight")
    return float((rewards * weights).sum() / total)
