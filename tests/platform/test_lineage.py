"""Fingerprints: equal content gives equal fingerprints, any change gives a new one."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmls.platform import ModelVersion, code_fingerprint, dataset_fingerprint, params_fingerprint


def frame():
    return pd.DataFrame({"a": [1, 2, 3], "b": [0.5, np.nan, 2.0], "c": pd.Categorical(["x", "y", "x"])})


def train_a(data):
    return data.mean()


def train_b(data):
    return data.median()


def test_dataset_fingerprint_is_content_based():
    assert dataset_fingerprint(frame()) == dataset_fingerprint(frame())
    assert dataset_fingerprint(frame()) == dataset_fingerprint(frame().set_axis([7, 8, 9]))  # index ignored
    changed = frame()
    changed.loc[1, "a"] = 20
    assert dataset_fingerprint(changed) != dataset_fingerprint(frame())
    assert dataset_fingerprint(frame().iloc[::-1]) != dataset_fingerprint(frame())  # row order matters
    assert dataset_fingerprint(frame().astype({"a": "float64"})) != dataset_fingerprint(frame())  # dtype matters
    assert dataset_fingerprint(frame().rename(columns={"a": "z"})) != dataset_fingerprint(frame())


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30),
       i=st.integers(0, 29), delta=st.floats(0.5, 1e6))
def test_any_single_value_change_changes_the_fingerprint(values, i, delta):
    a = pd.DataFrame({"x": values})
    b = a.copy()
    b.iloc[i % len(values), 0] = values[i % len(values)] + delta
    if b.iloc[i % len(values), 0] != a.iloc[i % len(values), 0]:
        assert dataset_fingerprint(a) != dataset_fingerprint(b)


def test_code_and_params_fingerprints():
    assert code_fingerprint(train_a) == code_fingerprint(train_a)
    assert code_fingerprint(train_a) != code_fingerprint(train_b)
    assert params_fingerprint({"lr": 0.1, "trees": 100}) == params_fingerprint({"trees": 100, "lr": 0.1})
    assert params_fingerprint({"lr": 0.1}) != params_fingerprint({"lr": 0.2})


def test_model_version_names_what_differs():
    v = ModelVersion.of(train_a, frame(), {"k": 1})
    assert v == ModelVersion.of(train_a, frame(), {"k": 1}) and v.id == ModelVersion.of(train_a, frame(), {"k": 1}).id
    assert v.diff(ModelVersion.of(train_b, frame(), {"k": 1})) == ["code"]
    assert v.diff(ModelVersion.of(train_a, frame().head(2), {"k": 1})) == ["data"]
    assert v.diff(ModelVersion.of(train_a, frame(), {"k": 2})) == ["params"]
    assert len(v.id) == 12 and int(v.id, 16) >= 0


def test_lineage_rejects_bad_input():
    with pytest.raises(TypeError, match="needs a DataFrame"):
        dataset_fingerprint([1, 2, 3])
    with pytest.raises(ValueError, match="at least one"):
        code_fingerprint()
    with pytest.raises(TypeError, match="source code"):
        code_fingerprint(len)
    with pytest.raises(TypeError, match="needs a mapping"):
        params_fingerprint([("a", 1)])
    with pytest.raises(TypeError, match="JSON-serialisable"):
        params_fingerprint({"model": object()})
