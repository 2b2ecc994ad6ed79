"""Online prediction: the scorer (one request, a batch, a slate) and the FastAPI service around it."""
import asyncio
import json
import threading
import time
import warnings

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from dmls.data.service import serve
from dmls.features import REQUEST_FIELDS, FeaturePipeline
from dmls.serving.service import CANDIDATE_FIELDS, CONTEXT_FIELDS, ClickScorer, prediction_app
from dmls.world import World

with warnings.catch_warnings():  # starlette's TestClient warns on import that it will move from httpx to httpx2
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


def as_requests(rows: pd.DataFrame) -> list[dict]:
    """Rows as a service receives them: JSON, so times are ISO strings and missing values None."""
    return json.loads(rows[list(REQUEST_FIELDS)].to_json(orient="records", date_format="iso"))


@pytest.fixture(scope="module")
def fitted():
    world = World(seed=11, n_users=300, n_items=100)
    rows = world.run(days=2).labeled_impressions()
    pipeline = FeaturePipeline()
    X = pipeline.fit_transform(rows)
    model = LogisticRegression(max_iter=1000).fit(X, rows["clicked"])
    return ClickScorer(pipeline, model, version="ctr-lr-1"), rows


@pytest.fixture(scope="module")
def requests_(fitted):
    _, rows = fitted
    out = as_requests(rows.sample(60, random_state=0))
    out[0]["age"] = None  # age may be missing
    return out


class FlakyModel:
    """A model that fails on demand, as a real one does when it runs out of memory."""

    def __init__(self, model):
        self.model = model
        self.fail = False

    def predict_proba(self, X):
        if self.fail:
            raise RuntimeError("the model ran out of memory")
        return self.model.predict_proba(X)


class StuckModel(FlakyModel):
    """A model whose calls do not return until ``release`` is set, as one stuck on an overloaded machine.

    A test can then tell "answered before the model finished" without reading a clock: the
    answer arrived while ``release`` was still unset.
    """

    def __init__(self, model):
        super().__init__(model)
        self.release = threading.Event()
        self.finished = threading.Event()

    def predict_proba(self, X):
        self.release.wait(30)  # a bound, so that a broken test cannot hang the suite
        self.finished.set()
        return self.model.predict_proba(X)


class NaNModel(FlakyModel):
    """A model whose probabilities are NaN, as after a numerical overflow."""

    def predict_proba(self, X):
        return self.model.predict_proba(X) * np.nan


# ---------------------------------------------------------------------- the scorer
def test_a_batch_scores_like_single_requests(fitted, requests_):
    scorer, rows = fitted
    one = np.array([scorer.score_one(r) for r in requests_])
    many = scorer.score_many(requests_)
    assert many.shape == (len(requests_),) and np.all((many > 0) & (many < 1))
    np.testing.assert_allclose(many, one, rtol=0, atol=1e-12)
    assert scorer.score_many([]).shape == (0,)
    # a DataFrame straight from the log (typed columns, not JSON) gives the same scores too
    frame = rows.sample(60, random_state=0)
    np.testing.assert_allclose(scorer.score_frame(frame)[1:], one[1:], rtol=0, atol=1e-12)


def test_the_scorer_checks_what_it_is_given(fitted, requests_):
    scorer, _ = fitted
    with pytest.raises(ValueError, match="fitted"):
        ClickScorer(FeaturePipeline(), scorer.model, "v")
    with pytest.raises(TypeError, match="predict_proba"):
        ClickScorer(scorer.pipeline, object(), "v")
    with pytest.raises(ValueError, match="version"):
        ClickScorer(scorer.pipeline, scorer.model, " ")
    other = LogisticRegression().fit(np.eye(3), [0, 1, 0])
    with pytest.raises(ValueError, match="expects 3 features"):
        ClickScorer(scorer.pipeline, other, "v")
    incomplete = {k: v for k, v in requests_[1].items() if k != "brand"}
    with pytest.raises(ValueError, match=r"request 1 lacks fields \['brand'\]"):
        scorer.score_many([requests_[1], incomplete])
    with pytest.raises(TypeError, match="list"):
        scorer.score_many(requests_[1])


