"""The relational store, its documents, the purchase graph and the warehouse."""
import json

import pytest

from dmls.data.stores import MarketplaceStore, StoreError, also_bought, interaction_graph, warehouse, write_warehouse
from dmls.world import World


@pytest.fixture(scope="module")
def world_and_log():
    world = World(seed=2, n_users=1_500, n_items=400, n_sellers=50)
    return world, world.run(days=10)


@pytest.fixture
def store(world_and_log):
    world, log = world_and_log
    with MarketplaceStore.from_world(world, log) as s:
        yield s


def test_store_holds_the_world(store, world_and_log):
    world, log = world_and_log
    assert store.count("users") == len(world.users) and store.count("items") == len(world.items)
    assert store.count("orders") == log.purchases["purchase_id"].nunique()
    joined = store.query("SELECT c.name, COUNT(*) AS n FROM items i JOIN categories c USING (category_id) "
                         "GROUP BY c.name ORDER BY c.name")
    expected = world.items["category"].astype(str).value_counts().sort_index()
    assert joined.set_index("name")["n"].to_dict() == expected.to_dict()


def test_orders_and_items_are_joined_per_user(store, world_and_log):
    _, log = world_and_log
    buyer = int(log.purchases["user_id"].value_counts().index[0])
    orders = store.orders_of(buyer)
    assert len(orders) == (log.purchases.drop_duplicates("purchase_id")["user_id"] == buyer).sum()
    assert set(orders.columns) == {"order_id", "ordered_at", "title", "category", "amount"}


def test_an_order_is_all_or_nothing(store):
    item = store.query("SELECT item_id, stock FROM items ORDER BY item_id LIMIT 1").iloc[0]
    before = store.count("orders")
    order_id = store.place_order(user_id=0, item_id=int(item.item_id), at="2026-04-01")
    assert store.count("orders") == before + 1 and store.item(int(item.item_id))["stock"] == item.stock - 1
    assert store.query("SELECT user_id FROM orders WHERE order_id = ?", (order_id,)).iloc[0, 0] == 0
    # Empty the stock, then the next order fails and changes nothing.
    store.db.execute("UPDATE items SET stock = 0 WHERE item_id = ?", (int(item.item_id),))
    with pytest.raises(StoreError, match="out of stock"):
        store.place_order(user_id=0, item_id=int(item.item_id), at="2026-04-01")
    with pytest.raises(StoreError, match="no user"):
        store.place_order(user_id=10**9, item_id=int(item.item_id), at="2026-04-01")
    with pytest.raises(StoreError, match="no item"):
        store.place_order(user_id=0, item_id=10**9, at="2026-04-01")
    assert store.count("orders") == before + 1


def test_a_failure_inside_a_transaction_rolls_everything_back(store):
    before = store.count("orders")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.db.execute("INSERT INTO orders (user_id, item_id, amount, ordered_at) VALUES (0, 0, 5.0, '2026')")
            raise RuntimeError("the payment service timed out")
    assert store.count("orders") == before


def test_constraints_reject_bad_rows(store):
    with pytest.raises(StoreError, match="CHECK constraint"):
        store.add_listing(seller_id=0, title="free lamp", category="home", price=-1.0)
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        store.add_listing(seller_id=10**6, title="a lamp", category="home", price=10.0)
    with pytest.raises(StoreError, match="unknown category"):
        store.add_listing(seller_id=0, title="a lamp", category="lamps", price=10.0)
    new = store.add_listing(seller_id=0, title="a lamp", category="home", price=10.0)
    assert store.item(new)["title"] == "a lamp"


def test_queries_are_read_only_and_parameterised(store):
    with pytest.raises(StoreError, match="read-only"):
        store.query("DELETE FROM orders")
    hostile = "0 OR 1=1; DROP TABLE orders"
    assert store.query("SELECT COUNT(*) AS n FROM users WHERE region = ?", (hostile,)).iloc[0, 0] == 0
    with pytest.raises(StoreError, match="unknown table"):
        store.count("orders; DROP TABLE users")
    assert store.count("orders") > 0


def test_user_documents_nest_orders(store, world_and_log):
    _, log = world_and_log
    buyer = int(log.purchases["user_id"].iloc[0])
    doc = json.loads(store.user_documents([buyer, 0])["document"].iloc[0 if buyer == 0 else 1])
    assert doc["user_id"] == buyer and len(doc["orders"]) == len(store.orders_of(buyer))
    assert {"item_id", "title", "category", "amount", "at"} <= set(doc["orders"][0])
    everyone = store.user_documents()
    assert len(everyone) == store.count("users")


def test_also_bought_walks_the_graph(world_and_log):
    _, log = world_and_log
    graph = interaction_graph(log.purchases)
    item = int(log.purchases["item_id"].value_counts().index[0])
    walked = also_bought(graph, item, top=50)
    # The same question by a self-join on purchases.
    p = log.purchases[["user_id", "item_id"]].drop_duplicates()
    pairs = p[p["item_id"] == item][["user_id"]].merge(p, on="user_id")
    expected = pairs[pairs["item_id"] != item].groupby("item_id").size().sort_values(ascending=False, kind="stable")
    assert walked.to_dict() == expected.head(50).to_dict()
    assert also_bought(graph, 10**9).empty


