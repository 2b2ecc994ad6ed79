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

import asyncio
import contextlib
import email.message
import functools
import json
import logging
import math
import socket
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Literal, Optional

import numpy as np
import orjson
import pandas as pd
from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, create_model,
                      model_validator)

from dmls._validation import check_bool, check_int, check_number
from dmls.features.pipeline import REQUEST_FIELDS

from .compiled import ISO_TIME, CompiledScorer

logger = logging.getLogger(__name__)

#: What the session knows before anything is ranked: who, on which device, when.
CONTEXT_FIELDS = ("user_id", "device", "shown_at", "user_region", "age", "signup_at")
#: What each candidate item carries.
CANDIDATE_FIELDS = ("item_id", "price", "category", "brand", "rating", "listed_at")
#: The slot every candidate is scored at when ranking (see :meth:`ClickScorer.rank`).
RANKING_POSITION = 1
#: Prices the service accepts: a cent to a million. The model extrapolates beyond the prices it
#: was trained on, and a price near zero (``5e-324``) would put any item at the top of a ranking.
MIN_PRICE, MAX_PRICE = 0.01, 1_000_000.0
#: The largest request body accepted, in bytes (a full batch of requests is about 3 MB).
MAX_BODY_BYTES = 4_000_000
#: At most this many validation errors are listed in a 422.
MAX_ERRORS_SHOWN = 20
#: Fields a request may leave out or send as null.
OPTIONAL_FIELDS = ("age",)
#: Bounds checked at the boundary, beyond the kind of each field.
FIELD_LIMITS = {"position": {"ge": 1, "le": 50}, "price": {"ge": MIN_PRICE, "le": MAX_PRICE},
                "age": {"ge": 0, "le": 150}, "rating": {"ge": 0, "le": 5}}
MAX_ID = 2**63 - 1  # ids are stored as int64
#: The largest id the HTTP API accepts: the largest integer every JSON reader (JavaScript's
#: numbers are doubles) keeps exact. Larger ids would reach some clients rounded.
MAX_JSON_ID = 2**53 - 1
MAX_BATCH = 10_000
MAX_CANDIDATES = 10_000
LATENCY_WINDOW = 10_000
PREDICTION_ENDPOINTS = ("/predict", "/predict/batch", "/rank")
#: Threads that score under a deadline (``prediction_app(deadline_ms=...)``), per app.
DEADLINE_THREADS = 4
#: Requests of at most this many rows are scored on the event loop; bigger ones in a thread. A
#: thread hop costs about as much as scoring a few dozen rows, and 100 rows hold the loop ~2 ms.
INLINE_ROWS = 100
#: A body larger than this many bytes (about 900 rows) is parsed and validated in a thread, not
#: on the event loop: 10,000 rows (2.9 MB) take ~110 ms to parse and validate. The thread still
#: holds the GIL through each C call (``json.loads`` alone is ~25 ms of them), so such a batch
#: still pauses the loop for a few tens of milliseconds, against ~140 ms when all of it ran there.
THREAD_BODY_BYTES = 256_000

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
        item_ids = _slate_item_ids(context, candidates)
        if not item_ids:
            return []
        shared = {f: context[f] for f in CONTEXT_FIELDS}
        rows = [{**shared, **{f: c[f] for f in CANDIDATE_FIELDS}, "position": RANKING_POSITION} for c in candidates]
        return _ranked(item_ids, self.score_many(rows))


def _slate_item_ids(context, candidates) -> list[int]:
    """The candidates' item ids, after checking a ranking request's shape: a context mapping with
    the CONTEXT_FIELDS, a list of candidate mappings with the CANDIDATE_FIELDS, neither carrying
    the other's fields or a position, integer item ids that are distinct."""
    if not isinstance(context, Mapping):
        raise TypeError(f"context must be a mapping of field to value, got {type(context).__name__}")
    if isinstance(candidates, (Mapping, str, bytes)) or not isinstance(candidates, Sequence):
        raise TypeError(f"candidates must be a list of item dicts, got {type(candidates).__name__}")
    _check_part("context", context, CONTEXT_FIELDS, CANDIDATE_FIELDS)
    for i, candidate in enumerate(candidates):
        if not isinstance(candidate, Mapping):
            raise TypeError(f"candidate {i} must be a mapping of field to value, got {type(candidate).__name__}")
        _check_part(f"candidate {i}", candidate, CANDIDATE_FIELDS, CONTEXT_FIELDS)
    item_ids = [_item_id(i, c["item_id"]) for i, c in enumerate(candidates)]
    if len(set(item_ids)) != len(item_ids):
        counts = Counter(item_ids)
        repeated = sorted(i for i, n in counts.items() if n > 1)
        raise ValueError(f"candidates must have distinct item ids (item_id); repeated: {repeated[:10]}")
    return item_ids