def split(request: dict) -> tuple[dict, dict]:
    return {f: request[f] for f in CONTEXT_FIELDS}, {f: request[f] for f in CANDIDATE_FIELDS}


def test_rank_scores_every_candidate_at_position_one(fitted, requests_):
    scorer, _ = fitted
    context, _ = split(requests_[3])
    candidates = [split(r)[1] for r in requests_]
    candidates = list({c["item_id"]: c for c in candidates}.values())  # distinct items
    ranking = scorer.rank(context, candidates)
    assert sorted(e["item_id"] for e in ranking) == sorted(c["item_id"] for c in candidates)
    scores = [e["score"] for e in ranking]
    assert scores == sorted(scores, reverse=True)
    expected = {c["item_id"]: scorer.score_one({**context, **c, "position": 1}) for c in candidates}
    for entry in ranking:
        assert entry["score"] == pytest.approx(expected[entry["item_id"]], abs=1e-12)
    # the order the candidates arrive in changes nothing
    assert scorer.rank(context, candidates[::-1]) == ranking
    assert scorer.rank(context, []) == []


def test_rank_breaks_ties_by_item_id(fitted, requests_):
    scorer, _ = fitted
    context, item = split(requests_[0])
    twins = [dict(item, item_id=10**6 + 2), dict(item, item_id=10**6 + 1)]  # never seen: same history, same features
    ranking = scorer.rank(context, twins)
    assert [e["item_id"] for e in ranking] == [10**6 + 1, 10**6 + 2]
    assert ranking[0]["score"] == ranking[1]["score"]


def test_rank_rejects_malformed_slates(fitted, requests_):
    scorer, _ = fitted
    context, item = split(requests_[0])
    with pytest.raises(ValueError, match="distinct item ids"):
        scorer.rank(context, [item, dict(item)])
    with pytest.raises(ValueError, match="position"):
        scorer.rank(context, [dict(item, position=4)])
    with pytest.raises(ValueError, match=r"context lacks fields \['device'\]"):
        scorer.rank({k: v for k, v in context.items() if k != "device"}, [item])
    with pytest.raises(ValueError, match="must not carry"):
        scorer.rank(context, [dict(item, user_id=1)])


# ---------------------------------------------------------------------- the service, in-process
@pytest.fixture()
def client(fitted):
    scorer, _ = fitted
    with TestClient(prediction_app(scorer)) as c:
        yield c


def test_endpoints_answer_what_the_scorer_says(fitted, requests_, client):
    scorer, _ = fitted
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/version").json() == {"version": "ctr-lr-1", "model": "LogisticRegression",
                                             "n_features": scorer.n_features}
    one = client.post("/predict", json=requests_[0])
    assert one.status_code == 200
    assert one.json()["version"] == "ctr-lr-1"
    assert one.json()["p_click"] == pytest.approx(scorer.score_one(requests_[0]), abs=1e-12)
    without_age = {k: v for k, v in requests_[0].items() if k != "age"}  # age may be left out
    assert client.post("/predict", json=without_age).json()["p_click"] == one.json()["p_click"]
    batch = client.post("/predict/batch", json=requests_[:20]).json()
    np.testing.assert_allclose(batch["p_click"], scorer.score_many(requests_[:20]), rtol=0, atol=1e-12)
    context, _ = split(requests_[5])
    candidates = list({r["item_id"]: split(r)[1] for r in requests_}.values())
    ranked = client.post("/rank", json={"context": context, "candidates": candidates}).json()
    assert ranked["version"] == "ctr-lr-1"
    expected = scorer.rank(context, candidates)  # the service scores through the compiled path: equal to 1e-9
    assert [e["item_id"] for e in ranked["ranking"]] == [e["item_id"] for e in expected]
    np.testing.assert_allclose([e["score"] for e in ranked["ranking"]], [e["score"] for e in expected], atol=1e-9)
    assert ranked["fallback"] is None


