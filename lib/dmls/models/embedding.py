"""A click model that learns its own features: embeddings of ids and of the slate position.

Introduced in chapter 5 ("Learned Features Versus Engineered Features", "Discrete and
Continuous Positional Embeddings"), where it is compared with engineered features; chapter 6
trains it among other model families.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import unique_labels

from dmls._validation import check_int, check_number
from dmls.features.transformers import WrongTypeError

from .neural import MAX_SEED, _check_hidden

#: The widest embedding allowed, and the largest slot ``fit`` will make a position embedding for.
MAX_EMBEDDING_DIM = 4_096
MAX_POSITION = 10_000


def _positive_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise WrongTypeError(f"{name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer >= {minimum}{f' and <= {maximum:,}' if maximum else ''}, "
                         f"got {value!r}")


def _names(name: str, value, allow_none: bool = False) -> list:
    if value is None and allow_none:
        return []
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list of column names (e.g. ['user_id']), got {type(value).__name__} "
                        f"{value!r}")
    return list(value)


class EmbeddingClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier over categorical ids with learned embeddings, plus optional dense features.

    Each id column (a user, an item) and the ``position`` column get an embedding table of
    ``embedding_dim`` numbers per value, learned with the rest of the network. The logit is

    ``bias + sum of dot products between the id embeddings + MLP([embeddings, position, dense])``

    — the dot product is matrix factorisation (how much this user likes this item), the MLP
    takes in the rest. Ids seen fewer than ``min_count`` times in training, and ids never seen,
    share one "unknown" embedding, which is therefore trained too.

    Parameters
    ----------
    id_columns : tuple of str
        Columns of ``X`` holding integer (or string) ids to embed.
    position_column : str or None
        A column of small non-negative integers (the slate position) to embed too; a learned
        discrete positional embedding.
    dense_columns : list of str or None
        Numeric columns (already scaled) fed to the MLP as they are: engineered features.
    embedding_dim, hidden, epochs, batch_size, lr, weight_decay, min_count, seed
        Model size and training settings; the same seed gives the same model. Checked by
        ``fit``: ``embedding_dim`` from 1 to 4,096, widths, ``epochs``, ``batch_size`` and
        ``min_count`` integers >= 1, ``lr`` > 0, ``weight_decay`` >= 0, ``seed`` in
        [0, 2**63 - 1].

    Positions must be whole numbers >= 0; ``fit`` makes one embedding per slot up to the largest
    it sees, which may be at most 10,000, and later positions beyond it share the last one.
    Dense columns must be numeric and finite.

    Introduced in chapter 5 ("Learned Features Versus Engineered Features").
    """

    def __init__(self, id_columns=("user_id", "item_id"), position_column: str | None = "position",
                 dense_columns=None, embedding_dim: int = 8, hidden=(32,), epochs: int = 5,
                 batch_size: int = 2048, lr: float = 5e-3, weight_decay: float = 3e-4, min_count: int = 2,
                 seed: int = 0):
        self.id_columns = id_columns
        self.position_column = position_column
        self.dense_columns = dense_columns
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.min_count = min_count
        self.seed = seed

    # ------------------------------------------------------------------ inputs
    def _columns(self) -> tuple[list[str], list[str]]:
        ids = _names("id_columns", self.id_columns)
        dense = _names("dense_columns", self.dense_columns, allow_none=True)
        if self.position_column is not None and not isinstance(self.position_column, str):
            raise TypeError(f"position_column must be a column name or None, got {type(self.position_column).__name__} "
                            f"{self.position_column!r}")
        if not ids and self.position_column is None and not dense:
            raise ValueError("EmbeddingClassifier needs id_columns, a position_column or dense_columns")
        return ids, dense

    def _check_frame(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"EmbeddingClassifier needs a DataFrame, got {type(X).__name__}")
        ids, dense = self._columns()
        wanted = ids + ([self.position_column] if self.position_column is not None else []) + dense
        missing = [c for c in wanted if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks columns {missing}")
        return X

    def _encode(self, X: pd.DataFrame):
        ids, dense = self._columns()
        codes = [self.vocabularies_[c].get_indexer(X[c].to_numpy()) + 1 for c in ids]  # -1 (unseen) -> 0
        codes = np.stack(codes, axis=1) if codes else np.zeros((len(X), 0), dtype=np.int64)
        if self.position_column is not None:
            position = X[self.position_column].to_numpy()
            if position.dtype == bool or (position.dtype == object and any(isinstance(v, (bool, np.bool_, str))
                                                                           for v in position)):
                raise ValueError(f"{self.position_column!r} must hold non-negative integers, not booleans or text")
            as_float = np.asarray(position, dtype=float) if not pd.isna(position).any() else np.array([np.nan])
            if not (np.isfinite(as_float).all() and (as_float >= 0).all() and (as_float == np.floor(as_float)).all()
                    and (as_float < 2.0 ** 63).all()):
                raise ValueError(f"{self.position_column!r} must hold non-negative integers (below 2**63)")
            position = np.minimum(as_float, self.max_position_).astype(np.int64)
        else:
            position = np.zeros(len(X), dtype=np.int64)
        for c in dense:
            if pd.api.types.is_bool_dtype(X[c].dtype) or not pd.api.types.is_numeric_dtype(X[c].dtype):
                raise TypeError(f"dense_columns must be numeric: column {c!r} has dtype {X[c].dtype}")
        values = X[dense].to_numpy(dtype=np.float32) if dense else np.zeros((len(X), 0), dtype=np.float32)
        if not np.isfinite(values).all():
            raise ValueError("dense_columns must hold finite numbers (impute and scale them first)")
        return codes.astype(np.int64), position, values

    # ------------------------------------------------------------------ training
    def fit(self, X, y):
        import torch

        X = self._check_frame(X)
        for name in ("embedding_dim", "epochs", "batch_size", "min_count"):
            _positive_int(name, getattr(self, name), maximum=MAX_EMBEDDING_DIM if name == "embedding_dim" else None)
        _check_hidden(self.hidden)
        check_number("lr", self.lr, minimum=0, strict_minimum=True)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_int("seed", self.seed, 0, MAX_SEED)
        if len(X) == 0:
            raise ValueError("X must have at least one row")
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have one label per row: {len(X)} rows, y has shape {y.shape}")
        if pd.isna(y).any():
            raise ValueError("y must not have missing labels")
        self.classes_ = unique_labels(y)
        if len(self.classes_) != 2:
            raise ValueError(f"EmbeddingClassifier is binary; y has {len(self.classes_)} classes")
        ids, dense = self._columns()
        self.vocabularies_ = {}
        for c in ids:
            counts = X[c].value_counts()
            self.vocabularies_[c] = pd.Index(np.sort(counts.index[counts >= self.min_count].to_numpy()))
        self.max_position_ = 2**62  # provisional: _encode checks the positions before their maximum is taken
        codes, position, values = self._encode(X)
        self.max_position_ = int(position.max()) if self.position_column is not None else 0
        if self.max_position_ > MAX_POSITION:
            raise ValueError(f"{self.position_column!r} must hold positions of at most {MAX_POSITION:,} when fitting "
                             f"(one embedding is learned per slot), got {self.max_position_:,}")
        target = (y == self.classes_[1]).astype(np.float32)

        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        self.module_ = _EmbeddingNet([len(self.vocabularies_[c]) + 1 for c in ids], self.max_position_ + 1,
                                     self.position_column is not None, values.shape[1], self.embedding_dim,
                                     tuple(self.hidden), float(target.mean()))
        from dmls.models.eager_optim import adam  # torch.optim.Adam without importing torch._dynamo

        optimiser = adam(self.module_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        tensors = [torch.from_numpy(np.array(a)) for a in (codes, position, values, target)]
        self.loss_curve_ = []
        self.module_.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(target), generator=generator)
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                cb, pb, vb, tb = (t[batch] for t in tensors)
                optimiser.zero_grad()
                loss = torch.nn.functional.binary_cross_entropy_with_logits(self.module_(cb, pb, vb), tb)
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
            self.loss_curve_.append(total / len(order))
        self.module_.eval()
        return self

    # ------------------------------------------------------------------ prediction
    def decision_function(self, X) -> np.ndarray:
        import torch

        if not hasattr(self, "module_"):
            raise RuntimeError("EmbeddingClassifier must be fitted before predicting")
        codes, position, values = self._encode(self._check_frame(X))
        with torch.no_grad():
            return self.module_(*(torch.from_numpy(np.array(a)) for a in (codes, position, values))
                                ).numpy().astype(float)

    def predict_proba(self, X) -> np.ndarray:
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.stack([1 - p, p], axis=1)

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)  # checks that the model is fitted
        return self.classes_[(scores > 0).astype(int)]

    def embeddings(self, column: str) -> pd.DataFrame:
        """The learned embedding of each value of an id column seen at least ``min_count`` times
        (the shared embedding of unknown and rare ids is left out), or of each position."""
        if not hasattr(self, "module_"):
            raise RuntimeError("EmbeddingClassifier must be fitted first")
        if not isinstance(column, str):
            raise TypeError(f"column must be a column name, got {type(column).__name__} {column!r}")
        if column == self.position_column:
            table = self.module_.position.weight.detach().numpy()
            return pd.DataFrame(table, index=pd.RangeIndex(len(table), name=column))
        if column not in self.vocabularies_:
            raise ValueError(f"no embedding for {column!r}; there are {list(self.vocabularies_)} "
                             f"and position {self.position_column!r}")
        table = self.module_.ids[list(self.vocabularies_).index(column)].weight.detach().numpy()
        return pd.DataFrame(table[1:], index=self.vocabularies_[column].rename(column))


