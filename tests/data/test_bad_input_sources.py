"""Bad input to the data sources and the catalogue service fails at the boundary, naming the parameter.

Each call here was accepted silently, or failed deep inside numpy/pandas, before the checks were added.
"""
import numpy as np
import pytest
from fastapi import FastAPI

from dmls.data.service import catalogue_app, serve
from dmls.data.sources import hashed_email, listing_submissions, partner_profiles, service_logs, validate_listings
from dmls.world import World

GOOD = {"seller_id": 1, "title": "Aldera desk lamp", "category": "home", "price": 35.0}


@pytest.fixture(scope="module")
def world():
    world = World(seed=917, n_users=300, n_items=150, n_sellers=15)
    world.run(days=1)
    return world


@pytest.mark.parametrize("change, field, reason", [
    ({"seller_id": True}, "seller_id", "seller_id must be an integer, not bool"),
    ({"seller_id": "5"}, "seller_id", "seller_id must be an integer, not str"),
    ({"seller_id": 5.0}, "seller_id", "seller_id must be an integer, not float"),
    ({"seller_id": 2**64}, "seller_id", "seller_id must be at most"),
    ({"price": True}, "price", "price must be a number, not a bool"),
])
def test_listings_with_ids_or_prices_of_the_wrong_type_are_rejected(change, field, reason):
    accepted, rejected = validate_listings([GOOD | change])
    assert accepted.empty
    assert rejected["field"].tolist() == [field] and reason in rejected["reason"].iloc[0]


def test_good_listings_are_still_accepted():
    accepted, rejected = validate_listings([GOOD, GOOD | {"seller_id": np.int64(917)}])
    assert len(accepted) == 2 and rejected.empty


@pytest.mark.parametrize("records", [None, GOOD, "abc", 5])
def test_records_must_be_an_iterable_of_records(records):
    with pytest.raises(TypeError, match="records must be an iterable of dicts"):
        validate_listings(records)


@pytest.mark.parametrize("call, error, message", [
    (lambda w: listing_submissions(w, n=3, error_rate="0.1"), TypeError, "error_rate must be a number"),
    (lambda w: listing_submissions(w, n=3, error_rate=True), TypeError, "error_rate must be a number"),
    (lambda w: listing_submissions(w, n=3, seed=1.5), TypeError, "seed must be an integer"),
    (lambda w: listing_submissions(None, n=3), TypeError, "world must be a dmls.world.World"),
    (lambda w: service_logs(w.copy().run(days=1), error_rate=-1), ValueError, "error_rate must be >= 0"),
    (lambda w: service_logs(w.copy().run(days=1), error_rate=2), ValueError, "error_rate must be <= 1"),
    (lambda w: service_logs(w.copy().run(days=1), error_rate=float("nan")), ValueError, "error_rate must be a finite"),
    (lambda w: service_logs(w.copy().run(days=1), seed=1.5), TypeError, "seed must be an integer"),
    (lambda w: service_logs(None), TypeError, "log must be a dmls.world.Log"),
    (lambda w: partner_profiles(w, coverage="0.4"), TypeError, "coverage must be a number"),
    (lambda w: partner_profiles(w, coverage=True), TypeError, "coverage must be a number"),
    (lambda w: partner_profiles(w, seed=-1), ValueError, "seed must be >= 0"),
    (lambda w: partner_profiles(None), TypeError, "world must be a dmls.world.World"),
    (lambda w: hashed_email(1.5), TypeError, "user_id must be an integer"),
    (lambda w: hashed_email("5"), TypeError, "user_id must be an integer"),
    (lambda w: hashed_email(True), TypeError, "user_id must be an integer"),
    (lambda w: hashed_email(float("nan")), TypeError, "user_id must be an integer"),
    (lambda w: hashed_email(None), TypeError, "user_id must be an integer"),
    (lambda w: hashed_email(-1), ValueError, "user_id must be >= 0"),
])
def test_bad_source_arguments_are_named(world, call, error, message):
    with pytest.raises(error, match=message):
        call(world)


def test_numpy_integers_are_integers(world):
    assert len(listing_submissions(world, n=np.int64(3), seed=917)) == 3
    assert hashed_email(np.int64(917)) == hashed_email(917)


@pytest.mark.parametrize("call, error, message", [
    (lambda: catalogue_app(None), TypeError, "store must be a MarketplaceStore"),
    (lambda: serve(None), TypeError, "app must be an ASGI application"),
    (lambda: serve(FastAPI(), port="8000"), TypeError, "port must be an integer"),
    (lambda: serve(FastAPI(), port=True), TypeError, "port must be an integer"),
    (lambda: serve(FastAPI(), port=70000), ValueError, "port must be <= 65535"),
    (lambda: serve(FastAPI(), port=-1), ValueError, "port must be >= 0"),
    (lambda: serve(FastAPI(), timeout_s=0), ValueError, "timeout_s must be > 0"),
    (lambda: serve(FastAPI(), timeout_s=float("nan")), ValueError, "timeout_s must be a finite number"),
])
def test_bad_service_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
