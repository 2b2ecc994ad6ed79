"""Ten thousand bad requests over real HTTP: no server error, no dropped connection, all counted;
only a 413 closes its connection."""
from __future__ import annotations

import json
import socket

import httpx
import pytest

from dmls.data.service import serve
from dmls.features import REQUEST_FIELDS
from dmls.serving.fuzz import FuzzRequest, fuzz, fuzzed_requests
from dmls.serving.service import CANDIDATE_FIELDS, CONTEXT_FIELDS, MAX_BODY_BYTES, prediction_app

from .conftest import fitted_scorer


@pytest.fixture(scope="module")
def setup():
    scorer, _, rows = fitted_scorer(seed=21, n_users=400, n_items=150, version="fuzz-1")
    records = json.loads(rows.head(300).to_json(orient="records", date_format="iso"))
    requests = [{f: r[f] for f in REQUEST_FIELDS} for r in records]
    context = {f: requests[0][f] for f in CONTEXT_FIELDS}
    candidates = list({r["item_id"]: {f: r[f] for f in CANDIDATE_FIELDS} for r in requests}.values())[:30]
    examples = {"/predict": requests[:30], "/predict/batch": [requests[:5], requests[5:7]],
                "/rank": [{"context": context, "candidates": candidates}]}
    return scorer, examples


def test_ten_thousand_fuzzed_requests_get_no_server_error(setup):
    scorer, examples = setup
    requests = list(fuzzed_requests(examples, 10_000, seed=7, max_body_bytes=MAX_BODY_BYTES))
    assert {r.kind for r in requests} >= {"value", "number", "string", "syntax", "nest", "type", "bytes", "big",
                                          "many", "drop", "extra", "valid"}
    with serve(prediction_app(scorer)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        report = fuzz(client, requests)
        metrics = client.get("/metrics").json()
    assert report.server_errors == 0, report.examples
    assert report.dropped == 0, report.examples
    assert report.closed == report.statuses[413], report.examples  # only a 413 closes: the rest of its upload is not read
    assert report.not_json == 0 and report.bad_probabilities == 0, report.examples
    assert sum(report.statuses.values()) == 10_000
    assert metrics["by_status"] == {str(k): v for k, v in report.statuses.items()}  # every response counted
    assert report.statuses[200] > 500 and report.statuses[413] > 20  # the valid ones were served; big refused


def test_the_fuzzer_is_seeded_and_checks_its_arguments(setup):
    _, examples = setup
    first = [r.body for r in fuzzed_requests(examples, 50, seed=3)]
    assert first == [r.body for r in fuzzed_requests(examples, 50, seed=3)]
    assert first != [r.body for r in fuzzed_requests(examples, 50, seed=4)]
    assert isinstance(next(iter(fuzzed_requests(examples, 1))), FuzzRequest)
    for bad, error in [({}, ValueError), ({"predict": [{}]}, ValueError), ({"/p": []}, ValueError),
                       ({"/p": "text"}, ValueError)]:
        with pytest.raises(error):
            list(fuzzed_requests(bad, 1))
    with pytest.raises(ValueError, match="n"):
        list(fuzzed_requests(examples, -1))
    with pytest.raises(TypeError, match="n"):
        list(fuzzed_requests(examples, 2.5))


def test_a_body_over_the_limit_is_refused_even_when_streamed(setup):
    scorer, _ = setup

    def chunks():
        for _ in range(MAX_BODY_BYTES // 65_536 + 2):
            yield b"x" * 65_536

    with serve(prediction_app(scorer)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        streamed = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
        assert client.get("/health").status_code == 200  # still serving
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:  # a length it never sends
            raw.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 99999999999\r\n\r\n{}")
            declared = raw.recv(4096).split(b"\r\n", 1)[0]
    assert streamed.status_code == 413 and "larger than" in streamed.json()["detail"]
    assert streamed.headers["connection"] == "close"
    assert declared == b"HTTP/1.1 413 Request Entity Too Large"


def _guard(app):
    """The app's :class:`~dmls.serving.service._Guard` middleware (Starlette builds the stack on the
    first request; built here so that the test can reach it before any)."""
    from dmls.serving.service import _Guard

    if app.middleware_stack is None:
        app.middleware_stack = app.build_middleware_stack()
    layer = app.middleware_stack
    while not isinstance(layer, _Guard):
        layer = layer.app
    return layer


def test_the_shortcut_answers_what_the_fastapi_routes_answer_and_is_taken(setup):
    """Fuzzed requests (valid and not) to two apps: one as served, whose middleware answers a valid
    ``application/json`` body itself (the shortcut), and one whose shortcut refuses every body, so
    that FastAPI's routes answer all. Same status, same bytes, same headers every time, and the
    shortcut answered exactly the valid ``application/json`` requests (counted, not timed)."""
    import warnings
    from collections import Counter

    with warnings.catch_warnings():  # starlette's TestClient warns on import that it will move from httpx to httpx2
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    scorer, examples = setup
    valid = [FuzzRequest(path, json.dumps(body).encode(), kind="valid") for path, bodies in examples.items()
             for body in bodies[:10]]
    requests = valid + list(fuzzed_requests(examples, 400, seed=11, max_body_bytes=MAX_BODY_BYTES))
    shortcut_app, route_app = prediction_app(scorer), prediction_app(scorer)
    taken = Counter()

    def counted(path, answer):
        def answer_here(request):
            taken[path] += 1
            return answer(request)
        return answer_here

    def refuse(_body):
        raise ValueError("this app's routes answer every request")

    def never(_request):
        raise AssertionError("the shortcut was taken in the app without one")

    shortcut_guard, route_guard = _guard(shortcut_app), _guard(route_app)
    assert set(shortcut_guard.shortcuts) == {"/predict", "/predict/batch", "/rank"}
    shortcut_guard.shortcuts = {path: (validate, counted(path, answer))
                                for path, (validate, answer) in shortcut_guard.shortcuts.items()}
    route_guard.shortcuts = {path: (refuse, never) for path in route_guard.shortcuts}
    statuses = Counter()
    with TestClient(shortcut_app) as fast, TestClient(route_app) as plain:
        for i, request in enumerate(requests):
            headers = {"content-type": request.content_type} if request.content_type else {}
            before = sum(taken.values())
            a = fast.request(request.method, request.path, content=request.body, headers=headers)
            took = sum(taken.values()) - before
            b = plain.request(request.method, request.path, content=request.body, headers=headers)
            where = (i, request.kind, request.content_type, request.body[:120])
            assert a.status_code == b.status_code, where
            assert a.content == b.content, where
            assert a.headers.get("content-type") == b.headers.get("content-type") == "application/json", where
            assert sorted(a.headers) == sorted(b.headers), where
            assert took == (b.status_code == 200 and request.content_type == "application/json"), where
            statuses[b.status_code] += 1
        assert fast.get("/metrics").json()["by_status"] == plain.get("/metrics").json()["by_status"]
    assert sum(taken.values()) >= len(valid) + 20 and set(taken) == {"/predict", "/predict/batch", "/rank"}
    assert statuses[200] >= sum(taken.values()) and {400, 413, 422} <= set(statuses), statuses
