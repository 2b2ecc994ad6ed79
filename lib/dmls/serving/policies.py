"""Policies that rank the marketplace's slates with a served model, online or from a batch run.

Introduced in chapter 7 ("Batch Prediction Versus Online Prediction"). Both wrap the same
:class:`~dmls.serving.service.ClickScorer`; they differ only in *when* the scores are computed.
:class:`OnlineScoringPolicy` scores each session's candidates when the session starts, with the
session's device and time. :class:`BatchPredictionPolicy` serves what the last batch run
(:func:`~dmls.serving.batch.batch_predict`) stored: scores as of that run, for the users and items
that existed then, with an assumed device; everyone and everything newer falls back to popularity.
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from dmls.features import REQUEST_FIELDS
from dmls.world.policies import PopularityPolicy, ScoringPolicy

from .._validation import check_bool
from .batch import _utc_naive
from .service import RANKING_POSITION, ClickScorer

#: Score offset that puts an item the batch did not score below every item it did.
UNLISTED_OFFSET = -1_000.0


def _checked_scorer(scorer) -> ClickScorer:
    if not isinstance(scorer, ClickScorer):
        raise TypeError(f"scorer must be a ClickScorer, got {type(scorer).__name__}")
    return scorer


def _fresh_copy(scorer: ClickScorer, fresh_history) -> ClickScorer:
    """``scorer`` itself, or (``fresh_history``) a private copy whose click history the policy grows."""
    if not check_bool("fresh_history", fresh_history):
        return scorer
    if not getattr(scorer.pipeline, "history", False) or not hasattr(scorer.pipeline, "update_history"):
        raise ValueError("fresh_history needs a scorer whose FeaturePipeline has click-history features")
    return copy.deepcopy(scorer)  # the deployed scorer, shared with others, is never changed


def _labelled_rows(log) -> pd.DataFrame:
    """A step's labelled impressions, with only what the history needs."""
    return log.labeled_impressions()[[*REQUEST_FIELDS, "clicked"]]


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
    fresh_history : bool, default False
        If true, the policy scores with a private copy of ``scorer`` and adds each step's labelled
        impressions to that copy's click history as the world logs them
        (:meth:`~dmls.features.FeaturePipeline.update_history`): users' and items' click rates
        are as of the session, not as of training. The model itself is not refitted. The world
        reports a step's events after the step, so a session reads the history up to the start
        of its step.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    def __init__(self, scorer: ClickScorer, *, fresh_history: bool = False):
        super().__init__(temperature=0.0)
        self.scorer = _fresh_copy(_checked_scorer(scorer), fresh_history)
        self.fresh_history = bool(fresh_history)

    def score(self, context):
        frame = context.candidate_frame()
        frame["position"] = RANKING_POSITION
        return _log_scores(self.scorer.score_frame(frame)).reshape(context.candidates.shape)

    def observe(self, log):
        if self.fresh_history:
            self.scorer.pipeline.update_history(_labelled_rows(log))


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
    fresh_history : bool, default False
        If true, each run reads the click history as of its own time: the policy keeps a private
        copy of ``scorer`` and, before scoring for a run, adds the labelled impressions shown
        before that run (as the world has logged them) to the copy's history. If false, every
        run reads the history the scorer was fitted with.

    Attributes
    ----------
    served_ : dict
        Counts of sessions ranked so far: ``"batch"`` (with a precomputed list) and
        ``"fallback"`` (without one).

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    def __init__(self, scorer: ClickScorer, first_run, refresh_every="24h", *, device: str = "mobile",
                 fallback: ScoringPolicy | None = None, fresh_history: bool = False):
        super().__init__(temperature=0.0)
        self.scorer = _fresh_copy(_checked_scorer(scorer), fresh_history)
        self.fresh_history = bool(fresh_history)
        self.pending_: list[pd.DataFrame] = []  # logged impressions not yet in the copy's history
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
            out[listed] = _log_scores(self._score_runs(rows, run[listed]))
        out[has_list & ~listed] += UNLISTED_OFFSET
        with_list = int(has_list.reshape(n, c)[:, 0].sum())
        self.served_["batch"] += with_list
        self.served_["fallback"] += n - with_list
        return out.reshape(n, c)

    def _score_runs(self, rows: pd.DataFrame, runs: np.ndarray) -> np.ndarray:
        if not self.fresh_history:
            return self.scorer.score_frame(rows)
        scores = np.empty(len(rows))
        for run in np.unique(runs):  # in time order, so the history only ever grows
            self._catch_up(run)
            at = runs == run
            scores[at] = self.scorer.score_frame(rows[at])
        return scores

    def _catch_up(self, run: np.datetime64) -> None:
        """Add the pending impressions shown before ``run`` to the copy's history."""
        if not self.pending_:
            return
        pending = pd.concat(self.pending_, ignore_index=True)
        before = pending["shown_at"].to_numpy(dtype="datetime64[ns]") < run
        if before.any():
            self.scorer.pipeline.update_history(pending[before])
        self.pending_ = [pending[~before]] if (~before).any() else []

    def observe(self, log):
        self.fallback.observe(log)
        if self.fresh_history:
            self.pending_.append(_labelled_rows(log))
