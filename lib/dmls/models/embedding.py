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


def _positive_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


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
        Model size and training settings; the same seed gives the same model.

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
        ids = list(self.id_columns)
        dense = list(self.dense_columns) if self.dense_columns is not None else []
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
            as_float = np.asarray(position, dtype=float) if not pd.isna(position).any() else np.array([np.nan])
            if not (np.isfinite(as_float).all() and (as_float >= 0).all() and (as_float == np.floor(as_float)).all()):
                raise ValueError(f"{self.position_column!r} must hold non-negative integers")
            position = np.minimum(np.asarray(position, dtype=np.int64), self.max_position_)
        else:
            position = np.zeros(len(X), dtype=np.int64)
        values = X[dense].to_numpy(dtype=np.float32) if dense else np.zeros((len(X), 0), dtype=np.float32)
        if not np.isfinite(values).all():
            raise ValueError("dense_columns must hold finite numbers (impute and scale them first)")
        return codes.astype(np.int64), position, values

    # ------------------------------------------------------------------ training
    def fit(self, X, y):
        import torch

        X = self._check_frame(X)
        for name in ("embedding_dim", "epochs", "batch_size", "min_count"):
            _positive_int(name, getattr(self, name))
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have one label per row: {len(X)} rows, y has shape {y.shape}")
        self.classes_ = unique_labels(y)
        if len(self.classes_) != 2:
            raise ValueError(f"EmbeddingClassifier is binary; y has {len(self.classes_)} classes")
        ids, dense = self._columns()
        self.vocabularies_ = {}
        for c in ids:
            counts = X[c].value_counts()
            self.vocabularies_[c] = pd.Index(np.sort(counts.index[counts >= self.min_count].to_numpy()))
        self.max_position_ = int(X[self.position_column].max()) if self.position_column is not None else 0
        codes, position, values = self._encode(X)
        target = (y == self.classes_[1]).astype(np.float32)

        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        self.module_ = _EmbeddingNet([len(self.vocabularies_[c]) + 1 for c in ids], self.max_position_ + 1,
                                     self.position_column is not None, values.shape[1], self.embedding_dim,
                                     tuple(self.hidden), float(target.mean()))
        optimiser = torch.optim.Adam(self.module_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
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
