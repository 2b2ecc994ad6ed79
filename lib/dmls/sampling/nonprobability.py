"""Nonprobability sampling: samples chosen by convenience or by connection, not by chance.

Introduced in chapter 4 ("Nonprobability Sampling"). Useful to get started, and biased in ways
that the simulated marketplace lets us measure.
"""
from __future__ import annotations

from collections import deque

import networkx as nx
import numpy as np
import pandas as pd


def convenience_sample(sessions: pd.DataFrame, n: int) -> pd.Index:
    """The first ``n`` distinct users to show up: whoever was easiest to reach.

    Introduced in chapter 4 ("Nonprobability Sampling").
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    users = sessions.sort_values("started_at", kind="stable")["user_id"].drop_duplicates()
    if n > len(users):
        raise ValueError(f"only {len(users)} users visited; cannot take {n}")
    return pd.Index(users.head(n).to_numpy(), name="user_id")


def snowball_sample(graph: nx.Graph, seeds, n: int) -> pd.Index:
    """Users reached by walking out from ``seeds`` through shared items, breadth first, until
    ``n`` users are found (each user recruits those who interacted with the same items).

    Introduced in chapter 4 ("Nonprobability Sampling").
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
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
