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
    with pytest.raises(StoreError, match="SELECT statements only"):
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
