"""Experiment tracking and versioning: MLflow with a local store, and fingerprints of data and code.

Introduced in chapter 6 ("Experiment Tracking and Versioning"). MLflow does the tracking; these
helpers point it at a SQLite file and an artifact folder in a directory of your choosing (no server
to run), keep it quiet in notebooks, and name the versions of the two other things a run depends on:
the data (:func:`dataset_fingerprint`) and the code (:func:`code_version`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import subprocess
import warnings
from pathlib import Path

import pandas as pd


_configured = False


def _mlflow():
    """Import MLflow with usage telemetry off (unless the environment already says otherwise)."""
    global _configured
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    if not _configured:
        from mlflow.telemetry import set_telemetry_client

        set_telemetry_client()  # drops a client made if mlflow was imported before the variable was set
        for name in ("mlflow", "alembic"):
            # MLflow logs at INFO to stderr when it creates or migrates the database.
            logging.getLogger(name).setLevel(logging.WARNING)
        _configured = True
    # MLflow 3.17's own SQLAlchemy queries use a deprecated loader; nothing a reader can act on.
    warnings.filterwarnings("ignore", message="The ``noload`` loader strategy is deprecated",
                            category=DeprecationWarning)
    return mlflow


def _directory(directory, name: str = "directory") -> Path:
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path, got {type(directory).__name__}")
    if not str(os.fspath(directory)).strip():
        raise ValueError(f"{name} must name a folder, got an empty string (use '.' for the current one)")
    return Path(directory).expanduser().resolve()


def _new_store_from_template(db: Path, mlflow_version: str) -> bool:
    """Create the empty store ``db`` from :mod:`dmls.models.mlflow_template` if it does not exist
    and the template was made by this MLflow version; True if it did. Otherwise MLflow creates
    (and migrates) the store itself when it first opens it."""
    from dmls.models import mlflow_template

    if db.exists() or mlflow_version != mlflow_template.MLFLOW_VERSION:
        return False
    draft = db.with_name(f"{db.name}.{os.getpid()}.draft")
    try:
        connection = sqlite3.connect(draft)
        try:
            connection.executescript(mlflow_template.SQL)
        finally:
            connection.close()
        os.link(draft, db)  # fails if another process made the store meanwhile: never a half-made store
    except FileExistsError:
        return False
    finally:
        draft.unlink(missing_ok=True)
    return True


def local_tracking(directory) -> str:
    """Point MLflow at a local store in ``directory``: runs in ``directory/mlflow.db`` (SQLite),
    artifacts under ``directory/artifacts`` when experiments are made with :func:`experiment`.

    Creates the directory, and a new store from :mod:`dmls.models.mlflow_template` (the schema
    MLflow's migrations build, without running them; with another MLflow version than the
    template's, MLflow migrates as usual); turns off MLflow's usage telemetry and the INFO
    messages it prints when it creates the database, so a notebook cell stays silent. The tracking URI is global state
    in MLflow: every later ``mlflow`` call in this process uses it.

    Parameters
    ----------
    directory : str or path-like

    Returns
    -------
    str
        The tracking URI, ``sqlite:///<directory>/mlflow.db``.

    Introduced in chapter 6 ("Experiment Tracking and Versioning": experiment tracking).
    """
    path = _directory(directory)
    (path / "artifacts").mkdir(parents=True, exist_ok=True)
    mlflow = _mlflow()
    _new_store_from_template(path / "mlflow.db", mlflow.__version__)
    uri = f"sqlite:///{path.as_posix()}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    return uri


def experiment(name: str, directory) -> str:
    """Get or create the experiment ``name`` in the local store in ``directory`` and make it the
    active one; its artifacts go under ``directory/artifacts``.

    Calls :func:`local_tracking` first, so MLflow points at ``directory``. An experiment that was
    deleted is restored.

    Parameters
    ----------
    name : str
    directory : str or path-like

    Returns
    -------
    str
        The experiment id.

    Introduced in chapter 6 ("Experiment Tracking and Versioning": experiment tracking).
    """
    _check_name("name", name)
    local_tracking(directory)
    mlflow = _mlflow()
    found = mlflow.get_experiment_by_name(name)
    if found is None:
        folder = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "experiment"
        location = (_directory(directory) / "artifacts" / folder).as_uri()
        experiment_id = mlflow.create_experiment(name, artifact_location=location)
    else:
        experiment_id = found.experiment_id
        if found.lifecycle_stage == "deleted":
            mlflow.MlflowClient().restore_experiment(experiment_id)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def dataset_fingerprint(df: pd.DataFrame) -> str:
    """A content hash of a data frame, to record which data a run was trained on.

    SHA-256 over the column names, the dtypes and :func:`pandas.util.hash_pandas_object` of the
    rows (index included); the first 16 hex digits. The same data gives the same fingerprint in
    any process; a changed cell, index label, column name, column order, dtype or row order gives
    a different one.

    Introduced in chapter 6 ("Experiment Tracking and Versioning": versioning).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    schema = [[repr(column), str(dtype)] for column, dtype in df.dtypes.items()] + [["index", str(df.index.dtype)]]
    digest = hashlib.sha256(json.dumps(schema).encode())
    try:
        hashed = pd.util.hash_pandas_object(df, index=True)
    except TypeError as error:
        raise TypeError(f"df must hold hashable values (numbers, strings, times) to be fingerprinted: "
                        f"{error}") from None
    digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()[:16]


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10,
                          check=True, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}).stdout.strip()


