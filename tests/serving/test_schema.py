"""The service's OpenAPI schema and its answers agree: a schema-driven fuzzer (schemathesis) finds
no response the schema does not allow, no server error, and every field's format is stated."""
from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
import jsonschema  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from dmls.serving.service import prediction_app  # noqa: E402

from .conftest import fitted_scorer  # noqa: E402

APP = prediction_app(fitted_scorer(seed=31, n_users=300, n_items=120, version="schema-1")[0])
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
_SPEC = APP.openapi()
RANK_BODY = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/RankRequest",
                                             "components": _SPEC["components"]})


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_schema(case):
    if case.path == "/rank":
        # JSON Schema cannot say that the candidates' item ids are distinct (uniqueItems compares
        # whole objects), so a schema-valid slate may repeat one: its 422 must say that, and only that.
        response = case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
        sent_json = response.request.headers.get("Content-Type", "").startswith("application/json")
        if response.status_code == 422 and sent_json and RANK_BODY.is_valid(case.body):
            ids = [c["item_id"] for c in case.body["candidates"]]
            assert len(set(ids)) < len(ids) and "distinct item ids" in response.json()["reason"], response.text
    else:
        case.call_and_validate()


def test_the_schema_states_formats_ranges_and_statuses():
    spec = APP.openapi()
    request = spec["components"]["schemas"]["PredictRequest"]["properties"]
    assert "ISO 8601" in request["shown_at"]["description"] and "pattern" in request["shown_at"]
    assert request["price"]["minimum"] == 0.01 and request["price"]["maximum"] == 1_000_000
    assert request["position"]["minimum"] == 1 and request["position"]["maximum"] == 50
    for path in ("/predict", "/predict/batch", "/rank"):
        statuses = set(spec["paths"][path]["post"]["responses"])
        assert {"200", "400", "413", "422", "500"} <= statuses, (path, statuses)
