"""Nonprobability sampling: samples chosen by convenience or by connection, not by chance.

Introduced in chapter 4 ("Nonprobability Sampling"). Useful to get started, and biased in ways
that the simulated marketplace lets us measure.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import networkx as nx
import numpy as np
import pandas as pd


def convenience_sample(sessions: pd.DataFrame, n: int) -> pd.Index:
    """The first ``n`` distinct users to show up: whoever was easiest to reach.

    Raises
    ------
    TypeError
        If ``sessions`` is not a DataFrame or ``n`` is not an integer.
    ValueError
        If ``sessions`` lacks ``started_at`` or ``user_id``, or ``n`` is below 1 or more than the
        users who visited.

    Introduced in chapter 4 ("Nonprobability Sampling").
    """
    n = _positive_n(n)
    if not isinstance(sessions, pd.DataFrame):
        raise TypeError(f"sessions must be a DataFrame of sessions, got {type(sessions).__name__}")
    missing = [c for c in ("started_at", "user_id") if c not in sessions.columns]
    if missing:
        raise ValueError(f"sessions has no column {missing[0]!r}; it needs started_at and user_id")
    users = sessions.sort_values("started_at", kind="stable")["user_id"].drop_duplicates()
    if n > len(users):
        raise ValueError(f"only {len(users)} users visited; cannot take {n}")
    return pd.Index(users.head(n).to_numpy(), name="user_id")


def snowball_sample(graph: nx.Graph, seeds, n: int) -> pd.Index:
    """Users reached by walking out from ``seeds`` through shared items, breadth first, until
    ``n`` users are found (each user recruits those who interacted with the same items); fewer
    if the users reachable from ``seeds`` run out first.

    Raises
    ------
    TypeError
        If ``graph`` is not a networkx graph, ``seeds`` is not a collection of integer user ids
        (a string, a bool or a float is not an id), or ``n`` is not an integer.
    ValueError
        If ``seeds`` is empty, repeats a user or names a user not in the graph, or ``n`` is below 1.

    Introduced in chapter 4 ("Nonprobability Sampling").
    """
    n = _positive_n(n)
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"graph must be a networkx Graph (see dmls.data.interaction_graph), got {type(graph).__name__}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a list of user ids, got {type(seeds).__name__} {seeds!r}")
    seeds = list(seeds)
    bad = [s for s in seeds if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer))]
    if bad:
        raise TypeError(f"seeds must be integer user ids, got {bad[:5]!r}")
    if not seeds:
        raise ValueError("seeds is empty: a snowball needs at least one user to start from")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeats users: {sorted({s for s in seeds if seeds.count(s) > 1})[:5]}")
    start = [f"u{s}" for s in seeds]
    missing = [s for s in start if s not in graph]
    if missing:
        raise ValueError(f"seed users {missing} are not in the graph")
    found, seen, queue = [], set(start), deque(start)
    while queue and len(found) < n:
        node = queue.popleft()
        if node.startswith("u"):
            found.append(int(node[1:]))
        for neighbour in sorted(graph.neighbors(node)):
            if neighbour not in seen:
                seen.add(neighbour)
                queue.append(neighbour)
    return pd.Index(found, name="user_id")


def _positive_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be a positive integer, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return int(n)


def quota_sample(frame: pd.DataFrame, by: str, quotas) -> pd.Index:
    """Units taken in the order ``frame`` lists them (whoever comes first) until each group of
    column ``by`` has filled its quota: quota sampling, a nonprobability sample whose group counts
    are fixed in advance but whose units within a group are not drawn by chance.

    ``quotas`` maps each group to the number of units it needs (a Series or a dict; see
    :func:`dmls.sampling.allocate` for quotas in proportion to the population). Units of groups
    without a quota are skipped. Returns the index labels of the chosen rows, in the order taken.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame, or a quota is not an integer.
    ValueError
        If ``by`` is not a column of ``frame``, ``quotas`` is empty, a quota is negative, or a group
        has fewer units than its quota.

    Introduced in chapter 4 ("Nonprobability Sampling": quota sampling).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a DataFrame of units in the order they arrive, got {type(frame).__name__}")
    if by not in frame.columns:
        raise ValueError(f"frame has no column {by!r} to fill quotas by")
    quotas = pd.Series(quotas, dtype=object) if isinstance(quotas, dict) else quotas
    if not isinstance(quotas, pd.Series) or quotas.empty:
        raise ValueError("quotas must be a non-empty Series or dict: group -> number of units")
    need = {}
    for group, count in quotas.items():
        if isinstance(count, (bool, np.bool_)) or not isinstance(count, (int, np.integer)):
            raise TypeError(f"the quota of {group!r} must be an integer, got {type(count).__name__} {count!r}")
        if count < 0:
            raise ValueError(f"the quota of {group!r} must be >= 0, got {count!r}")
        need[group] = int(count)
    groups = frame[by]
    available = groups.value_counts()
    short = {g: (int(available.get(g, 0)), c) for g, c in need.items() if available.get(g, 0) < c}
    if short:
        g, (have, want) = next(iter(short.items()))
        raise ValueError(f"group {g!r} has {have} units, fewer than its quota of {want}")
    taken = []
    left = dict(need)
    remaining = sum(left.values())
    for label, group in zip(frame.index, groups.to_numpy()):
        if remaining == 0:
            break
        if left.get(group, 0) > 0:
            left[group] -= 1
            remaining -= 1
            taken.append(label)
    return pd.Index(taken, name=frame.index.name)


def judgment_sample(frame: pd.DataFrame, n: int, judgment) -> pd.Index:
    """The ``n`` units an expert judges most suitable: the rows with the highest ``judgment``
    scores (ties broken by the order of ``frame``). Judgment sampling, a nonprobability sample:
    it is as representative as the expert's criterion, and nothing in the sample says how far
    that is.

    ``judgment`` is a Series aligned with ``frame``'s index, or the name of one of its columns.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame or ``n`` is not an integer.
    ValueError
        If ``judgment`` names no column or does not cover every row, holds NaN, or ``n`` is below 1
        or more than the rows of ``frame``.

    Introduced in chapter 4 ("Nonprobability Sampling": judgment sampling).
    """
    n = _positive_n(n)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a DataFrame of units, got {type(frame).__name__}")
    if isinstance(judgment, str):
        if judgment not in frame.columns:
            raise ValueError(f"frame has no column {judgment!r} to judge by")
        judgment = frame[judgment]
    judgment = pd.Series(judgment)
    if not frame.index.isin(judgment.index).all():
        raise ValueError("judgment must give a score to every row of frame (aligned by index)")
    scores = pd.to_numeric(judgment.loc[frame.index], errors="coerce")
    if scores.isna().any():
        raise ValueError(f"judgment holds {int(scores.isna().sum())} missing or non-numeric scores")
    if n > len(frame):
        raise ValueError(f"frame has {len(frame)} rows; cannot take {n}")
    order = np.argsort(-scores.to_numpy(dtype=float), kind="stable")[:n]
    return pd.Index(frame.index.to_numpy()[order], name=frame.index.name)
