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
