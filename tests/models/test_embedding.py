"""The click model with learned id and position embeddings."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from dmls.models import EmbeddingClassifier

FAST = dict(epochs=6, batch_size=256, hidden=(16,))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """These models are tiny: a second intra-op thread only adds synchronisation, and it makes
    training many times slower when the other core is busy."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def interactions():
    """Users and items each fall into two groups; a user clicks an item of their own group with
    probability 0.6 and any other with 0.05. Only the (user, item) pair tells: neither id alone
    nor the position (random) does."""
    rng = np.random.default_rng(0)
    n_users, n_items, n = 120, 60, 12_000
    user_group, item_group = rng.integers(0, 2, n_users), rng.integers(0, 2, n_items)
    users, items = rng.integers(0, n_users, n), rng.integers(0, n_items, n)
    p = np.where(user_group[users] == item_group[items], 0.6, 0.05)
    X = pd.DataFrame({"user_id": users, "item_id": items, "position": rng.integers(1, 11, n)})
    y = (rng.random(n) < p).astype(int)
    return X, y, p


def split(X, y, at=9_000):
    return X.iloc[:at], y[:at], X.iloc[at:], y[at:]


@pytest.fixture(scope="module")
def interaction_model(interactions):
    X, y, _ = interactions
    train_X, train_y, _, _ = split(X, y)
    return EmbeddingClassifier(**FAST).fit(train_X, train_y)


@pytest.fixture(scope="module")
def position_bias():
    """Clicks fall with the slot: P(click) = 0.5 / position, whoever and whatever is shown."""
    rng = np.random.default_rng(1)
    n = 6_000
    X = pd.DataFrame({"user_id": rng.integers(0, 100, n), "item_id": rng.integers(0, 50, n),
                      "position": rng.integers(1, 11, n)})
    y = (rng.random(n) < 0.5 / X["position"].to_numpy()).astype(int)
    return X, y


def test_learns_a_user_item_interaction(interactions, interaction_model):
    X, y, p = interactions
    _, _, test_X, test_y = split(X, y)
    auc = roc_auc_score(test_y, interaction_model.predict_proba(test_X)[:, 1])
    best = roc_auc_score(test_y, p[9_000:])  # the true click probability
    assert auc > 0.75 and auc > best - 0.08
    assert interaction_model.loss_curve_[-1] < interaction_model.loss_curve_[0]
    # Without the ids only the (useless) position is left.
    no_ids = EmbeddingClassifier(id_columns=(), **FAST).fit(*split(X, y)[:2])
    assert roc_auc_score(test_y, no_ids.predict_proba(test_X)[:, 1]) < auc - 0.2


def test_learns_position_bias(position_bias):
    X, y = position_bias
    model = EmbeddingClassifier(**FAST).fit(X, y)
    probe = pd.DataFrame({"user_id": 3, "item_id": 7, "position": np.arange(1, 11)})
    p = model.predict_proba(probe)[:, 1]
    assert p[0] > p[4] > p[9]
    assert stats.spearmanr(np.arange(1, 11), p).statistic < -0.8
    table = model.embeddings("position")
    assert table.shape == (11, model.embedding_dim) and table.index.name == "position"
    assert list(table.index) == list(range(11))  # 0 .. the largest position seen


def test_unseen_and_rare_ids_share_the_unknown_embedding(interactions):
    X, y, _ = interactions
    train_X, train_y = X.iloc[:3_000].copy(), y[:3_000]
    train_X.loc[train_X.index[0], "user_id"] = 10_000  # seen once: rare, below min_count=2
    model = EmbeddingClassifier(**FAST, min_count=2).fit(train_X, train_y)
    assert 10_000 not in model.vocabularies_["user_id"]
    rows = pd.DataFrame({"user_id": [10_000, 99_999, -1, 5], "item_id": [3, 3, 3, 3], "position": [2, 2, 2, 2]})
    p = model.predict_proba(rows)[:, 1]
    assert np.isfinite(p).all()
    assert p[0] == p[1] == p[2] != p[3]  # rare and never seen alike; a known user is different
    # A position beyond the largest seen is treated as the largest.
    far = model.predict_proba(rows.assign(position=[50, 10, 10, 10]))[:, 1]
    assert far[0] == far[1]


