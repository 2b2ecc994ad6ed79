"""Data passing through a service: the catalogue as an HTTP API (FastAPI), and a way to run it.

Introduced in chapter 3 ("Data Passing Through Services"). One process owns the data — here the
:class:`~dmls.data.stores.MarketplaceStore` — and others ask it over HTTP instead of reading its
database. Requests are validated at the boundary (a bad listing gets a 422 with the reasons).
:func:`serve` runs any ASGI app with uvicorn on localhost, in a background thread; chapter 7
serves the prediction service the same way.
"""
from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI, HTTPException

from dmls._validation import check_int, check_number

from .sources import ListingSubmission
from .stores import MarketplaceStore, StoreError


def catalogue_app(store: MarketplaceStore) -> FastAPI:
    """An HTTP API over the store: read items and a user's orders, submit listings.

    Raises
    ------
    TypeError
        If ``store`` is not a :class:`~dmls.data.stores.MarketplaceStore`.

    Introduced in chapter 3 ("Data Passing Through Services").
    """
    if not isinstance(store, MarketplaceStore):
        raise TypeError(f"store must be a MarketplaceStore, got {type(store).__name__}")
    app = FastAPI(title="marketplace catalogue", version="1")
    lock = threading.Lock()  # one SQLite connection, used by the server's worker thread(s)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/items/{item_id}")
    def get_item(item_id: int) -> dict:
        with lock:
            item = store.item(item_id)
        if item is None:
            raise HTTPException(status_code=404, detail=f"no item {item_id}")
        return item

    @app.get("/users/{user_id}/orders")
    def get_orders(user_id: int) -> list[dict]:
        with lock:
            return store.orders_of(user_id).to_dict(orient="records")

    @app.post("/listings", status_code=201)
    def post_listing(listing: ListingSubmission) -> dict:
        try:
            with lock:
                item_id = store.add_listing(**listing.model_dump())
        except StoreError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        return {"item_id": item_id}

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class serve:
    """Run an ASGI app with uvicorn on ``127.0.0.1`` in a background thread.

    >>> with serve(app) as server:        # doctest: +SKIP
    ...     httpx.get(server.url + "/health")

    ``port`` None (or 0) picks a free port; ``timeout_s`` bounds the wait for start and stop.

    Raises
    ------
    TypeError
        If ``app`` is not callable (an ASGI app), ``port`` not an integer or ``timeout_s`` not a
        number.
    ValueError
        If ``port`` is outside 0 .. 65535 or ``timeout_s`` is not a positive, finite number.

    Introduced in chapter 3 ("Data Passing Through Services").
    """

    def __init__(self, app, port: int | None = None, timeout_s: float = 15.0):
        if not callable(app):
            raise TypeError(f"app must be an ASGI application (such as a FastAPI app), got {type(app).__name__}")
        if port is not None:
            check_int("port", port, minimum=0, maximum=65535)
        check_number("timeout_s", timeout_s, minimum=0, strict_minimum=True)
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # lifespan "auto": an app's startup and shutdown run (chapter 7's service shuts its scoring
        # threads down there); an app without a lifespan is served as before
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="auto")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._timeout_s = timeout_s

    def __enter__(self) -> "serve":
        self._thread.start()
        deadline = time.monotonic() + self._timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=self._timeout_s)
