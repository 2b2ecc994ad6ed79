"""Weak supervision: many noisy labeling functions, combined by a model of how noisy each one is.

Introduced in chapter 4 ("Handling the Lack of Labels"). A labeling function (LF) encodes a
heuristic — a keyword, a pattern, a rule of thumb — and votes for a class or abstains. Majority
vote treats every LF as equally good; a label model estimates, without any ground truth, how
each LF behaves for each true class, and weighs the votes accordingly.

The label model here is Dawid and Skene's (1979): each LF has a confusion table P(vote | true
class), abstaining counted as a vote of its own, LFs are independent given the true class, and
expectation–maximisation fits the tables and the class prior from the votes alone.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd

from dmls._validation import check_int, check_number

ABSTAIN = -1


def apply_labeling_functions(lfs: Mapping[str, Callable[[pd.DataFrame], np.ndarray]], frame: pd.DataFrame,
                             n_classes: int) -> pd.DataFrame:
    """Run every LF over ``frame``: one column of votes per LF, ``ABSTAIN`` (-1) for no vote.

    Parameters
    ----------
    lfs : dict
        Name -> labeling function, called with ``frame`` and returning one vote per row.
    frame : pandas.DataFrame
    n_classes : int
        Number of classes; a vote is ``ABSTAIN`` or a class from 0 to ``n_classes - 1``.

    Raises
    ------
    TypeError
        If ``lfs`` is not a dict of callables, ``frame`` not a DataFrame, ``n_classes`` not an
        integer, or an LF returns booleans.
    ValueError
        If ``lfs`` is empty, ``n_classes`` < 1, or an LF returns a wrong shape or an unknown vote.

    Introduced in chapter 4 ("Handling the Lack of Labels").
    """
    if not isinstance(lfs, Mapping):
        raise TypeError(f"lfs must be a dict of name -> labeling function, got {type(lfs).__name__}")
    if not lfs:
        raise ValueError("no labeling functions given")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a DataFrame, got {type(frame).__name__}")
    n_classes = check_int("n_classes", n_classes, minimum=1)
    out = {}
    for name, lf in lfs.items():
        if not callable(lf):
            raise TypeError(f"labeling function {name!r} must be callable, got {type(lf).__name__}")
        votes = np.asarray(lf(frame))
        if votes.shape != (len(frame),):
            raise ValueError(f"labeling function {name!r} returned shape {votes.shape}, expected ({len(frame)},)")
        if votes.dtype.kind == "b":
            raise TypeError(f"labeling function {name!r} returned booleans; votes must be {ABSTAIN} or a class")
        bad = ~np.isin(votes, np.arange(-1, n_classes))
        if bad.any():
            raise ValueError(f"labeling function {name!r} returned {sorted(set(votes[bad].tolist()))[:5]}; "
                             f"votes must be {ABSTAIN} (abstain) or a class from 0 to {n_classes - 1}")
        out[name] = votes.astype(np.int64)
    return pd.DataFrame(out, index=frame.index)


def _matrix(L, n_classes: int | None = None) -> np.ndarray:
    L = np.asarray(L)
    if L.ndim != 2 or L.shape[1] == 0:
        raise ValueError(f"the label matrix must be 2-d with one column per labeling function, got shape {L.shape}")
    if L.shape[0] == 0:
        raise ValueError("the label matrix L has no rows: there are no items")
    if not np.issubdtype(L.dtype, np.integer):
        raise TypeError(f"the label matrix L must hold integers (classes, and -1 for abstain), got {L.dtype}")
    if (L < ABSTAIN).any() or (n_classes is not None and (L >= n_classes).any()):
        raise ValueError(f"L: votes must be -1 or a class from 0 to {'K - 1' if n_classes is None else n_classes - 1}")
    return L.astype(np.int64)


class LabelModel:
    """Dawid–Skene label model fitted by expectation–maximisation.

    Parameters
    ----------
    n_classes : int
        At least 2; a vote is -1 (abstain) or a class from 0 to ``n_classes - 1``.
    max_iter : int
        EM iterations at most (at least 1).
    tol : float
        Stop when no posterior probability moves by more than this (finite, >= 0).
    smoothing : float
        Pseudo-counts added to every confusion-table cell (keeps estimates off 0 and 1).

    Attributes (after ``fit``): ``class_prior_`` (K,), ``confusion_`` (LFs x K x K+1, the last
    column for abstaining), ``n_iter_``.

    Raises
    ------
    TypeError
        If ``max_iter`` is not an integer, ``tol`` or ``smoothing`` not a number, or ``L`` not ints.
    ValueError
        If ``n_classes`` is not an integer >= 2, ``max_iter`` < 1, ``tol`` or ``smoothing`` negative
        or not finite; or (``fit``, ``predict``) ``L`` is empty or holds an unknown vote.

    Introduced in chapter 4 ("Handling the Lack of Labels").
    """

    def __init__(self, n_classes: int, max_iter: int = 3000, tol: float = 1e-6, smoothing: float = 0.5):
        if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        self.n_classes = int(n_classes)
        self.max_iter = check_int("max_iter", max_iter, minimum=1)
        self.tol = check_number("tol", tol, minimum=0)
        self.smoothing = check_number("smoothing", smoothing, minimum=0)

    def _symbols(self, M: np.ndarray) -> np.ndarray:
        # Each LF's output as a symbol 0..K, abstaining being symbol K.
        return np.where(M == ABSTAIN, self.n_classes, M)

    def _posterior(self, S: np.ndarray) -> np.ndarray:
        log_theta = np.log(self.confusion_)  # (m, K, K+1)
        log_post = np.tile(np.log(self.class_prior_), (len(S), 1))
        for j in range(S.shape[1]):
            log_post += log_theta[j][:, S[:, j]].T
        log_post -= log_post.max(axis=1, keepdims=True)
        post = np.exp(log_post)
        return post / post.sum(axis=1, keepdims=True)

    def fit(self, L) -> "LabelModel":
        M = _matrix(L, self.n_classes)
        K, m = self.n_classes, M.shape[1]
        S = self._symbols(M)
        # Start from a softened majority vote, so that class k of the model means class k of the LFs.
        counts = np.stack([(M == k).sum(axis=1) for k in range(K)], axis=1) + 0.1
        q = counts / counts.sum(axis=1, keepdims=True)
        for iteration in range(1, self.max_iter + 1):  # noqa: B007 (n_iter_ reads it after the loop)
            self.class_prior_ = (q.sum(axis=0) + 1.0) / (len(q) + K)
            table = np.empty((m, K, K + 1))
            for j in range(m):
                for k in range(K):
                    table[j, k] = np.bincount(S[:, j], weights=q[:, k], minlength=K + 1)
            table += self.smoothing
            self.confusion_ = table / table.sum(axis=2, keepdims=True)
            new_q = self._posterior(S)
            change = np.abs(new_q - q).max()
            q = new_q
            if change < self.tol:
                break
        self.n_iter_ = iteration
        return self

    def predict_proba(self, L) -> np.ndarray:
        if not hasattr(self, "confusion_"):
            raise RuntimeError("LabelModel must be fitted before predicting")
        M = _matrix(L, self.n_classes)
        if M.shape[1] != self.confusion_.shape[0]:
            raise ValueError(f"the label matrix has {M.shape[1]} LFs; the model was fitted with {self.confusion_.shape[0]}")
        return self._posterior(self._symbols(M))

    def predict(self, L, abstain_without_votes: bool = True) -> np.ndarray:
        """Most probable class per item; ``ABSTAIN`` where no LF voted (unless told otherwise)."""
        if not isinstance(abstain_without_votes, (bool, np.bool_)):
            raise TypeError(f"abstain_without_votes must be True or False, got {abstain_without_votes!r}")
        M = _matrix(L, self.n_classes)
        out = self.predict_proba(M).argmax(axis=1)
        if abstain_without_votes:
            out[(M == ABSTAIN).all(axis=1)] = ABSTAIN
        return out

    @property
    def accuracies_(self) -> np.ndarray:
        """Each LF's estimated probability of being right when it votes."""
        K = self.n_classes
        right = np.einsum("k,mkk->m", self.class_prior_, self.confusion_[:, :, :K])
        votes = (self.class_prior_[None, :] * (1 - self.confusion_[:, :, K])).sum(axis=1)
        return right / votes


