"""The history a model's features read is part of its version, and versions without one keep their ids."""
import pandas as pd
import pytest

from dmls.platform import ModelVersion, dataset_fingerprint
from dmls.platform.lineage import _digest


def train(rows):
    return rows.mean()


def rows():
    return pd.DataFrame({"user_id": [1, 2, 3], "clicked": [0, 1, 0]})


def past(n=4):
    return pd.DataFrame({"user_id": list(range(n)), "clicked": [i % 2 for i in range(n)]})


def test_a_version_without_history_keeps_the_id_it_had():
    v = ModelVersion.of(train, rows(), {"k": 1})
    assert v.history == ""
    assert v.id == _digest(v.code.encode(), v.data.encode(), v.params.encode())
    assert ModelVersion(v.code, v.data, v.params) == v


def test_history_is_fingerprinted_and_named_by_diff():
    a = ModelVersion.of(train, rows(), {"k": 1}, history=past(4))
    assert a.history == dataset_fingerprint(past(4))
    assert a == ModelVersion.of(train, rows(), {"k": 1}, history=past(4))
    b = ModelVersion.of(train, rows(), {"k": 1}, history=past(5))
    assert a.diff(b) == ["history"] and a.id != b.id
    assert a.diff(ModelVersion.of(train, rows(), {"k": 1})) == ["history"]
    assert a.id != ModelVersion.of(train, rows(), {"k": 1}).id


def test_history_must_be_a_table_or_a_fingerprint():
    with pytest.raises(TypeError, match="DataFrame"):
        ModelVersion.of(train, rows(), {"k": 1}, history=[1, 2])
    with pytest.raises(TypeError, match="history"):
        ModelVersion("a", "b", "c", 3)
