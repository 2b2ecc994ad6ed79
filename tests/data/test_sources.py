"""Data sources: user input validated at the boundary, logs, third-party data."""
import pytest
from pydantic import ValidationError

from dmls.data.sources import (ListingSubmission, hashed_email, listing_submissions, partner_profiles, service_logs,
                               validate_listings)
from dmls.world import World


@pytest.fixture(scope="module")
def world():
    return World(seed=3, n_users=2_000, n_items=500, n_sellers=60)


def test_every_submission_is_accepted_or_rejected_with_reasons(world):
    records = listing_submissions(world, n=600, error_rate=0.3, seed=1)
    accepted, rejected = validate_listings(records)
    assert set(accepted["record"]) | set(rejected["record"]) == set(range(600))
    assert not set(accepted["record"]) & set(rejected["record"])
    assert 0.2 < rejected["record"].nunique() / 600 < 0.4
    reasons = " ".join(rejected["reason"])
    for expected in ("price must be a number", "greater than 0", "Field required", "Input should be",
                     "less than or equal to 100000", "Extra inputs are not permitted", "at least 3 characters"):
        assert expected in reasons, expected
    assert (accepted["price"] > 0).all() and accepted["title"].str.len().ge(3).all()


def test_validation_names_field_and_problem():
    accepted, rejected = validate_listings([
        {"seller_id": 1, "title": "Norvik lamp", "category": "home", "price": 20.0},
        {"seller_id": -1, "title": "ok title", "category": "home", "price": "20"},
        "not a record",
    ])
    assert accepted["record"].tolist() == [0]
    problems = set(zip(rejected["record"], rejected["field"]))
    assert {(1, "seller_id"), (1, "price"), (2, "")} <= problems
    with pytest.raises(ValidationError, match="at least 3 characters"):
        ListingSubmission(seller_id=1, title="x", category="home", price=1.0)


def test_submissions_check_arguments(world):
    with pytest.raises(ValueError, match="n must be"):
        listing_submissions(world, n=-1)
    with pytest.raises(ValueError, match="error_rate"):
        listing_submissions(world, error_rate=2)


def test_service_logs_are_text_for_people(world):
    log = world.copy().run(days=1)
    lines = service_logs(log, error_rate=0.05)
    assert len(lines) == len(log.sessions)
    assert all(" INFO " in line or " ERROR " in line for line in lines)
    assert any("latency_ms=" in line for line in lines) and any("timeout" in line for line in lines)


def test_partner_file_covers_some_users_under_hashed_keys(world):
    partner = partner_profiles(world, coverage=0.4, seed=2)
    assert 0.35 < len(partner) / len(world.users) < 0.45
    assert partner["email_sha256"].str.len().eq(64).all() and partner["email_sha256"].is_unique
    assert hashed_email(0) == hashed_email(0) != hashed_email(1)
    with pytest.raises(ValueError, match="coverage"):
        partner_profiles(world, coverage=0)
