"""A new local MLflow store is written from a template of MLflow's migrated schema, not migrated."""
import os
import sqlite3

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
mlflow = pytest.importorskip("mlflow")

from dmls.models import mlflow_template, tracking  # noqa: E402


@pytest.fixture
def store(tmp_path):
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    yield tmp_path / "tracking"
    if mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(saved)
    mlflow.tracking.fluent._active_experiment_id = None


def dump(path):
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump()) + "\n"
    finally:
        connection.close()


def test_the_template_is_made_by_the_installed_mlflow():
    assert mlflow_template.MLFLOW_VERSION == mlflow.__version__, (
        "MLflow was upgraded: regenerate the template with `python -m dmls.models.mlflow_template`")


def signature(sql, tmp_path, name):
    """What a database is, whatever order MLflow's migrations happened to write constraints in
    (its batch migrations rebuild tables with their CHECK constraints in set order): each object's
    type and table, each table's columns in order, its foreign keys, and the lines of its SQL as a
    multiset; and every table's rows."""
    path = tmp_path / f"{name}.db"
    connection = sqlite3.connect(path)
    try:
        connection.executescript(sql)
        objects = {}
        for kind, object_name, table, text in connection.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"):
            lines = sorted(line.strip().rstrip(",").strip() for line in (text or "").splitlines())
            columns = foreign = rows = None
            if kind == "table":
                columns = connection.execute(f'PRAGMA table_info("{object_name}")').fetchall()
                foreign = sorted(connection.execute(f'PRAGMA foreign_key_list("{object_name}")').fetchall())
                rows = sorted(connection.execute(f'SELECT * FROM "{object_name}"').fetchall(), key=repr)
            objects[object_name] = (kind, table, columns, foreign, lines, rows)
        return objects
    finally:
        connection.close()


def test_the_template_builds_the_database_mlflows_migrations_build(tmp_path):
    migrated = mlflow_template.migrated_schema_sql()
    assert "CREATE TABLE \"experiments\"" in migrated and "alembic_version" in migrated
    ours, theirs = signature(mlflow_template.SQL, tmp_path, "ours"), signature(migrated, tmp_path, "theirs")
    assert len(theirs) > 100 and theirs["alembic_version"][-1]  # tables, indexes, a trigger; the head
    assert ours.keys() == theirs.keys()
    for name in theirs:
        assert ours[name] == theirs[name], name


def test_the_signature_sees_a_changed_schema(tmp_path):
    changed = mlflow_template.SQL.replace("CONSTRAINT experiment_pk PRIMARY KEY (experiment_id)",
                                          "CONSTRAINT experiment_pk PRIMARY KEY (name)")
    assert changed != mlflow_template.SQL
    assert signature(changed, tmp_path, "a") != signature(mlflow_template.SQL, tmp_path, "b")


def test_local_tracking_writes_a_new_store_from_the_template_and_mlflow_accepts_it(store):
    local_tracking = tracking.local_tracking(store)
    db = store / "mlflow.db"
    assert local_tracking == f"sqlite:///{db.as_posix()}"
    assert dump(db) == mlflow_template.SQL  # written before MLflow opened it
    assert not list(store.glob("*.draft"))
    tracking.experiment("from the template", store)
    with mlflow.start_run(run_name="one"):
        mlflow.log_param("lr", 0.1)
        mlflow.log_metric("loss", 0.5, step=0)
        mlflow.log_metric("loss", 0.4, step=1)
    table = tracking.runs_table("from the template", metrics="loss", params="lr")
    assert table.to_dict("records") == [{"run": "one", "lr": "0.1", "loss": 0.4}]
    names = [e.name for e in mlflow.search_experiments()]
    assert sorted(names) == ["Default", "from the template"]


def test_an_existing_store_is_left_as_it_is(store):
    tracking.experiment("kept", store)
    with mlflow.start_run(run_name="old"):
        mlflow.log_metric("loss", 1.0)
    before = dump(store / "mlflow.db")
    assert not tracking._new_store_from_template(store / "mlflow.db", mlflow.__version__)
    tracking.local_tracking(store)
    assert dump(store / "mlflow.db") == before
    assert tracking.runs_table("kept", metrics="loss")["run"].tolist() == ["old"]


def test_another_mlflow_version_makes_its_own_store(tmp_path):
    db = tmp_path / "mlflow.db"
    assert not tracking._new_store_from_template(db, "0.0.1")
    assert not db.exists() and not list(tmp_path.iterdir())
    assert tracking._new_store_from_template(db, mlflow_template.MLFLOW_VERSION)
    assert dump(db) == mlflow_template.SQL