def test_warehouse_views_answer_sql(world_and_log, tmp_path):
    _, log = world_and_log
    write_warehouse(log, tmp_path)
    con = warehouse(tmp_path)
    n = con.execute("SELECT COUNT(*) FROM impressions WHERE position = ?", [1]).fetchone()[0]
    assert n == (log.impressions["position"] == 1).sum()
    ctr = con.execute("SELECT COUNT(*) FROM clicks").fetchone()[0] / con.execute("SELECT COUNT(*) FROM impressions").fetchone()[0]
    assert ctr == pytest.approx(len(log.clicks) / len(log.impressions))
    with pytest.raises(FileNotFoundError, match="no warehouse tables"):
        warehouse(tmp_path / "empty")


@pytest.fixture
def fresh_store():
    world = World(seed=719, n_users=300, n_items=120, n_sellers=20)
    with MarketplaceStore.from_world(world, world.run(days=2)) as s:
        yield s


def _snapshot(store):
    return {t: store.count(t) for t in ("sellers", "users", "categories", "items", "orders")}


@pytest.mark.parametrize("sql", [
    "WITH x AS (SELECT 1) DELETE FROM orders",
    "WITH x AS (SELECT 1) UPDATE items SET price = 1",
    "WITH x AS (SELECT 1) INSERT INTO categories VALUES (99, 'x')",
    "SELECT 1; DELETE FROM orders",
    "DELETE FROM orders",
    "PRAGMA foreign_keys = OFF",
    "PRAGMA table_info(items)",
    "ATTACH DATABASE ':memory:' AS other",
    "DROP TABLE orders",
    "CREATE TABLE t (x)",
    "  -- a comment first\n DELETE FROM orders",
    "REPLACE INTO categories VALUES (0, 'books')",
])
def test_query_is_read_only_for_real(fresh_store, sql):
    """query() used to check only that the text started with SELECT or WITH, so a write hidden
    in a CTE ran and committed before the error."""
    before = _snapshot(fresh_store)
    with pytest.raises(StoreError):
        fresh_store.query(sql)
    assert _snapshot(fresh_store) == before
    assert fresh_store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # and the store still works, reads and writes alike
    assert fresh_store.query("SELECT COUNT(*) AS n FROM orders")["n"].iloc[0] == before["orders"]
    item = fresh_store.add_listing(0, "a lamp", "home", 12.5)
    assert fresh_store.item(item)["title"] == "a lamp"


def test_read_only_queries_still_run(fresh_store):
    recursive = fresh_store.query("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 5) "
                                  "SELECT SUM(k) AS s FROM n")
    assert recursive["s"].iloc[0] == 15
    assert len(fresh_store.query("SELECT json_object('a', 1) AS j")) == 1
    assert len(fresh_store.user_documents([])) == 0
    with pytest.raises(StoreError, match="no such table"):
        fresh_store.query("SELECT * FROM nothing_here")


@pytest.mark.parametrize("call, error, message", [
    (lambda s: s.add_listing(0, "lamp", "home", float("inf")), ValueError, "price must be a finite number"),
    (lambda s: s.add_listing(0, "lamp", "home", float("nan")), ValueError, "price must be a finite number"),
    (lambda s: s.add_listing(0, "lamp", "home", -3), StoreError, "CHECK constraint"),
    (lambda s: s.add_listing(0, "lamp", "home", "12"), TypeError, "price must be a number"),
    (lambda s: s.add_listing(0, "", "home", 12.0), ValueError, "title must be a non-empty string"),
    (lambda s: s.add_listing(0, None, "home", 12.0), ValueError, "title must be a non-empty string"),
    (lambda s: s.add_listing(0, "lamp", "home", 12.0, brand=""), ValueError, "brand must be a non-empty string"),
    (lambda s: s.add_listing(0, "lamp", "home", 12.0, stock=-1), StoreError, "CHECK constraint"),
    (lambda s: s.add_listing(0, "lamp", "home", 12.0, stock=1.5), TypeError, "stock must be an integer"),
    (lambda s: s.add_listing(-1, "lamp", "home", 12.0), ValueError, "seller_id must be >= 0"),
    (lambda s: s.add_listing(2**64, "lamp", "home", 12.0), ValueError, "seller_id must be <="),
    (lambda s: s.add_listing(True, "lamp", "home", 12.0), TypeError, "seller_id must be an integer"),
    (lambda s: s.add_listing(10**6, "lamp", "home", 12.0), StoreError, "rejected by the database"),
    (lambda s: s.add_listing(0, "lamp", ["home"], 12.0), StoreError, "unknown category"),
    (lambda s: s.add_listing(0, "lamp", "home", 12.0, at=12345), TypeError, "at must be a date or time"),
    (lambda s: s.add_listing(0, "lamp", "home", 12.0, at="not a date"), ValueError, "at is not a date"),
    (lambda s: s.place_order(0, 0, at=None), TypeError, "at must be a date or time"),
    (lambda s: s.place_order("0", 0, at="2026-03-04"), TypeError, "user_id must be an integer"),
    (lambda s: s.place_order(0, 2.0, at="2026-03-04"), TypeError, "item_id must be an integer"),
    (lambda s: s.orders_of(-5), ValueError, "user_id must be >= 0"),
    (lambda s: s.item("3"), TypeError, "item_id must be an integer"),
    (lambda s: s.user_documents("12"), TypeError, "user_ids must be a list"),
    (lambda s: s.count(["items"]), StoreError, "unknown table"),
    (lambda s: s.query(b"SELECT 1"), TypeError, "sql must be a string"),
    (lambda s: s.query("SELECT ?", 5), TypeError, "params must be"),
])
def test_bad_calls_are_named_and_change_nothing(fresh_store, call, error, message):
    before = _snapshot(fresh_store)
    with pytest.raises(error, match=message):
        call(fresh_store)
    assert _snapshot(fresh_store) == before