def _EmbeddingNet(sizes, n_positions, use_position, n_dense, dim, hidden, base_rate):
    import torch
    import torch.nn as nn

    class EmbeddingNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.ids = nn.ModuleList(nn.Embedding(n, dim) for n in sizes)
            for table in self.ids:
                nn.init.normal_(table.weight, std=0.05)
            self.position = nn.Embedding(n_positions, dim)
            nn.init.normal_(self.position.weight, std=0.05)
            self.use_position = use_position
            layers, width = [], dim * len(sizes) + (dim if use_position else 0) + n_dense
            for h in hidden:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            layers.append(nn.Linear(width, 1))
            self.mlp = nn.Sequential(*layers)
            nn.init.constant_(self.mlp[-1].bias, float(np.log(base_rate / (1 - base_rate))))

        def forward(self, codes, position, dense):
            embedded = [table(codes[:, j]) for j, table in enumerate(self.ids)]
            parts = embedded + ([self.position(position)] if self.use_position else []) + [dense]
            logit = self.mlp(torch.cat(parts, dim=1)).squeeze(1)
            for a in range(len(embedded)):
                for b in range(a + 1, len(embedded)):
                    logit = logit + (embedded[a] * embedded[b]).sum(dim=1)
            return logit

    return EmbeddingNet()
