"""The catalogue service over real HTTP on localhost."""
import httpx
import pytest

from dmls.data.service import catalogue_app, serve
from dmls.data.stores import MarketplaceStore
from dmls.world import World


@pytest.fixture(scope="module")
def server():
    world = World(seed=5, n_users=500, n_items=200, n_sellers=20)
    store = MarketplaceStore.from_world(world, world.run(days=3))
    with serve(catalogue_app(store)) as running:
        yield running, store


def test_items_and_orders_over_http(server):
    running, store = server
    with httpx.Client(base_url=running.url, timeout=10) as client:
        assert client.get("/health").json() == {"status": "ok"}
        item = client.get("/items/3").json()
        assert item == {k: (v.item() if hasattr(v, "item") else v) for k, v in store.item(3).items()}
        assert client.get("/items/999999").status_code == 404
        buyer = int(store.query("SELECT user_id FROM orders LIMIT 1").iloc[0, 0])
        assert len(client.get(f"/users/{buyer}/orders").json()) == len(store.orders_of(buyer))


def test_listings_are_validated_at_the_boundary(server):
    running, store = server
    with httpx.Client(base_url=running.url, timeout=10) as client:
        before = store.count("items")
        ok = client.post("/listings", json={"seller_id": 1, "title": "Aldera desk lamp", "category": "home", "price": 35.0})
        assert ok.status_code == 201 and store.item(ok.json()["item_id"])["title"] == "Aldera desk lamp"
        bad = client.post("/listings", json={"seller_id": 1, "title": "x", "category": "lamps", "price": "35,00"})
        assert bad.status_code == 422
        fields = {tuple(e["loc"])[-1] for e in bad.json()["detail"]}
        assert {"title", "category", "price"} <= fields
        unknown_seller = client.post("/listings", json={"seller_id": 10**6, "title": "a lamp", "category": "home",
                                                        "price": 3.0})
        assert unknown_seller.status_code == 409 and "FOREIGN KEY" in unknown_seller.json()["detail"]
        assert store.count("items") == before + 1
        assert client.get("/items/not-a-number").status_code == 422
