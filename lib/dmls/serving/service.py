"""Online prediction: a fitted pipeline and model behind an HTTP API.

Introduced in chapter 7 ("Batch Prediction Versus Online Prediction"). :class:`ClickScorer` puts
chapter 5's :class:`~dmls.features.FeaturePipeline` and a fitted classifier together: one request
(a dict), many requests (one batch through ``pipeline.transform``), or a slate to rank. The same
scorer serves online (:func:`prediction_app`, a FastAPI app) and offline
(:func:`dmls.serving.batch.batch_predict`), so the two paths compute the same features and the
same scores.

The app validates every request at the boundary with pydantic models derived from
:data:`~dmls.features.REQUEST_FIELDS` (422 with the reasons), turns a failure inside the model
into a 500 with a message without losing the service, and keeps request counts and latencies in
memory (``GET /metrics``) for chapter 8 to monitor. Run it for real with
:func:`dmls.data.service.serve`.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Optional

import numpy as np
import pandas as pd
from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from dmls.features.pipeline import REQUEST_FIELDS

logger = logging.getLogger(__name__)

#: What the session knows before anything is ranked: who, on which device, when.
CONTEXT_FIELDS = ("user_id", "device", "shown_at", "user_region", "age", "signup_at")
#: What each candidate item carries.
CANDIDATE_FIELDS = ("item_id", "price", "category", "brand", "rating", "listed_at")
#: The slot every candidate is scored at when ranking (see :meth:`ClickScorer.rank`).
RANKING_POSITION = 1
#: Fields a request may leave out or send as null.
OPTIONAL_FIELDS = ("age",)
#: Bounds checked at the boundary, beyond the kind of each field.
FIELD_LIMITS = {"position": {"ge": 1, "le": 50}, "price": {"gt": 0}, "age": {"ge": 0, "le": 150},
                "rating": {"ge": 0, "le": 5}}
MAX_ID = 2**63 - 1  # ids are stored as int64
MAX_BATCH = 10_000
MAX_CANDIDATES = 10_000
LATENCY_WINDOW = 10_000
PREDICTION_ENDPOINTS = ("/predict", "/predict/batch", "/rank")

if set(CONTEXT_FIELDS) | set(CANDIDATE_FIELDS) | {"position"} != set(REQUEST_FIELDS):  # pragma: no cover
    raise ImportError("CONTEXT_FIELDS, CANDIDATE_FIELDS and position must make up REQUEST_FIELDS")


class ClickScorer:
    """A fitted feature pipeline and classifier: the probability that an impression is clicked.

    Parameters
    ----------
    pipeline : FeaturePipeline
        Fitted on the training impressions (chapter 5).
    model : classifier
        Fitted on ``pipeline``'s output; ``predict_proba`` gives the click probability in the
        column of class 1 (``True``).
    version : str
        Which model this is; every response of the service carries it.

    Every method runs ``pipeline.transform`` on a DataFrame, so one request scored alone
    (:meth:`score_one`), in a batch (:meth:`score_many`, :meth:`score_frame`) or as a candidate
    (:meth:`rank`) gets the same features and the same score — and the same checks: a bad value
    (a position of 0, a time given as a bare number, a blank device, an infinite price, an id
    outside int64) raises a ``TypeError`` or ``ValueError`` naming its field, once per call
    (:func:`~dmls.features.impression_attributes`).

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    def __init__(self, pipeline, model, version: str):
        for method in ("transform", "transform_one", "get_feature_names_out"):
            if not callable(getattr(pipeline, method, None)):
                raise TypeError(f"pipeline must be a fitted FeaturePipeline (it has no {method}), "
                                f"got {type(pipeline).__name__}")
        try:
            self.feature_names = [str(name) for name in pipeline.get_feature_names_out()]
        except RuntimeError as error:
            raise ValueError(f"the pipeline must be fitted: {error}") from None
        if not callable(getattr(model, "predict_proba", None)):
            raise TypeError(f"model must have predict_proba, got {type(model).__name__}")
        n_in = getattr(model, "n_features_in_", None)
        if n_in is not None and n_in != len(self.feature_names):
            raise ValueError(f"the model expects {n_in} features but the pipeline makes {len(self.feature_names)}")
        classes = getattr(model, "classes_", None)
        if classes is None:
            self._positive = 1
        else:
            matches = [i for i, c in enumerate(list(classes)) if c == 1]
            if len(matches) != 1:
                raise ValueError(f"the model's classes must include clicked (1 or True), got {list(classes)}")
            self._positive = matches[0]
        if not isinstance(version, str):
            raise TypeError(f"version must be a non-empty string, got {type(version).__name__} {version!r}")
        if not version.strip():
            raise ValueError(f"version must be a non-empty string, got {version!r}")
        self.pipeline = pipeline
        self.model = model
        self.version = version

    def __repr__(self) -> str:
        return f"ClickScorer(version={self.version!r}, model={type(self.model).__name__}, features={self.n_features})"

    @property
    def n_features(self) -> int:
        """How many features the pipeline makes (and the model reads)."""
        return len(self.feature_names)

    def _proba(self, features) -> np.ndarray:
        p = np.asarray(self.model.predict_proba(features), dtype=float)
        if p.ndim != 2 or p.shape[0] != features.shape[0]:
            raise RuntimeError(f"predict_proba returned shape {p.shape} for {features.shape[0]} rows")
        return p[:, self._positive]

    def score_one(self, request: Mapping) -> float:
        """Click probability of one request, through ``pipeline.transform_one``.

        Parameters
        ----------
        request : mapping
            The :data:`~dmls.features.REQUEST_FIELDS` (times may be ISO 8601 strings, ``age``
            may be None); other keys are ignored.

        Returns
        -------
        float

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        return float(self._proba(self.pipeline.transform_one(request))[0])

    def score_many(self, requests: Sequence[Mapping]) -> np.ndarray:
        """Click probabilities of many requests in one batch (one ``pipeline.transform``).

        Equal to :meth:`score_one` of each request: ``pipeline.transform_requests`` builds the
        batch the way ``transform_one`` builds its single row.

        Parameters
        ----------
        requests : sequence of mappings
            Each with the :data:`~dmls.features.REQUEST_FIELDS`.

        Returns
        -------
        numpy.ndarray
            One probability per request, in order (empty for no requests).

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        if isinstance(requests, (Mapping, str, bytes)) or not isinstance(requests, Sequence):
            raise TypeError(f"requests must be a list of request dicts, got {type(requests).__name__}")
        if len(requests) == 0:
            return np.zeros(0)
        return self._proba(self.pipeline.transform_requests(list(requests)))

    def score_frame(self, rows: pd.DataFrame) -> np.ndarray:
        """Click probabilities of a DataFrame of impressions with the :data:`~dmls.features.REQUEST_FIELDS`.

        What batch prediction (:func:`~dmls.serving.batch.batch_predict`) calls on each chunk.

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        if not isinstance(rows, pd.DataFrame):
            raise TypeError(f"rows must be a DataFrame, got {type(rows).__name__}")
        if len(rows) == 0:
            return np.zeros(0)
        return self._proba(self.pipeline.transform(rows))

    def rank(self, context: Mapping, candidates: Sequence[Mapping]) -> list[dict]:
        """Rank candidate items for one session, best first.

        Every candidate is scored *as if shown at position 1*. The position is an input of the
        model because it explains clicks in the training data (people look less far down the
        slate), but when ranking, the slot is what is being decided: scoring each candidate at
        the slot it happens to hold in the request would let the order of the candidate list
        decide the ranking, and scoring it at the slot the ranking will give it is circular.
        At one common slot the position's effect is the same for every candidate, so the scores
        compare the items' appeal alone, free of position bias (chapter 4), and mean "the click
        probability if shown first".

        Parameters
        ----------
        context : mapping
            The session's fields, :data:`CONTEXT_FIELDS` (``user_id, device, shown_at,
            user_region, age, signup_at``).
        candidates : sequence of mappings
            Each with the item's fields, :data:`CANDIDATE_FIELDS` (``item_id, price, category,
            brand, rating, listed_at``). Item ids must be integers (``int`` or a numpy integer,
            not a bool, a float or a string such as ``"5"``) from 0 to 2**63 - 1, and distinct:
            a repeated id is an error, not merged, because two candidates with one id but
            different fields cannot both be right. Neither may carry ``position``, nor each
            other's fields. Every other value is checked as
            :func:`~dmls.features.impression_attributes` says.

        Returns
        -------
        list of dict
            ``{"item_id": int, "score": float}`` for every candidate, by decreasing score; ties
            are broken by increasing item id, so the order is deterministic.

        Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
        """
        if not isinstance(context, Mapping):
            raise TypeError(f"context must be a mapping of field to value, got {type(context).__name__}")
        if isinstance(candidates, (Mapping, str, bytes)) or not isinstance(candidates, Sequence):
            raise TypeError(f"candidates must be a list of item dicts, got {type(candidates).__name__}")
        _check_part("context", context, CONTEXT_FIELDS, CANDIDATE_FIELDS)
        for i, candidate in enumerate(candidates):
            if not isinstance(candidate, Mapping):
                raise TypeError(f"candidate {i} must be a mapping of field to value, got {type(candidate).__name__}")
            _check_part(f"candidate {i}", candidate, CANDIDATE_FIELDS, CONTEXT_FIELDS)
        if not candidates:
            return []
        item_ids = [_item_id(i, c["item_id"]) for i, c in enumerate(candidates)]
        if len(set(item_ids)) != len(item_ids):
            counts = Counter(item_ids)
            repeated = sorted(i for i, n in counts.items() if n > 1)
            raise ValueError(f"candidates must have distinct item ids (item_id); repeated: {repeated[:10]}")
        shared = {f: context[f] for f in CONTEXT_FIELDS}
        rows = [{**shared, **{f: c[f] for f in CANDIDATE_FIELDS}, "position": RANKING_POSITION} for c in candidates]
        scores = self.score_many(rows)
        order = sorted(range(len(item_ids)), key=lambda i: (-scores[i], item_ids[i]))
        return [{"item_id": item_ids[i], "score": float(scores[i])} for i in order]


def _item_id(i: int, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"candidate {i}: item_id must be an integer, got {type(value).__name__} {value!r}")
    if not 0 <= value <= MAX_ID:
        raise ValueError(f"candidate {i}: item_id must be from 0 to 2**63 - 1, got {value!r}")
    return int(value)


def _check_part(what: str, part: Mapping, fields: Sequence[str], others: Sequence[str]) -> None:
    missing = [f for f in fields if f not in part]
    if missing:
        raise ValueError(f"{what} lacks fields {missing}")
    misplaced = [f for f in (*others, "position") if f in part]
    if misplaced:
        why = "the scorer ranks at position 1" if misplaced == ["position"] else "they belong elsewhere"
        raise ValueError(f"{what} must not carry {misplaced}: {why}")


# ---------------------------------------------------------------------- request models
def _iso_time(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
        pd.Timestamp(parsed).as_unit("ns")  # within what the pipeline's datetime64[ns] can hold (1677 to 2262)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"must be an ISO 8601 time such as 2026-03-02T14:05:00Z ({error})") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _field(name: str):
    kind = REQUEST_FIELDS[name]
    limits = FIELD_LIMITS.get(name, {})
    if kind == "id" or name == "position":
        annotation = Annotated[int, Field(strict=True, **({"ge": 0, "le": MAX_ID} | limits))]
    elif kind == "number":
        annotation = Annotated[float, Field(strict=True, allow_inf_nan=False, **limits)]
    elif kind == "time":
        annotation = Annotated[str, Field(strict=True, max_length=64), AfterValidator(_iso_time)]
    elif kind == "category":
        annotation = Annotated[str, Field(strict=True, min_length=1, max_length=100), AfterValidator(_not_blank)]
    else:  # pragma: no cover - REQUEST_FIELDS knows only these kinds
        raise ValueError(f"unknown kind {kind!r} of field {name!r}")
    if name in OPTIONAL_FIELDS:
        return Optional[annotation], None
    return annotation, ...


_STRICT = ConfigDict(extra="forbid")
_DOC = 'Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").'

PredictRequest = create_model(
    "PredictRequest", __config__=_STRICT, __module__=__name__,
    __doc__=f"One impression to score: the REQUEST_FIELDS, nothing else (position 1 to 50, age may be null).\n\n{_DOC}",
    **{name: _field(name) for name in REQUEST_FIELDS})
RankContext = create_model(
    "RankContext", __config__=_STRICT, __module__=__name__,
    __doc__=f"The session part of a ranking request: CONTEXT_FIELDS.\n\n{_DOC}",
    **{name: _field(name) for name in CONTEXT_FIELDS})
RankCandidate = create_model(
    "RankCandidate", __config__=_STRICT, __module__=__name__,
    __doc__=f"One candidate item of a ranking request: CANDIDATE_FIELDS.\n\n{_DOC}",
    **{name: _field(name) for name in CANDIDATE_FIELDS})


class RankRequest(BaseModel):
    """A session and the candidates to rank for it (distinct item ids, at least one).

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    model_config = _STRICT
    context: RankContext
    candidates: list[RankCandidate] = Field(min_length=1, max_length=MAX_CANDIDATES)

    @model_validator(mode="after")
    def _distinct_items(self) -> "RankRequest":
        ids = [c.item_id for c in self.candidates]
        if len(set(ids)) != len(ids):
            raise ValueError("candidates must have distinct item ids (item_id)")
        return self


