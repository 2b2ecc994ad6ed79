"""Model compression (chapter 7): quantization, pruning, low-rank factorization, distillation."""
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from dmls.models import TorchClassifier
from dmls.serving import (
    compression_report,
    distill,
    distillation_loss,
    factorize_linear,
    low_rank,
    model_size_bytes,
    prune_magnitude,
    quantize_dynamic,
    sparsity,
)
from dmls.serving import compression


@pytest.fixture(scope="module")
def data():
    # Labels with 20% noise: a teacher's soft targets then carry more than the hard labels do.
    X, y = make_classification(2000, 20, n_informative=10, flip_y=0.2, random_state=0)
    X = X.astype(np.float32)
    return X[:1500], y[:1500], X[1500:], y[1500:]


@pytest.fixture(scope="module")
def model(data):
    X, y, _, _ = data
    return TorchClassifier(hidden=(64, 32), epochs=3).fit(X, y)


@pytest.fixture(scope="module")
def big_model(data):
    X, y, _, _ = data
    return TorchClassifier(hidden=(256, 128), epochs=3).fit(X, y)


def snapshot(model):
    return model.module_, {k: v.clone() for k, v in model.module_.state_dict().items()}


def assert_unchanged(model, before):
    module, state = before
    assert model.module_ is module
    after = model.module_.state_dict()
    assert after.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(after[key], value), key


def linears(model):
    return [m for m in model.module_ if isinstance(m, nn.Linear)]


COMPRESSORS = {
    "quantize": quantize_dynamic,
    "prune": lambda m: prune_magnitude(m, 0.5),
    "prune structured": lambda m: prune_magnitude(m, 0.5, structured=True),
    "low rank": lambda m: low_rank(m, 4),
    "distill": lambda m: distill(m, np.random.default_rng(0).normal(size=(200, 20)), epochs=1),
}


