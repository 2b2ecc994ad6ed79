"""Bad input to the scorer, the HTTP service, batch prediction and compression fails at the boundary
with a ``TypeError`` (wrong type) or ``ValueError`` (bad value) naming the parameter or field; over
HTTP, with a 422 whose one-line reason names the field, and the service keeps serving (issue 9)."""
import json
import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from dmls.features import REQUEST_FIELDS, FeaturePipeline
from dmls.models import TorchClassifier
from dmls.serving import compression_report, distill, distillation_loss
from dmls.serving.batch import PrecomputedScores, batch_predict
from dmls.serving.service import CANDIDATE_FIELDS, CONTEXT_FIELDS, ClickScorer, prediction_app
from dmls.world import World

from .conftest import fitted_scorer

with warnings.catch_warnings():  # starlette's TestClient warns on import that it will move from httpx to httpx2
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def setup():
    return fitted_scorer(917, 800, 300, "v917")


@pytest.fixture(scope="module")
def request_(setup):
    _, _, rows = setup
    return json.loads(rows[list(REQUEST_FIELDS)].head(1).to_json(orient="records", date_format="iso"))[0]


def parts(request):
    return {f: request[f] for f in CONTEXT_FIELDS}, {f: request[f] for f in CANDIDATE_FIELDS}


# ---------------------------------------------------------------------- the scorer
BAD = [("position", 0, ValueError), ("position", 1.5, ValueError), ("shown_at", 12345, TypeError),
       ("device", 3, TypeError), ("device", "", ValueError), ("price", float("inf"), ValueError),
       ("user_id", 2**64, ValueError), ("user_id", -1, ValueError)]


