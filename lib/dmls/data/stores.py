"""Where the marketplace keeps its data: a transactional database, documents, a graph, a warehouse.

Introduced in chapter 3 ("Data Models" and "Data Storage Engines and Processing"):

- :class:`MarketplaceStore` — the relational model in SQLite: normalised tables with keys and
  constraints, joins, and transactions that either happen whole or not at all (OLTP);
- :meth:`MarketplaceStore.user_documents` — the same data as one JSON document per user, built
  and queried with SQLite's JSON functions (the document model);
- :func:`interaction_graph` — users and items as a graph (networkx), for questions about paths;
- :func:`write_warehouse` and :func:`warehouse` — the logs as Parquet files queried by DuckDB
  (OLAP), the columnar engine for questions over many rows.

Every query takes its values as parameters; no name or value a caller passes becomes SQL text.
"""
from __future__ import annotations

import numbers
import sqlite3
from pathlib import Path

import duckdb
import networkx as nx
import numpy as np
import pandas as pd

from dmls._validation import check_int, check_number, check_timestamp
from dmls.world import CATEGORY_NAMES, Log, World

SCHEMA = """
CREATE TABLE IF NOT EXISTS sellers (
    seller_id INTEGER PRIMARY KEY,
    region    TEXT NOT NULL,
    joined_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    user_id   INTEGER PRIMARY KEY,
    region    TEXT NOT NULL,
    device    TEXT NOT NULL,
    age       REAL,
    signup_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS categories (
    category_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS items (
    item_id     INTEGER PRIMARY KEY,
    seller_id   INTEGER NOT NULL REFERENCES sellers (seller_id),
    category_id INTEGER NOT NULL REFERENCES categories (category_id),
    brand       TEXT NOT NULL,
    title       TEXT NOT NULL,
    price       REAL NOT NULL CHECK (price > 0),
    stock       INTEGER NOT NULL CHECK (stock >= 0),
    listed_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id   INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (user_id),
    item_id    INTEGER NOT NULL REFERENCES items (item_id),
    amount     REAL NOT NULL CHECK (amount > 0),
    ordered_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id);
CREATE INDEX IF NOT EXISTS orders_by_item ON orders (item_id);
CREATE INDEX IF NOT EXISTS items_by_category ON items (category_id);
"""


class StoreError(Exception):
    """An operation the store refused; nothing was changed.

    Introduced in chapter 3 ("Transactional and Analytical Processing").
    """


# What a read-only query may do: read tables, call functions, run SELECTs (recursive CTEs too).
_READ_ONLY_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_ACTION_NAMES = {getattr(sqlite3, "SQLITE_" + n): n for n in (
    "INSERT", "UPDATE", "DELETE", "PRAGMA", "ATTACH", "DETACH", "TRANSACTION", "SAVEPOINT", "ALTER_TABLE",
    "REINDEX", "ANALYZE", "CREATE_TABLE", "CREATE_INDEX", "CREATE_VIEW", "CREATE_TRIGGER", "CREATE_TEMP_TABLE",
    "CREATE_TEMP_INDEX", "CREATE_TEMP_VIEW", "CREATE_TEMP_TRIGGER", "CREATE_VTABLE", "DROP_TABLE", "DROP_INDEX",
    "DROP_VIEW", "DROP_TRIGGER", "DROP_TEMP_TABLE", "DROP_TEMP_INDEX", "DROP_TEMP_VIEW", "DROP_TEMP_TRIGGER",
    "DROP_VTABLE") if hasattr(sqlite3, "SQLITE_" + n)}


def _id(name: str, value) -> int:
    """An id: a non-negative integer SQLite can store (64-bit)."""
    return check_int(name, value, 0, 2**63 - 1)


def _iso(values: pd.Series) -> list[str]:
    return values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23).tolist()


