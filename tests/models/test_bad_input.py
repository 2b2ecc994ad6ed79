"""Bad input to the models, the click model, tracking and distributed training fails at the boundary
with a ``TypeError`` (wrong type) or ``ValueError`` (bad value) naming the parameter: never
silently, never deep inside torch, scikit-learn or MLflow (issue 9)."""
import numpy as np
import pandas as pd
import pytest
import torch

from dmls.features import HistoryFeatures
from dmls.models import (EmbeddingClassifier, TorchClassifier, class_balanced_weights, code_version,
                         dataset_fingerprint, experiment, focal_loss, local_tracking, model_parallel_forward,
                         runs_table, train_click_model, train_data_parallel)
from dmls.world import World

NAN = float("nan")


@pytest.fixture(scope="module")
def numeric():
    X = np.random.default_rng(917).normal(size=(80, 4)).astype(np.float32)
    return X, (X[:, 0] - X[:, 2] > 0).astype(int)


@pytest.fixture(scope="module")
def rows():
    return World(seed=917, n_users=800, n_items=300).run(days=2).labeled_impressions()


# ---------------------------------------------------------------------- TorchClassifier
@pytest.mark.parametrize("params, error, message", [
    (dict(hidden=5), TypeError, "hidden must be a tuple"),
    (dict(hidden=(0,)), ValueError, "every width in hidden must be >= 1"),
    (dict(hidden=(2.5,)), TypeError, "every width in hidden must be an integer"),
    (dict(epochs=0), ValueError, "epochs must be >= 1"),
    (dict(epochs=-1), ValueError, "epochs must be >= 1"),
    (dict(epochs=True), TypeError, "epochs must be an integer"),
    (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
    (dict(batch_size=2.5), TypeError, "batch_size must be an integer"),
    (dict(lr=-1.0), ValueError, "lr must be > 0"),
    (dict(lr=NAN), ValueError, "lr must be a finite number"),
    (dict(weight_decay=-1.0), ValueError, "weight_decay must be >= 0"),
    (dict(adversarial_epsilon=-0.1), ValueError, "adversarial_epsilon must be >= 0"),
    (dict(adversarial_epsilon=NAN), ValueError, "adversarial_epsilon must be a finite number"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(seed=2**64), ValueError, "seed must be <="),
    (dict(loss="focal", gamma=NAN), ValueError, "gamma must be a finite number"),
])
def test_bad_network_settings_are_named(numeric, params, error, message):
    with pytest.raises(error, match=message):
        TorchClassifier(**params).fit(*numeric)


def test_bad_training_data_is_named(numeric):
    X, y = numeric
    with pytest.raises(TypeError, match="X must hold numbers"):
        TorchClassifier(epochs=1).fit(np.full(X.shape, "a"), y)
    with pytest.raises(ValueError, match="y must be a 1-d array"):
        TorchClassifier(epochs=1).fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="y must not have missing labels"):
        TorchClassifier(epochs=1).fit(X, np.where(np.arange(len(y)) < 3, np.nan, y))
    with pytest.raises(ValueError, match="X must have at least one row"):
        TorchClassifier(epochs=1).fit(X[:0], y[:0])


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_predictions_refuse_non_finite_input(numeric, value):
    X, y = numeric
    model = TorchClassifier(hidden=(4,), epochs=1).fit(X, y)
    bad = X[:3].copy()
    bad[1, 2] = value
    with pytest.raises(ValueError, match="X must contain only finite numbers"):
        model.predict_proba(bad)


@pytest.mark.parametrize("call, error, message", [
    (lambda: class_balanced_weights([10, np.nan]), ValueError, "counts must be finite"),
    (lambda: class_balanced_weights([]), ValueError, "counts must be a 1-d array"),
    (lambda: class_balanced_weights([[1, 2]]), ValueError, "counts must be a 1-d array"),
    (lambda: class_balanced_weights(["a", "b"]), TypeError, "counts must be numbers"),
    (lambda: class_balanced_weights([1, 2], beta=True), TypeError, "beta must be a number"),
    (lambda: class_balanced_weights([1, 2], beta="x"), TypeError, "beta must be a number"),
    (lambda: focal_loss(torch.zeros(3, 2), torch.tensor([0, 1, 0]), gamma=NAN), ValueError, "gamma must be a finite"),
    (lambda: focal_loss(torch.zeros(3, 2), torch.tensor([0, 1, 0]), gamma="2"), TypeError, "gamma must be a number"),
    (lambda: focal_loss(np.zeros((3, 2)), torch.tensor([0, 1, 0])), TypeError, "logits must be a 2-d torch.Tensor"),
    (lambda: focal_loss(torch.zeros(3, 2), torch.tensor([0, 1])), ValueError, "targets must have one class index"),
    (lambda: focal_loss(torch.zeros(3, 2), torch.tensor([0, 1, 5])), ValueError, "targets must be class indices"),
    (lambda: focal_loss(torch.zeros(3, 2), torch.tensor([0.0, 1.0, 0.0])), TypeError, "targets must be a 1-d integer"),
])
def test_losses_name_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------- EmbeddingClassifier
@pytest.mark.parametrize("params, change, error, message", [
    (dict(embedding_dim=True), None, TypeError, "embedding_dim must be an integer"),
    (dict(embedding_dim=2**40), None, ValueError, "embedding_dim must be an integer >= 1 and <= 4,096"),
    (dict(hidden=5), None, TypeError, "hidden must be a tuple"),
    (dict(hidden=(0,)), None, ValueError, "every width in hidden must be >= 1"),
    (dict(lr=-1.0), None, ValueError, "lr must be > 0"),
    (dict(lr=NAN), None, ValueError, "lr must be a finite number"),
    (dict(weight_decay=-1.0), None, ValueError, "weight_decay must be >= 0"),
    (dict(seed=-1), None, ValueError, "seed must be >= 0"),
    (dict(seed=2**64), None, ValueError, "seed must be <="),
    (dict(id_columns="user_id"), None, TypeError, "id_columns must be a list of column names"),
    (dict(dense_columns="price"), None, TypeError, "dense_columns must be a list of column names"),
    (dict(position_column=5), None, TypeError, "position_column must be a column name"),
    (dict(dense_columns=["brand"]), None, TypeError, "dense_columns must be numeric: column 'brand'"),
    (dict(), lambda r: r.astype({"position": object}).assign(position=2**64), ValueError, "'position' must hold"),
    (dict(), lambda r: r.assign(position=10**6), ValueError, "'position' must hold positions of at most 10,000"),
    (dict(), lambda r: r.head(0), ValueError, "X must have at least one row"),
])
def test_bad_embedding_settings_and_rows_are_named(rows, params, change, error, message):
    X = rows.head(300) if change is None else change(rows.head(300))
    with pytest.raises(error, match=message):
        EmbeddingClassifier(**{"epochs": 1, **params}).fit(X, X["clicked"])


