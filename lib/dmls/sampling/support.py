"""The support condition of importance sampling: does the logging policy give every choice the
target policy can make a positive probability?

Introduced in chapter 4 ("Importance Sampling").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dmls.world import ScoringPolicy, World
from dmls.world.policies import SlateContext

from .importance import _check_log, top_slot


def candidate_probabilities(policy: ScoringPolicy, world: World, log) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A policy's probability of putting each recorded candidate first, for every logged session.

    Parameters
    ----------
    policy : dmls.world.ScoringPolicy
        The policy whose first-pick distribution is wanted (the target, or the logging policy as
        it stood when the logs began).
    world : dmls.world.World
        The world the policy scores in.
    log : dmls.world.Log
        A log run with ``record_candidates=True``.

    Returns
    -------
    top : pandas.DataFrame
        The logged top slot of each session (:func:`dmls.sampling.top_slot`), one row per session.
    probabilities : numpy.ndarray
        Shape ``(sessions, candidates)``: the policy's probability of putting each candidate first.
    logged : numpy.ndarray
        Boolean, same shape: which candidate the log put first.
        ``(probabilities * logged).sum(axis=1)`` is what :func:`dmls.sampling.choice_probabilities`
        returns as ``target``.

    Raises
    ------
    TypeError
        If ``policy`` is not a ScoringPolicy, ``world`` not a World or ``log`` not a Log.
    ValueError
        If the log has no (or incomplete) candidates.

    Introduced in chapter 4 ("Importance Sampling"), to check the support condition: every
    candidate the target policy can put first must have a positive logging probability.
    """
    if not isinstance(policy, ScoringPolicy):
        raise TypeError(f"policy must be a ScoringPolicy (one that can say how likely each choice is), "
                        f"got {type(policy).__name__}")
    if not isinstance(world, World):
        raise TypeError(f"world must be a dmls.world.World, got {type(world).__name__}")
    _check_log(log)
    if log.candidates.empty:
        raise ValueError("the log has no candidates: run the world with record_candidates=True")
    top = top_slot(log)
    candidates = log.candidates.sort_values(["session_id", "retrieved"])
    per_session = candidates.groupby("session_id")["item_id"].apply(np.array).reindex(top["session_id"])
    if per_session.isna().any():
        raise ValueError("some sessions in the log have no recorded candidates")
    matrix = np.stack(per_session.to_numpy())
    sessions = (log.sessions.drop_duplicates("session_id").set_index("session_id")
                .loc[top["session_id"]].reset_index())
    context = SlateContext(world=world, now=log.start,
                           sessions=sessions[["session_id", "user_id", "device", "started_at"]],
                           candidates=matrix, slate_size=world.config.slate_size)
    logged = matrix == top["item_id"].to_numpy()[:, None]
    if not logged.any(axis=1).all():
        raise ValueError("a logged top item is missing from its session's candidates")
    return top, policy.first_pick_probabilities(context), logged


def support_gap(target: np.ndarray, logging: np.ndarray, tol: float = 1e-12) -> float:
    """The smallest logging probability among the candidates the target policy can put first.

    Importance weights are unbiased only when this is positive: a choice the logging policy never
    makes cannot be reweighted.

    Parameters
    ----------
    target, logging : numpy.ndarray
        First-pick probabilities of the two policies over the same candidates (same shape), as
        :func:`candidate_probabilities` returns them.
    tol : float
        Target probabilities at or below ``tol`` count as choices the target never makes.

    Returns
    -------
    float
        ``min(logging[target > tol])`` (``inf`` if the target makes no choice at all).

    Introduced in chapter 4 ("Importance Sampling").
    """
    target, logging = np.asarray(target, dtype=float), np.asarray(logging, dtype=float)
    if target.shape != logging.shape:
        raise ValueError(f"target and logging must have the same shape, got {target.shape} and {logging.shape}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    chosen = target > tol
    return float(logging[chosen].min()) if chosen.any() else float("inf")
