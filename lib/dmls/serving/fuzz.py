"""Bad requests for a prediction service: what a fuzzer sends, and a tally of what came back.

Introduced in chapter 7 ("Model Deployment and Prediction Service"). A service facing the open
network receives wrong types, nulls, NaN and Infinity, huge numbers, long and broken unicode,
deep nesting, malformed JSON, wrong content types, invalid UTF-8 and oversized bodies.
:func:`fuzzed_requests` makes such requests from valid ones, seeded; :func:`fuzz` sends them and
counts the answers, so a test can demand that none is a server error, no connection was closed
and the service's own metrics counted every response.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from dmls._validation import check_int

_WEIRD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "5e-324", "-0", "1e308", "9" * 400,
                  "0x10", "1_000", "01", ".5", "+3"]
_WEIRD_STRINGS = ['""', '" "', '"\\ud800"', '"\\udfff x"', '"' + "é" * 5_000 + '"', '"\\u0000"', '"null"',
                  '"2026-W10-1"', '"2026-03-02T14:05:00+01:00:30"', '"10000-01-01"', '"1600-01-01T00:00:00Z"',
                  '"2262-04-12T00:00:00Z"', '"2026-02-30"', '"March 2, 2026"', '"1e5"', '"-5"', '"true"',
                  '"' + "\\\\" * 50 + '"', '"|"', '"\\n"']
_WEIRD_VALUES = ["null", "true", "false", "[]", "{}", "[1, 2]", '{"a": 1}', "-1", "0", "2", "3.5",
                 "9223372036854775808", "-9223372036854775809", "1e19", "1" * 40]


#: Kinds of request and how often each is made: an oversized body costs megabytes to send, so
#: fewer of those.
_KINDS = ["value", "number", "string", "drop", "extra", "syntax", "nest", "type", "bytes", "big", "many", "valid"]
_WEIGHTS = [3, 1, 1, 1, 1, 1, 1, 1, 1, 0.1, 1, 1]


@dataclass
class FuzzRequest:
    """One request to send: method, path, body bytes and content type.

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """

    path: str
    body: bytes
    content_type: str = "application/json"
    method: str = "POST"
    kind: str = ""


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _replace_value(text: str, key: str, raw: str) -> str:
    """``text`` (JSON) with the first value of ``key`` replaced by the raw JSON ``raw``."""
    marker = f'"{key}":'
    start = text.find(marker)
    if start < 0:
        return text
    i = start + len(marker)
    depth, in_string, j = 0, False, i
    while j < len(text):
        ch = text[j]
        if in_string:
            if ch == "\\":
                j += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            break
        j += 1
    return text[:i] + raw + text[j:]


def fuzzed_requests(examples: Mapping[str, Sequence], n: int, seed: int = 0,
                    max_body_bytes: int = 1_000_000) -> Iterator[FuzzRequest]:
    """``n`` bad (and some good) requests made from valid example bodies, per endpoint path.

    Parameters
    ----------
    examples : mapping
        Endpoint path (``"/predict"``, ``"/rank"``, ...) to a list of valid JSON bodies (Python
        objects) for it.
    n : int
        How many requests.
    seed : int
        The same seed gives the same requests.
    max_body_bytes : int
        The service's body limit; oversized bodies are made just above it.

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """
    check_int("n", n, minimum=0)
    check_int("max_body_bytes", max_body_bytes, minimum=1)
    if not isinstance(examples, Mapping) or not examples:
        raise ValueError("examples must map at least one endpoint path to valid bodies")
    for path, bodies in examples.items():
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"endpoint paths must start with '/', got {path!r}")
        if isinstance(bodies, (str, bytes)) or not isinstance(bodies, Sequence) or not bodies:
            raise ValueError(f"examples[{path!r}] must be a non-empty list of bodies")
    rng = random.Random(seed)
    paths = sorted(examples)
    for _ in range(n):
        path = rng.choice(paths)
        body = _dumps(rng.choice(examples[path]))
        keys = sorted({k for k in _keys(json.loads(body))})
        kind = rng.choices(_KINDS, weights=_WEIGHTS)[0]
        if kind in ("value", "number", "string") and keys:
            pool = {"value": _WEIRD_VALUES, "number": _WEIRD_NUMBERS, "string": _WEIRD_STRINGS}[kind]
            for _ in range(rng.randint(1, 3)):
                body = _replace_value(body, rng.choice(keys), rng.choice(pool))
            yield FuzzRequest(path, body.encode("utf-8", "surrogatepass"), kind=kind)
        elif kind == "drop" and keys:
            key = rng.choice(keys)
            yield FuzzRequest(path, body.replace(f'"{key}":', '"_dropped":', 1).encode(), kind=kind)
        elif kind == "extra":
            yield FuzzRequest(path, (body[:-1] + ',"zzz":1}' if body.endswith("}") else body + "x").encode(),
                              kind=kind)
        elif kind == "syntax":
            cut = rng.randint(0, max(len(body) - 1, 0))
            broken = rng.choice([body[:cut], body[:cut] + "}" + body[cut:], body.replace(":", "=", 1),
                                 "{'single': 'quotes'}", "", "[", "null", "1", '"text"', body + body])
            yield FuzzRequest(path, broken.encode(), kind=kind)
        elif kind == "nest":
            depth = rng.choice([50, 1_000, 10_000])
            yield FuzzRequest(path, ("[" * depth + "]" * depth).encode(), kind=kind)
        elif kind == "type":
            ctype = rng.choice(["text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin-1",
                                "multipart/form-data", "application/xml"])
            yield FuzzRequest(path, body.encode(), content_type=ctype, kind=kind)
        elif kind == "bytes":
            raw = bytearray(body.encode())
            for _ in range(rng.randint(1, 4)):
                raw.insert(rng.randint(0, len(raw)), rng.choice([0xff, 0xfe, 0xc3, 0x80, 0xed]))
            ctype = rng.choice(["application/json", "text/plain"])
            yield FuzzRequest(path, bytes(raw), content_type=ctype, kind=kind)
        elif kind == "big":
            yield FuzzRequest(path, b'{"pad":"' + b"x" * (max_body_bytes + 10) + b'"}', kind=kind)
        elif kind == "many":
            yield FuzzRequest(path, _dumps([json.loads(body)] * rng.choice([2, 500])).encode(), kind=kind)
        else:
            yield FuzzRequest(path, body.encode(), kind="valid")


def _keys(value) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


@dataclass
class FuzzReport:
    """What came back: status counts, closed connections, failures to parse, bad probabilities.

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """

    statuses: Counter = field(default_factory=Counter)
    closed: int = 0
    dropped: int = 0
    not_json: int = 0
    bad_probabilities: int = 0
    examples: dict = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def fuzz(client, requests, probability_keys=("p_click", "score")) -> FuzzReport:
    """Send each of ``requests`` with ``client`` (an ``httpx.Client`` with a base URL) and tally.

    A response counts as a closed connection when it says ``Connection: close``, a request as
    dropped when the connection broke before an answer came; a 200 whose
    probabilities are not finite numbers in [0, 1] counts as a bad probability.

    Introduced in chapter 7 ("Model Deployment and Prediction Service").
    """
    import httpx

    report = FuzzReport()
    for request in requests:
        headers = {"content-type": request.content_type} if request.content_type else {}
        try:
            response = client.request(request.method, request.path, content=request.body, headers=headers)
        except httpx.TransportError as error:  # the server dropped the connection without answering
            report.dropped += 1
            report.examples.setdefault(("dropped", request.kind), (request, repr(error)))
            continue
        report.statuses[response.status_code] += 1
        if response.headers.get("connection", "").lower() == "close":
            report.closed += 1
        try:
            payload = response.json()
        except ValueError:
            report.not_json += 1
            report.examples.setdefault(("not json", response.status_code), request)
            continue
        if response.status_code >= 500:
            report.examples.setdefault((response.status_code, request.kind), (request, payload))
        if response.status_code == 200 and not all(_is_probability(p) for p in _values(payload, probability_keys)):
            report.bad_probabilities += 1
            report.examples.setdefault(("bad probability",), (request, payload))
    return report


def _values(payload, keys) -> Iterator:
    if isinstance(payload, dict):
        for k, v in payload.items():
            if k in keys:
                yield from (v if isinstance(v, list) else [v])
            else:
                yield from _values(v, keys)
    elif isinstance(payload, list):
        for v in payload:
            yield from _values(v, keys)


def _is_probability(p) -> bool:
    return isinstance(p, float) and 0.0 <= p <= 1.0 or p in (0, 1)