def _ranked(item_ids: list[int], scores) -> list[dict]:
    """``{"item_id", "score"}`` by decreasing score, ties by increasing item id."""
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
    _check_iso_time(value)
    return value


@functools.lru_cache(maxsize=1 << 16)
def _check_iso_time(value: str) -> None:
    """Raise unless ``value`` is a time the pipeline reads; remembered, since requests repeat
    their times (an item's ``listed_at`` comes with every slate it is in). A refusal raises and
    is not remembered."""
    if not ISO_TIME.fullmatch(value):
        raise ValueError("must be an ISO 8601 time such as 2026-03-02T14:05:00Z (a calendar date, optionally "
                         "a time of day with up to six decimals of seconds, and Z or an offset such as +01:00)")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        pd.Timestamp(parsed).as_unit("ns")  # within what the pipeline's datetime64[ns] can hold (1677 to 2262)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"must be an ISO 8601 time from 1677 to 2262 ({error})") from None


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid unicode (it holds a lone surrogate, such as \\ud800)") from None
    return value


#: The times the schema admits: ISO_TIME with a real calendar date (leap years included) whose
#: year is within what the pipeline's datetime64[ns] holds whatever the offset (1678 to 2261).
_YEAR = r"(?:16(?:7[89]|[89]\d)|1[7-9]\d\d|2[01]\d\d|22[0-5]\d|226[01])"
_LEAP = r"(?:16(?:8[048]|9[26])|1[7-9](?:0[48]|[2468][048]|[13579][26])|20(?:[02468][048]|[13579][26])" \
        r"|21(?:0[48]|[2468][048]|[13579][26])|22(?:0[48]|1[26]|2[048]|3[26]|4[048]|5[26]|60))"
_MONTH_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
SCHEMA_TIME = (rf"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP}-02-29)"
               r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)?)?$")


#: A character that is not whitespace as Python's ``str.strip`` sees it (the pipeline refuses a
#: category of whitespace only), spelled out so that every JSON Schema reader agrees.
NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _integral(value):
    """An integral float (``49.0``) as the integer JSON Schema says it is; anything else unchanged,
    for the strict check to judge (booleans and strings stay refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _field(name: str):
    kind = REQUEST_FIELDS[name]
    limits = FIELD_LIMITS.get(name, {})
    if kind == "id" or name == "position":
        annotation = Annotated[int, Field(strict=True, **({"ge": 0, "le": MAX_JSON_ID} | limits)), BeforeValidator(_integral)]
    elif kind == "number":
        annotation = Annotated[float, Field(strict=True, allow_inf_nan=False, **limits)]
    elif kind == "time":
        annotation = Annotated[str, Field(strict=True, max_length=40, pattern=SCHEMA_TIME,
                                          description="An ISO 8601 calendar date, or date and time, from 1678 to "
                                                      "2261: 2026-03-02, 2026-03-02T14:05:00Z, "
                                                      "2026-03-02 14:05:00.5+01:00 (no offset means UTC)."),
                               AfterValidator(_iso_time)]
    elif kind == "category":
        annotation = Annotated[str, Field(strict=True, min_length=1, max_length=100, pattern=NOT_BLANK),
                               AfterValidator(_not_blank)]
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


_Fallen = Optional[Literal["error", "non-finite", "deadline"]]
_Probability = Annotated[float, Field(ge=0, le=1)]


class PredictResponse(BaseModel):
    """The answer of ``POST /predict``: the click probability, the model's version, and why the
    fallback answered instead of the model (null when it did not).

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    p_click: _Probability
    version: str
    fallback: _Fallen


