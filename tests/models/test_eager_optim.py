"""Adam and SGD without torch.compile's guards: bit-identical to torch.optim, and no torch._dynamo."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dmls.models import eager_optim  # noqa: E402


def _train(make, steps=25):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    optimiser = make(model.parameters())
    data = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 6, generator=data)
        optimiser.zero_grad()
        (model(x) - x[:, :1]).pow(2).mean().backward()
        optimiser.step()
    return [p.detach().clone() for p in model.parameters()], optimiser


@pytest.mark.parametrize("options", [{}, {"lr": 0.02, "weight_decay": 1e-3}, {"lr": 0.01, "amsgrad": True},
                                     {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}])
def test_adam_takes_the_same_steps_as_torch_optim(options):
    ours, optimiser = _train(lambda p: eager_optim.adam(p, **options))
    theirs, reference = _train(lambda p: torch.optim.Adam(p, **options))
    assert isinstance(optimiser, torch.optim.Adam)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert not all(torch.equal(a, b) for a, b in zip(ours, _train(lambda p: torch.optim.Adam(p, **options), 24)[0]))
    for a, b in zip(optimiser.state.values(), reference.state.values()):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"]) and torch.equal(a["step"], b["step"])


@pytest.mark.parametrize("options", [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.9, "nesterov": True},
                                     {"lr": 0.05, "weight_decay": 0.01, "momentum": 0.5, "dampening": 0.1}])
def test_sgd_takes_the_same_steps_as_torch_optim(options):
    ours, optimiser = _train(lambda p: eager_optim.sgd(p, **options))
    theirs, _ = _train(lambda p: torch.optim.SGD(p, **options))
    assert isinstance(optimiser, torch.optim.SGD)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_step_leaves_gradient_mode_as_it_found_it_and_hooks_still_run():
    calls = []
    model = torch.nn.Linear(3, 1)
    optimiser = eager_optim.adam(model.parameters(), lr=0.1)
    optimiser.register_step_post_hook(lambda *args: calls.append("post"))
    model(torch.ones(2, 3)).sum().backward()
    assert torch.is_grad_enabled()
    optimiser.step()
    assert torch.is_grad_enabled() and calls == ["post"]
    optimiser.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_bad_options_get_torch_optims_errors():
    with pytest.raises(ValueError, match="learning rate"):
        eager_optim.adam(torch.nn.Linear(2, 1).parameters(), lr=-1.0)
    with pytest.raises(ValueError, match="empty parameter list"):
        eager_optim.sgd([], lr=0.1)


def test_training_does_not_import_torch_dynamo():
    # a fresh interpreter: this test process may have imported torch._dynamo already
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from dmls.models import TorchClassifier
        from dmls.models.distributed import train_data_parallel, train_stale_sgd
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 4)).astype(np.float32)
        y = (X[:, 0] > 0).astype(int)
        TorchClassifier(hidden=(4,), epochs=1).fit(X, y)
        import pandas as pd
        from dmls.models import EmbeddingClassifier
        ids = pd.DataFrame({"user_id": np.arange(200) % 7, "item_id": np.arange(200) % 5})
        EmbeddingClassifier(id_columns=("user_id", "item_id"), position_column=None, epochs=1).fit(ids, y)
        train_data_parallel(X, y, world_size=1, epochs=1, batch_size=50, lr=0.1)
        train_stale_sgd(X, y, staleness=2, batch_size=50, epochs=1, lr=0.1)
        print("torch._dynamo" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "False"


def test_torch_classifier_fits_exactly_as_with_torch_optim(monkeypatch):
    from dmls.models import TorchClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int)
    ours = TorchClassifier(hidden=(8,), epochs=3, batch_size=32, weight_decay=1e-4).fit(X, y).predict_proba(X)
    monkeypatch.setattr(eager_optim, "adam", lambda params, **options: torch.optim.Adam(params, **options))
    theirs = TorchClassifier(hidden=(8,), epochs=3, batch_size=32, weight_decay=1e-4).fit(X, y).predict_proba(X)
    assert np.array_equal(ours, theirs)


def test_embedding_classifier_fits_exactly_as_with_torch_optim(monkeypatch):
    import pandas as pd

    from dmls.models import EmbeddingClassifier

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"user_id": rng.integers(0, 30, 400), "item_id": rng.integers(0, 20, 400),
                      "position": rng.integers(1, 6, 400)})
    y = (rng.random(400) < 0.2 + 0.02 * X["position"]).astype(int)
    make = lambda: EmbeddingClassifier(id_columns=("user_id", "item_id"), position_column="position",  # noqa: E731
                                       epochs=3, batch_size=64, seed=3)
    ours = make().fit(X, y).predict_proba(X)
    monkeypatch.setattr(eager_optim, "adam", lambda params, **options: torch.optim.Adam(params, **options))
    theirs = make().fit(X, y).predict_proba(X)
    assert np.array_equal(ours, theirs)
