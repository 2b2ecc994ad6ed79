"""Asynchronous SGD as stale gradients: no staleness is synchronous SGD; staleness slows and then breaks it."""
import numpy as np
import pytest

from dmls.models.distributed import StaleTrainingResult, pipeline_bubble, train_data_parallel, train_stale_sgd
from dmls.models.ensembles import majority_vote_accuracy


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X @ rng.normal(size=5) + rng.normal(scale=0.5, size=600) > 0).astype(int)
    return X, y


def test_no_staleness_is_exactly_synchronous_sgd(data):
    for hidden in ((), (4,)):
        sync = train_data_parallel(*data, world_size=1, hidden=hidden, epochs=2, batch_size=50, lr=0.3, seed=1)
        stale = train_stale_sgd(*data, staleness=0, hidden=hidden, epochs=2, batch_size=50, lr=0.3, seed=1)
        assert isinstance(stale, StaleTrainingResult) and stale.updates == 24 and not stale.diverged
        assert stale.losses == sync.losses
        for name in sync.weights:
            np.testing.assert_array_equal(stale.weights[name], sync.weights[name])


def test_one_step_of_staleness_by_hand(data):
    """With staleness 1 the second update uses the gradient at the initial weights."""
    import torch

    X, y = data
    X2, y2 = X[:20], y[:20]
    result = train_stale_sgd(X2, y2, staleness=1, epochs=1, batch_size=10, lr=0.5, seed=0)
    order = np.random.default_rng(0).permutation(20)
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 1)
    w0 = [p.detach().clone() for p in layer.parameters()]

    def grad(weights, rows):
        w, b = (t.clone().requires_grad_(True) for t in weights)
        xb = torch.from_numpy(X2[rows].astype(np.float32))
        yb = torch.from_numpy(y2[rows].astype(np.float32))
        loss = torch.nn.functional.binary_cross_entropy_with_logits((xb @ w.T + b).squeeze(1), yb)
        loss.backward()
        return w.grad, b.grad

    g1 = grad(w0, order[:10])
    w1 = [w0[0] - 0.5 * g1[0], w0[1] - 0.5 * g1[1]]
    g2 = grad(w0, order[10:])  # stale: taken at w0, not w1
    w2 = [w1[0] - 0.5 * g2[0], w1[1] - 0.5 * g2[1]]
    np.testing.assert_allclose(result.weights["0.weight"], w2[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.weights["0.bias"], w2[1].numpy(), rtol=1e-5, atol=1e-6)


def test_staleness_hurts_more_as_it_grows(data):
    losses = [train_stale_sgd(*data, staleness=s, epochs=1, batch_size=10, lr=2.0, seed=0).losses[-1]
              for s in (0, 4, 16, 59)]
    assert losses == sorted(losses)
    assert losses[-1] > np.log(2) > losses[0]  # worse than the untrained model: stale gradients overshoot


def test_divergence_is_reported_not_raised(data):
    result = train_stale_sgd(*data, staleness=50, epochs=3, batch_size=5, lr=1e6, seed=0)
    assert result.diverged or not np.isfinite(result.losses[-1]) or result.losses[-1] > 10


@pytest.mark.parametrize("kwargs, error", [
    (dict(staleness=-1), ValueError), (dict(staleness=1.5), TypeError), (dict(staleness=True), TypeError),
    (dict(staleness=1, lr=0), ValueError), (dict(staleness=1, lr=float("nan")), ValueError),
    (dict(staleness=1, batch_size=0), ValueError), (dict(staleness=1, epochs=0), ValueError),
])
def test_bad_arguments_name_the_parameter(data, kwargs, error):
    with pytest.raises(error):
        train_stale_sgd(*data, **kwargs)


def test_bad_data():
    with pytest.raises(ValueError):
        train_stale_sgd(np.zeros((3, 2)), [0, 1], staleness=0)
    with pytest.raises(ValueError):
        train_stale_sgd(np.zeros((3, 2)), [0, 1, 2], staleness=0)


def test_pipeline_bubble():
    assert pipeline_bubble(1, 5) == 0.0
    assert pipeline_bubble(4, 12) == pytest.approx(3 / 15)
    assert pipeline_bubble(2, 1) == 0.5
    with pytest.raises(ValueError):
        pipeline_bubble(0, 3)
    with pytest.raises(TypeError):
        pipeline_bubble(2, 1.5)


def test_majority_vote_matches_the_book():
    assert majority_vote_accuracy(3, 0.7) == pytest.approx(0.784)
    assert majority_vote_accuracy(1, 0.6) == pytest.approx(0.6)
    assert majority_vote_accuracy(25, 0.7) > majority_vote_accuracy(11, 0.7) > 0.7
    with pytest.raises(ValueError, match="odd"):
        majority_vote_accuracy(4, 0.7)
    with pytest.raises(ValueError):
        majority_vote_accuracy(3, 1.5)