class BatchResponse(BaseModel):
    """The answer of ``POST /predict/batch``: one probability per request, in order.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    p_click: list[_Probability]
    version: str
    fallback: _Fallen


class RankedItem(BaseModel):
    """One entry of a ranking: the item and its score (the click probability at position 1).

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    item_id: int
    score: _Probability


class RankResponse(BaseModel):
    """The answer of ``POST /rank``: every candidate, best first.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """

    ranking: list[RankedItem]
    version: str
    fallback: _Fallen


#: The body of ``POST /predict/batch``: 1 to MAX_BATCH requests. Declared by the route, and checked
#: by the middleware's shortcut through :data:`_BATCH`, so that both accept the same batches.
BatchBody = Annotated[list[PredictRequest], Body(min_length=1, max_length=MAX_BATCH)]
_BATCH = TypeAdapter(BatchBody)


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
        self.fallbacks: Counter = Counter()
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

    def fell_back(self, reason: str) -> None:
        with self.lock:
            self.fallbacks[reason] += 1

    def snapshot(self) -> dict:
        with self.lock:
            latencies = list(self.latencies)
            out = {"requests": sum(self.requests.values()), "by_endpoint": dict(self.requests),
                   "by_status": dict(self.statuses), "predictions": self.predictions,
                   "fallbacks": dict(self.fallbacks), "uptime_s": round(time.time() - self.started, 3)}
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
        loc, msg = list(error.get("loc", ())), error.get("msg", "invalid")
        if error.get("type") == "json_invalid":  # its loc is where in the body parsing failed, not a field
            at = [x for x in loc if isinstance(x, int)]
            parts.append(f"body: {msg}" + (f" at character {at[0]}" if at else ""))
            continue
        where = ".".join(str(x) for x in loc if x != "body") or "body"
        parts.append(f"{where}: {msg}")
    return " ".join("; ".join(parts).split())  # one line whatever the messages hold