@pytest.mark.parametrize("name", COMPRESSORS)
def test_compressors_return_a_new_working_classifier_and_leave_the_original_alone(model, data, name):
    before = snapshot(model)
    proba_before = model.predict_proba(data[2])
    compressed = COMPRESSORS[name](model)
    assert compressed is not model and compressed.module_ is not model.module_
    assert_unchanged(model, before)
    np.testing.assert_array_equal(model.predict_proba(data[2]), proba_before)
    proba = compressed.predict_proba(data[2])
    assert proba.shape == (500, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(compressed.classes_, model.classes_)


# ---------------------------------------------------------------- quantization


def test_quantization_shrinks_the_model_and_keeps_its_predictions(big_model, data):
    quantized = quantize_dynamic(big_model)
    assert not linears(quantized)  # every nn.Linear became a quantized one
    assert model_size_bytes(quantized) / model_size_bytes(big_model) < 0.5
    diff = np.abs(quantized.predict_proba(data[2]) - big_model.predict_proba(data[2])).max()
    assert diff < 0.05
    with pytest.raises(ValueError, match="quantized"):
        quantize_dynamic(quantized)
    with pytest.raises(ValueError, match="dtype"):
        quantize_dynamic(big_model, dtype="int4")


def test_quantization_picks_a_supported_engine_or_says_there_is_none(model, monkeypatch):
    fallback = SimpleNamespace(supported_engines=["qnnpack", "none"], engine="none")
    monkeypatch.setattr(torch.backends, "quantized", fallback)
    assert compression._ensure_quantized_engine() == "qnnpack" and fallback.engine == "qnnpack"
    monkeypatch.setattr(torch.backends, "quantized", SimpleNamespace(supported_engines=["none"], engine="none"))
    with pytest.raises(RuntimeError, match="no quantized engine"):
        quantize_dynamic(model)


def test_model_size_bytes_is_the_saved_state_dict(model):
    buffer = io.BytesIO()
    torch.save(model.module_.state_dict(), buffer)
    assert model_size_bytes(model) == len(buffer.getvalue())
    n_parameters = sum(p.numel() for p in model.module_.parameters())
    assert 4 * n_parameters < model_size_bytes(model) < 4 * n_parameters + 10_000  # float32 plus overhead


# ---------------------------------------------------------------- pruning


@pytest.mark.parametrize("amount", [0.3, 0.5, 0.9])
def test_global_pruning_zeroes_the_smallest_weights_across_layers(model, amount):
    pruned = prune_magnitude(model, amount)
    assert sparsity(model) < 0.01
    assert abs(sparsity(pruned) - amount) < 0.01
    old = torch.cat([m.weight.detach().flatten() for m in linears(model)])
    new = torch.cat([m.weight.detach().flatten() for m in linears(pruned)])
    removed = new == 0
    assert old[removed].abs().max() <= old[~removed].abs().min()  # one threshold for all layers
    assert torch.equal(new[~removed], old[~removed])
    assert not any(hasattr(m, "weight_orig") for m in linears(pruned))  # made permanent


def test_structured_pruning_removes_whole_neurons_of_hidden_layers(model):
    pruned = prune_magnitude(model, 0.25, structured=True)
    *hidden, output = linears(pruned)
    *old_hidden, old_output = linears(model)
    for layer, old in zip(hidden, old_hidden):
        weight = layer.weight.detach()
        dead = (weight == 0).all(dim=1)
        assert dead.sum() == round(0.25 * layer.out_features)
        assert (weight[~dead] != 0).all() and (layer.bias.detach()[dead] == 0).all()
        norms = old.weight.detach().norm(dim=1)
        assert norms[dead].max() <= norms[~dead].min()  # the weakest neurons went
    assert torch.equal(output.weight, old_output.weight)
    with pytest.raises(ValueError, match="hidden layer"):
        prune_magnitude(TorchClassifier(hidden=(), epochs=1).fit(np.eye(4), [0, 1, 0, 1]), 0.5, structured=True)


@pytest.mark.parametrize("amount", [0, 1, 1.5, -0.1])
def test_pruning_amount_must_be_a_fraction(model, amount):
    with pytest.raises(ValueError, match=r"amount must be in \(0, 1\)"):
        prune_magnitude(model, amount)


def test_pruning_rejects_a_non_number_amount(model):
    with pytest.raises(TypeError, match="amount"):
        prune_magnitude(model, "0.5")


# ---------------------------------------------------------------- low-rank factorization


def test_full_rank_factorization_reproduces_the_network(model, data):
    layers = []
    for layer in model.module_:
        if isinstance(layer, nn.Linear):
            layers.extend(factorize_linear(layer, min(layer.in_features, layer.out_features)))
        else:
            layers.append(layer)
    factorized = nn.Sequential(*layers)
    with torch.no_grad():
        expected = model.module_(torch.from_numpy(data[2]))
        np.testing.assert_allclose(factorized(torch.from_numpy(data[2])), expected, atol=1e-5)
    # A rank no layer exceeds leaves the network as it was.
    np.testing.assert_allclose(low_rank(model, 64).predict_proba(data[2]), model.predict_proba(data[2]), atol=1e-6)


def test_low_rank_layers_are_the_best_rank_r_approximation(model):
    rank = 4
    compressed = low_rank(model, rank)
    new = linears(compressed)
    assert len(new) == 5  # 20 -> 64 and 64 -> 32 are factorized; 32 -> 2 is kept
    for (first, second), old in zip([new[0:2], new[2:4]], linears(model)[:2]):
        W = old.weight.detach().double().numpy()
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        best = (U[:, :rank] * s[:rank]) @ Vt[:rank]
        product = (second.weight @ first.weight).detach().double().numpy()
        np.testing.assert_allclose(product, best, atol=1e-5)
        # Eckart–Young: the error is the energy of the discarded singular values.
        assert np.isclose(np.linalg.norm(W - product), np.sqrt((s[rank:] ** 2).sum()), rtol=1e-4)
        assert first.bias is None and torch.equal(second.bias, old.bias)
    assert torch.equal(new[4].weight, linears(model)[2].weight)
    count = lambda m: sum(p.numel() for p in m.module_.parameters())  # noqa: E731
    assert count(compressed) < count(model) / 3


@settings(max_examples=30)
@given(st.integers(1, 12), st.integers(1, 12), st.data())
def test_factorization_error_shrinks_with_rank(n_in, n_out, draw):
    torch.manual_seed(n_in * 13 + n_out)
    layer = nn.Linear(n_in, n_out)
    rank = draw.draw(st.integers(1, min(n_in, n_out)))
    errors = []
    for r in range(1, min(n_in, n_out) + 1):
        first, second = factorize_linear(layer, r)
        errors.append(torch.linalg.norm(layer.weight - second.weight @ first.weight).item())
    assert all(a >= b - 1e-6 for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-5
    first, second = factorize_linear(layer, rank)
    assert first.weight.shape == (rank, n_in) and second.weight.shape == (n_out, rank)


def test_low_rank_rejects_bad_ranks(model):
    with pytest.raises(ValueError, match="rank must be >= 1"):
        low_rank(model, 0)
    with pytest.raises(TypeError, match="rank must be an integer"):
        low_rank(model, 2.5)
    with pytest.raises(ValueError, match="rank must be <="):
        factorize_linear(nn.Linear(3, 5), 4)
    with pytest.raises(TypeError, match="torch.nn.Linear"):
        factorize_linear(nn.ReLU(), 1)


# ---------------------------------------------------------------- distillation


def mean_kl(p, q):
    return float(np.mean(np.sum(p * np.log(p / q), axis=1)))


def test_a_distilled_student_imitates_its_teacher_better_than_one_trained_on_labels(data):
    X, y, X_test, _ = data
    teacher = TorchClassifier(hidden=(64, 32), epochs=10, batch_size=256).fit(X, y)
    settings_ = dict(hidden=(8,), epochs=20, batch_size=64, seed=0)
    student = distill(teacher, X, temperature=2.0, **settings_)
    on_labels = TorchClassifier(**settings_).fit(X, y)
    target = teacher.predict_proba(X_test)
    assert mean_kl(target, student.predict_proba(X_test)) < 0.8 * mean_kl(target, on_labels.predict_proba(X_test))
    agree = lambda m: (m.predict(X_test) == teacher.predict(X_test)).mean()  # noqa: E731
    assert agree(student) > agree(on_labels)
    assert len(student.loss_curve_) == 20 and student.loss_curve_[-1] < student.loss_curve_[0]
    assert [m.out_features for m in linears(student)] == [8, 2]


def test_distillation_is_deterministic_for_a_seed(model, data):
    first, second = (distill(model, data[0], epochs=2, seed=3) for _ in range(2))
    assert first.loss_curve_ == second.loss_curve_
    for a, b in zip(first.module_.state_dict().values(), second.module_.state_dict().values()):
        assert torch.equal(a, b)
    other = distill(model, data[0], epochs=2, seed=4)
    assert other.loss_curve_ != first.loss_curve_


def test_distillation_with_hard_labels_keeps_the_teachers_classes():
    X, y = make_classification(300, 5, random_state=1)
    labels = np.where(y == 1, "yes", "no")
    teacher = TorchClassifier(hidden=(8,), epochs=2).fit(X, labels)
    student = distill(teacher, X, y=labels, alpha=0.5, epochs=2)
    assert set(student.predict(X)) <= {"no", "yes"}
    with pytest.raises(ValueError, match="y .hard labels. is needed"):
        distill(teacher, X, alpha=0.5)
    with pytest.raises(ValueError, match="labels that the teacher does not know"):
        distill(teacher, X, y=np.where(y == 1, "yes", "maybe"), alpha=0.5)
    with pytest.raises(ValueError, match="one label per row"):
        distill(teacher, X, y=labels[:10], alpha=0.5)


def test_distillation_loss_matches_its_definition():
    torch.manual_seed(0)
    student, teacher = torch.randn(6, 3), torch.randn(6, 3)
    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    T = 3.0
    p, q = torch.softmax(teacher / T, 1), torch.softmax(student / T, 1)
    by_hand = (p * (p.log() - q.log())).sum(1).mean() * T ** 2
    assert torch.isclose(distillation_loss(student, teacher, T), by_hand)
    assert distillation_loss(teacher, teacher, T).abs() < 1e-6
    ce = torch.nn.functional.cross_entropy(student, targets)
    assert torch.isclose(distillation_loss(student, teacher, T, targets, alpha=1.0), ce)
    mixed = distillation_loss(student, teacher, T, targets, alpha=0.25)
    assert torch.isclose(mixed, 0.75 * by_hand + 0.25 * ce)
    with pytest.raises(ValueError, match="shape"):
        distillation_loss(student, teacher[:, :2])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(temperature=0), ValueError, "temperature must be a finite number > 0"),
    (dict(temperature=-1.0), ValueError, "temperature"),
    (dict(alpha=1.5), ValueError, "alpha"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(hidden=8), TypeError, "hidden"),
    (dict(hidden=(0,)), ValueError, "width"),
    (dict(lr=0), ValueError, "lr"),
])
def test_distill_rejects_bad_settings(model, data, kwargs, error, message):
    with pytest.raises(error, match=message):
        distill(model, data[0], **kwargs)


