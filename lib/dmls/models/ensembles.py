"""The arithmetic of ensembles (how often a majority of independent members is right), and stacking
on members already fitted.

Introduced in chapter 6 ("Ensembles").
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .._validation import check_fraction, check_int


def majority_vote_accuracy(members: int, accuracy: float) -> float:
    """The probability that a strict majority of ``members`` independent classifiers, each right
    with probability ``accuracy``, is right: ``P(Binomial(members, accuracy) > members / 2)``.

    With an odd number of members a vote has no ties. Real members trained on the same data make
    correlated mistakes, so this is what an ensemble gains at best.

    Introduced in chapter 6 ("Ensembles": three classifiers right 70% of the time, 78.4% together).
    """
    members = check_int("members", members, 1)
    if members % 2 == 0:
        raise ValueError(f"members must be odd, so that a vote has no ties; got {members}")
    accuracy = check_fraction("accuracy", accuracy)
    return float(stats.binom.sf(members // 2, members, accuracy))


class StackingOfFitted:
    """Stacking on members that are already fitted: the meta-model is trained on out-of-fold
    predictions, as scikit-learn's :class:`~sklearn.ensemble.StackingClassifier` trains it, but
    the members are not fitted on all the training data again.

    ``StackingClassifier(estimators, final_estimator, cv).fit(X, y)`` fits each member on ``X, y``
    and, separately, one clone per fold for the out-of-fold predictions its meta-model learns
    from. When the members are already fitted on that same ``X, y`` (a learning curve fitted
    them, say), this does only the second part: clones of the members on the folds of ``cv``
    (stratified, unshuffled for an integer, as scikit-learn's), the meta-model on their
    out-of-fold probabilities (the first class's column dropped for two classes), and the given
    members to predict. With deterministic members the predictions are those of
    ``StackingClassifier`` (the tests check it); with members fitted on other data they are not,
    and nothing here can tell.

    Parameters
    ----------
    estimators : list of (str, fitted classifier)
        Each with ``predict_proba``, fitted on the ``X, y`` that :meth:`fit` gets.
    final_estimator : classifier, optional
        Unfitted; default ``LogisticRegression()``, as scikit-learn's.
    cv : int or cross-validation splitter, default 3

    Introduced in chapter 6 ("Ensembles": stacking, reusing the learning curve's models).
    """

    def __init__(self, estimators, final_estimator=None, cv=3):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv

    def fit(self, X, y):
        """Fit the meta-model on the members' out-of-fold predictions; returns ``self``."""
        from copy import deepcopy

        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import check_cv, cross_val_predict
        from sklearn.preprocessing import LabelEncoder
        from sklearn.utils.validation import check_is_fitted

        members = self._members()
        for name, member in members:
            check_is_fitted(member, msg=f"member {name!r} is not fitted: StackingOfFitted takes fitted members")
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError("y needs at least two classes")
        for name, member in members:
            if not np.array_equal(np.asarray(member.classes_), self.classes_):
                raise ValueError(f"member {name!r} was fitted on classes {list(member.classes_)}, "
                                 f"y has {list(self.classes_)}: fit the members on the same y")
        targets = encoder.transform(y)
        cv = check_cv(self.cv, y=targets, classifier=True)
        if hasattr(cv, "random_state") and cv.random_state is None:
            cv.random_state = np.random.RandomState()  # as StackingClassifier does
        out_of_fold = [cross_val_predict(clone(member), X, targets, cv=deepcopy(cv), method="predict_proba")
                       for _, member in members]
        final = LogisticRegression() if self.final_estimator is None else self.final_estimator
        self.final_estimator_ = clone(final).fit(self._stack(out_of_fold), targets)
        self.estimators_ = [member for _, member in members]
        return self

    def _members(self):
        members = list(self.estimators) if isinstance(self.estimators, (list, tuple)) else None
        if not members or not all(isinstance(m, tuple) and len(m) == 2 and isinstance(m[0], str) for m in members):
            raise ValueError("estimators must be a non-empty list of (name, fitted classifier) pairs")
        for name, member in members:
            if not hasattr(member, "predict_proba"):
                raise TypeError(f"member {name!r} has no predict_proba")
        return members

    def _stack(self, probabilities):
        if len(self.classes_) == 2:
            probabilities = [p[:, 1:] for p in probabilities]
        return np.hstack(probabilities)

    def transform(self, X):
        """The members' probabilities, side by side: what the meta-model sees."""
        if not hasattr(self, "final_estimator_"):
            raise RuntimeError("StackingOfFitted is not fitted: call fit(X, y) first")
        return self._stack([member.predict_proba(X) for member in self.estimators_])

    def predict_proba(self, X):
        """The meta-model's class probabilities on the members' probabilities."""
        stacked = self.transform(X)  # raises first if not fitted
        return self.final_estimator_.predict_proba(stacked)

    def predict(self, X):
        """The most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
