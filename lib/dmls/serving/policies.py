"""Policies that rank the marketplace's slates with a served model, online or from a batch run.

Introduced in chapter 7 ("Batch Prediction Versus Online Prediction"). Both wrap the same
:class:`~dmls.serving.service.ClickScorer`; they differ only in *when* the scores are computed.
:class:`OnlineScoringPolicy` scores each session's candidates when the session starts, with the
session's device and time. :class:`BatchPredictionPolicy` serves what the last batch run
(:func:`~dmls.serving.batch.batch_predict`) stored: scores as of that run, for the users and items
that existed then, with an assumed device; everyone and everything newer falls back to popularity.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dmls.world.policies import PopularityPolicy, ScoringPolicy

from .batch import _utc_naive
from .service import RANKING_POSITION, ClickScorer

#: Score offset that puts an item the batch did not score below every item it did.
UNLISTED_OFFSET = -1_000.0


def _checked_scorer(scorer) -> ClickScorer:
    if not isinstance(scorer, ClickScorer):
        raise TypeError(f"scorer must be a ClickScorer, got {type(scorer).__name__}")
    return scorer


def _log_scores(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1.0))


class OnlineScoringPolicy(ScoringPolicy):
    """Online prediction: every candidate scored when the session starts, with what is known then.

    Each (session, candidate) row gets the session's device and start time and position 1 (as
    :meth:`ClickScorer.rank` does), and the policy ranks by the log of the predicted click
    probability (``temperature=0``: the top-scored candidates).

    Parameters
    ----------
    scorer : ClickScorer

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    def __init__(self, scorer: ClickScorer):
        super().__init__(temperature=0.0)
        self.scorer = _checked_scorer(scorer)

    def score(self, context):
        frame = context.candidate_frame()
        frame["position"] = RANKING_POSITION
        return _log_scores(self.scorer.score_frame(frame)).reshape(context.candidates.shape)


class BatchPredictionPolicy(ScoringPolicy):
    """Batch prediction: serve the scores of the last batch run, popularity where it has none.

    The batch job runs at ``first_run`` and then every ``refresh_every``. A session started at
    time ``t`` is served by the last run at or before ``t``: each candidate gets the score that
    :func:`~dmls.serving.batch.batch_predict` would have stored for the pair at that run
    (``shown_at`` = the run's time, the assumed ``device``, position 1) — computed here only for
    the pairs a session needs, which gives the same numbers as scoring every pair and looking
    them up. What the run could not score is served by the ``fallback`` policy's scores:

    - a user who signed up after the run (or a session before the first run) has no
      precomputed list: the whole slate is ranked by the fallback (popularity);
    - an item listed after the run is in nobody's list: it ranks below every listed item
      (:data:`UNLISTED_OFFSET` is added to its fallback score).

    :meth:`observe` passes each step's log on to the fallback, so popularity keeps counting.

    Parameters
    ----------
    scorer : ClickScorer
    first_run : timestamp or str
        When the batch job first runs (UTC).
    refresh_every : Timedelta or str
        Time between runs, positive (e.g. ``"24h"``).
    device : str
        The device the batch job assumes for every session.
    fallback : ScoringPolicy, optional
        Scores where no batch score exists; by default ``PopularityPolicy(temperature=0)``.

    Attributes
    ----------
    served_ : dict
        Counts of sessions ranked so far: ``"batch"`` (with a precomputed list) and
        ``"fallback"`` (without one).

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    def __init__(self, scorer: ClickScorer, first_run, refresh_every="24h", *, device: str = "mobile",
                 fallback: ScoringPolicy | None = None):
        super().__init__(temperature=0.0)
        self.scorer = _checked_scorer(scorer)
        self.first_run = _utc_naive(first_run, "first_run")
        try:
            every = pd.Timedelta(refresh_every)
        except (TypeError, ValueError) as error:
            raise ValueError(f"refresh_every must be a duration such as '24h', got {refresh_every!r}: {error}") from None
        if pd.isna(every) or every <= pd.Timedelta(0):
            raise ValueError(f"refresh_every must be a positive duration, got {refresh_every!r}")
        self.refresh_every = every
        if not isinstance(device, str) or not device.strip():
            raise ValueError(f"device must be a non-empty string, got {device!r}")
        self.device = device
        if fallback is None:
            fallback = PopularityPolicy(temperature=0.0)
        if not isinstance(fallback, ScoringPolicy):
            raise TypeError(f"fallback must be a ScoringPolicy, got {type(fallback).__name__}")
        self.fallback = fallback
        self.served_ = {"batch": 0, "fallback": 0}

    def last_run(self, at) -> np.ndarray:
        """Time of the last batch run at or before each of ``at`` (NaT before the first run)."""
        at = pd.DatetimeIndex(pd.to_datetime(at)).as_unit("ns")
        runs = np.floor((at - self.first_run) / self.refresh_every)
        out = self.first_run + pd.to_timedelta(runs * self.refresh_every.value, unit="ns")
        return np.where(at >= self.first_run, out.to_numpy(), np.datetime64("NaT")).astype("datetime64[ns]")

    def score(self, context):
        n, c = context.candidates.shape
        fallback = np.asarray(self.fallback.score(context), dtype=np.float64).reshape(n, c)
        frame = context.candidate_frame()
        run = np.repeat(self.last_run(context.sessions["started_at"]), c)
        has_list = ~np.isnat(run) & (frame["signup_at"].to_numpy(dtype="datetime64[ns]") <= run)
        listed = has_list & (frame["listed_at"].to_numpy(dtype="datetime64[ns]") <= run)
        out = fallback.ravel().copy()
        if listed.any():
            rows = frame[listed].copy()
            rows["device"] = self.device
            rows["shown_at"] = run[listed]
            rows["position"] = RANKING_POSITION
            out[listed] = _log_scores(self.scorer.score_frame(rows))
        out[has_list & ~listed] += UNLISTED_OFFSET
        with_list = int(has_list.reshape(n, c)[:, 0].sum())
        self.served_["batch"] += with_list
        self.served_["fallback"] += n - with_list
        return out.reshape(n, c)

    def observe(self, log):
        self.fallback.observe(log)