def _text(value) -> str:
    """``value`` as text that JSON can carry whatever it holds (lone surrogates, bytes)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _errors(exc_errors: Sequence[dict]) -> list[dict]:
    """pydantic's errors without the input they refer to: echoing the input lets one bad request
    of megabytes cost megabytes of reply, and its NaN, infinities and broken unicode cannot be
    written as JSON. Each error keeps its type, where it is and what is wrong."""
    out = []
    for error in exc_errors[:MAX_ERRORS_SHOWN]:
        loc = [x if isinstance(x, int) else _text(x) for x in error.get("loc", ())]
        out.append({"type": _text(error.get("type", "invalid")), "loc": loc, "msg": _text(error.get("msg", "invalid"))})
    return out


def _read_as_json(content_type: bytes) -> bool:
    """Whether FastAPI parses a body of this content type as JSON (``application/json`` or
    ``application/*+json``, parameters allowed), by the same test it makes."""
    if content_type == b"application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type.decode("latin-1")
    return message.get_content_maintype() == "application" and (
        message.get_content_subtype() == "json" or message.get_content_subtype().endswith("+json"))


#: What :meth:`_Guard._body` returns when the client disconnected before the end of its body.
_DISCONNECTED = object()


class _Guard:
    """ASGI middleware around the whole app: times and counts every response by its status; a
    body over ``limit`` bytes gets a 413 before the app reads it (whether its length was declared
    or it was streamed in chunks), with ``connection: close``, so that the server does not go on
    reading the rest of the upload; a JSON body to a ``shortcuts`` path that cannot be parsed for
    a reason other than its syntax (nested too deeply, not UTF-8) gets a 400 shaped as the app's
    own ``json_invalid`` 400, with a ``reason``; a failure the app did not answer becomes a JSON
    500, so that the connection stays open and ``/metrics`` sees it. A client that disconnects
    before the end of its body is not answered, nor counted. Plain ASGI rather than Starlette's
    ``BaseHTTPMiddleware``, which costs about a millisecond a request.

    ``shortcuts`` maps a POST path to (validate, answer): a body sent as ``application/json``
    that ``json.loads`` parses (as Starlette does) and ``validate`` accepts (the model FastAPI
    would check it with) is answered by ``answer`` here, without FastAPI's routing, dependency
    solving and middleware, which cost about as much as scoring a slate. Anything else — not JSON,
    invalid, another content type — goes to the app, which refuses it as it always has.

    The shortcut copies the routing, so whatever is added to a route (a dependency, an override,
    authentication, a response header) or to the app inside this middleware applies only to the
    requests that reach FastAPI, the invalid ones: add it to ``answer`` too, or drop the shortcut.
    It matches ``scope["path"]``, so under a ``root_path`` or a mount it never fires (slower, not
    wrong). A body over :data:`THREAD_BODY_BYTES` is parsed and validated in a thread, so that a
    big batch does not hold the event loop; one that goes on to FastAPI (invalid, or sent with a
    content type other than plain ``application/json``) is parsed again there, on the loop. ``tests/serving/test_fuzz.py`` checks that both paths answer alike, byte for byte."""

    def __init__(self, app, limit: int, metrics: "_Metrics", shortcuts: Mapping | None = None):
        self.app, self.limit, self.metrics = app, limit, metrics
        self.shortcuts = dict(shortcuts or {})

    def _shortcut(self, scope, body: bytes):
        """What the guard answers itself, else None (the app answers).

        A body the app would read as JSON that ``json.loads`` fails on for a reason other than its
        syntax (nested too deeply, not UTF-8, a number too long) gets ``(detail, reason)`` for a 400:
        the app would answer it with an untyped ``There was an error parsing the body``. A valid
        request sent as ``application/json`` gets ``answer(request)``, a coroutine."""
        route = self.shortcuts.get(scope.get("path")) if scope.get("method") == "POST" else None
        if route is None or not body:
            return None
        types = [value for name, value in scope.get("headers") or () if name.lower() == b"content-type"]
        if not types or not _read_as_json(types[0]):
            return None  # the app does not parse it either, and refuses the bytes with a 422
        try:
            value = json.loads(body)  # as Starlette's Request.json does
        except json.JSONDecodeError:
            return None  # malformed: the app's 400 json_invalid says where
        except RecursionError:
            return "the body is nested too deeply to parse", "nested too deeply to parse"
        except UnicodeDecodeError as error:
            return f"the body is not text in UTF-8 (or UTF-16, UTF-32): {error}", "not valid UTF-8"
        except ValueError as error:  # an integer of more than 4,300 digits
            return f"the body cannot be parsed as JSON: {str(error).split(';')[0]}", "cannot be parsed as JSON"
        if types != [b"application/json"]:
            return None
        validate, answer = route
        try:
            request = validate(value)
        except Exception:  # noqa: BLE001 - not valid: the app gives its 422
            return None
        return answer(request)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        path = scope.get("path", "")
        status = None

        async def send_counted(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            body = await self._body(scope, receive)
            if body is _DISCONNECTED:  # the client left before sending its body: no one to answer, nothing to count
                return
            if body is None:  # and close: the server would otherwise read and discard the rest of the upload
                await self._json(send_counted, 413, f"the request body is larger than {self.limit:,} bytes",
                                 "body: too large", close=True)
            elif isinstance(answer := (await run_in_threadpool(self._shortcut, scope, body)
                                       if len(body) > THREAD_BODY_BYTES else self._shortcut(scope, body)), tuple):
                detail, reason = answer
                await self._json(send_counted, 400, content={
                    "detail": [{"type": "json_invalid", "loc": ["body"], "msg": detail}], "reason": f"body: {reason}"})
            elif answer is not None:
                await self._json(send_counted, 200, content=await answer)
            else:
                await self.app(scope, self._replay(body, receive), send_counted)
        except Exception as error:  # noqa: BLE001 - whatever failed, answer and keep the connection
            if status is not None:  # the response had started: nothing better can be sent
                raise
            logger.exception("unexpected failure serving %s", path)
            await self._json(send_counted, 500, f"unexpected failure: {type(error).__name__}", "internal error")
        finally:
            if path != "/metrics" and status is not None:
                self.metrics.record(path, status, 1000 * (time.perf_counter() - start))

    async def _body(self, scope, receive):
        """The whole body; None if it is over the limit; ``_DISCONNECTED`` if the client went away
        before sending all of it (what arrived is not the request, and must not be answered as one)."""
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect
                return _DISCONNECTED
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    @staticmethod
    def _replay(body: bytes, receive):
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    async def _json(send, status: int, detail: str = "", reason: str = "", content: dict | None = None,
                    close: bool = False) -> None:
        payload = orjson.dumps({"detail": detail, "reason": reason} if content is None else content)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + [(b"connection", b"close")] if close else headers})
        await send({"type": "http.response.body", "body": payload})


class _DeadlinePool:
    """The threads that score under a deadline: a :class:`~concurrent.futures.ThreadPoolExecutor`
    started on the first call (an app that never scores starts none) and shut down when the app
    stops (its lifespan ends), without waiting for a call still running; one started again if the
    app serves again."""

    def __init__(self, threads: int):
        self.threads, self.lock, self.executor = threads, threading.Lock(), None

    def submit(self, fn):
        with self.lock:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="scoring")
            return self.executor.submit(fn)

    def shutdown(self) -> None:
        with self.lock:
            executor, self.executor = self.executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class _Fallback:
    """What the service answers when the model fails: the overall click rate for one impression,
    and for a slate the items by their clicks in the training history (most clicked first, ties
    by item id) — the popularity ranking of chapter 1, from the counts the fitted pipeline keeps."""

    def __init__(self, scorer: ClickScorer):
        history = getattr(scorer.pipeline, "history_", None) if getattr(scorer.pipeline, "history", False) else None
        self.prior = float(history.prior_) if history is not None else 0.0
        self.clicks = history.items_["sum"].to_dict() if history is not None else {}

    def probability(self) -> float:
        return self.prior

    def rank(self, candidates: Sequence[Mapping]) -> list[dict]:
        ids = [int(c["item_id"]) for c in candidates]
        order = sorted(ids, key=lambda i: (-self.clicks.get(i, 0), i))
        return [{"item_id": i, "score": self.prior} for i in order]


# ---------------------------------------------------------------------- the app
def prediction_app(scorer: ClickScorer, deadline_ms: float | None = None, compiled: bool = True) -> FastAPI:
    """The prediction service: a :class:`ClickScorer` behind an HTTP API.

    Endpoints:

    - ``GET /health`` — ``{"status": "ok"}``;
    - ``GET /version`` — the model version, its class and how many features it reads;
    - ``POST /predict`` — one :class:`PredictRequest` → ``{"p_click": float, "version": str,
      "fallback": null}``;
    - ``POST /predict/batch`` — a list of up to 10,000 requests → ``{"p_click": [float, ...],
      "version": str, "fallback": null}``, in order;
    - ``POST /rank`` — a :class:`RankRequest` ``{"context": {...}, "candidates": [...]}`` →
      ``{"ranking": [{"item_id": int, "score": float}, ...], "version": str, "fallback": null}``,
      best first (see :meth:`ClickScorer.rank`);
    - ``GET /metrics`` — responses by endpoint and by status code, predictions served, fallbacks
      by reason, and the p50/p90/p99 latency in milliseconds over the last 10,000 prediction
      requests (overall and by endpoint), measured in the app from request to response. Calls to
      ``/metrics`` itself are not counted; every other response is, whatever its status.

    Scoring runs through :class:`~dmls.serving.compiled.CompiledScorer` (the fitted pipeline's
    parameters compiled into arrays; the same scores to 1e-9) unless ``compiled`` is False.

    A request that fails validation gets a 422: ``detail`` lists up to 20 of pydantic's errors
    (type, location, message; never the input itself) and ``reason`` says the same in one line,
    each part starting with the field (``price: Input should be a finite number``). The checks
    are those of :func:`~dmls.features.impression_attributes` and more: position at most 50,
    price from a cent to a million, rating in [0, 5], age in [0, 150], categories non-blank
    strings of valid unicode, ids integers from 0 to 2**53 - 1 (exact in every JSON reader), times ISO 8601 calendar times
    (``2026-03-02T14:05:00Z``) from 1677 to 2262. A body sent as JSON that cannot be parsed
    (malformed, nested too deeply, not UTF-8) gets a 400 of the same shape, ``detail`` a list of one
    ``json_invalid`` error and ``reason`` starting ``body:``; one sent as another type a 422, one
    over 4 MB a 413 (and its connection is closed: the rest of the upload is not read).

    If the model raises, returns a non-finite probability, or takes longer than ``deadline_ms``,
    the client gets a fallback answer (200) marked ``"fallback": "error"`` (or ``"non-finite"``,
    ``"deadline"``): the overall click rate for a prediction, the items most clicked in the
    training history first for a ranking. The error is logged and counted in ``/metrics``. Any
    other failure inside the app is a 500 with a JSON body, counted, and the connection stays
    open.

    With a deadline, every prediction is scored in one of the app's :data:`DEADLINE_THREADS` (4)
    threads, and a call cut off at the deadline is not stopped (Python cannot stop a thread): it
    keeps its thread until the model returns. A call still queued when its deadline passes is
    cancelled. So a model that hangs takes the threads one by one, and once all four are stuck,
    every request waits its whole deadline in the queue and gets the fallback, until the stuck
    calls return; after a slow spell, the first requests may still fall back while the threads
    finish the calls that were cut off. The deadline bounds what the client waits, not the work.
    The threads are started on the first prediction and shut down when the app stops (the end of
    its lifespan: uvicorn's shutdown, or leaving ``with TestClient(app)``), without waiting for a
    stuck call, whose thread ends when the call does.

    A request whose whole body has arrived is scored even if its client has gone meanwhile: the
    app does not check for ``http.disconnect`` before scoring, so a client that sends a batch of
    10,000 rows and hangs up still costs the worker the scoring (~0.3 s), and the answer no one
    reads is counted in ``/metrics`` as a 200. (A client gone before the end of its body is
    neither scored nor counted.)

    Parameters
    ----------
    scorer : ClickScorer
    deadline_ms : float, optional
        The most a prediction may take before the fallback answers instead; None for no limit.
    compiled : bool
        Score through the compiled path (default) or through ``scorer`` itself.

    Returns
    -------
    fastapi.FastAPI
        Run it with :func:`dmls.data.service.serve` (uvicorn, in a background thread), in
        several worker processes with :func:`serve_workers` (not ``uvicorn --workers``, whose
        connections keep Nagle's algorithm on and wait ~40 ms a request), or test it in-process
        with ``fastapi.testclient.TestClient``.

    Introduced in chapter 7 ("Batch Prediction Versus Online Prediction").
    """
    if not isinstance(scorer, ClickScorer):
        raise TypeError(f"prediction_app needs a ClickScorer, got {type(scorer).__name__}")
    if deadline_ms is not None:
        check_number("deadline_ms", deadline_ms, minimum=0, strict_minimum=True)
    check_bool("compiled", compiled)
    fast = CompiledScorer(scorer) if compiled else scorer
    fallback = _Fallback(scorer)
    pool = _DeadlinePool(DEADLINE_THREADS) if deadline_ms is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        if pool is not None:  # the app stops: its scoring threads go (a hung one when its call returns)
            pool.shutdown()

    errors_doc = {
        400: {"description": "The body is not JSON that can be parsed (malformed, nested too deeply, not UTF-8); "
                             "`reason` says which."},
        413: {"description": "The body is larger than 4 MB; the connection is closed."},
        422: {"description": "The body is JSON but not a valid request; `reason` names each bad field."},
        500: {"description": "An unexpected failure inside the service (the model's own failures get a "
                             "fallback answer instead)."},
    }
    app = FastAPI(title="click prediction service", version=scorer.version, responses=errors_doc, lifespan=lifespan)
    metrics = _Metrics(["/health", "/version", *PREDICTION_ENDPOINTS])
    app.state.metrics = metrics
    app.state.scorer = fast

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        errors = _errors(raw)
        body = {"detail": errors, "reason": _reason(errors)}
        if len(raw) > len(errors):
            body["n_errors"] = len(raw)
        status = 400 if any(e.get("type") == "json_invalid" for e in raw) else 422
        return JSONResponse(status_code=status, content=body)

    async def run(what: str, score, n: int, default):
        try:
            if pool is not None:
                result = await asyncio.wait_for(asyncio.wrap_future(pool.submit(score)), deadline_ms / 1000)
            elif n > INLINE_ROWS:  # a big batch in a thread, so that the worker keeps answering others
                result = await run_in_threadpool(score)
            else:  # a thread hop (~0.5 ms) costs more than it frees the loop for: score it here
                result = score()
        except (FutureTimeout, asyncio.TimeoutError):
            metrics.fell_back("deadline")
            return default(), "deadline"
        except NonFiniteScore:
            logger.error("%s gave a non-finite probability (model %s)", what, scorer.version)
            metrics.fell_back("non-finite")
            return default(), "non-finite"
        except Exception:  # the model's failure must not take the service down
            logger.exception("%s failed (model %s)", what, scorer.version)
            metrics.fell_back("error")
            return default(), "error"
        metrics.scored(n)
        return result, None

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/version")
    def version() -> dict:
        return {"version": scorer.version, "model": type(scorer.model).__name__, "n_features": scorer.n_features}

    # What each prediction endpoint answers to a valid request, as a dict.
    async def answer_predict(request: PredictRequest) -> dict:
        row = request.model_dump()
        p, why = await run("prediction", lambda: _finite_all([fast.score_one(row)])[0], 1, fallback.probability)
        return {"p_click": p, "version": scorer.version, "fallback": why}

    # A big request's rows are dumped to dicts in the thread that scores them (10,000 rows take
    # ~20 ms), not on the event loop.
    async def answer_batch(requests: list[PredictRequest]) -> dict:
        n = len(requests)
        p, why = await run("batch prediction", lambda: _finite_all(fast.score_many([r.model_dump() for r in requests])),
                           n, lambda: [fallback.probability()] * n)
        return {"p_click": p, "version": scorer.version, "fallback": why}

    async def answer_rank(request: RankRequest) -> dict:
        def ranked():
            body = request.model_dump()
            ranking = fast.rank(body["context"], body["candidates"])
            _finite_all([e["score"] for e in ranking])
            return ranking

        ranking, why = await run("ranking", ranked, len(request.candidates),
                                 lambda: fallback.rank([{"item_id": c.item_id} for c in request.candidates]))
        return {"ranking": ranking, "version": scorer.version, "fallback": why}

    # The prediction endpoints are coroutines that answer with orjson's bytes: FastAPI would run a
    # plain function, and then the check and serialisation of its answer, each in a thread of its
    # pool, and encode the answer with jsonable_encoder, which together cost more than the scoring.
    # A valid JSON request rarely reaches them: _Guard answers it through the same answer_* (see
    # _Guard.shortcuts); these answer the rest, and describe every endpoint in the schema.
    @app.post("/predict", response_model=PredictResponse)
    async def predict(request: PredictRequest) -> Response:
        return _json_response(await answer_predict(request))

    @app.post("/predict/batch", response_model=BatchResponse)
    async def predict_batch(requests: BatchBody) -> Response:
        return _json_response(await answer_batch(requests))

    @app.post("/rank", response_model=RankResponse)
    async def rank(request: RankRequest) -> Response:
        return _json_response(await answer_rank(request))

    @app.get("/metrics")
    def get_metrics() -> dict:
        return metrics.snapshot()

    shortcuts = {"/predict": (PredictRequest.model_validate, answer_predict),
                 "/predict/batch": (_BATCH.validate_python, answer_batch),
                 "/rank": (RankRequest.model_validate, answer_rank)}
    app.add_middleware(_Guard, limit=MAX_BODY_BYTES, metrics=metrics, shortcuts=shortcuts)  # outermost
    return app


class NonFiniteScore(ValueError):
    """The model returned a probability that is not a finite number in [0, 1].

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """


def _json_response(content: dict) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def _finite_all(values) -> list[float]:
    out = [float(p) for p in values]
    if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in out):
        raise NonFiniteScore(f"the model returned a probability outside [0, 1]: {out[:5]}")
    return out


# ---------------------------------------------------------------------- launching with several workers
def _check_address(host, port) -> None:
    if not isinstance(host, str) or not host:
        raise TypeError(f"host must be a non-empty string, got {host!r}")
    check_int("port", port, minimum=0, maximum=65_535)


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free port) whose connections send at once.

    Created with ``IPPROTO_TCP`` as its protocol, and ``TCP_NODELAY`` set on it, which the
    connections it accepts inherit. ``uvicorn --workers N`` (N > 1) binds its shared socket with
    the protocol left at 0; asyncio turns Nagle's algorithm off only on accepted sockets whose
    protocol reads ``IPPROTO_TCP``, so under ``--workers`` it stays on (uvicorn issue 3149). uvicorn
    writes a response's headers and its body in two writes: Nagle then holds the body until the
    client acknowledges the headers, and the client delays that acknowledgement (about 40 ms on
    Linux). Every keep-alive request then takes 40 ms whatever the service computes.

    For a server of your own (``uvicorn.Server(config).run(sockets=[sock])``, as chapter 7 runs
    its edge service); :func:`serve_workers` sets the option on uvicorn's own socket instead. The
    family is IPv6 if ``host`` contains ``:``, else IPv4, as uvicorn decides it: ``"localhost"``
    binds 127.0.0.1 only, never ``::1``. A port in use raises ``OSError`` (the socket is closed).

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """
    _check_address(host, port)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_workers(app: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
                  factory: bool = False, log_level: str = "warning", limit_concurrency: int | None = 100,
                  timeout_keep_alive: float = 5.0) -> None:
    """Run an ASGI app under uvicorn in ``workers`` processes on ``host:port``, until interrupted.

    What ``uvicorn APP --workers N`` does, with ``TCP_NODELAY`` set on the socket uvicorn binds, so
    that every connection has Nagle's algorithm off (the accepted connections inherit it): the
    plain command leaves it on with more than one worker, and each keep-alive request then waits
    about 40 ms for the client's delayed acknowledgement (see :func:`listening_socket`). With two
    workers, the keep-alive latency of a tiny app is ~0.3 ms at the median, against 44 ms under
    ``uvicorn --workers 2``. ``host`` is bound as uvicorn binds it: IPv6 if it contains ``:``,
    otherwise IPv4 (``"localhost"`` listens on 127.0.0.1 only).

    This drives uvicorn's process supervisor (``uvicorn.supervisors.Multiprocess``), not a public
    API; hence the pin of uvicorn to 0.54.x in ``pyproject.toml``.

    Parameters
    ----------
    app : str
        The app as uvicorn imports it, ``"module:attribute"`` (each worker imports it itself).
    host, port : str, int
        Where to listen.
    workers : int
        Worker processes sharing the socket (one per core serves a CPU-bound app best).
    factory : bool
        ``attribute`` is a function that returns the app (uvicorn's ``--factory``).
    log_level : str
        uvicorn's log level; the access log is off.
    limit_concurrency : int or None
        The most connections (open ones, idle keep-alive ones included) or requests in progress
        each worker holds; past it, a new request gets uvicorn's plain-text 503 (which the app's
        ``/metrics`` does not see). It bounds memory: each request may hold a body of up to 4 MB
        and, for a batch, its parsed rows, so 100 (the default) is a few hundred megabytes at
        worst. None for no limit.
    timeout_keep_alive : float
        Seconds an idle keep-alive connection is kept open (uvicorn's default, 5).

    uvicorn times out idle connections but not slow ones: a client that sends its body a byte at
    a time keeps its connection (and a place in ``limit_concurrency``) as long as it likes. In
    front of clients you do not control, put a proxy (nginx, a load balancer) that enforces
    timeouts on the request's headers and body.

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if not isinstance(app, str) or ":" not in app:
        raise TypeError(f"app must be an import string 'module:attribute', got {app!r}")
    workers = check_int("workers", workers, minimum=1)
    if limit_concurrency is not None:
        limit_concurrency = check_int("limit_concurrency", limit_concurrency, minimum=1)
    timeout_keep_alive = check_number("timeout_keep_alive", timeout_keep_alive, minimum=0, strict_minimum=True)
    _check_address(host, port)
    # The configuration first, so that a bad argument (a log level uvicorn does not know) raises
    # before a socket is open; then uvicorn's own bind, and the one option it lacks.
    config = uvicorn.Config(app, host=host, port=port, workers=workers, factory=bool(factory), log_level=log_level,
                            access_log=False, limit_concurrency=limit_concurrency,
                            timeout_keep_alive=timeout_keep_alive)
    sock = config.bind_socket()  # a port in use: uvicorn logs it and exits (SystemExit 3), as its command does
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by every accepted connection
        if workers == 1:
            uvicorn.Server(config).run(sockets=[sock])
        else:
            Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
