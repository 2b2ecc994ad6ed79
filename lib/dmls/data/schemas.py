"""Contracts for the marketplace's events, as JSON Schema (draft 7).

Introduced in chapter 3 ("Data Formats" and "Data Passing Through Real-Time Transport"): a topic
that carries a schema rejects, or dead-letters, events that break it, so malformed data stops at
the boundary instead of surfacing weeks later as a silently wrong feature.
"""
from __future__ import annotations

from dmls.world.config import DEVICES

_ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}  # ids are 64-bit: no store can hold a larger one
_TS = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
_PRICE = {"type": ["number", "null"], "exclusiveMinimum": 0}

_BY_EVENT = {
    "session": ({"session_id": _ID, "device": {"enum": list(DEVICES)}}, ["session_id", "device"]),
    "impression": ({"impression_id": _ID, "session_id": _ID, "item_id": _ID,
                    "position": {"type": "integer", "minimum": 1}, "device": {"enum": list(DEVICES)},
                    "price": _PRICE, "propensity": _PROBABILITY, "p_examine": _PROBABILITY,
                    "p_click": _PROBABILITY},
                   ["impression_id", "session_id", "item_id", "position"]),
    "click": ({"impression_id": _ID, "session_id": _ID, "item_id": _ID, "position": {"type": "integer", "minimum": 1}},
              ["impression_id", "item_id"]),
    "purchase": ({"purchase_id": _ID, "impression_id": _ID, "item_id": _ID, "amount": _PRICE},
                 ["purchase_id", "item_id"]),
    "return": ({"purchase_id": _ID, "item_id": _ID}, ["purchase_id", "item_id"]),
}

#: One schema for the marketplace's event stream: every event has a type, a time and a user; each
#: type has the fields of its table (see :class:`dmls.world.Log`).
EVENT_SCHEMA: dict = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "marketplace event",
    "type": "object",
    "required": ["event", "ts", "user_id"],
    "properties": {"event": {"enum": list(_BY_EVENT)}, "ts": _TS, "user_id": _ID},
    "allOf": [
        {"if": {"properties": {"event": {"const": name}}},
         "then": {"properties": props, "required": required}}
        for name, (props, required) in _BY_EVENT.items()
    ],
}
