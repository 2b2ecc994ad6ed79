"""Experiment tracking with MLflow in a local store; fingerprints of data and code."""
import os
import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmls.models import code_version, dataset_fingerprint, experiment, local_tracking, runs_table

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def store(tmp_path):
    """A fresh local store; MLflow's global tracking URI and active experiment are put back after."""
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")}
    yield tmp_path / "tracking"
    if mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(saved["MLFLOW_TRACKING_URI"])  # None unsets it, as before the test
    mlflow.tracking.fluent._active_experiment_id = None
    if saved["MLFLOW_EXPERIMENT_ID"] is None:
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    else:
        os.environ["MLFLOW_EXPERIMENT_ID"] = saved["MLFLOW_EXPERIMENT_ID"]


URI_BEFORE_FIRST_TEST = []


def test_the_store_fixture_points_mlflow_at_a_temporary_store(store):
    URI_BEFORE_FIRST_TEST.append(mlflow.get_tracking_uri())
    local_tracking(store)
    experiment("leaky", store)
    assert mlflow.get_tracking_uri() != URI_BEFORE_FIRST_TEST[0]


def test_the_store_fixture_puts_mlflow_back_afterwards(store):
    if not URI_BEFORE_FIRST_TEST:
        pytest.skip("runs after the test above")
    assert mlflow.get_tracking_uri() == URI_BEFORE_FIRST_TEST[0]
    assert mlflow.tracking.fluent._active_experiment_id is None


def log_two_runs(directory, tmp_path):
    experiment_id = experiment("ch6 click model", directory)
    for name, lr, auc in [("small lr", 0.01, 0.71), ("large lr", 0.1, 0.74)]:
        with mlflow.start_run(run_name=name):
            mlflow.log_params({"lr": lr, "model": "logistic"})
            mlflow.log_metric("auc", auc - 0.1, step=0)
            mlflow.log_metric("auc", auc, step=1)
            notes = tmp_path / "notes.txt"
            notes.write_text(f"trained with lr={lr}")
            mlflow.log_artifact(str(notes))
    return experiment_id


def test_a_run_is_logged_to_the_local_store_and_read_back(store, tmp_path):
    experiment_id = log_two_runs(store, tmp_path)
    assert (store / "mlflow.db").is_file()
    assert mlflow.get_tracking_uri() == f"sqlite:///{store.resolve().as_posix()}/mlflow.db"
    table = runs_table("ch6 click model", metrics=["auc"], params=["lr", "model"])
    expected = pd.DataFrame({"run": ["small lr", "large lr"], "lr": ["0.01", "0.1"], "model": ["logistic"] * 2,
                             "auc": [0.71, 0.74]})
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    # The artifacts are files under the directory, one folder per run.
    notes = sorted((store / "artifacts").rglob("notes.txt"))
    assert [p.read_text() for p in notes] and {p.read_text() for p in notes} == {"trained with lr=0.01",
                                                                                  "trained with lr=0.1"}
    # Getting the experiment again finds the same one, with its runs.
    assert experiment("ch6 click model", store) == experiment_id
    assert len(runs_table("ch6 click model", "auc")) == 2


def test_tracking_prints_nothing(store, tmp_path, capfd):
    local_tracking(store)
    log_two_runs(store, tmp_path)
    runs_table("ch6 click model", "auc")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_runs_table_names_what_is_missing(store, tmp_path):
    log_two_runs(store, tmp_path)
    with pytest.raises(ValueError, match=r"no run in 'ch6 click model' logged \['metrics.loss'\]"):
        runs_table("ch6 click model", metrics=["loss"])
    with pytest.raises(ValueError, match="no experiment named 'nope'"):
        runs_table("nope", metrics="auc")
    experiment("empty", store)
    assert list(runs_table("empty", metrics="auc", params="lr").columns) == ["run", "lr", "auc"]
    with pytest.raises(TypeError, match="metrics must be a name"):
        runs_table("empty", metrics=[1])


def test_experiment_and_local_tracking_check_their_arguments(store):
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        experiment("  ", store)
    with pytest.raises(TypeError, match="directory must be a path"):
        local_tracking(3)


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame({"user": [1, 2, 3], "price": [9.5, 3.0, 4.25], "city": ["a", "b", "c"]})


def test_the_same_data_has_the_same_fingerprint(frame):
    fingerprint = dataset_fingerprint(frame)
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
    assert dataset_fingerprint(frame.copy()) == fingerprint
    # Stable across processes: hash_pandas_object uses a fixed key, not Python's salted hash.
    script = ("import pandas as pd; from dmls.models import dataset_fingerprint; "
              "print(dataset_fingerprint(pd.DataFrame({'user': [1, 2, 3], 'price': [9.5, 3.0, 4.25], "
              "'city': ['a', 'b', 'c']})))")
    out = subprocess.run([os.sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == fingerprint


MUTATIONS = {
    "cell": lambda df: df.assign(price=[9.5, 3.0, 4.26]),
    "text cell": lambda df: df.assign(city=["a", "b", "d"]),
    "column order": lambda df: df[["price", "user", "city"]],
    "column name": lambda df: df.rename(columns={"price": "cost"}),
    "dtype": lambda df: df.astype({"user": "float64"}),
    "row order": lambda df: df.iloc[[1, 0, 2]],
    "row order, index reset": lambda df: df.iloc[[1, 0, 2]].reset_index(drop=True),
    "index labels": lambda df: df.set_axis([10, 11, 12]),
    "dropped row": lambda df: df.iloc[:2],
    "extra column": lambda df: df.assign(extra=0),
}


@pytest.mark.parametrize("mutation", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_any_change_changes_the_fingerprint(frame, mutation):
    assert dataset_fingerprint(mutation(frame)) != dataset_fingerprint(frame)


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=20), st.data())
def test_changing_one_cell_changes_the_fingerprint(values, data):
    df = pd.DataFrame({"x": values, "y": np.arange(len(values)) * 0.5})
    row = data.draw(st.integers(0, len(values) - 1))
    changed = df.copy()
    changed.loc[row, "x"] = values[row] + data.draw(st.integers(1, 3))
    assert dataset_fingerprint(changed) != dataset_fingerprint(df)


def test_fingerprint_wants_a_data_frame():
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        dataset_fingerprint(np.zeros((2, 2)))


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True, timeout=30)


def test_code_version_is_the_commit_and_says_when_the_tree_is_dirty(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    assert code_version(repo) == "unknown"  # not a repository yet
    git(repo, "init", "-q")
    assert code_version(repo) == "unknown"  # no commit yet
    (repo / "train.py").write_text("lr = 0.1\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert code_version(repo) == head and len(head) == 40
    assert code_version(repo / "train.py") == head  # a file names its repository too
    (repo / "notes.txt").write_text("untracked files do not make the code dirty")
    assert code_version(repo) == head
    (repo / "train.py").write_text("lr = 0.2\n")
    assert code_version(repo) == head + "+dirty"


def test_code_version_without_git(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on the path
    assert code_version(tmp_path) == "unknown"