def test_same_seed_same_model_and_other_seed_other_model(interactions):
    X, y, _ = interactions
    X, y = X.iloc[:2_000], y[:2_000]
    params = dict(epochs=2, batch_size=256, hidden=(8,))
    a = EmbeddingClassifier(**params, seed=0).fit(X, y).predict_proba(X)
    b = EmbeddingClassifier(**params, seed=0).fit(X, y).predict_proba(X)
    c = EmbeddingClassifier(**params, seed=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_id_embeddings_cover_ids_seen_min_count_times(interactions):
    X, y, _ = interactions
    X, y = X.iloc[:500], y[:500]
    model = EmbeddingClassifier(epochs=1, embedding_dim=4, min_count=5).fit(X, y)
    counts = X["item_id"].value_counts()
    frequent = np.sort(counts.index[counts >= 5].to_numpy())
    assert 0 < len(frequent) < X["item_id"].nunique()  # some items are too rare to get their own row
    table = model.embeddings("item_id")
    # One row per item seen at least min_count times; the shared unknown embedding is left out
    # (as the docstring of embeddings() says). The weight table itself has that extra row first.
    assert table.shape == (len(frequent), 4) and table.index.name == "item_id"
    np.testing.assert_array_equal(table.index.to_numpy(), frequent)
    weights = model.module_.ids[1].weight.detach().numpy()
    assert weights.shape == (len(frequent) + 1, 4)
    np.testing.assert_array_equal(table.to_numpy(), weights[1:])
    with pytest.raises(ValueError, match="no embedding for 'seller_id'"):
        model.embeddings("seller_id")


def test_dense_columns_are_used():
    rng = np.random.default_rng(2)
    n = 4_000
    X = pd.DataFrame({"user_id": rng.integers(0, 50, n), "item_id": rng.integers(0, 50, n),
                      "position": rng.integers(1, 11, n), "score": rng.normal(size=n)})
    y = (X["score"] + rng.normal(0, 0.3, n) > 0).astype(int).to_numpy()
    with_dense = EmbeddingClassifier(**FAST, dense_columns=["score"]).fit(X.iloc[:3_000], y[:3_000])
    without = EmbeddingClassifier(**FAST).fit(X.iloc[:3_000], y[:3_000])
    auc = lambda m: roc_auc_score(y[3_000:], m.predict_proba(X.iloc[3_000:])[:, 1])
    assert auc(with_dense) > 0.9 and auc(without) < 0.65


def test_follows_the_classifier_api(interactions, interaction_model):
    X, y, _ = interactions
    small_X, small_y = X.iloc[:1_000], y[:1_000]
    copy = clone(interaction_model)
    assert copy.get_params() == interaction_model.get_params() and not hasattr(copy, "module_")
    labels = np.where(small_y == 1, "click", "skip")
    model = EmbeddingClassifier(epochs=1).fit(small_X, labels)
    assert list(model.classes_) == ["click", "skip"]
    proba = model.predict_proba(small_X)
    assert proba.shape == (1_000, 2) and ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    predicted = model.predict(small_X)
    assert set(predicted) <= {"click", "skip"}
    np.testing.assert_array_equal(predicted, np.where(proba[:, 1] > 0.5, "skip", "click"))


@pytest.mark.parametrize("call, error, message", [
    (lambda X, y: EmbeddingClassifier(epochs=1).fit(X.to_numpy(), y), TypeError, "needs a DataFrame"),
    (lambda X, y: EmbeddingClassifier(epochs=1).fit(X.drop(columns="item_id"), y), ValueError,
     r"lacks columns \['item_id'\]"),
    (lambda X, y: EmbeddingClassifier(epochs=1, dense_columns=["score"]).fit(X, y), ValueError,
     r"lacks columns \['score'\]"),
    (lambda X, y: EmbeddingClassifier(epochs=1).fit(X, np.zeros(len(y))), ValueError, "binary; y has 1 classes"),
    (lambda X, y: EmbeddingClassifier(epochs=1).fit(X, np.arange(len(y)) % 3), ValueError, "binary; y has 3 classes"),
    (lambda X, y: EmbeddingClassifier(epochs=1).fit(X, y[:-1]), ValueError, "one label per row"),
    (lambda X, y: EmbeddingClassifier(epochs=1).fit(X.assign(position=-X["position"]), y), ValueError,
     "'position' must hold non-negative integers"),
    (lambda X, y: EmbeddingClassifier(epochs=1).fit(X.assign(position=X["position"].where(X.index % 7 > 0)), y),
     ValueError, "'position' must hold non-negative integers"),
    (lambda X, y: EmbeddingClassifier(epochs=1, dense_columns=["score"]).fit(
        X.assign(score=np.where(X.index % 5 == 0, np.nan, 1.0)), y), ValueError, "dense_columns must hold finite"),
    (lambda X, y: EmbeddingClassifier(epochs=0).fit(X, y), ValueError, "epochs must be an integer >= 1"),
    (lambda X, y: EmbeddingClassifier(batch_size=0).fit(X, y), ValueError, "batch_size"),
    (lambda X, y: EmbeddingClassifier(embedding_dim=2.0).fit(X, y), ValueError, "embedding_dim"),
    (lambda X, y: EmbeddingClassifier(min_count=0).fit(X, y), ValueError, "min_count"),
    (lambda X, y: EmbeddingClassifier(id_columns=(), position_column=None).fit(X, y), ValueError,
     "needs id_columns, a position_column or dense_columns"),
    (lambda X, y: EmbeddingClassifier().predict_proba(X), RuntimeError, "must be fitted"),
    (lambda X, y: EmbeddingClassifier().embeddings("item_id"), RuntimeError, "must be fitted"),
])
def test_bad_input_is_named(interactions, call, error, message):
    X, y, _ = interactions
    with pytest.raises(error, match=message):
        call(X.iloc[:300], y[:300])


def test_bad_input_at_predict_time_is_named(interactions, interaction_model):
    X, _, _ = interactions
    rows = X.iloc[:20]
    with pytest.raises(TypeError, match="needs a DataFrame"):
        interaction_model.predict_proba(rows.to_numpy())
    with pytest.raises(ValueError, match=r"lacks columns \['user_id'\]"):
        interaction_model.predict(rows.drop(columns="user_id"))
    with pytest.raises(ValueError, match="non-negative integers"):
        interaction_model.predict_proba(rows.assign(position=-1))


def test_predict_before_fit_is_named(interactions):
    X, _, _ = interactions
    with pytest.raises(RuntimeError, match="must be fitted"):
        EmbeddingClassifier().predict(X.iloc[:10])


def test_fractional_positions_are_refused(interactions):
    X, y, _ = interactions
    with pytest.raises(ValueError, match="non-negative integers"):
        EmbeddingClassifier(epochs=1).fit(X.iloc[:300].assign(position=2.5), y[:300])