def code_version(path=".") -> str:
    """The git commit of the repository containing ``path``, with ``"+dirty"`` appended when
    tracked files have uncommitted changes (untracked files do not count, as in
    ``git describe --dirty``); ``"unknown"`` outside a repository, before the first commit, or
    without git.

    Introduced in chapter 6 ("Experiment Tracking and Versioning": versioning).
    """
    path = _directory(path, "path")
    folder = path if path.is_dir() else path.parent
    try:
        commit = _git(folder, "rev-parse", "HEAD")
        changes = _git(folder, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if changes else "")


def _check_name(argument: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a non-empty string, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{argument} must be a non-empty string, got {value!r}")
    return value


def _names(argument: str, value) -> list[str]:
    if not isinstance(value, str) and not hasattr(value, "__iter__"):
        raise TypeError(f"{argument} must be a name or a sequence of names, got {value!r}")
    names = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"{argument} must be a name or a sequence of names, got {value!r}")
    return names


def runs_table(experiment_name: str, metrics, params=()) -> pd.DataFrame:
    """The runs of one experiment, oldest first: a ``run`` column (the run name), then the
    requested params and metrics under their own names.

    Params come back as the strings MLflow stores; metrics as their last logged value. A run
    that did not log one of them has a missing value there.

    Parameters
    ----------
    experiment_name : str
    metrics, params : str or sequence of str

    Introduced in chapter 6 ("Experiment Tracking and Versioning": experiment tracking).
    """
    _check_name("experiment_name", experiment_name)
    metrics, params = _names("metrics", metrics), _names("params", params)
    mlflow = _mlflow()
    found = mlflow.get_experiment_by_name(experiment_name)
    if found is None:
        raise ValueError(f"no experiment named {experiment_name!r} in {mlflow.get_tracking_uri()}")
    runs = mlflow.search_runs(experiment_ids=[found.experiment_id], output_format="pandas")
    wanted = {"tags.mlflow.runName": "run", **{f"params.{p}": p for p in params},
              **{f"metrics.{m}": m for m in metrics}}
    if runs.empty:
        return pd.DataFrame(columns=list(wanted.values()))
    missing = [column for column in wanted if column not in runs.columns]
    if missing:
        logged = sorted(c for c in runs.columns if c.startswith(("params.", "metrics.")))
        raise ValueError(f"no run in {experiment_name!r} logged {missing}; logged: {logged}")
    runs = runs.sort_values(["start_time", "end_time"], kind="stable")
    return runs[list(wanted)].rename(columns=wanted).reset_index(drop=True)
