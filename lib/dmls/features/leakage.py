"""Checks for data leakage: ways the evaluation data, or the future, gets into training.

Introduced in chapter 5 ("Data Leakage", "Detecting Data Leakage"). Each check returns a
:class:`Finding`; :func:`leakage_report` runs the ones that apply to a train/test split.
None of them proves there is no leak: they find the common ones cheaply.
"""
from __future__ import annotations

import numbers
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import TargetEncoder


@dataclass(frozen=True)
class Finding:
    """The result of one leakage check: whether it passed, the number it measured, and why.

    Introduced in chapter 5 ("Detecting Data Leakage").
    """

    check: str
    passed: bool
    value: float
    detail: str


def _frame(data, name: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame, got {type(data).__name__}")
    return data


def _column(frame: pd.DataFrame, column: str, name: str, param: str = "column") -> pd.Series:
    if not isinstance(column, Hashable):
        raise TypeError(f"{param} must be one column name such as 'user_id', got {type(column).__name__} {column!r}")
    if column not in frame.columns:
        raise ValueError(f"{name} has no column {column!r}; it has {list(frame.columns)}")
    return frame[column]


def _times(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    """``frame[column]``, which must have no missing times: a row without a time belongs to neither
    side of a time split."""
    times = _column(frame, column, name, "time_column")
    missing = times.isna()
    if missing.any():
        raise ValueError(f"{name}[{column!r}] has {int(missing.sum())} missing times; drop or fill them first")
    return times


def _real(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def time_split(frame: pd.DataFrame, time_column: str, test_size: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` by time: the latest ``test_size`` of rows are the test set. Rows with the
    same time stay on the same side, so the split passes :func:`check_time_split`.

    ``test_size`` is a number strictly between 0 and 1; the time column may hold any ordered
    values (datetimes, numbers) but none may be missing.

    Introduced in chapter 5 ("Splitting time-correlated data randomly instead of by time").
    """
    frame = _frame(frame, "frame")
    times = _times(frame, time_column, "frame")
    if not 0 < _real("test_size", test_size) < 1:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size!r}")
    if len(frame) < 2:
        raise ValueError("time_split needs at least two rows")
    n_test = int(np.ceil(round(len(frame) * test_size, 9)))  # as scikit-learn's train_test_split counts
    cut = np.sort(times.to_numpy())[len(frame) - n_test]
    test = (times >= cut).to_numpy()
    if test.all() or not test.any():
        raise ValueError(f"all rows share the time {cut}: they cannot be split by time")
    return frame[~test], frame[test]


def check_time_split(train: pd.DataFrame, test: pd.DataFrame, time_column: str) -> Finding:
    """Does every training row come before every test row? ``value`` is the share of test rows
    that are older than the newest training row (0 for a proper time split).

    Introduced in chapter 5 ("Splitting time-correlated data randomly instead of by time").
    """
    train_times = _times(_frame(train, "train"), time_column, "train")
    test_times = _times(_frame(test, "test"), time_column, "test")
    if len(train_times) == 0 or len(test_times) == 0:
        raise ValueError("train and test must both have rows")
    newest = train_times.max()
    earlier = float((test_times < newest).mean())
    detail = (f"all test rows are at or after the newest training row ({newest})" if earlier == 0 else
              f"{earlier:.1%} of test rows are older than the newest training row ({newest}): "
              "the model trains on the future of what it is tested on")
    return Finding("time order", earlier == 0, earlier, detail)


def cross_split_duplicates(train: pd.DataFrame, test: pd.DataFrame, columns=None) -> Finding:
    """Test rows that also appear in training (equal on ``columns``, by default all columns the
    two share). ``value`` is the share of test rows with a copy in training.

    Introduced in chapter 5 ("Data duplication prior to splitting").
    """
    train, test = _frame(train, "train"), _frame(test, "test")
    if columns is None:
        columns = [c for c in test.columns if c in train.columns]
    elif isinstance(columns, (str, bytes)) or not hasattr(columns, "__iter__"):
        raise TypeError(f"columns must be a list of column names (e.g. ['user_id']), got {type(columns).__name__} "
                        f"{columns!r}")
    columns = list(columns)
    for c in columns:
        _column(train, c, "train"), _column(test, c, "test")
    if not columns or len(test) == 0:
        raise ValueError("need at least one shared column and one test row to compare")
    seen = pd.MultiIndex.from_frame(train[columns].drop_duplicates().astype(object))
    copies = pd.MultiIndex.from_frame(test[columns].astype(object)).isin(seen)
    share = float(copies.mean())
    detail = (f"no test row also appears in training (compared on {len(columns)} columns)" if share == 0 else
              f"{copies.sum():,} test rows ({share:.2%}) also appear in training")
    return Finding("duplicates across splits", share == 0, share, detail)


def group_overlap(train: pd.DataFrame, test: pd.DataFrame, group: str, max_share: float = 0.0) -> Finding:
    """Share of test rows whose ``group`` (a user, a session, a patient) also occurs in
    training. Passed if at most ``max_share``: whether overlap is a leak depends on whether the
    model must generalize to new groups (a new user) or only to new rows of known ones.
    ``max_share`` is a number in [0, 1].

    Introduced in chapter 5 ("Group leakage").
    """
    max_share = _real("max_share", max_share)
    if not 0 <= max_share <= 1:
        raise ValueError(f"max_share must be a share in [0, 1], got {max_share!r}")
    train_groups = _column(_frame(train, "train"), group, "train", "group")
    test_groups = _column(_frame(test, "test"), group, "test", "group")
    if len(test_groups) == 0:
        raise ValueError("test must have rows")
    share = float(test_groups.isin(set(train_groups.unique())).mean())
    detail = f"{share:.1%} of test rows belong to a {group} that also occurs in training"
    return Finding(f"{group} overlap", share <= max_share, share, detail)


def single_feature_power(X: pd.DataFrame, y, threshold: float = 0.8, random_state: int = 0) -> pd.DataFrame:
    """How well each feature alone predicts a binary ``y``: ROC AUC of the feature's values
    (of an out-of-fold target encoding, for categorical and text columns), folded so that 0.5
    is useless and 1 perfect. Features at or above ``threshold`` are flagged as too good to be
    true: a single feature that nearly determines the label is more often a leak than a find.

    Returns one row per feature, most predictive first: ``auc``, ``missing`` (share), ``suspicious``.
    ``threshold`` is a number in (0.5, 1], ``random_state`` (the seed of the target encoding's
    folds) an integer in [0, 2**32 - 1]; numeric features must not be infinite.

    Introduced in chapter 5 ("Detecting Data Leakage").
    """
    X = _frame(X, "X")
    if X.shape[1] == 0:
        raise ValueError("X must have at least one feature column")
    threshold = _real("threshold", threshold)
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(f"random_state must be an integer, got {type(random_state).__name__} {random_state!r}")
    if not 0 <= random_state <= 2**32 - 1:
        raise ValueError(f"random_state must be in [0, 2**32 - 1], got {random_state!r}")
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y must have one label per row of X ({len(X)}), got shape {y.shape}")
    labels = np.unique(y)
    if len(labels) != 2:
        raise ValueError(f"y must be binary, it has {len(labels)} distinct values")
    if not 0.5 < threshold <= 1:
        raise ValueError(f"threshold must be in (0.5, 1], got {threshold!r}")
    target = (y == labels[1]).astype(int)
    rows = []
    for name in X.columns:
        column = X[name]
        missing = float(column.isna().mean())
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            if np.isinf(values).any():
                raise ValueError(f"X[{name!r}] has infinite values; a feature's power cannot be measured on them")
            values = np.where(np.isnan(values), np.nanmedian(values) if missing < 1 else 0.0, values)
        else:
            text = column.astype(object).where(column.notna(), "<missing>").astype(str).to_numpy()[:, None]
            folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=random_state)
            encoder = TargetEncoder(target_type="binary", cv=folds)
            values = encoder.fit_transform(text, target)[:, 0]
        auc = roc_auc_score(target, values) if np.ptp(values) > 0 else 0.5
        rows.append({"feature": name, "auc": max(auc, 1 - auc), "missing": missing})
    table = pd.DataFrame(rows).set_index("feature").sort_values("auc", ascending=False)
    table["suspicious"] = table["auc"] >= threshold
    return table


def leakage_report(train: pd.DataFrame, test: pd.DataFrame, *, time_column: str | None = None,
                   group: str | None = None, duplicate_columns=None) -> pd.DataFrame:
    """Run the split checks that apply: time order (if ``time_column``), duplicates across the
    split (on ``duplicate_columns``, default all shared columns) and group overlap (if
    ``group``). One row per check.

    Introduced in chapter 5 ("Detecting Data Leakage").
    """
    findings = []
    if time_column is not None:
        findings.append(check_time_split(train, test, time_column))
    findings.append(cross_split_duplicates(train, test, duplicate_columns))
    if group is not None:
        findings.append(group_overlap(train, test, group))
    return pd.DataFrame([f.__dict__ for f in findings]).set_index("check")
