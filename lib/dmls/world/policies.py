"""Ranking policies: what decides each home-feed slate, so that a model shapes its own data.

Introduced in chapter 1 ("Understanding Machine Learning Systems"). A policy sees the sessions
of one step and their retrieved candidates, returns a slate per session with the probability of
each pick (the propensity, which chapter 4 uses for importance sampling), and may learn from the
events of each step (``observe``), which closes the loop that chapters 8 and 9 study.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .log import Log
    from .simulator import World


@dataclass
class SlateContext:
    """What a policy may look at when it ranks one step's sessions.

    Attributes
    ----------
    world : World
        The world (its logged ``users`` and ``items`` tables are fair game for features).
    now : Timestamp
        Start of the step.
    sessions : DataFrame
        One row per session: ``session_id, user_id, device, started_at``.
    candidates : ndarray of shape (n_sessions, n_candidates)
        Item ids retrieved for each session, in random order.
    slate_size : int
        How many of the candidates each slate shows.

    Introduced in chapter 1 ("The marketplace").
    """

    world: "World"
    now: pd.Timestamp
    sessions: pd.DataFrame
    candidates: np.ndarray
    slate_size: int

    def candidate_frame(self) -> pd.DataFrame:
        """One row per (session, candidate), sessions in order, with the session's, the user's and the
        item's logged attributes — the columns of :meth:`Log.labeled_impressions` known before showing."""
        n, c = self.candidates.shape
        frame = pd.DataFrame({
            "session_id": np.repeat(self.sessions["session_id"].to_numpy(), c),
            "user_id": np.repeat(self.sessions["user_id"].to_numpy(), c),
            "device": np.repeat(self.sessions["device"].to_numpy(), c),
            "shown_at": np.repeat(self.sessions["started_at"].to_numpy(), c),
            "item_id": self.candidates.ravel(),
        })
        users = self.world.users.drop(columns=["device"]).rename(columns={"region": "user_region"})
        frame = frame.merge(users, on="user_id", how="left", sort=False)
        return frame.merge(self.world.items, on="item_id", how="left", sort=False)


@dataclass
class Slates:
    """A policy's decision: item ids per slot (sessions x slate size) and their propensities.

    Introduced in chapter 1 ("The marketplace").
    """

    items: np.ndarray
    propensity: np.ndarray


