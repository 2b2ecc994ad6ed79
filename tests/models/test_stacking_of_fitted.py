"""Stacking on members already fitted predicts what scikit-learn's StackingClassifier predicts."""
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.tree import DecisionTreeClassifier

from dmls.models.ensembles import StackingOfFitted


def data(n=600, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    score = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.7, size=n)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, y


def members():
    return [("trees", HistGradientBoostingClassifier(max_iter=20, random_state=0)),
            ("logistic", LogisticRegression(max_iter=500)),
            ("tree", DecisionTreeClassifier(min_samples_leaf=10, random_state=0))]


@pytest.mark.parametrize("classes, cv", [(2, 3), (2, 5), (3, 3), (2, KFold(4))])
def test_predictions_equal_stacking_classifiers(classes, cv):
    X, y = data(classes=classes)
    labels = np.array(["no", "yes", "maybe"])[y]  # labels need not be integers
    X_new = data(n=200, classes=classes, seed=1)[0]
    reference = StackingClassifier(members(), final_estimator=LogisticRegression(), cv=cv).fit(X, labels)
    fitted = [(name, m.fit(X, labels)) for name, m in members()]
    ours = StackingOfFitted(fitted, final_estimator=LogisticRegression(), cv=cv).fit(X, labels)
    assert np.array_equal(ours.predict_proba(X_new), reference.predict_proba(X_new))
    assert np.array_equal(ours.predict(X_new), reference.predict(X_new))
    assert np.array_equal(ours.transform(X_new), reference.transform(X_new))
    assert list(ours.classes_) == list(reference.classes_)
    assert all(a is b for a, b in zip(ours.estimators_, (m for _, m in fitted)))  # not refitted


def test_members_fitted_on_other_data_give_other_predictions():
    X, y = data()
    reference = StackingClassifier(members()[:2], cv=3).fit(X, y)
    elsewhere = [(name, m.fit(X[:300], y[:300])) for name, m in members()[:2]]
    ours = StackingOfFitted(elsewhere, cv=3).fit(X, y)
    assert not np.allclose(ours.predict_proba(X), reference.predict_proba(X))


def test_bad_input_gets_a_clear_error():
    X, y = data()
    fitted = [(name, m.fit(X, y)) for name, m in members()[:2]]
    with pytest.raises(ValueError, match="non-empty list"):
        StackingOfFitted([]).fit(X, y)
    with pytest.raises(ValueError, match="non-empty list"):
        StackingOfFitted([LogisticRegression().fit(X, y)]).fit(X, y)
    with pytest.raises(Exception, match="not fitted"):
        StackingOfFitted([("logistic", LogisticRegression())]).fit(X, y)
    with pytest.raises(TypeError, match="predict_proba"):
        StackingOfFitted([("x", object())]).fit(X, y)
    with pytest.raises(ValueError, match="same y"):
        StackingOfFitted(fitted).fit(X, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="two classes"):
        StackingOfFitted(fitted).fit(X, np.zeros(len(y), dtype=int))
    with pytest.raises(RuntimeError, match="not fitted"):
        StackingOfFitted(fitted).predict_proba(X)