DROP = object()


def bad(request: dict, **changes) -> dict:
    """The request with fields changed, added, or dropped (value ``DROP``)."""
    return {k: v for k, v in {**request, **changes}.items() if v is not DROP}


BAD_REQUESTS = {
    "id as a string": ({"user_id": "7"}, "user_id"),
    "float id": ({"item_id": 3.5}, "item_id"),
    "position 0": ({"position": 0}, "position"),
    "position 51": ({"position": 51}, "position"),
    "negative price": ({"price": -3.0}, "price"),
    "price with a comma": ({"price": "35,00"}, "price"),
    "age as text": ({"age": "forty"}, "age"),
    "rating out of range": ({"rating": 7.5}, "rating"),
    "not a time": ({"shown_at": "yesterday"}, "shown_at"),
    "time out of range": ({"signup_at": "0001-01-01T00:00:00"}, "signup_at"),
    "number as category": ({"device": 3}, "device"),
    "empty category": ({"brand": ""}, "brand"),
    "missing field": ({"category": DROP}, "category"),
    "unknown field": ({"coupon": "SAVE10"}, "coupon"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_get_422_with_the_reason(requests_, client, case):
    changes, field = BAD_REQUESTS[case]
    response = client.post("/predict", json=bad(requests_[1], **changes))
    assert response.status_code == 422
    body = response.json()
    assert field in {e["loc"][-1] for e in body["detail"]}
    assert body["reason"].startswith(field + ":")


def test_bad_batches_and_slates_get_422(requests_, client):
    assert client.post("/predict/batch", json=[]).status_code == 422
    assert client.post("/predict/batch", json=requests_[0]).status_code == 422  # one request, not a list
    response = client.post("/predict/batch", json=[requests_[0], bad(requests_[1], position=99)])
    assert response.status_code == 422 and response.json()["reason"].startswith("1.position:")
    context, item = split(requests_[0])
    slates = [
        {"context": context, "candidates": []},
        {"context": context, "candidates": [item, item]},
        {"context": dict(context, position=1), "candidates": [item]},
        {"context": context, "candidates": [dict(item, user_id=3)]},
        {"context": context},
    ]
    for slate in slates:
        response = client.post("/rank", json=slate)
        assert response.status_code == 422, slate
        assert response.json()["reason"]
    broken = client.post("/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["reason"]  # not JSON at all: a bad request, not a bad value


def test_a_failing_model_gets_the_fallback_and_the_service_keeps_serving(fitted, requests_):
    scorer, _ = fitted
    flaky = FlakyModel(scorer.model)
    with TestClient(prediction_app(ClickScorer(scorer.pipeline, flaky, "flaky-1"))) as client:
        good = client.post("/predict", json=requests_[0]).json()
        assert good["fallback"] is None
        flaky.fail = True
        prior = scorer.pipeline.history_.prior_
        one = client.post("/predict", json=requests_[0]).json()
        assert one == {"p_click": pytest.approx(prior), "version": "flaky-1", "fallback": "error"}
        batch = client.post("/predict/batch", json=requests_[:3]).json()
        assert batch["p_click"] == pytest.approx([prior] * 3) and batch["fallback"] == "error"
        context, _ = split(requests_[0])
        candidates = list({r["item_id"]: split(r)[1] for r in requests_[:40]}.values())
        ranked = client.post("/rank", json={"context": context, "candidates": candidates}).json()
        clicks = scorer.pipeline.history_.items_["sum"]
        got = [clicks.get(e["item_id"], 0) for e in ranked["ranking"]]
        assert ranked["fallback"] == "error" and got == sorted(got, reverse=True)  # most clicked first
        flaky.fail = False
        assert client.post("/predict", json=requests_[0]).json() == good
        assert client.post("/predict", json=bad(requests_[0], position=0)).status_code == 422
        metrics = client.get("/metrics").json()
        assert metrics["by_status"] == {"200": 5, "422": 1}
        assert metrics["by_endpoint"] == {"/predict": 4, "/predict/batch": 1, "/rank": 1}
        assert metrics["fallbacks"] == {"error": 3}
        assert metrics["predictions"] == 2


def test_a_slow_model_is_cut_off_at_the_deadline(fitted, requests_):
    scorer, _ = fitted
    stuck = StuckModel(scorer.model)
    with TestClient(prediction_app(ClickScorer(scorer.pipeline, stuck, "slow-1"), deadline_ms=50)) as client:
        answer = client.post("/predict", json=requests_[0]).json()
        # answered while the model was still stuck: the deadline, not the model, ended the request
        assert answer["fallback"] == "deadline" and not stuck.finished.is_set()
        assert client.get("/metrics").json()["fallbacks"] == {"deadline": 1}
        stuck.release.set()
    with pytest.raises(ValueError, match="deadline_ms"):
        prediction_app(scorer, deadline_ms=0)


def test_a_non_finite_probability_is_never_served(fitted, requests_):
    scorer, _ = fitted
    with TestClient(prediction_app(ClickScorer(scorer.pipeline, NaNModel(scorer.model), "nan-1"))) as client:
        answer = client.post("/predict", json=requests_[0]).json()
        assert answer["fallback"] == "non-finite" and answer["p_click"] == pytest.approx(scorer.pipeline.history_.prior_)


def test_metrics_count_requests_and_latency(requests_, client):
    empty = client.get("/metrics").json()
    assert empty["requests"] == 0 and empty["latency_ms"] == {"n": 0, "p50": None, "p90": None, "p99": None}
    for request in requests_[:10]:
        client.post("/predict", json=request)
    client.post("/predict/batch", json=requests_[:10])
    client.get("/health")
    client.get("/no/such/page")
    metrics = client.get("/metrics").json()
    assert metrics["requests"] == 13
    assert metrics["by_endpoint"] == {"/predict": 10, "/predict/batch": 1, "/health": 1, "other": 1}
    assert metrics["by_status"] == {"200": 12, "404": 1}
    assert metrics["predictions"] == 20
    latency = metrics["latency_ms"]
    assert latency["n"] == 11 and 0 < latency["p50"] <= latency["p90"] <= latency["p99"]
    assert metrics["latency_ms_by_endpoint"]["/predict"]["n"] == 10
    assert metrics["latency_ms_by_endpoint"]["/rank"]["n"] == 0


def test_prediction_app_needs_a_scorer(fitted):
    scorer, _ = fitted
    with pytest.raises(TypeError, match="ClickScorer"):
        prediction_app(scorer.model)


# ---------------------------------------------------------------------- the service, over HTTP
def test_the_service_over_real_http(fitted, requests_):
    scorer, _ = fitted
    with serve(prediction_app(scorer)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/health").json() == {"status": "ok"}
        for request in requests_[:5]:
            answer = client.post("/predict", json=request).json()
            assert answer["p_click"] == pytest.approx(scorer.score_one(request), abs=1e-12)
        rejected = client.post("/predict", json=bad(requests_[0], price="cheap"))
        assert rejected.status_code == 422 and rejected.json()["reason"].startswith("price:")
        batch = client.post("/predict/batch", json=requests_).json()["p_click"]
        np.testing.assert_allclose(batch, scorer.score_many(requests_), rtol=0, atol=1e-12)
        metrics = client.get("/metrics").json()
        assert metrics["by_status"] == {"200": 7, "422": 1} and metrics["latency_ms"]["n"] == 7


def test_the_answers_are_documented_and_a_big_batch_is_scored_alike(fitted, requests_, client):
    """Each prediction endpoint documents its answer's fields (the answers bypass FastAPI's own
    serialisation, so the schema must say what orjson writes), and a batch over INLINE_ROWS,
    scored in a thread rather than on the event loop, gets the same probabilities."""
    from dmls.serving.service import INLINE_ROWS

    scorer, _ = fitted
    spec = client.get("/openapi.json").json()
    for path, model in (("/predict", "PredictResponse"), ("/predict/batch", "BatchResponse"), ("/rank", "RankResponse")):
        ok = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{model}"}, (path, ok)
        fields = spec["components"]["schemas"][model]
        assert set(fields["required"]) >= {"version", "fallback"}
    big = (requests_ * (INLINE_ROWS // len(requests_) + 1))[:INLINE_ROWS + 1]
    answer = client.post("/predict/batch", json=big)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    np.testing.assert_allclose(answer.json()["p_click"], scorer.score_many(big), rtol=0, atol=1e-9)
    assert client.get("/metrics").json()["predictions"] == INLINE_ROWS + 1


def test_the_shortcut_answers_exactly_what_the_endpoints_answer(requests_, client):
    """A valid body sent as ``application/json`` is answered by the middleware's shortcut; the same
    body under another JSON content type goes through FastAPI's endpoint: the same bytes either
    way, and both counted."""
    context, _ = split(requests_[5])
    candidates = list({r["item_id"]: split(r)[1] for r in requests_}.values())
    bodies = {"/predict": requests_[0], "/predict/batch": requests_[:7], "/rank": {"context": context, "candidates": candidates}}
    for path, body in bodies.items():
        content = json.dumps(body).encode()
        answers = [client.post(path, content=content, headers={"content-type": kind})
                   for kind in ("application/json", "application/json; charset=utf-8", "application/vnd.api+json")]
        assert [a.status_code for a in answers] == [200, 200, 200], path
        assert answers[0].content == answers[1].content == answers[2].content, path
        assert {a.headers["content-type"] for a in answers} == {"application/json"}
    invalid = json.dumps(bad(requests_[0], position=0)).encode()
    refusals = [client.post("/predict", content=invalid, headers={"content-type": kind})
                for kind in ("application/json", "application/json; charset=utf-8")]
    assert [r.status_code for r in refusals] == [422, 422] and refusals[0].content == refusals[1].content
    metrics = client.get("/metrics").json()
    assert metrics["by_status"] == {"200": 9, "422": 2} and metrics["predictions"] == 3 * (1 + 7 + len(candidates))


# ---------------------------------------------------------------------- a client that leaves mid-body
def _post_scope(path: str, length: int) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"x"), (b"content-type", b"application/json"), (b"content-length", str(length).encode())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}


def test_a_client_that_disconnects_mid_body_is_neither_answered_nor_counted(fitted, requests_):
    """What arrived before the disconnect is not the request: a body that happens to be valid JSON
    so far must not be scored (a 200 for bytes the client never finished), and one that is not must
    not get a made-up 400. Nothing is sent, nothing is counted, and the next request is served."""
    import asyncio

    scorer, _ = fitted
    app = prediction_app(scorer)
    valid = json.dumps(requests_[0]).encode()
    for body, path in [(valid, "/predict"), (valid[:-1], "/predict"), (json.dumps(requests_[:3]).encode(), "/predict/batch"),
                       (b"", "/rank")]:
        messages = [{"type": "http.request", "body": body, "more_body": True}, {"type": "http.disconnect"}]
        sent = []

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        asyncio.run(app(_post_scope(path, len(body) + 100), receive, send))
        assert sent == [], (path, body[:40])
    metrics = app.state.metrics.snapshot()
    assert metrics["requests"] == 0 and metrics["by_status"] == {} and metrics["predictions"] == 0
    with TestClient(app) as client:  # and the app still answers
        assert client.post("/predict", json=requests_[0]).status_code == 200
    assert app.state.metrics.snapshot()["by_status"] == {"200": 1}


def test_over_http_a_client_gone_mid_body_leaves_no_trace_in_the_metrics(fitted, requests_):
    import socket

    scorer, _ = fitted
    valid = json.dumps(requests_[0]).encode()
    with serve(prediction_app(scorer)) as server:
        for sent in (valid, valid[: len(valid) // 2]):  # valid JSON so far, and not
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
                raw.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: %d\r\n\r\n" % (len(valid) + 100) + sent)
                time.sleep(0.2)  # the server has read what was sent and waits for the rest
            # closed without the rest
        time.sleep(0.5)  # time for the server to see the disconnect (and, before the fix, to answer it)
        with httpx.Client(base_url=server.url, timeout=10) as client:
            answer = client.post("/predict", json=requests_[0])
            metrics = client.get("/metrics").json()
    assert answer.status_code == 200 and answer.json()["p_click"] == pytest.approx(scorer.score_one(requests_[0]), abs=1e-9)
    assert metrics["by_status"] == {"200": 1} and metrics["requests"] == 1 and metrics["predictions"] == 1


def _new_threads(before: set, patience_s: float = 30.0) -> list[str]:
    """The threads alive now that were not in ``before``, once there are none or ``patience_s`` passed."""
    stop = time.monotonic() + patience_s
    while (new := [t.name for t in threading.enumerate() if t not in before]) and time.monotonic() < stop:
        time.sleep(0.05)
    return new


class HungModel(FlakyModel):
    """A model that hangs until released, as one does on a dead connection to its feature store."""

    def __init__(self, model):
        super().__init__(model)
        self.release = threading.Event()

    def predict_proba(self, X):
        self.release.wait()
        return self.model.predict_proba(X)


def test_an_app_that_stops_leaves_no_scoring_threads_behind(fitted, requests_):
    """The deadline's threads are shut down when the app's lifespan ends, so apps built and closed
    (as tests and notebooks do) leave no threads; an app that serves again starts new ones."""
    scorer, _ = fitted
    before = set(threading.enumerate())
    for _ in range(3):
        app = prediction_app(scorer, deadline_ms=5_000)
        for _serving in range(2):
            with TestClient(app) as client:
                for request in requests_[:6]:
                    assert client.post("/predict", json=request).json()["fallback"] is None
                assert any(t.name.startswith("scoring") for t in threading.enumerate())  # they scored
    assert _new_threads(before) == []


def test_an_app_served_over_http_and_stopped_leaves_no_scoring_threads_behind(fitted, requests_):
    """dmls.data.service.serve runs the app's lifespan, so a real server's stop shuts the deadline's
    threads down too (it ran apps with lifespan="off", and they kept their threads)."""
    scorer, _ = fitted
    before = set(threading.enumerate())
    with serve(prediction_app(scorer, deadline_ms=5_000)) as running:
        answer = httpx.post(running.url + "/predict", json=requests_[0], timeout=10).json()
        assert answer["fallback"] is None
        assert any(t.name.startswith("scoring") for t in threading.enumerate())
    assert _new_threads(before) == []


def test_a_hung_model_under_a_deadline_falls_back_and_its_threads_end_when_it_returns(fitted, requests_):
    scorer, _ = fitted
    hung = HungModel(scorer.model)
    before = set(threading.enumerate())
    try:
        with TestClient(prediction_app(ClickScorer(scorer.pipeline, hung, "hung-1"), deadline_ms=20)) as client:
            answers = [client.post("/predict", json=r).json()["fallback"] for r in requests_[:6]]
            assert answers == ["deadline"] * 6  # four stuck threads, then two cancelled in the queue
            assert client.get("/metrics").json()["fallbacks"] == {"deadline": 6}
            assert len(_new_threads(before, patience_s=0)) >= 4  # every scoring thread is stuck
        assert len(_new_threads(before, patience_s=0)) >= 4  # the stop does not wait for them...
    finally:
        hung.release.set()
    assert _new_threads(before) == []  # ...they end when the model returns


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class WhereModel(FlakyModel):
    """A model that notes, for each call, how many rows it scored and whether on the event loop."""

    def __init__(self, model):
        super().__init__(model)
        self.calls = []

    def predict_proba(self, X):
        self.calls.append((X.shape[0], _on_event_loop()))
        return self.model.predict_proba(X)


def test_a_big_request_is_parsed_and_scored_off_the_event_loop(fitted, requests_):
    """Up to INLINE_ROWS rows are scored on the event loop (a thread hop would cost more); bigger
    requests in a thread, and a body over THREAD_BODY_BYTES is parsed and validated in one too,
    """
    from dmls.serving.service import INLINE_ROWS, THREAD_BODY_BYTES, _Guard

    scorer, _ = fitted
    where = WhereModel(scorer.model)
    app = prediction_app(ClickScorer(scorer.pipeline, where, "where-1"), compiled=False)
    app.middleware_stack = app.build_middleware_stack()
    guard = app.middleware_stack
    while not isinstance(guard, _Guard):
        guard = guard.app
    validated = []

    def noting(validate):
        def validate_here(value):
            validated.append((len(value) if isinstance(value, list) else 1, _on_event_loop()))
            return validate(value)
        return validate_here

    guard.shortcuts = {path: (noting(validate), answer) for path, (validate, answer) in guard.shortcuts.items()}
    n_big = THREAD_BODY_BYTES // len(json.dumps(requests_[0])) + 50  # a body over THREAD_BODY_BYTES
    batches = [requests_[:INLINE_ROWS // 2], (requests_ * 10)[:INLINE_ROWS], (requests_ * 10)[:INLINE_ROWS + 1],
               (requests_ * (n_big // len(requests_) + 1))[:n_big]]
    assert len(json.dumps(batches[-1])) > THREAD_BODY_BYTES > len(json.dumps(batches[-2]))
    context, _ = split(requests_[0])
    slate = {"context": context, "candidates": list({r["item_id"]: split(r)[1] for r in requests_}.values())}
    with TestClient(app) as client:
        for batch in batches:
            answer = client.post("/predict/batch", content=json.dumps(batch), headers={"content-type": "application/json"})
            assert answer.json()["fallback"] is None
        assert client.post("/rank", json=slate).json()["fallback"] is None
    assert where.calls == [(len(batches[0]), True), (INLINE_ROWS, True), (INLINE_ROWS + 1, False),
                           (n_big, False), (len(slate["candidates"]), True)]
    assert validated == [(len(batches[0]), True), (INLINE_ROWS, True), (INLINE_ROWS + 1, True), (n_big, False),
                         (1, True)]


class GatedModel(FlakyModel):
    """A model that, given a big batch, waits until told that another request has been answered."""

    def __init__(self, model, rows: int):
        super().__init__(model)
        self.rows, self.started, self.others_answered = rows, threading.Event(), threading.Event()
        self.waited = None

    def predict_proba(self, X):
        if X.shape[0] >= self.rows:
            self.started.set()
            self.waited = self.others_answered.wait(timeout=60)  # on the event loop, nothing else could be answered
        return self.model.predict_proba(X)


def test_a_small_request_is_answered_while_a_big_batch_is_scored(fitted, requests_):
    """Over HTTP, a prediction is answered while a batch of 1,000 rows is being scored: the batch's
    model waits until the prediction has been answered, which would never happen (and the wait
    give up) if the batch held the event loop."""
    scorer, _ = fitted
    gated = GatedModel(scorer.model, rows=1_000)
    big = (requests_ * 20)[:1_000]
    with serve(prediction_app(ClickScorer(scorer.pipeline, gated, "gated-1"))) as server:
        answers = {}

        def post_big():
            with httpx.Client(base_url=server.url, timeout=120) as client:
                answers["big"] = client.post("/predict/batch", json=big)

        thread = threading.Thread(target=post_big)
        thread.start()
        try:
            assert gated.started.wait(timeout=60)
            with httpx.Client(base_url=server.url, timeout=60) as client:
                small = client.post("/predict", json=requests_[0])
            gated.others_answered.set()
        finally:
            gated.others_answered.set()
            thread.join(timeout=120)
    assert small.status_code == 200 and small.json()["fallback"] is None
    assert gated.waited is True
    assert answers["big"].status_code == 200 and len(answers["big"].json()["p_click"]) == 1_000