class MarketplaceStore:
    """The marketplace's transactional database: sellers, users, categories, items and orders.

    Introduced in chapter 3 ("Relational Model" and "Transactional and Analytical Processing").
    """

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        # One connection, usable from another thread (a server's worker) as long as callers take
        # turns, as the catalogue service does with a lock.
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @classmethod
    def from_world(cls, world: World, log: Log | None = None, path: str | Path = ":memory:", seed: int = 0
                   ) -> "MarketplaceStore":
        """A store holding the world's entities, each item with some stock, and the log's purchases as orders."""
        store = cls(path)
        rng = np.random.default_rng(seed)
        items = world.items
        with store.transaction():
            store.db.executemany("INSERT INTO categories VALUES (?, ?)", list(enumerate(CATEGORY_NAMES)))
            s = world.sellers
            store.db.executemany("INSERT INTO sellers VALUES (?, ?, ?)",
                                 zip(s["seller_id"].tolist(), s["region"].astype(str).tolist(), _iso(s["joined_at"])))
            u = world.users
            store.db.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", zip(
                u["user_id"].tolist(), u["region"].astype(str).tolist(), u["device"].astype(str).tolist(),
                u["age"].astype(object).where(u["age"].notna(), None).tolist(), _iso(u["signup_at"])))
            store.db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", zip(
                items["item_id"].tolist(), items["seller_id"].tolist(), items["category"].cat.codes.tolist(),
                items["brand"].tolist(), items["title"].tolist(), items["price"].tolist(),
                rng.integers(1, 40, size=len(items)).tolist(), _iso(items["listed_at"])))
            if log is not None:
                p = log.purchases.drop_duplicates("purchase_id")
                store.db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", zip(
                    p["purchase_id"].tolist(), p["user_id"].tolist(), p["item_id"].tolist(), p["amount"].tolist(),
                    _iso(p["purchased_at"])))
        return store

    def transaction(self):
        """``with store.transaction():`` — everything inside commits together or not at all."""
        return _Transaction(self.db)

    def query(self, sql: str, params: tuple | dict = ()) -> pd.DataFrame:
        """Run one read-only query (values go in ``params``, as ``?`` or ``:name``).

        Read-only is enforced by SQLite itself: while the query is prepared an authorizer
        allows only reading tables and calling functions, so a write hidden anywhere (in a
        CTE, a second statement, a PRAGMA, an ATTACH) is refused before anything runs.

        Raises
        ------
        StoreError
            For anything but one statement that only reads, or SQL that SQLite rejects.
        """
        if not isinstance(sql, str):
            raise TypeError(f"sql must be a string, got {type(sql).__name__}")
        if not isinstance(params, (tuple, list, dict)):
            raise TypeError(f"params must be a tuple, list or dict, got {type(params).__name__}")
        refused: list[str] = []

        def authorize(action, arg1, arg2, db_name, trigger):
            if action in _READ_ONLY_ACTIONS:
                return sqlite3.SQLITE_OK
            refused.append(_ACTION_NAMES.get(action, str(action)) + (f" {arg1}" if arg1 else ""))
            return sqlite3.SQLITE_DENY

        self.db.set_authorizer(authorize)
        try:
            cursor = self.db.execute(sql, params)
            rows = cursor.fetchall()
        except sqlite3.ProgrammingError as exc:  # e.g. several statements at once
            raise StoreError(f"query() runs one read-only statement: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            if refused:
                raise StoreError(f"query() is read-only; refused: {', '.join(refused)}") from exc
            raise StoreError(f"query failed: {exc}") from exc
        finally:
            self.db.set_authorizer(None)
        if cursor.description is None:
            raise StoreError("query() runs statements that return rows (SELECT or WITH ... SELECT)")
        return pd.DataFrame(rows, columns=[c[0] for c in cursor.description])

    def count(self, table: str) -> int:
        """Rows in one of the store's tables (the name is checked against the schema, not pasted in)."""
        tables = {"sellers", "users", "categories", "items", "orders"}
        if not isinstance(table, str) or table not in tables:
            raise StoreError(f"unknown table {table!r}; tables: {sorted(tables)}")
        return self.db.execute({t: f"SELECT COUNT(*) FROM {t}" for t in tables}[table]).fetchone()[0]

    def place_order(self, user_id: int, item_id: int, at: str | pd.Timestamp) -> int:
        """Buy one unit: take it from stock and record the order, in one transaction.

        Raises :class:`StoreError` (and changes nothing) for an unknown user or item or an item
        out of stock.
        """
        user_id, item_id = _id("user_id", user_id), _id("item_id", item_id)
        at = check_timestamp("at", at).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
        with self.transaction():
            row = self.db.execute("SELECT price, stock FROM items WHERE item_id = ?", (int(item_id),)).fetchone()
            if row is None:
                raise StoreError(f"no item {item_id}")
            if self.db.execute("SELECT 1 FROM users WHERE user_id = ?", (int(user_id),)).fetchone() is None:
                raise StoreError(f"no user {user_id}")
            price, stock = row
            if stock < 1:
                raise StoreError(f"item {item_id} is out of stock")
            self.db.execute("UPDATE items SET stock = stock - 1 WHERE item_id = ?", (int(item_id),))
            cursor = self.db.execute("INSERT INTO orders (user_id, item_id, amount, ordered_at) VALUES (?, ?, ?, ?)",
                                     (int(user_id), int(item_id), price, at))
            return cursor.lastrowid

    def add_listing(self, seller_id: int, title: str, category: str, price: float, brand: str = "unbranded",
                    stock: int = 1, at: str | pd.Timestamp | None = None) -> int:
        """Insert a validated listing; returns its new item id.

        Raises
        ------
        TypeError, ValueError
            For an argument of the wrong type or out of range (named in the message).
        StoreError
            For an unknown category or seller; nothing is written.
        """
        seller_id = _id("seller_id", seller_id)
        for name, value in (("title", title), ("brand", brand)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
            if "\x00" in value:
                raise ValueError(f"{name} must not contain NUL characters")
        if not isinstance(category, str) or category not in CATEGORY_NAMES:
            raise StoreError(f"unknown category {category!r}; categories: {list(CATEGORY_NAMES)}")
        # Finite here; positive is the database's own CHECK constraint (chapter 3 shows it at work).
        price = check_number("price", price)
        stock = check_int("stock", stock, -(2**63), 2**63 - 1)
        at = pd.Timestamp.now("UTC").tz_localize(None) if at is None else check_timestamp("at", at)
        try:
            with self.transaction():
                cursor = self.db.execute(
                    "INSERT INTO items (seller_id, category_id, brand, title, price, stock, listed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (int(seller_id), CATEGORY_NAMES.index(category), brand, title, float(price), int(stock),
                     at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]))
                return cursor.lastrowid
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"listing rejected by the database: {exc}") from exc

    def orders_of(self, user_id: int) -> pd.DataFrame:
        """A user's orders with item titles and categories (a three-table join)."""
        user_id = _id("user_id", user_id)
        return self.query(
            "SELECT o.order_id, o.ordered_at, i.title, c.name AS category, o.amount "
            "FROM orders o JOIN items i ON i.item_id = o.item_id JOIN categories c ON c.category_id = i.category_id "
            "WHERE o.user_id = ? ORDER BY o.ordered_at", (int(user_id),))

    def item(self, item_id: int) -> dict | None:
        """One item as a dict, or None."""
        item_id = _id("item_id", item_id)
        frame = self.query(
            "SELECT i.item_id, i.seller_id, c.name AS category, i.brand, i.title, i.price, i.stock, i.listed_at "
            "FROM items i JOIN categories c ON c.category_id = i.category_id WHERE i.item_id = ?", (int(item_id),))
        return None if frame.empty else frame.iloc[0].to_dict()

    def user_documents(self, user_ids=None) -> pd.DataFrame:
        """Each user as one JSON document — profile and orders nested inside — built by SQLite's
        JSON functions from the normalised tables (the document model)."""
        sql = """
            SELECT u.user_id, json_object(
                'user_id', u.user_id, 'region', u.region, 'device', u.device, 'age', u.age,
                'orders', (SELECT json_group_array(json_object('item_id', o.item_id, 'title', i.title,
                                                                'category', c.name, 'amount', o.amount,
                                                                'at', o.ordered_at))
                           FROM orders o JOIN items i ON i.item_id = o.item_id
                           JOIN categories c ON c.category_id = i.category_id
                           WHERE o.user_id = u.user_id)) AS document
            FROM users u
        """
        if user_ids is None:
            return self.query(sql + " ORDER BY u.user_id")
        if isinstance(user_ids, (str, bytes, numbers.Number)):
            raise TypeError(f"user_ids must be a list of ids, got {type(user_ids).__name__}")
        ids = [_id("user_ids[]", i) for i in user_ids]
        if not ids:
            return self.query(sql + " WHERE 0")
        return self.query(sql + f" WHERE u.user_id IN ({', '.join('?' * len(ids))}) ORDER BY u.user_id", tuple(ids))


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def interaction_graph(interactions: pd.DataFrame) -> nx.Graph:
    """Users and items as nodes, an edge for each user-item pair that interacted (clicks, purchases).

    Introduced in chapter 3 ("NoSQL"): "people who clicked this also clicked" is a two-step
    walk in this graph.
    """
    graph = nx.Graph()
    pairs = interactions[["user_id", "item_id"]].drop_duplicates()
    graph.add_nodes_from((f"u{u}" for u in pairs["user_id"].unique()), kind="user")
    graph.add_nodes_from((f"i{i}" for i in pairs["item_id"].unique()), kind="item")
    graph.add_edges_from(zip("u" + pairs["user_id"].astype(str), "i" + pairs["item_id"].astype(str)))
    return graph