# ---------------------------------------------------------------------- metrics
class _Metrics:
    """Request counts and a window of recent latencies, shared by the server's threads."""

    def __init__(self, endpoints: Sequence[str], window: int = LATENCY_WINDOW):
        self.endpoints = set(endpoints)
        self.started = time.time()
        self.lock = threading.Lock()
        self.requests: Counter = Counter()
        self.statuses: Counter = Counter()
        self.predictions = 0
        self.latencies: deque = deque(maxlen=window)  # (endpoint, ms), prediction endpoints only

    def record(self, path: str, status: int, ms: float) -> None:
        endpoint = path if path in self.endpoints else "other"
        with self.lock:
            self.requests[endpoint] += 1
            self.statuses[str(status)] += 1
            if endpoint in PREDICTION_ENDPOINTS:
                self.latencies.append((endpoint, ms))

    def scored(self, n: int) -> None:
        with self.lock:
            self.predictions += n

    def snapshot(self) -> dict:
        with self.lock:
            latencies = list(self.latencies)
            out = {"requests": sum(self.requests.values()), "by_endpoint": dict(self.requests),
                   "by_status": dict(self.statuses), "predictions": self.predictions,
                   "uptime_s": round(time.time() - self.started, 3)}
        out["latency_ms"] = _percentiles([ms for _, ms in latencies])
        out["latency_ms_by_endpoint"] = {e: _percentiles([ms for name, ms in latencies if name == e])
                                         for e in PREDICTION_ENDPOINTS}
        return out


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"n": len(values), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