def lf_summary(L: pd.DataFrame, y_true=None) -> pd.DataFrame:
    """Per LF: coverage (share of items it votes on), overlaps (share where another LF also
    votes), conflicts (share where another LF votes differently), and — given ground truth for
    evaluation — its empirical accuracy where it votes.

    Raises TypeError if ``L`` does not hold integers; ValueError if it is not 2-d with rows and
    columns, holds votes below -1, or ``y_true`` has not one label per row.

    Introduced in chapter 4 ("Handling the Lack of Labels").
    """
    M = _matrix(L)
    names = list(L.columns) if isinstance(L, pd.DataFrame) else [f"lf{j}" for j in range(M.shape[1])]
    if y_true is not None and np.shape(y_true) != (len(M),):
        raise ValueError(f"y_true must have one label per row of L ({len(M)}), got shape {np.shape(y_true)}")
    votes = M != ABSTAIN
    rows = {}
    for j, name in enumerate(names):
        others = np.delete(M, j, axis=1)
        other_votes = others != ABSTAIN
        overlap = votes[:, j] & other_votes.any(axis=1)
        conflict = votes[:, j] & (other_votes & (others != M[:, [j]])).any(axis=1)
        row = {"coverage": votes[:, j].mean(), "overlaps": overlap.mean(), "conflicts": conflict.mean(),
               "votes for": ", ".join(map(str, sorted(set(M[votes[:, j], j].tolist()))))}
        if y_true is not None:
            y = np.asarray(y_true)
            row["accuracy"] = float((M[votes[:, j], j] == y[votes[:, j]]).mean()) if votes[:, j].any() else np.nan
        rows[name] = row
    return pd.DataFrame(rows).T