def also_bought(graph: nx.Graph, item_id: int, top: int = 5) -> pd.Series:
    """Items linked to the users linked to ``item_id``, with how many of those users each has.

    Introduced in chapter 3 ("NoSQL").
    """
    node = f"i{item_id}"
    if node not in graph:
        return pd.Series(dtype="int64", name="shared_users")
    counts: dict[int, int] = {}
    for user in graph.neighbors(node):
        for other in graph.neighbors(user):
            if other != node:
                counts[int(other[1:])] = counts.get(int(other[1:]), 0) + 1
    series = pd.Series(counts, name="shared_users", dtype="int64").rename_axis("item_id")
    return series.sort_values(ascending=False, kind="stable").head(top)


TABLES = ("sessions", "impressions", "clicks", "purchases", "returns", "users", "items", "sellers")


def write_warehouse(log: Log, folder: str | Path) -> dict[str, Path]:
    """Write every table of a log as a Parquet file (the analytical store's storage).

    Introduced in chapter 3 ("Transactional and Analytical Processing").
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        log.tables[name].to_parquet(path, index=False)
        paths[name] = path
    return paths


def warehouse(folder: str | Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per Parquet table in ``folder``.

    Introduced in chapter 3 ("Transactional and Analytical Processing").
    """
    folder = Path(folder)
    con = duckdb.connect()
    found = [name for name in TABLES if (folder / f"{name}.parquet").exists()]
    if not found:
        raise FileNotFoundError(f"no warehouse tables in {folder}; write them with write_warehouse()")
    for name in found:
        # The view names come from TABLES, never from the caller; the path is a parameter-free literal
        # of a file we checked exists, quoted by DuckDB's relational API.
        con.register(name, con.read_parquet(str(folder / f"{name}.parquet")))
    return con
