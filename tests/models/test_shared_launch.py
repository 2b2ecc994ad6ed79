"""One launch for both kinds of parallelism gives what the two separate calls give (chapter 6)."""
import numpy as np
import pytest

from dmls.models import model_parallel_forward, train_data_parallel
from dmls.models.shared_launch import data_and_model_parallel

SETTINGS = dict(epochs=2, batch_size=64, lr=0.5, seed=3)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(301, 5))
    y = (X @ rng.normal(size=5) + rng.normal(scale=0.5, size=301) > 0).astype(int)
    return X, y


def test_one_launch_matches_the_separate_calls(data):
    X, y = data
    trained, distributed, single = data_and_model_parallel(X, y, X[:40], forward_hidden=(6,), forward_seed=1,
                                                           **SETTINGS)
    reference = train_data_parallel(X, y, world_size=1, **SETTINGS)
    assert trained.world_size == 2 and len(trained.losses) == SETTINGS["epochs"]
    np.testing.assert_allclose(trained.losses, reference.losses, rtol=1e-5)
    for name, weights in reference.weights.items():
        np.testing.assert_allclose(trained.weights[name], weights, rtol=1e-5, atol=1e-6)
    separate, separate_single = model_parallel_forward(X[:40], hidden=(6,), seed=1)
    assert distributed.shape == single.shape == (40,)
    np.testing.assert_allclose(distributed, single, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(distributed, separate, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(single, separate_single)


@pytest.mark.parametrize("kwargs, error", [
    (dict(forward_hidden=()), ValueError),
    (dict(batch_size=1), ValueError),
    (dict(lr=0.0), ValueError),
    (dict(lr="fast"), TypeError),
    (dict(epochs=0), ValueError),
    (dict(backend=""), ValueError),
])
def test_bad_input_is_rejected_before_any_process_starts(data, kwargs, error):
    X, y = data
    with pytest.raises(error):
        data_and_model_parallel(X, y, X[:5], **kwargs)


def test_forward_inputs_must_be_a_matrix(data):
    X, y = data
    with pytest.raises(ValueError):
        data_and_model_parallel(X, y, X[0])


def test_forked_processes_give_what_spawned_ones_give(data):
    X, y = data
    spawned = data_and_model_parallel(X, y, X[:40], forward_hidden=(6,), forward_seed=1, **SETTINGS)
    forked = data_and_model_parallel(X, y, X[:40], forward_hidden=(6,), forward_seed=1, start_method="fork",
                                     **SETTINGS)
    assert forked[0].world_size == 2
    assert forked[0].losses == spawned[0].losses
    for name, weights in spawned[0].weights.items():
        np.testing.assert_array_equal(forked[0].weights[name], weights)
    np.testing.assert_array_equal(forked[1], spawned[1])
    np.testing.assert_array_equal(forked[2], spawned[2])


def test_unknown_start_method_is_rejected(data):
    X, y = data
    with pytest.raises(ValueError, match="start_method"):
        data_and_model_parallel(X, y, X[:5], start_method="forkserver")
