"""Data-parallel SGD across real processes matches one process; model parallelism; the failure paths.

Each multi-process run spawns fresh interpreters (a few seconds each), so the file starts only four.
"""
import numpy as np
import pytest

from dmls.models import TrainingResult, model_parallel_forward, train_data_parallel

SETTINGS = dict(epochs=3, batch_size=100, lr=0.5, seed=3)


@pytest.fixture(scope="module")
def data():
    # 1001 rows: batches of 100 end with a batch of one row, which leaves most shards empty.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1001, 5))
    y = (X @ rng.normal(size=5) + rng.normal(scale=0.5, size=1001) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def logistic_two_processes(data):
    return train_data_parallel(*data, world_size=2, **SETTINGS)


@pytest.fixture(scope="module")
def mlp_three_processes(data):
    # 100 rows per batch in shards of 33, 34 and 33: uneven, so the gradient needs weighting.
    return train_data_parallel(*data, world_size=3, hidden=(8, 4), **SETTINGS)


def assert_same_training(result, reference):
    assert result.weights.keys() == reference.weights.keys()
    for name, weights in reference.weights.items():
        np.testing.assert_allclose(result.weights[name], weights, rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(result.losses, reference.losses, rtol=1e-5)


@pytest.mark.parametrize("hidden, runs, world_size", [((), "logistic_two_processes", 2),
                                                      ((8, 4), "mlp_three_processes", 3)])
def test_several_processes_take_the_same_steps_as_one(data, hidden, runs, world_size, request):
    distributed = request.getfixturevalue(runs)
    reference = train_data_parallel(*data, world_size=1, hidden=hidden, **SETTINGS)
    assert_same_training(distributed, reference)
    assert distributed.world_size == world_size and reference.world_size == 1
    assert distributed.samples_per_second > 0 and distributed.seconds > 0


def test_one_process_learns_and_is_deterministic(data):
    first = train_data_parallel(*data, world_size=1, **SETTINGS)
    again = train_data_parallel(*data, world_size=1, **SETTINGS)
    assert isinstance(first, TrainingResult) and len(first.losses) == SETTINGS["epochs"]
    assert first.losses[-1] < first.losses[0] < np.log(2)
    assert first.losses == again.losses
    for name in first.weights:
        np.testing.assert_array_equal(first.weights[name], again.weights[name])
    assert first.weights["0.weight"].shape == (1, 5)
    different_seed = train_data_parallel(*data, world_size=1, **{**SETTINGS, "seed": 4})
    assert different_seed.losses != first.losses


def test_a_different_batching_is_a_different_update(data, logistic_two_processes):
    """The match above is not vacuous: a batch size that differs by one row changes the weights."""
    other = train_data_parallel(*data, world_size=1, **{**SETTINGS, "batch_size": 101})
    assert not np.allclose(other.weights["0.weight"], logistic_two_processes.weights["0.weight"], rtol=1e-5)


def test_model_parallel_forward_matches_one_process(data):
    distributed, single = model_parallel_forward(data[0][:50], hidden=(6,), seed=1)
    assert distributed.shape == single.shape == (50,)
    np.testing.assert_allclose(distributed, single, rtol=1e-6, atol=1e-7)


def test_an_error_inside_a_process_is_raised_in_the_caller(data):
    # This CPU build of torch has no NCCL: the workers fail in init_process_group, the caller hears.
    with pytest.raises(RuntimeError, match="(?s)process . of 2 failed.*NCCL"):
        train_data_parallel(*data, world_size=2, backend="nccl", timeout=60)


@pytest.mark.parametrize("change, error, match", [
    (dict(X=np.zeros(5)), ValueError, "X must be a non-empty 2-d"),
    (dict(X=np.array([["a", "b"]] * 10)), TypeError, "X must be an array of real numbers"),
    (dict(X=np.full((10, 2), np.nan)), ValueError, "finite"),
    (dict(y=np.zeros(9)), ValueError, "one label per row"),
    (dict(y=np.full(10, 2)), ValueError, "labels 0 and 1"),
    (dict(world_size=0), ValueError, "world_size must be >= 1"),
    (dict(world_size=11), ValueError, "world_size must be at most the number of rows"),
    (dict(world_size=2.0), TypeError, "world_size must be an integer"),
    (dict(world_size=3, batch_size=2), ValueError, "batch_size must be >= world_size"),
    (dict(epochs=0), ValueError, "epochs must be >= 1"),
    (dict(lr=0), ValueError, "lr must be a positive"),
    (dict(lr="0.1"), TypeError, "lr must be a number"),
    (dict(hidden=(4, 0)), ValueError, "every width in hidden must be >= 1"),
    (dict(hidden=8), TypeError, "hidden must be a tuple"),
])
def test_bad_inputs_are_rejected_before_any_process_starts(change, error, match):
    arguments = {"X": np.zeros((10, 2)), "y": np.zeros(10), **change}
    with pytest.raises(error, match=match):
        train_data_parallel(arguments.pop("X"), arguments.pop("y"), **arguments)


def test_model_parallel_needs_a_layer_to_split():
    with pytest.raises(ValueError, match="hidden needs at least one layer"):
        model_parallel_forward(np.zeros((3, 2)), hidden=())
