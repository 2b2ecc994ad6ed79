"""remove_dead_neurons (chapter 7, "Model Compression": pruning): structured pruning made smaller."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

from dmls.models import TorchClassifier
from dmls.serving import low_rank, model_size_bytes, prune_magnitude, quantize_dynamic, remove_dead_neurons


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(1200, 12, n_informative=6, random_state=1)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def model(data):
    return TorchClassifier(hidden=(40, 20), epochs=2, seed=0).fit(*data)


def widths(model):
    return [m.out_features for m in model.module_ if isinstance(m, nn.Linear)]


def test_dead_neurons_go_and_the_predictions_stay(model, data):
    pruned = prune_magnitude(model, 0.5, structured=True)
    before = {k: v.clone() for k, v in pruned.module_.state_dict().items()}
    slim = remove_dead_neurons(pruned)
    assert widths(slim) == [20, 10, 2] and widths(pruned) == [40, 20, 2]
    np.testing.assert_allclose(slim.predict_proba(data[0]), pruned.predict_proba(data[0]), atol=1e-6)
    assert model_size_bytes(slim) < 0.6 * model_size_bytes(pruned)
    for key, value in pruned.module_.state_dict().items():  # the input is left as it was
        assert torch.equal(value, before[key])


def test_a_network_without_dead_neurons_keeps_its_shape(model, data):
    same = remove_dead_neurons(model)
    assert same is not model and widths(same) == widths(model)
    np.testing.assert_array_equal(same.predict_proba(data[0]), model.predict_proba(data[0]))


def test_a_neuron_with_a_bias_is_not_dead(model, data):
    pruned = prune_magnitude(model, 0.5, structured=True)
    with torch.no_grad():
        first = pruned.module_[0]
        dead = torch.nonzero((first.weight == 0).all(dim=1)).flatten()
        first.bias[dead[0]] = 0.5  # a constant neuron: relu(0.5) feeds the next layer
    slim = remove_dead_neurons(pruned)
    assert widths(slim)[0] == 21
    np.testing.assert_allclose(slim.predict_proba(data[0]), pruned.predict_proba(data[0]), atol=1e-6)


def test_a_layer_with_every_neuron_dead_keeps_one(model, data):
    pruned = prune_magnitude(model, 0.5, structured=True)
    with torch.no_grad():
        pruned.module_[2].weight.zero_()
        pruned.module_[2].bias.zero_()
    slim = remove_dead_neurons(pruned)
    assert widths(slim)[1] == 1
    np.testing.assert_allclose(slim.predict_proba(data[0]), pruned.predict_proba(data[0]), atol=1e-6)


def test_factorized_networks_are_handled(model, data):
    factorized = low_rank(prune_magnitude(model, 0.5, structured=True), 4)
    slim = remove_dead_neurons(factorized)
    np.testing.assert_allclose(slim.predict_proba(data[0]), factorized.predict_proba(data[0]), atol=1e-6)


def test_bad_networks_are_named(model):
    with pytest.raises(ValueError, match="quantized"):
        remove_dead_neurons(quantize_dynamic(model))
    odd = prune_magnitude(model, 0.5)
    odd.module_ = nn.Sequential(odd.module_[0], nn.Tanh(), odd.module_[2])
    with pytest.raises(ValueError, match="Tanh"):
        remove_dead_neurons(odd)
    twice = prune_magnitude(model, 0.5)
    twice.module_ = nn.Sequential(twice.module_[0], nn.ReLU(), nn.ReLU(), twice.module_[2])
    with pytest.raises(ValueError, match="does not follow"):
        remove_dead_neurons(twice)
    with pytest.raises(TypeError, match="TorchClassifier"):
        remove_dead_neurons(object())


def test_the_report_can_time_the_fastest_call(model, data, monkeypatch):
    from dmls.data import measure
    from dmls.serving import compression, compression_report

    calls = iter([0.004, 0.001, 0.009] * 2)  # seconds of three calls, for each of two models
    monkeypatch.setattr(measure, "time_call", lambda call, repeats=5, warmup=0: measure.Timing(
        tuple(next(calls) for _ in range(repeats))))
    report = compression_report({"a": model, "b": prune_magnitude(model, 0.5)}, *data, repeats=3, statistic="min")
    np.testing.assert_allclose(report["ms per 1,000 rows"], 1.0 * 1000 / len(data[0]))
    with pytest.raises(ValueError, match="statistic"):
        compression_report({"a": model}, *data, statistic="mean")
    with pytest.raises(ValueError, match="repeats"):
        compression_report({"a": model}, *data, repeats=0)
    assert compression._timed_ms_per_1000.__defaults__ == (5, "median")  # the default is unchanged