def test_distill_rejects_bad_inputs(model):
    with pytest.raises(ValueError, match="20 columns"):
        distill(model, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="finite"):
        distill(model, np.full((5, 20), np.nan))
    with pytest.raises(TypeError, match="real numbers"):
        distill(model, np.full((5, 20), "a"))


# ---------------------------------------------------------------- every function checks its model


FUNCTIONS = [model_size_bytes, sparsity, quantize_dynamic, prune_magnitude, lambda m: low_rank(m, 2),
             lambda m: distill(m, np.zeros((4, 20)))]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_need_a_fitted_torch_classifier(function):
    with pytest.raises(TypeError, match="TorchClassifier"):
        function(LogisticRegression())
    with pytest.raises(NotFittedError, match="must be fitted"):
        function(TorchClassifier())


def test_quantized_models_can_be_measured_and_distilled_but_not_pruned(model, data):
    quantized = quantize_dynamic(model)
    assert 0 <= sparsity(quantized) < 0.05
    assert model_size_bytes(quantized) > 0
    assert distill(quantized, data[0], epochs=1).predict_proba(data[2]).shape == (500, 2)
    with pytest.raises(ValueError, match="quantized"):
        prune_magnitude(quantized, 0.5)
    with pytest.raises(ValueError, match="quantized"):
        low_rank(quantized, 2)


