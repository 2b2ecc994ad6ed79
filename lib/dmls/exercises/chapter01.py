"""Chapter 1's checked exercises: latency percentiles, sizing a server by its p99, and lineage
(what a content hash of the training rows calls a new version).

Each checker computes the truth from ``dmls`` (the latency summary, the M/M/1 closed form, the
lineage fingerprints) on first use and caches it.

Introduced in chapter 1 ("Overview of Machine Learning Systems", exercises).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from . import as_number, close_to, exercise

#: Exercise 1.1: 1,000 requests, the usual ones fast, some very slow.
FAST_MS, SLOW_MS, REQUESTS, BUDGET_MS = 5.0, 3_000.0, 1_000, 1_000.0
#: Exercise 1.2: one server, 5 ms of work per request on average, a p99 budget of 50 ms.
SERVICE_RATE, P99_BUDGET_S = 200.0, 0.050


@functools.cache
def _fewest_slow_requests() -> int:
    from ..serving.latency import latency_summary

    for k in range(REQUESTS + 1):
        latencies = np.r_[np.full(REQUESTS - k, FAST_MS), np.full(k, SLOW_MS)]
        if latency_summary(latencies)["p99"] > BUDGET_MS:
            return k
    raise AssertionError("no number of slow requests breaks the budget")  # pragma: no cover


@exercise("1.1", question=(f"Of {REQUESTS:,} requests, the usual ones take {FAST_MS:g} ms and k of them take "
                           f"{SLOW_MS:,.0f} ms. What is the smallest k at which the p99 reported by "
                           f"latency_summary exceeds {BUDGET_MS:,.0f} ms?"),
          hint="1% of 1,000 is 10, but the p99 interpolates between the 990th and 991st fastest request: "
               "try latency_summary on a few values of k.",
          wrong_answers=(10, 1, 100))
def _(answer):
    k = as_number(answer, "k")
    if k != int(k):
        return False, "k counts requests: a whole number."
    return close_to(k, _fewest_slow_requests(), what="k")


@functools.cache
def _max_request_rate() -> float:
    from ..serving.latency import max_utilisation

    return SERVICE_RATE * max_utilisation(SERVICE_RATE, P99_BUDGET_S, q=0.99)


@exercise("1.2", question=("A model server handles one request at a time and takes 5 ms per request on average "
                           "(exponentially distributed); requests arrive at random. What is the highest rate, in "
                           "requests per second, at which it keeps the p99 latency within 50 ms?"),
          hint="In the M/M/1 queue the sojourn time is exponential with rate mu - lambda: its p99 is "
               "ln(100) / (mu - lambda). Solve for lambda with mu = 200 per second.",
          wrong_answers=(180.0, 200.0, 154.0, 100.0))
def _(answer):
    return close_to(answer, _max_request_rate(), rel=0.005, what="the request rate")


def _train(rows):  # the training code both versions share (its source is what is fingerprinted)
    return rows


@functools.cache
def _reordered_diff() -> tuple[str, ...]:
    from ..platform.lineage import ModelVersion

    rows = pd.DataFrame({"user_id": [3, 1, 2, 1], "item_id": [4, 5, 6, 7], "clicked": [0, 1, 0, 1]})
    reloaded = rows.sort_values("user_id", kind="stable")
    assert reloaded.sort_index().equals(rows)  # the very same rows, in another order
    history = pd.DataFrame({"user_id": [1, 1], "item_id": [4, 6], "clicked": [1, 0]})
    params = {"max_iter": 30, "learning_rate": 0.1}
    served = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [4, 5, 6], "clicked": [1, 0, 1]})
    a = ModelVersion.of(_train, rows, params, history=history, serving_history=served)
    b = ModelVersion.of(_train, reloaded, params, history=history, serving_history=served)
    return tuple(a.diff(b))


@exercise("1.3", question=("A second team loads a model's training rows from a warehouse that returns them sorted "
                           "by user_id, and retrains with the same code, parameters and both histories (the one it "
                           "is trained with and the one it reads when serving). The table holds exactly the same "
                           "rows. Which parts does ModelVersion.diff name? Answer with a list of names."),
          hint="A ModelVersion fingerprints code, data (the training rows), params, history and "
               "serving_history; dataset_fingerprint hashes a table's rows as they come.",
          wrong_answers=([], ["params"], ["code"], ["data", "params"], ["data", "history", "serving_history"],
                         "data"))
def _(answer):
    if isinstance(answer, str) or not isinstance(answer, (list, tuple)):
        return False, "answer with a list of names, such as ['code']."
    if not all(isinstance(a, str) for a in answer):
        return False, "each part is named by a string."
    truth = _reordered_diff()
    if sorted(answer) == sorted(truth):
        return True, ("the same rows in another order hash differently, so the data part, and with it the "
                      "version's id, moved: a false alarm that a content hash accepts to never miss a change.")
    if not answer:
        return False, "the rows are the same, but does dataset_fingerprint read them regardless of order?"
    return False, f"{sorted(answer)} is not what differs."