def majority_vote(L, n_classes: int, seed: int = 0) -> np.ndarray:
    """The most common vote per item (ties broken at random; ``ABSTAIN`` where nobody voted).

    Raises TypeError if ``L`` does not hold integers, or ``n_classes`` or ``seed`` is not an
    integer; ValueError if ``n_classes`` < 1, ``seed`` < 0, or ``L`` is not a 2-d matrix of votes.

    Introduced in chapter 4 ("Handling the Lack of Labels").
    """
    n_classes = check_int("n_classes", n_classes, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    M = _matrix(L, n_classes)
    counts = np.stack([(M == k).sum(axis=1) for k in range(n_classes)], axis=1).astype(float)
    counts += np.random.default_rng(seed).random(counts.shape) * 1e-3  # random tie-breaking
    out = counts.argmax(axis=1)
    out[(M == ABSTAIN).all(axis=1)] = ABSTAIN
    return out


def macro_f1(y_true, y_pred, sample_weight=None) -> float:
    """The unweighted mean over classes of each class's F1 score, from one weighted confusion count.

    Gives what ``sklearn.metrics.f1_score(..., average="macro")`` gives (classes are those present
    in ``y_true`` or ``y_pred``; a class with no true and no predicted row scores 0), about a
    hundred times faster, so that ``dmls.evaluation.metric_interval(macro_f1, ...)`` can bootstrap it.

    Raises
    ------
    ValueError
        If the arrays are not 1-d integer class labels of one length, or a weight is negative.

    Introduced in chapter 4 ("Weak supervision": comparing a label model with majority vote).
    """
    y = np.asarray(y_true)
    p = np.asarray(y_pred)
    if y.ndim != 1 or p.shape != y.shape:
        raise ValueError(f"y_true and y_pred must be 1-d and of one length, got {y.shape} and {p.shape}")
    for name, a in (("y_true", y), ("y_pred", p)):
        if a.dtype.kind not in "iub" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
            raise ValueError(f"{name} must hold integer class labels")
    y, p = y.astype(int), p.astype(int)
    if len(y) and min(y.min(), p.min()) < 0:
        raise ValueError("class labels must be >= 0")
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != y.shape or (w < 0).any():
        raise ValueError("sample_weight must be non-negative, one weight per row")
    k = int(max(y.max(), p.max())) + 1 if len(y) else 0
    classes = np.union1d(np.unique(y), np.unique(p))
    tp = np.bincount(y[y == p], weights=w[y == p], minlength=k)
    true = np.bincount(y, weights=w, minlength=k)
    pred = np.bincount(p, weights=w, minlength=k)
    denom = true + pred
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(f1[classes].mean()) if len(classes) else 0.0