@pytest.mark.parametrize("field, value, error", BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_the_scorer_names_a_bad_field(setup, request_, field, value, error):
    scorer, _, rows = setup
    bad = dict(request_, **{field: value})
    with pytest.raises(error, match=f"column '{field}'"):
        scorer.score_one(bad)
    with pytest.raises(error, match=f"column '{field}'"):
        scorer.score_many([request_, bad])
    frame = rows.head(10).astype({field: object})
    frame.iloc[4, frame.columns.get_loc(field)] = value
    with pytest.raises(error, match=f"column '{field}'"):
        scorer.score_frame(frame)


@pytest.mark.parametrize("ids, error, message", [
    (["5", 5], TypeError, r"candidate 0: item_id must be an integer, got str '5'"),
    ([5.0, 5], TypeError, "candidate 0: item_id must be an integer, got float"),
    ([True], TypeError, "item_id must be an integer, got bool"),
    ([2**64], ValueError, "item_id must be from 0 to 2\\*\\*63 - 1"),
    ([-1], ValueError, "item_id must be from 0"),
    ([7, np.int64(7)], ValueError, r"distinct item ids \(item_id\); repeated: \[7\]"),
])
def test_rank_needs_distinct_integer_item_ids(setup, request_, ids, error, message):
    scorer, _, _ = setup
    context, item = parts(request_)
    with pytest.raises(error, match=message):
        scorer.rank(context, [dict(item, item_id=i) for i in ids])


@pytest.mark.parametrize("part, field, value, error", [
    ("context", "user_id", 2**64, ValueError), ("context", "device", "", ValueError),
    ("context", "shown_at", 12345, TypeError), ("candidate", "price", float("inf"), ValueError),
])
def test_rank_names_a_bad_field(setup, request_, part, field, value, error):
    scorer, _, _ = setup
    context, item = parts(request_)
    if part == "context":
        context = dict(context, **{field: value})
    else:
        item = dict(item, **{field: value})
    with pytest.raises(error, match=f"column '{field}'"):
        scorer.rank(context, [item])


def test_the_scorer_needs_a_string_version(setup):
    scorer, _, _ = setup
    with pytest.raises(TypeError, match="version must be a non-empty string"):
        ClickScorer(scorer.pipeline, scorer.model, version=5)


# ---------------------------------------------------------------------- over HTTP
def _raw(request: dict, field: str, token: str) -> bytes:
    """The request as JSON with ``field`` set to a bare token such as ``NaN`` or ``Infinity``."""
    text = json.dumps(dict(request, **{field: 1.0}))
    return text.replace(f'"{field}": 1.0', f'"{field}": {token}').encode()


@pytest.mark.parametrize("field, body", [
    ("device", {"device": "   "}), ("brand", {"brand": " "}),
    ("price", "Infinity"), ("price", "-Infinity"), ("age", "NaN"), ("position", "NaN"),
])
def test_bad_requests_get_a_422_naming_the_field_and_the_service_keeps_serving(setup, request_, field, body):
    scorer, _, _ = setup
    with TestClient(prediction_app(scorer)) as client:
        if isinstance(body, dict):
            response = client.post("/predict", json=dict(request_, **body))
        else:
            response = client.post("/predict", content=_raw(request_, field, body),
                                   headers={"content-type": "application/json"})
        assert response.status_code == 422
        reason = response.json()["reason"]
        assert reason.startswith(f"{field}:") and "\n" not in reason
        assert client.post("/predict", json=request_).status_code == 200  # still serving
        assert client.get("/metrics").json()["by_status"] == {"422": 1, "200": 1}


def _exchange(raw, request: bytes) -> tuple[int, dict, bytes]:
    """Send one HTTP/1.1 request on an open socket and read its response: (status, headers, body)."""
    raw.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = raw.recv(65_536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = raw.recv(65_536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _post(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_a_body_nested_too_deeply_gets_a_400_with_a_reason_and_the_connection_stays_open(setup, request_):
    """100,000 nested brackets overflow the JSON parser's recursion limit: a 400 shaped like every
    other refusal of a body that is not JSON (``detail`` a list of one ``json_invalid`` error,
    ``reason`` naming the problem), whatever JSON content type and endpoint, on a connection that
    then serves the next request; each is counted."""
    from dmls.data.service import serve

    scorer, _, _ = setup
    import socket

    cases = [(path, kind, body) for path in ("/predict", "/predict/batch", "/rank")
             for kind in ("application/json", "application/json; charset=utf-8")
             for body in (b"[" * 100_000, b'{"a":' * 100_000)]
    with serve(prediction_app(scorer)) as server, socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        for path, kind, body in cases:
            status, headers, answer = _exchange(raw, _post(path, body, kind))
            assert status == 400 and headers["content-type"] == "application/json", (path, kind, answer[:200])
            assert json.loads(answer) == {"detail": [{"type": "json_invalid", "loc": ["body"],
                                                      "msg": "the body is nested too deeply to parse"}],
                                          "reason": "body: nested too deeply to parse"}
            status, _, answer = _exchange(raw, _post("/predict", json.dumps(request_).encode()))  # the same connection
            assert status == 200 and 0 <= json.loads(answer)["p_click"] <= 1
        status, _, answer = _exchange(raw, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert json.loads(answer)["by_status"] == {"400": len(cases), "200": len(cases)}


@pytest.mark.parametrize("body, reason", [
    (b'{"position": ' + b"9" * 5_000 + b"}", "body: cannot be parsed as JSON"),  # beyond Python's 4,300 digits
    (b'{"device": "\xff\xfe"}', "body: not valid UTF-8"),
    (b"{not json", "body: JSON decode error at character 1"),
])
def test_every_body_that_is_not_json_gets_a_400_naming_the_problem(setup, request_, body, reason):
    scorer, _, _ = setup
    with TestClient(prediction_app(scorer)) as client:
        answers = [client.post(path, content=body, headers={"content-type": kind})
                   for path in ("/predict", "/rank") for kind in ("application/json", "application/problem+json")]
        assert {a.status_code for a in answers} == {400}
        for answer in answers:
            got = answer.json()
            assert got["reason"] == reason and [e["type"] for e in got["detail"]] == ["json_invalid"]
            assert set(got["detail"][0]) == {"type", "loc", "msg"} and got["detail"][0]["loc"][0] == "body"
        assert client.post("/predict", json=request_).status_code == 200  # still serving
        assert client.get("/metrics").json()["by_status"] == {"400": 4, "200": 1}


# ---------------------------------------------------------------------- batch prediction
@pytest.fixture(scope="module")
def tables(setup):
    _, world, _ = setup
    return world.users.head(4), world.items.head(6), world.now


@pytest.mark.parametrize("change, error, message", [
    (dict(at=12345), TypeError, "at must be a time .*bare number"),
    (dict(at=True), TypeError, "at must be a time"),
    (dict(top_k=True), TypeError, "top_k must be an integer"),
    (dict(top_k=2.0), TypeError, "top_k must be an integer"),
    (dict(chunk_rows=1.5), TypeError, "chunk_rows must be an integer"),
    (dict(device=3), TypeError, "device must be a non-empty string"),
    (dict(device="  "), ValueError, "device must be a non-empty string"),
    (dict(users=lambda u: u.assign(user_id=2**64)), ValueError, r"users\['user_id'\]"),
    (dict(users=lambda u: u.assign(user_id=-1)), ValueError, r"users\['user_id'\]"),
    (dict(users=lambda u: u.assign(signup_at=5)), TypeError, r"users\['signup_at'\].*bare numbers"),
    (dict(items=lambda i: i.assign(item_id=np.nan)), ValueError, r"items\['item_id'\]: ids cannot be missing"),
    (dict(items=lambda i: i.assign(price=np.inf)), ValueError, "column 'price'"),
])
def test_batch_predict_names_bad_input(setup, tables, change, error, message):
    scorer, _, _ = setup
    users, items, at = tables
    arguments = {"users": users, "items": items, "at": at, **change}
    for table in ("users", "items"):
        if callable(arguments[table]):
            arguments[table] = arguments[table]({"users": users, "items": items}[table])
    with pytest.raises(error, match=message):
        batch_predict(scorer, **arguments)


@pytest.fixture()
def store(setup, tables):
    scorer, _, _ = setup
    users, items, at = tables
    predictions = batch_predict(scorer, users, items, at=at, top_k=2)
    with PrecomputedScores(":memory:") as store:
        store.write(predictions, "v1")
        yield store, predictions


@pytest.mark.parametrize("call, error, message", [
    (lambda s, p: s.write(p, 5), TypeError, "version must be a non-empty string"),
    (lambda s, p: s.write(p, "v2", generated_at=12345), TypeError, "generated_at must be a time"),
    (lambda s, p: s.write(p.astype({"user_id": object}).assign(user_id=2**64), "v2"), ValueError, "user_id"),
    (lambda s, p: s.write(p.assign(user_id=-1 - p["user_id"]), "v2"), ValueError, "user_id must hold whole numbers"),
    (lambda s, p: s.write(p.assign(item_id=True), "v2"), TypeError, "item_id"),
    (lambda s, p: s.write(p.assign(score="high"), "v2"), TypeError, "score"),
    (lambda s, p: s.top_items(2**64), ValueError, "user_id"),
    (lambda s, p: s.top_items(-1), ValueError, "user_id"),
    (lambda s, p: s.top_items(1, True), TypeError, "k must be a positive integer"),
    (lambda s, p: s.top_items(1, version=5), TypeError, "version must be a non-empty string"),
    (lambda s, p: s.generated_at(5), TypeError, "version must be a non-empty string"),
])
def test_the_store_names_bad_input(store, call, error, message):
    with pytest.raises(error, match=message):
        call(*store)
    assert store[0].current_version == "v1"  # nothing half-written


def test_the_store_needs_a_path():
    with pytest.raises(ValueError, match="path must name a file"):
        PrecomputedScores("")


# ---------------------------------------------------------------------- compression
@pytest.fixture(scope="module")
def small():
    X = np.random.default_rng(917).normal(size=(120, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return TorchClassifier(hidden=(8,), epochs=2, seed=0).fit(X, y), X, y


@pytest.mark.parametrize("call, error, message", [
    (lambda: distillation_loss(np.zeros((3, 2)), np.zeros((3, 2))), TypeError, "student_logits must be a float"),
    (lambda: distillation_loss(torch.zeros(3), torch.zeros(3)), ValueError, "student_logits must have shape"),
    (lambda: distillation_loss(torch.zeros(3, 2), torch.zeros(3, 2), targets=torch.tensor([0, 1]), alpha=0.5),
     ValueError, r"targets must have shape \(3,\)"),
    (lambda: distillation_loss(torch.zeros(3, 2), torch.zeros(3, 2), targets=torch.tensor([0.0, 1.0, 0.0]),
                               alpha=0.5), TypeError, "targets must be an integer"),
    (lambda: distillation_loss(torch.zeros(3, 2), torch.zeros(3, 2), targets=torch.tensor([0, 1, 7]), alpha=0.5),
     ValueError, "targets must be class indices"),
])
def test_distillation_loss_names_bad_tensors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda m, X, y: distill(m, X, seed=2**64, epochs=1), ValueError, "seed must be <="),
    (lambda m, X, y: distill(m, X, hidden="8", epochs=1), TypeError, "hidden must be a tuple"),
    (lambda m, X, y: compression_report({"m": m}, X, y + 5), ValueError, "y has labels that models"),
    (lambda m, X, y: compression_report({"m": m}, X, np.where(y > 0, np.nan, 0.0)), ValueError,
     "y must not have missing labels"),
])
def test_compression_names_bad_arguments(small, call, error, message):
    with pytest.raises(error, match=message):
        call(*small)