def _reason(errors: list[dict]) -> str:
    """pydantic's errors in one line: ``field: message; field: message``."""
    parts = []
    for error in errors:
        where = ".".join(str(x) for x in error.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return " ".join("; ".join(parts).split())  # one line whatever the messages hold


def _json_safe(value):
    """``value`` with every non-finite float replaced by its text (``"inf"``, ``"nan"``): a 422
    echoes the bad input, and JSON cannot hold infinities (``JSONResponse`` would fail)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


# ---------------------------------------------------------------------- the app
def prediction_app(scorer: ClickScorer) -> FastAPI:
    """The prediction service: a :class:`ClickScorer` behind an HTTP API.

    Endpoints:

    - ``GET /health`` — ``{"status": "ok"}``;
    - ``GET /version`` — the model version, its class and how many features it reads;
    - ``POST /predict`` — one :class:`PredictRequest` → ``{"p_click": float, "version": str}``;
    - ``POST /predict/batch`` — a list of up to 10,000 requests → ``{"p_click": [float, ...],
      "version": str}``, in order;
    - ``POST /rank`` — a :class:`RankRequest` ``{"context": {...}, "candidates": [...]}`` →
      ``{"ranking": [{"item_id": int, "score": float}, ...], "version": str}``, best first
      (see :meth:`ClickScorer.rank`);
    - ``GET /metrics`` — requests by endpoint and by status code, predictions served, and the
      p50/p90/p99 latency in milliseconds over the last 10,000 prediction requests (overall and
      by endpoint), measured in the app from request to response. Calls to ``/metrics`` itself
      are not counted.

    A request that fails validation gets a 422: ``detail`` lists pydantic's errors and
    ``reason`` says the same in one line, each part starting with the field
    (``price: Input should be a finite number``). The checks are those of
    :func:`~dmls.features.impression_attributes` and more (position at most 50, rating in
    [0, 5], age in [0, 150], categories non-blank strings, ids integers within int64, times ISO
    8601 strings, not numbers); a non-finite number sent as ``NaN`` or ``Infinity`` is echoed
    as text in ``detail``. If the model raises, the client gets a 500 with the
    message, the error is logged, and the service goes on serving.

    Parameters
    ----------
    scorer : ClickScorer

    Returns
    -------
    fastapi.FastAPI
        Run it with :func:`dmls.data.service.serve` (uvicorn, in a background thread) or test it
        in-process with ``fastapi.testclient.TestClient``.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """
    if not isinstance(scorer, ClickScorer):
        raise TypeError(f"prediction_app needs a ClickScorer, got {type(scorer).__name__}")
    app = FastAPI(title="click prediction service", version=scorer.version)
    metrics = _Metrics(["/health", "/version", *PREDICTION_ENDPOINTS])
    app.state.metrics = metrics

    @app.middleware("http")
    async def count_and_time(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        if request.url.path != "/metrics":
            metrics.record(request.url.path, response.status_code, 1000 * (time.perf_counter() - start))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k not in ("ctx", "url")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": _json_safe(jsonable_encoder(errors)),
                                                      "reason": _reason(errors)})

    def run(what: str, score, n: int):
        try:
            result = score()
        except Exception as error:  # the model's failure must not take the service down
            logger.exception("%s failed (model %s)", what, scorer.version)
            detail = f"{what} failed in model {scorer.version}: {type(error).__name__}: {error}"
            raise HTTPException(status_code=500, detail=detail) from None
        metrics.scored(n)
        return result

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/version")
    def version() -> dict:
        return {"version": scorer.version, "model": type(scorer.model).__name__, "n_features": scorer.n_features}

    @app.post("/predict")
    def predict(request: PredictRequest) -> dict:
        p = run("prediction", lambda: scorer.score_one(request.model_dump()), 1)
        return {"p_click": _finite(p), "version": scorer.version}

    @app.post("/predict/batch")
    def predict_batch(requests: Annotated[list[PredictRequest], Body(min_length=1, max_length=MAX_BATCH)]) -> dict:
        p = run("batch prediction", lambda: scorer.score_many([r.model_dump() for r in requests]), len(requests))
        return {"p_click": [_finite(x) for x in p], "version": scorer.version}

    @app.post("/rank")
    def rank(request: RankRequest) -> dict:
        context = request.context.model_dump()
        candidates = [c.model_dump() for c in request.candidates]
        ranking = run("ranking", lambda: scorer.rank(context, candidates), len(candidates))
        for entry in ranking:
            entry["score"] = _finite(entry["score"])
        return {"ranking": ranking, "version": scorer.version}

    @app.get("/metrics")
    def get_metrics() -> dict:
        return metrics.snapshot()

    return app


def _finite(p: float) -> float:
    p = float(p)
    if not math.isfinite(p):
        raise HTTPException(status_code=500, detail=f"the model returned a non-finite probability {p}")
    return p