def test_embeddings_need_a_column_name(rows):
    model = EmbeddingClassifier(epochs=1).fit(rows.head(300), rows["clicked"].head(300))
    with pytest.raises(TypeError, match="column must be a column name"):
        model.embeddings(5)
    with pytest.raises(ValueError, match="'position' must hold non-negative integers"):
        model.predict_proba(rows.head(3).assign(position=True))


# ---------------------------------------------------------------------- the click model
@pytest.mark.parametrize("call, error, message", [
    (lambda r, h: train_click_model([1], h), TypeError, "rows must be a DataFrame"),
    (lambda r, h: train_click_model(r, None), TypeError, "history must be a fitted HistoryFeatures"),
    (lambda r, h: train_click_model(r, h, max_iter=True), TypeError, "max_iter must be an integer"),
    (lambda r, h: train_click_model(r, h, learning_rate=NAN), ValueError, "learning_rate must be a finite number"),
    (lambda r, h: train_click_model(r, h, random_state="x"), TypeError, "random_state must be an integer"),
    (lambda r, h: train_click_model(r.assign(clicked=np.nan), h), ValueError, r"rows\['clicked'\] must hold clicks"),
    (lambda r, h: train_click_model(r.head(0), h), ValueError, "rows must have at least one impression"),
])
def test_the_click_model_names_bad_input(rows, call, error, message):
    with pytest.raises(error, match=message):
        call(rows.head(200), HistoryFeatures().fit(rows))


# ---------------------------------------------------------------------- tracking
@pytest.mark.parametrize("call, error, message", [
    (lambda d: local_tracking(""), ValueError, "directory must name a folder"),
    (lambda d: experiment("x", ""), ValueError, "directory must name a folder"),
    (lambda d: experiment(5, d), TypeError, "name must be a non-empty string"),
    (lambda d: code_version(""), ValueError, "path must name a folder"),
    (lambda d: runs_table(5, "loss"), TypeError, "experiment_name must be a non-empty string"),
    (lambda d: runs_table(" ", "loss"), ValueError, "experiment_name must be a non-empty string"),
    (lambda d: runs_table("x", metrics=5), TypeError, "metrics must be a name or a sequence of names"),
    (lambda d: dataset_fingerprint(pd.DataFrame({"a": [[1], [2]]})), TypeError, "df must hold hashable values"),
])
def test_tracking_names_bad_arguments(tmp_path, monkeypatch, call, error, message):
    monkeypatch.chdir(tmp_path)  # an empty path must not quietly mean the current folder
    with pytest.raises(error, match=message):
        call(tmp_path / "store")
    assert not (tmp_path / "mlflow.db").exists()


# ---------------------------------------------------------------------- distributed training
@pytest.mark.parametrize("change, error, message", [
    (dict(timeout="x"), TypeError, "timeout must be a number"),
    (dict(timeout=True), TypeError, "timeout must be a number"),
    (dict(timeout=NAN), ValueError, "timeout must be a finite number"),
    (dict(backend=""), ValueError, "backend must name a torch.distributed backend"),
    (dict(backend=5), TypeError, "backend must be a string"),
    (dict(seed=2**64), ValueError, "seed must be <="),
])
def test_one_process_checks_what_many_would(numeric, change, error, message):
    X, y = numeric
    with pytest.raises(error, match=message):
        train_data_parallel(X, y, world_size=1, epochs=1, **change)


@pytest.mark.parametrize("change, error, message", [
    (dict(seed=2**64), ValueError, "seed must be <="),
    (dict(timeout="x"), TypeError, "timeout must be a number"),
])
def test_model_parallel_checks_before_any_process_starts(numeric, change, error, message):
    with pytest.raises(error, match=message):
        model_parallel_forward(numeric[0], **change)