# ---------------------------------------------------------------- the report


def test_compression_report(big_model, data):
    _, _, X_test, y_test = data
    models = {"original": big_model, "int8": quantize_dynamic(big_model),
              "pruned 50%": prune_magnitude(big_model, 0.5), "rank 8": low_rank(big_model, 8)}
    report = compression_report(models, X_test, y_test)
    assert list(report.index) == list(models)
    assert list(report.columns) == ["size KB", "parameters", "non-zero", "log loss", "ROC AUC", "ms per 1,000 rows"]
    assert report.loc["original", "size KB"] == model_size_bytes(big_model) / 1024
    assert report.loc["int8", "size KB"] < 0.5 * report.loc["original", "size KB"]
    assert report.loc["rank 8", "parameters"] < 0.2 * report.loc["original", "parameters"]
    assert report.loc["original", "parameters"] == report.loc["original", "non-zero"] == sum(
        p.numel() for p in big_model.module_.parameters())
    assert report.loc["int8", "parameters"] == report.loc["original", "parameters"]
    pruned = report.loc["pruned 50%"]
    assert 0.45 < pruned["non-zero"] / pruned["parameters"] < 0.55
    assert (report["log loss"] > 0).all() and (report["ROC AUC"] > 0.6).all()
    assert (report["ms per 1,000 rows"] > 0).all()


def test_compression_report_handles_many_classes_and_rejects_bad_arguments():
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=0)
    model = TorchClassifier(hidden=(8,), epochs=20, batch_size=64).fit(X, y)
    report = compression_report({"m": model}, X, y)
    assert report.loc["m", "ROC AUC"] == roc_auc_score(y, model.predict_proba(X), multi_class="ovr")
    assert report.loc["m", "ROC AUC"] > 0.7
    with pytest.raises(TypeError, match="non-empty dict"):
        compression_report({}, X, y)
    with pytest.raises(ValueError, match="one label per row"):
        compression_report({"m": model}, X, y[:-1])
    with pytest.raises(TypeError, match=r"models\['m'\] must be a dmls.models.TorchClassifier"):
        compression_report({"m": LogisticRegression()}, X, y)
