"""The history a model reads at prediction time is versioned apart from the one it was trained with."""
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


def test_without_serving_history_ids_are_unchanged():
    v = ModelVersion.of(train, rows(), {"k": 1}, history=past(4))
    assert v.serving_history == ""
    assert v.id == _digest(v.code.encode(), v.data.encode(), v.params.encode(),
                           b"history:" + v.history.encode())
    assert ModelVersion(v.code, v.data, v.params, v.history) == v
    bare = ModelVersion.of(train, rows(), {"k": 1})
    assert bare.id == _digest(bare.code.encode(), bare.data.encode(), bare.params.encode())


def test_serving_history_is_fingerprinted_apart_and_named_by_diff():
    trained = past(4)
    served_old = ModelVersion.of(train, rows(), {"k": 1}, history=trained, serving_history=past(6))
    served_new = ModelVersion.of(train, rows(), {"k": 1}, history=trained, serving_history=past(8))
    assert served_old.history == dataset_fingerprint(trained)
    assert served_old.serving_history == dataset_fingerprint(past(6))
    assert served_old.diff(served_new) == ["serving_history"] and served_old.id != served_new.id
    retrained = ModelVersion.of(train, rows(), {"k": 1}, history=past(5), serving_history=past(6))
    assert served_old.diff(retrained) == ["history"]
    assert served_old == ModelVersion.of(train, rows(), {"k": 1}, history=trained, serving_history=past(6))
    # the same table for training and serving is still two parts: swapping them is another version
    swapped = ModelVersion.of(train, rows(), {"k": 1}, history=past(6), serving_history=trained)
    assert swapped.diff(served_old) == ["history", "serving_history"]


def test_serving_history_must_be_a_table_or_a_fingerprint():
    with pytest.raises(TypeError, match="DataFrame"):
        ModelVersion.of(train, rows(), {"k": 1}, history=past(), serving_history=[1, 2])
    with pytest.raises(TypeError, match="serving_history"):
        ModelVersion("a", "b", "c", "d", 3)