class Policy:
    """Base class: override :meth:`rank` (and :meth:`observe` to learn from feedback).

    Introduced in chapter 1 ("The marketplace"); chapter 9 writes bandit policies.
    """

    def rank(self, context: SlateContext, rng: np.random.Generator) -> Slates:
        raise NotImplementedError

    def observe(self, log: "Log") -> None:
        """Called with each step's logged events after the step; the default ignores them."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


class ScoringPolicy(Policy):
    """A policy that scores candidates and ranks by score.

    With ``temperature == 0`` the slate is the top-scored candidates (ties broken by retrieval
    order) and every propensity is 1. With ``temperature > 0`` the slate is drawn without
    replacement with probabilities proportional to ``exp(score / temperature)`` (a
    Plackett-Luce ranking); the propensity of a slot is the probability of that pick given the
    picks above it, so the first slot's propensity is the marginal probability of that item
    being on top.

    Introduced in chapter 1 ("The marketplace").
    """

    def __init__(self, temperature: float = 0.0):
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.number)) or not (np.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        self.temperature = float(temperature)

    def score(self, context: SlateContext) -> np.ndarray:
        """Scores of shape ``context.candidates.shape``; higher ranks first."""
        raise NotImplementedError

    def first_pick_probabilities(self, context: SlateContext) -> np.ndarray:
        """Probability of each candidate being put first: the policy's distribution over the top
        slot (one-hot at the best score when ``temperature == 0``). Chapter 4 uses it to evaluate
        the policy on logs collected under another one."""
        scores = self._checked_scores(context)
        if self.temperature == 0:
            out = np.zeros(scores.shape)
            out[np.arange(len(scores)), np.argmax(scores, axis=1)] = 1.0  # first maximum, as rank() does
            return out
        logits = scores / self.temperature
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)

    def _checked_scores(self, context: SlateContext) -> np.ndarray:
        scores = np.asarray(self.score(context), dtype=np.float64)
        if scores.shape != context.candidates.shape:
            raise ValueError(f"{type(self).__name__}.score returned shape {scores.shape}, expected {context.candidates.shape}")
        if not np.isfinite(scores).all():
            raise ValueError(f"{type(self).__name__}.score returned non-finite scores")
        return scores

    def rank(self, context: SlateContext, rng: np.random.Generator) -> Slates:
        scores = self._checked_scores(context)
        cols, propensity = plackett_luce(scores, context.slate_size, self.temperature, rng)
        return Slates(np.take_along_axis(context.candidates, cols, axis=1), propensity)


def plackett_luce(scores: np.ndarray, k: int, temperature: float, rng: np.random.Generator):
    """Pick ``k`` columns per row: top-k if ``temperature == 0``, else a Plackett-Luce sample
    (Gumbel top-k) with the conditional probability of each pick.

    Returns (column indices of shape (n, k), propensities of shape (n, k)).

    Introduced in chapter 1; chapter 4 uses the propensities for importance sampling.
    """
    n, c = scores.shape
    if temperature == 0:
        # Stable sort on the negated score keeps retrieval order among ties.
        cols = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return cols, np.ones((n, k))
    logits = scores / temperature
    logits -= logits.max(axis=1, keepdims=True)
    keys = logits + rng.gumbel(size=(n, c))
    cols = np.argpartition(-keys, k - 1, axis=1)[:, :k] if k < c else np.tile(np.arange(c), (n, 1))
    order = np.argsort(-np.take_along_axis(keys, cols, axis=1), axis=1)
    cols = np.take_along_axis(cols, order, axis=1)
    weights = np.exp(logits)
    picked = np.take_along_axis(weights, cols, axis=1)
    # Weight still available at each pick: the candidates never picked plus this and later picks.
    # Summing positive terms (not "total minus picked so far") keeps tiny remainders accurate.
    unpicked = np.ones((n, c), dtype=bool)
    np.put_along_axis(unpicked, cols, False, axis=1)
    never = np.where(unpicked, weights, 0.0).sum(axis=1, keepdims=True)
    remaining = never + np.cumsum(picked[:, ::-1], axis=1)[:, ::-1]
    return cols, picked / remaining


class RandomPolicy(ScoringPolicy):
    """Every ordering of candidates equally likely: the exploration baseline.

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production").
    """

    def __init__(self):
        super().__init__(temperature=1.0)

    def score(self, context):
        return np.zeros(context.candidates.shape)


class PopularityPolicy(ScoringPolicy):
    """Ranks items by how many clicks they have received so far (``log(1 + clicks)``).

    It learns from every step it observes, so what it shows today decides what becomes popular
    tomorrow: the degenerate feedback loop of chapter 8. ``half_life_days`` makes old clicks
    count less; ``temperature`` > 0 makes it explore.
    """

    def __init__(self, temperature: float = 1.0, half_life_days: float | None = None):
        super().__init__(temperature)
        if half_life_days is not None and not (isinstance(half_life_days, (int, float)) and not isinstance(half_life_days, bool)
                                               and np.isfinite(half_life_days) and half_life_days > 0):
            raise ValueError(f"half_life_days must be a positive number or None, got {half_life_days!r}")
        self.half_life_days = half_life_days
        self.clicks_ = np.zeros(0)

    def score(self, context):
        counts = np.zeros(int(context.candidates.max()) + 1)
        n = min(len(counts), len(self.clicks_))
        counts[:n] = self.clicks_[:n]
        return np.log1p(counts[context.candidates])

    def observe(self, log):
        n_items = len(log.items)
        clicks = np.bincount(log.clicks["item_id"].to_numpy(), minlength=n_items).astype(float)
        if len(self.clicks_) < n_items:
            self.clicks_ = np.concatenate([self.clicks_, np.zeros(n_items - len(self.clicks_))])
        if self.half_life_days is not None:
            days = (log.end - log.start) / pd.Timedelta(days=1)
            self.clicks_ *= 0.5 ** (days / self.half_life_days)
        self.clicks_ += clicks


class ModelPolicy(ScoringPolicy):
    """Ranks candidates by a fitted model's predicted click probability: a model in production.

    ``featurize`` turns :meth:`SlateContext.candidate_frame` (with a ``position`` column added,
    ``position`` for every row) into what ``model.predict_proba`` accepts. Scoring every
    candidate at the same position ranks by appeal alone, free of position bias. Scores are
    log-probabilities, so with ``temperature=1`` the policy samples items in proportion to
    their predicted click probability.

    Introduced in chapter 1 ("Machine Learning in Research Versus in Production"); chapter 7
    serves models behind an API instead.
    """

    def __init__(self, model, featurize, temperature: float = 0.0, position: int = 1):
        super().__init__(temperature)
        if not hasattr(model, "predict_proba"):
            raise TypeError(f"model must have predict_proba, got {type(model).__name__}")
        if not callable(featurize):
            raise TypeError("featurize must be callable: candidate frame -> model input")
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or position < 1:
            raise ValueError(f"position must be a 1-based integer, got {position!r}")
        self.model = model
        self.featurize = featurize
        self.position = int(position)

    def score(self, context):
        frame = context.candidate_frame()
        frame["position"] = self.position
        p = np.asarray(self.model.predict_proba(self.featurize(frame)))[:, 1]
        return np.log(np.clip(p, 1e-12, 1.0)).reshape(context.candidates.shape)


class OraclePolicy(ScoringPolicy):
    """Ranks by the true attraction of each item to each user: the best any model could do.

    It reads the world's latent truth, so it is a yardstick for chapters that ask how much
    better ranking could be, never a model one could deploy.
    """

    def score(self, context):
        return context.world.attraction_logit(context.sessions, context.candidates)
