"""A durable event log: topics split into partitions, records addressed by offsets, consumer groups.

Introduced in chapter 3 ("Data Passing Through Real-Time Transport"). This is the shape of
Kafka, Redpanda or Redis Streams, small enough to read: producers append JSON events to a topic;
a record's key picks its partition, so one user's events stay in order; every record in a
partition has an offset; consumers in a group split the partitions between them and commit how
far they got, so a consumer that restarts resumes where its group left off (at-least-once
delivery). Two backends share the interface and its tests:

- :class:`SQLiteEventLog`, embedded: one SQLite file with a rollback journal, each append a
  transaction that is in the main database file before it is acknowledged;
- :class:`RedisEventLog`, a real broker: one Redis stream per partition on a ``redis-server``.

A topic can carry a JSON Schema (draft 7). Events that break it are rejected with the reason or,
if the topic has a dead-letter topic, recorded there with the reason; either way the caller is
told, and nothing is dropped silently.

What "acknowledged" means
-------------------------
An append is acknowledged when :meth:`EventLog.append` / :meth:`EventLog.append_many` returns
its :class:`Appended` records. Then:

- **SQLite**: the records and the partition's offset counter were committed in one transaction
  to the main database file (rollback journal, ``synchronous=EXTRA``: the pages, then the
  journal's deletion that commits them, are fsynced before the call returns). They survive the
  writing process being killed at any instant, and an OS crash or power loss too, provided the
  disk honours fsync. No side file (``-wal``, ``-journal``) holds acknowledged data, so a copy
  of the database file alone contains every acknowledged record.
- **Redis**: the server applied the append script; the records survive the *client* being
  killed. Surviving a server crash or power loss depends on the server's persistence
  (``appendonly yes`` with ``appendfsync always`` is the strongest setting).

On both, every record carries a checksum (:func:`record_checksum`: a CRC-32 over its topic,
partition, timestamp, key and payload, XOR its offset), checked on every read, as is that a
partition's offsets follow each other with no record missing below its end; a partition's next
offset comes from a counter that never goes back, so an offset is never handed out twice even
if records vanish.
Damage to the stored data (a flipped bit, a cut payload, a record altered, moved or missing) is
**detected** on read and raised as :class:`CorruptRecord` naming topic, partition and offset;
it is **not repaired**. A consumer can route such a record to the dead-letter topic and go on
(:meth:`Consumer.dead_letter`, ``poll(on_corrupt="dead-letter")``). What no single store can
detect is being replaced whole by an older, internally consistent copy (a restored backup): the
offsets after that copy's end are then handed out again.
"""
from __future__ import annotations

import base64
import re
import sqlite3
import time
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from itertools import count, groupby
from operator import itemgetter
from typing import Any, Iterator, Mapping, NamedTuple, Sequence

import fastjsonschema
import orjson

DEAD_LETTER_SUFFIX = ".dead-letter"
ON_CORRUPT = ("raise", "dead-letter")
_TIMESTAMP = itemgetter(2)  # of a row (offset, key, timestamp, payload, checksum)
FORMAT_VERSION = 2  # 1: no checksums, no offset counters (before chapter 3's damage review)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class EventLogError(Exception):
    """Base class of the event log's errors.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """


class UnknownTopic(EventLogError, KeyError):
    """A topic was named that does not exist.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


class TopicExists(EventLogError):
    """A topic was created again with a different configuration.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """


class InvalidEvent(EventLogError, ValueError):
    """An event was rejected: not a JSON object, or against its topic's schema.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """


class CorruptRecord(EventLogError):
    """A stored record failed its checks on read: altered, moved, cut short or missing.

    Raised by :meth:`EventLog.read` (and :meth:`Consumer.poll`) when the first record asked for
    is damaged; the good records before a damaged one are returned first, so a consumer's
    position ends exactly at it. Pass the error to :meth:`Consumer.dead_letter` to record it
    in the dead-letter topic and move past it.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").

    Attributes
    ----------
    topic, partition, offset
        Where the damage is (for missing records, the first missing offset).
    next_offset
        The first offset after the damage, where reading can go on.
    reason
        What is wrong, in words.
    raw
        The stored payload bytes as found (``None`` if there are none).
    """

    def __init__(self, topic: str, partition: int, offset: int, reason: str, *,
                 next_offset: int | None = None, raw: bytes | None = None):
        self.topic, self.partition, self.offset, self.reason, self.raw = topic, partition, offset, reason, raw
        self.next_offset = offset + 1 if next_offset is None else next_offset
        where = (f"offset {offset}" if self.next_offset == offset + 1
                 else f"offsets {offset} to {self.next_offset - 1}")
        super().__init__(f"corrupt record in topic {topic!r}, partition {partition}, {where}: {reason}")

    def __reduce__(self):
        return (_corrupt_record, (self.topic, self.partition, self.offset, self.reason, self.next_offset, self.raw))


def _corrupt_record(topic, partition, offset, reason, next_offset, raw):
    return CorruptRecord(topic, partition, offset, reason, next_offset=next_offset, raw=raw)


@dataclass(frozen=True)
class Topic:
    """A topic's configuration.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    name: str
    partitions: int
    schema: dict | None = None
    dead_letter: bool = False

    @property
    def dead_letter_topic(self) -> str | None:
        return self.name + DEAD_LETTER_SUFFIX if self.dead_letter else None


class Record(NamedTuple):
    """One event as stored: where it is (topic, partition, offset), its key, value and log time (ms).

    A named tuple rather than a dataclass: consumers create millions of them.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    topic: str
    partition: int
    offset: int
    key: str | None
    value: dict
    timestamp: int


@dataclass(frozen=True)
class Appended:
    """The acknowledgement of one append: where the event went, and whether it was dead-lettered.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    topic: str
    partition: int
    offset: int
    dead_letter: bool = False
    reason: str | None = None


def check_name(kind: str, name: str) -> str:
    """Names reach storage keys, never query text; still, only plain names are accepted.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{kind} name must be 1-200 letters, digits, '.', '_' or '-' "
                         f"(not starting with a symbol), got {name!r}")
    return name


def partition_for(key: str | None, partitions: int, fallback: int) -> int:
    """A key's partition: the same key always lands in the same partition (CRC-32 of its UTF-8).

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """
    if key is None:
        return fallback % partitions
    return zlib.crc32(key.encode("utf-8")) % partitions


def record_checksum(topic: str, partition: int, offset: int, key: str | None, timestamp: int,
                    payload: bytes) -> int:
    """The checksum stored with every record, over where it is and what it holds.

    The CRC-32 (zlib's) of ``topic NUL partition NUL timestamp NUL key NUL payload`` (the key
    written as ``-`` for none, else as its length, ``=`` and the key), XOR the offset (modulo
    2**32). A change to any field but the offset fails the CRC; a change to the offset alone
    always fails (a record copied, whole, to another offset, partition or topic is caught).
    The offset is mixed in last, and cheaply, so that a backend that assigns offsets on the
    server (Redis) can finish a checksum the client began, and so that a reader's check costs
    one CRC over the payload (the header's CRC is shared by the records of one append).

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").

    Parameters
    ----------
    topic, partition, offset
        The record's address.
    key, timestamp, payload
        The record's key (or ``None``), log time in milliseconds, and JSON bytes.

    Returns
    -------
    int
        The unsigned 32-bit checksum.
    """
    return _finish_checksum(_partial_checksum(_checksum_base(topic, partition), key, timestamp, payload), offset)


def _checksum_base(topic: str, partition: int) -> int:
    return zlib.crc32(f"{topic}\0{partition}\0".encode())


def _header_checksum(base: int, key: str | None, timestamp: int) -> int:
    return zlib.crc32((f"{timestamp}\0-\0" if key is None else f"{timestamp}\0{len(key)}={key}\0").encode(), base)


def _partial_checksum(base: int, key: str | None, timestamp: int, payload: bytes) -> int:
    return zlib.crc32(payload, _header_checksum(base, key, timestamp))


def _finish_checksum(partial: int, offset: int) -> int:
    return partial ^ (offset & 0xFFFFFFFF)


class EventLog(ABC):
    """What every backend offers; the checks and the dead-letter routing live here, once.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}
        self._round_robin = count()

    # ------------------------------------------------------------------ backend primitives
    @abstractmethod
    def _load_topic(self, name: str) -> Topic | None: ...

    @abstractmethod
    def _store_topic(self, topic: Topic) -> None: ...

    @abstractmethod
    def _topic_names(self) -> list[str]: ...

    @abstractmethod
    def _write(self, topic: Topic, rows: list[tuple[int, str | None, bytes, int]], timestamp: int) -> list[int]:
        """Append (partition, key, payload, partial checksum) rows atomically; return their offsets.

        Each partition's offsets come from a counter that only goes up (never from the records
        present), and each record is stored with ``_finish_checksum(partial, offset)``.
        """

    @abstractmethod
    def _read(self, topic: str, partition: int, offset: int, limit: int) -> list[tuple]:
        """Rows (offset, key, timestamp, payload, checksum) of one partition from ``offset`` on, by offset.

        Values are as stored, unchecked; a checksum that cannot be read is a ``str`` saying why.
        """

    @abstractmethod
    def _end_offsets(self, topic: Topic) -> list[int]: ...

    @abstractmethod
    def _end_offset(self, topic: str, partition: int) -> int:
        """The offset the next record of one partition will get."""

    @abstractmethod
    def _load_offsets(self, group: str, topic: str) -> dict[int, int]: ...

    @abstractmethod
    def _store_offsets(self, group: str, topic: str, offsets: Mapping[int, int]) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Release the backend's connection."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ topics
    def create_topic(self, name: str, partitions: int = 1, schema: dict | None = None,
                     dead_letter: bool = False) -> Topic:
        """Create a topic (and its dead-letter topic); creating it again identically is a no-op."""
        check_name("topic", name)
        if name.endswith(DEAD_LETTER_SUFFIX):
            raise ValueError(f"topic names ending in {DEAD_LETTER_SUFFIX!r} are reserved for dead letters")
        if isinstance(partitions, bool) or not isinstance(partitions, int) or not 1 <= partitions <= 1024:
            raise ValueError(f"partitions must be an integer from 1 to 1024, got {partitions!r}")
        if schema is not None:
            if not isinstance(schema, dict):
                raise TypeError(f"schema must be a JSON Schema (a dict), got {type(schema).__name__}")
            import jsonschema  # here, not at the top: importing it costs over a second (its URI grammar)

            try:
                jsonschema.Draft7Validator.check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"schema is not a valid JSON Schema (draft 7): {exc.message}") from exc
        topic = Topic(name, partitions, schema, bool(dead_letter))
        existing = self._load_topic(name)
        if existing is not None:
            if existing != topic:
                raise TopicExists(f"topic {name!r} exists with another configuration: {existing}")
            return existing
        if topic.dead_letter:
            dlq = topic.dead_letter_topic
            if self._load_topic(dlq) is None:
                self._store_topic(Topic(dlq, 1))
        self._store_topic(topic)
        return topic

    def topic(self, name: str) -> Topic:
        """A topic's configuration; :class:`UnknownTopic` if there is none."""
        topic = self._load_topic(name) if isinstance(name, str) else None
        if topic is None:
            raise UnknownTopic(f"no topic {name!r}; topics: {sorted(self._topic_names())}")
        return topic

    def topics(self) -> list[str]:
        return sorted(self._topic_names())

    # ------------------------------------------------------------------ producing
    def append(self, topic: str, value: Mapping, key: str | None = None) -> Appended:
        """Append one event; returns once it is stored."""
        return self.append_many(topic, [value], None if key is None else [key])[0]

    def append_many(self, topic: str, values: Sequence[Mapping], keys: Sequence[str | None] | None = None
                    ) -> list[Appended]:
        """Append events in one atomic write: all of them are stored, or (on error) none.

        An event that is not a JSON object, or breaks the topic's schema, raises
        :class:`InvalidEvent` (and nothing of the batch is written) unless the topic has a
        dead-letter topic, where it is recorded with the reason instead.
        """
        config = self.topic(topic)
        values = list(values)
        keys = [None] * len(values) if keys is None else list(keys)
        if len(keys) != len(values):
            raise ValueError(f"{len(keys)} keys for {len(values)} events")
        good, bad = [], []
        for i, (value, key) in enumerate(zip(values, keys)):
            if key is not None and not isinstance(key, str):
                raise TypeError(f"event {i}: keys must be strings or None, got {type(key).__name__}")
            payload, reason = self._encode(config, value)
            if reason is None:
                good.append((i, partition_for(key, config.partitions, next(self._round_robin)), key, payload))
            elif config.dead_letter:
                bad.append((i, key, orjson.dumps({"topic": topic, "key": key, "reason": reason,
                                                  "value": _jsonable(value)}, default=str), reason))
            else:
                raise InvalidEvent(f"event {i} for topic {topic!r} rejected: {reason}")
        now = int(time.time() * 1000)
        acks: list[Appended | None] = [None] * len(values)
        if good:
            bases = [_checksum_base(topic, p) for p in range(config.partitions)]
            rows = [(p, k, v, _partial_checksum(bases[p], k, now, v)) for _, p, k, v in good]
            for (i, p, _, _), offset in zip(good, self._write(config, rows, now)):
                acks[i] = Appended(topic, p, offset)
        if bad:
            dlq = self.topic(config.dead_letter_topic)
            base = _checksum_base(dlq.name, 0)
            offsets = self._write(dlq, [(0, k, v, _partial_checksum(base, k, now, v)) for _, k, v, _ in bad], now)
            for (i, _, _, reason), offset in zip(bad, offsets):
                acks[i] = Appended(dlq.name, 0, offset, dead_letter=True, reason=reason)
        return acks  # type: ignore[return-value]

    def _encode(self, topic: Topic, value: Any) -> tuple[bytes | None, str | None]:
        if not isinstance(value, Mapping):
            return None, f"an event must be a JSON object, got {type(value).__name__}"
        try:
            payload = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
        except TypeError as exc:
            return None, f"not JSON-serialisable: {exc}"
        if topic.schema is not None:
            validate = self._validators.get(topic.name)
            if validate is None:
                validate = self._validators[topic.name] = fastjsonschema.compile(topic.schema)
            try:
                validate(orjson.loads(payload))
            except fastjsonschema.JsonSchemaValueException as exc:
                return None, f"schema: {exc.message}"
        return payload, None

    # ------------------------------------------------------------------ consuming
    def read(self, topic: str, partition: int, offset: int = 0, max_records: int = 1000) -> list[Record]:
        """Records of one partition from ``offset`` on, at most ``max_records``, each one checked.

        Every record's checksum is verified and the offsets must follow each other with no gap
        below the partition's end. The good records before a damaged or missing one are
        returned; when the first record asked for is damaged, :class:`CorruptRecord` is raised
        (naming topic, partition and offset), so reading again from the last good record + 1
        reaches the damage.
        """
        config = self.topic(topic)
        self._check_partition(config, partition)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be an integer >= 0, got {offset!r}")
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
            raise ValueError(f"max_records must be a positive integer, got {max_records!r}")
        rows = self._read(topic, partition, offset, max_records)
        # This line runs once per event consumed: local names; one CRC over the payload, from the
        # header's CRC kept per key within a run of one timestamp (the records of one append
        # share their timestamp, and keys repeat); and the tuple built without the Python-level
        # __new__ a named tuple adds. A record failing its checksum is left out; whether any was,
        # and whether the offsets follow each other, is checked once for the batch (offsets come
        # sorted and unique).
        loads, new, crc = orjson.loads, tuple.__new__, zlib.crc32
        base = _checksum_base(topic, partition)
        try:
            out: list[Record] | None = []
            for ts, run in groupby(rows, _TIMESTAMP):
                seeds: dict = {}

                def seed(k, ts=ts, seeds=seeds):
                    s = seeds[k] = _header_checksum(base, k, ts)
                    return s

                seed_of = seeds.get
                out += [new(Record, (topic, partition, o, k, loads(v), ts)) for o, k, _, v, c in run
                        if crc(v, seed_of(k) or seed(k)) ^ (o & 0xFFFFFFFF) == c]
        except (TypeError, ValueError, OverflowError):  # a stored field of the wrong type; bad JSON
            out = None
        if out is not None and len(out) == len(rows) and (
                not rows or (rows[0][0] == offset and rows[-1][0] == offset + len(rows) - 1)):
            if len(rows) < max_records:
                self._check_tail(topic, partition, offset + len(rows), bool(out))
            return out
        return self._read_damaged(topic, partition, offset, rows)

    def _read_damaged(self, topic: str, partition: int, offset: int, rows: list[tuple]) -> list[Record]:
        """The slow path of :meth:`read`: the good records before the first bad one, or its error."""
        out: list[Record] = []
        base = _checksum_base(topic, partition)
        for row in rows:
            o, k, ts, v, c = row
            try:
                if o != offset + len(out) or c != _finish_checksum(_partial_checksum(base, k, ts, v), o):
                    break
                value = orjson.loads(v)
            except (TypeError, ValueError, OverflowError):
                break
            out.append(Record(topic, partition, o, k, value, ts))
        if out:
            return out
        raise self._diagnose(topic, partition, offset, rows[0])

    def _check_tail(self, topic: str, partition: int, expected: int, have_records: bool) -> None:
        """After a short read ending before ``expected``: are records below the end missing?"""
        end = self._end_offset(topic, partition)
        if expected >= end:
            return
        # The counter was read after the records: a record below it that is not there yet was
        # appended meanwhile (it is there now), or is gone.
        probe = self._read(topic, partition, expected, 1)
        if probe and probe[0][0] == expected:
            return
        if have_records:
            return  # the good records first; the next read starts at the gap and raises
        upto = probe[0][0] if probe and probe[0][0] < end else end
        raise CorruptRecord(topic, partition, expected,
                            f"{upto - expected} record(s) missing: the partition's counter says {end} were "
                            f"written, but nothing is stored at offsets {expected} to {upto - 1}",
                            next_offset=upto)

    def _diagnose(self, topic: str, partition: int, expected: int, row: tuple) -> CorruptRecord:
        """Why the first row read (meant to be at ``expected``) is not a good record."""
        o, k, ts, v, c = row
        if isinstance(o, int) and o > expected:
            return CorruptRecord(topic, partition, expected,
                                 f"{o - expected} record(s) missing: offsets {expected} to {o - 1} are not stored, "
                                 f"but offset {o} is", next_offset=o)
        raw = v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass") if isinstance(v, str) else None
        if o != expected:
            reason = f"an entry claiming offset {o!r} was found where offset {expected} belongs"
        elif not isinstance(v, bytes):
            reason = f"the payload is stored as {type(v).__name__}, not bytes"
        elif isinstance(ts, bool) or not isinstance(ts, int):
            reason = f"the timestamp is stored as {type(ts).__name__} {ts!r}, not an integer"
        elif k is not None and not isinstance(k, str):
            reason = f"the key is stored as {type(k).__name__} {k!r}, not text"
        elif isinstance(c, str):
            reason = c
        elif isinstance(c, bool) or not isinstance(c, int):
            reason = f"the checksum is stored as {type(c).__name__} {c!r}, not an integer"
        else:
            computed = record_checksum(topic, partition, o, k, ts, v)
            if computed != c:
                reason = (f"checksum mismatch (stored {c:#010x}, computed {computed:#010x}): the record was "
                          f"altered or moved ({len(v)} payload bytes)")
            else:
                try:
                    value = orjson.loads(v)
                    reason = None if isinstance(value, dict) else f"the payload is JSON {type(value).__name__}, not an object"
                except orjson.JSONDecodeError as exc:
                    reason = f"the payload is not valid JSON: {exc}"
                reason = reason or "the record could not be decoded"
        return CorruptRecord(topic, partition, expected, reason, raw=raw)

    def dead_letter(self, error: CorruptRecord) -> Appended:
        """Record a damaged record in its topic's dead-letter topic (created if the topic has none).

        The dead letter is a JSON object with ``error`` (``"CorruptRecord"``), ``topic``,
        ``partition``, ``offset``, ``next_offset``, ``reason`` and ``raw_base64`` (the stored
        bytes as found, base64, or ``None``: they may not be valid JSON). This does not move
        any consumer; :meth:`Consumer.dead_letter` does both.

        Introduced in chapter 3 ("Data Passing Through Real-Time Transport").

        Parameters
        ----------
        error
            The :class:`CorruptRecord` raised by :meth:`read` or :meth:`Consumer.poll`.

        Returns
        -------
        Appended
            Where the dead letter went (``dead_letter=True``, ``reason`` from the error).
        """
        if not isinstance(error, CorruptRecord):
            raise TypeError(f"dead_letter takes a CorruptRecord, got {type(error).__name__}")
        self.topic(error.topic)
        dlq = error.topic + DEAD_LETTER_SUFFIX
        if self._load_topic(dlq) is None:
            self._store_topic(Topic(dlq, 1))  # the topic's own configuration is left as it was
        letter = {"error": "CorruptRecord", "topic": error.topic, "partition": error.partition,
                  "offset": error.offset, "next_offset": error.next_offset, "reason": error.reason,
                  "raw_base64": None if error.raw is None else base64.b64encode(error.raw).decode("ascii")}
        ack = self.append(dlq, letter)
        return Appended(ack.topic, ack.partition, ack.offset, dead_letter=True, reason=error.reason)

    def end_offsets(self, topic: str) -> list[int]:
        """Per partition, the offset the next record will get (the number of records so far)."""
        return self._end_offsets(self.topic(topic))

    def committed(self, group: str, topic: str) -> list[int]:
        """Per partition, where ``group`` resumes reading ``topic`` (0 if it never committed)."""
        check_name("group", group)
        config = self.topic(topic)
        stored = self._load_offsets(group, topic)
        return [stored.get(p, 0) for p in range(config.partitions)]

    def commit(self, group: str, topic: str, offsets: Mapping[int, int]) -> None:
        """Record that ``group`` has processed ``topic`` up to (not including) these offsets."""
        check_name("group", group)
        config = self.topic(topic)
        ends = self._end_offsets(config)
        for p, o in offsets.items():
            self._check_partition(config, p)
            if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o <= ends[p]:
                raise ValueError(f"offset for partition {p} must be between 0 and {ends[p]}, got {o!r}")
        self._store_offsets(group, topic, dict(offsets))

    def consumer(self, group: str, topic: str, member: int = 0, members: int = 1,
                 on_corrupt: str = "raise") -> "Consumer":
        """A consumer in ``group``: member ``member`` of ``members`` gets its share of partitions.

        ``on_corrupt`` is what its :meth:`Consumer.poll` (and iteration) does with a damaged
        record by default: ``"raise"`` :class:`CorruptRecord`, or ``"dead-letter"`` it and go on.
        """
        check_name("group", group)
        _check_policy(on_corrupt)
        config = self.topic(topic)
        if isinstance(members, bool) or not isinstance(members, int) or members < 1:
            raise ValueError(f"members must be a positive integer, got {members!r}")
        if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < members:
            raise ValueError(f"member must be from 0 to {members - 1}, got {member!r}")
        assigned = [p for p in range(config.partitions) if p % members == member]
        return Consumer(self, group, topic, assigned, on_corrupt=on_corrupt)

    @staticmethod
    def _check_partition(topic: Topic, partition: int) -> None:
        if isinstance(partition, bool) or not isinstance(partition, int) or not 0 <= partition < topic.partitions:
            raise ValueError(f"topic {topic.name!r} has partitions 0 to {topic.partitions - 1}, not {partition!r}")


class Consumer:
    """Reads a topic's assigned partitions from the group's committed offsets onward.

    Nothing is marked as processed until :meth:`commit`: a consumer that stops before
    committing leaves its records to be read again (at-least-once). A damaged record
    (:class:`CorruptRecord`) stops the consumer exactly at it, or, with
    ``on_corrupt="dead-letter"``, is recorded in ``<topic>.dead-letter`` and skipped; the
    acknowledgements of the dead letters written so are kept in :attr:`dead_lettered`.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    def __init__(self, log: EventLog, group: str, topic: str, partitions: list[int], on_corrupt: str = "raise"):
        self.log, self.group, self.topic = log, group, topic
        self.on_corrupt = _check_policy(on_corrupt)
        self.dead_lettered: list[Appended] = []
        self._damaged: int | None = None  # a partition whose damage was met after records were taken
        committed = log.committed(group, topic)
        self.positions = {p: committed[p] for p in partitions}

    @property
    def assignment(self) -> list[int]:
        return list(self.positions)

    def poll(self, max_records: int = 1000, on_corrupt: str | None = None) -> list[Record]:
        """Up to ``max_records`` new records, taken from the assigned partitions in turn.

        A damaged record met after some records were taken ends the poll early with those; the
        next poll starts at the damaged partition. Met first, it raises :class:`CorruptRecord`
        (``on_corrupt="raise"``; the position stays at the damaged record) or is dead-lettered
        and skipped (``"dead-letter"``). ``None`` uses the consumer's default.
        """
        policy = self.on_corrupt if on_corrupt is None else _check_policy(on_corrupt)
        out: list[Record] = []
        active = list(self.positions)
        if self._damaged in self.positions:
            active.remove(self._damaged)
            active.insert(0, self._damaged)
        self._damaged = None
        while active and len(out) < max_records:
            share = max(1, (max_records - len(out)) // len(active))
            still = []
            for p in active:
                try:
                    batch = self.log.read(self.topic, p, self.positions[p], min(share, max_records - len(out)))
                except CorruptRecord as error:
                    if policy == "dead-letter":
                        self.dead_letter(error)
                        still.append(p)
                        continue
                    if out:
                        self._damaged = p
                        return out
                    raise
                if batch:
                    out.extend(batch)
                    self.positions[p] = batch[-1].offset + 1
                    still.append(p)
                if len(out) >= max_records:
                    break
            active = still
        return out

    def __iter__(self) -> Iterator[Record]:
        """Every record available now, in batches; stops when the assigned partitions are drained."""
        while batch := self.poll(10_000):
            yield from batch

    def dead_letter(self, error: CorruptRecord) -> Appended:
        """Record the damaged record this consumer stopped at in the dead-letter topic, and move past it.

        The consumer must be at the damaged record (``error.offset`` of one of its partitions),
        as it is after :meth:`poll` raised ``error``. The new position is ``error.next_offset``;
        as with any position, it is kept by :meth:`commit` (a consumer that dies before
        committing meets the damage again and writes a second dead letter).

        Introduced in chapter 3 ("Data Passing Through Real-Time Transport").

        Parameters
        ----------
        error
            The :class:`CorruptRecord` raised by :meth:`poll` or by the log's ``read``.

        Returns
        -------
        Appended
            Where the dead letter went (see :meth:`EventLog.dead_letter` for its fields).
        """
        if not isinstance(error, CorruptRecord):
            raise TypeError(f"dead_letter takes a CorruptRecord, got {type(error).__name__}")
        if error.topic != self.topic:
            raise ValueError(f"the damaged record is in topic {error.topic!r}; this consumer reads {self.topic!r}")
        if error.partition not in self.positions:
            raise ValueError(f"partition {error.partition} is not assigned to this consumer ({self.assignment})")
        if self.positions[error.partition] != error.offset:
            raise ValueError(f"this consumer is at offset {self.positions[error.partition]} of partition "
                             f"{error.partition}, not at the damaged record's offset {error.offset}")
        ack = self.log.dead_letter(error)
        self.positions[error.partition] = error.next_offset
        self.dead_lettered.append(ack)
        return ack

    def commit(self) -> None:
        self.log.commit(self.group, self.topic, self.positions)

    def seek(self, partition: int, offset: int) -> None:
        if partition not in self.positions:
            raise ValueError(f"partition {partition} is not assigned to this consumer ({self.assignment})")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be an integer >= 0, got {offset!r}")
        self.positions[partition] = offset

    def lag(self) -> int:
        """Records in the assigned partitions not yet read by this consumer."""
        ends = self.log.end_offsets(self.topic)
        return sum(ends[p] - o for p, o in self.positions.items())


def _check_policy(on_corrupt: str) -> str:
    if on_corrupt not in ON_CORRUPT:
        raise ValueError(f"on_corrupt must be one of {ON_CORRUPT}, got {on_corrupt!r}")
    return on_corrupt


def _jsonable(value: Any) -> Any:
    try:
        orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
        return value
    except TypeError:
        return repr(value)


# ---------------------------------------------------------------------------------- SQLite
_SQLITE_TABLES = """
    CREATE TABLE IF NOT EXISTS topics (
        name TEXT PRIMARY KEY, partitions INTEGER NOT NULL, schema TEXT, dead_letter INTEGER NOT NULL);
    -- part = partition, pos = offset (both are SQL keywords), crc = record_checksum(...)
    CREATE TABLE IF NOT EXISTS records (
        topic TEXT NOT NULL, part INTEGER NOT NULL, pos INTEGER NOT NULL,
        key TEXT, ts INTEGER NOT NULL, value BLOB NOT NULL, crc INTEGER NOT NULL,
        PRIMARY KEY (topic, part, pos)) WITHOUT ROWID;
    -- The offset the next record of a partition gets: only ever goes up, written in the same
    -- transaction as the records, so an offset is never handed out twice even if records vanish.
    CREATE TABLE IF NOT EXISTS counters (
        topic TEXT NOT NULL, part INTEGER NOT NULL, next INTEGER NOT NULL,
        PRIMARY KEY (topic, part)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS offsets (
        grp TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, pos INTEGER NOT NULL,
        PRIMARY KEY (grp, topic, part)) WITHOUT ROWID;
"""


class SQLiteEventLog(EventLog):
    """The embedded backend: one SQLite database file (rollback journal, ``synchronous=EXTRA``).

    Each append is one transaction, committed to the main database file before the call
    returns: an acknowledged event survives the writing process being killed, and an OS crash
    or power loss on a disk that honours fsync (the pages are fsynced, then the journal's
    deletion, which is the commit, is fsynced too; ``FULL`` would leave that last step to the
    OS). There is no write-ahead log whose loss could silently drop acknowledged transactions:
    a copy of the database file alone holds every acknowledged record. Several processes may
    use the same file; SQLite serialises their writes (readers wait while a write commits).

    Each record is stored with its checksum (:func:`record_checksum`) and each partition with a
    counter of the offsets handed out; reads check both, so damage to the file is detected
    (:class:`CorruptRecord`), not repaired. Files made before checksums existed (format 1) are
    refused with :class:`EventLogError` rather than migrated: computing checksums over their
    records would certify whatever damage they already hold.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    def __init__(self, path: str, *, timeout_s: float = 30.0):
        super().__init__()
        self.path = str(path)
        self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        try:
            self._check_format()  # before anything changes the file
            mode = self._db.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode not in ("delete", "memory"):
                raise EventLogError(f"{self.path}: could not switch SQLite to its rollback journal "
                                    f"(journal mode is {mode!r}; is another program holding the file?)")
            self._db.execute("PRAGMA synchronous=EXTRA")
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # one creator at a time; the others see its tables
            try:
                if self._check_format() is None:
                    for statement in _SQLITE_TABLES.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except BaseException:
            self._db.close()
            raise

    def _check_format(self) -> int | None:
        """The file's format version (``None`` for an empty file); refuse versions this code cannot read."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and version == 0:
            return None
        if version == FORMAT_VERSION and {"topics", "records", "counters", "offsets"} <= tables:
            return version
        if version == 0 and "records" in tables:
            raise EventLogError(
                f"{self.path} was made by an older version of the event log (format 1: records without "
                f"checksums, offsets without counters), which this version cannot check; it is not migrated "
                f"(checksums computed now would vouch for damage already there). Publish the events again "
                f"into a new file.")
        if version > FORMAT_VERSION:
            raise EventLogError(f"{self.path} was made by a newer version of the event log (format {version}; "
                                f"this version reads format {FORMAT_VERSION})")
        raise EventLogError(f"{self.path} is not an event log of format {FORMAT_VERSION} "
                            f"(user_version {version}, tables {sorted(tables)})")

    def __repr__(self) -> str:
        return f"SQLiteEventLog({self.path!r})"

    def close(self) -> None:
        self._db.close()

    def _load_topic(self, name):
        row = self._db.execute("SELECT name, partitions, schema, dead_letter FROM topics WHERE name = ?",
                               (name,)).fetchone()
        if row is None:
            return None
        return Topic(row[0], row[1], None if row[2] is None else orjson.loads(row[2]), bool(row[3]))

    def _store_topic(self, topic):
        schema = None if topic.schema is None else orjson.dumps(topic.schema).decode()
        self._db.execute("INSERT OR IGNORE INTO topics VALUES (?, ?, ?, ?)",
                         (topic.name, topic.partitions, schema, int(topic.dead_letter)))

    def _topic_names(self):
        return [r[0] for r in self._db.execute("SELECT name FROM topics")]

    def _next(self, topic: str, part: int) -> int:
        """The partition's next offset: its counter, or past its last record if the counter is behind."""
        db = self._db
        row = db.execute("SELECT next FROM counters WHERE topic = ? AND part = ?", (topic, part)).fetchone()
        last = db.execute("SELECT MAX(pos) FROM records WHERE topic = ? AND part = ?", (topic, part)).fetchone()[0]
        counted = row[0] if row is not None and isinstance(row[0], int) else 0
        return max(counted, 0 if not isinstance(last, int) else last + 1)

    def _write(self, topic, rows, timestamp):
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # takes the write lock: offsets cannot interleave with another writer
        try:
            nxt = {p: self._next(topic.name, p) for p in {r[0] for r in rows}}
            offsets, params = [], []
            for p, key, payload, partial in rows:
                o = nxt[p]
                offsets.append(o)
                params.append((topic.name, p, o, key, timestamp, payload, _finish_checksum(partial, o)))
                nxt[p] = o + 1
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", params)
            db.executemany("INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (topic, part) "
                           "DO UPDATE SET next = excluded.next", [(topic.name, p, n) for p, n in nxt.items()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return offsets

    def _read(self, topic, partition, offset, limit):
        return self._db.execute(
            "SELECT pos, key, ts, value, crc FROM records WHERE topic = ? AND part = ? AND pos >= ? "
            "ORDER BY pos LIMIT ?", (topic, partition, offset, limit)).fetchall()

    def _end_offsets(self, topic):
        return [self._next(topic.name, p) for p in range(topic.partitions)]

    def _end_offset(self, topic, partition):
        return self._next(topic, partition)

    def _load_offsets(self, group, topic):
        return dict(self._db.execute("SELECT part, pos FROM offsets WHERE grp = ? AND topic = ?", (group, topic)))

    def _store_offsets(self, group, topic, offsets):
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT INTO offsets VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, part) "
                           "DO UPDATE SET pos = excluded.pos", [(group, topic, p, o) for p, o in offsets.items()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


# ---------------------------------------------------------------------------------- Redis
_APPEND = """
-- KEYS: counter and stream of each partition in the batch; ARGV[1]: timestamp;
-- then per record: index of its partition's keys (1-based pair), key ('' for none), payload and
-- its checksum but for the offset, which the script mixes in (record_checksum: XOR the offset).
-- Each partition's next offset: its counter, or past the last entry the stream ever had if the
-- counter was lost. Computed before anything is written, so that every XADD below succeeds.
local nxt = {}
for k = 1, #KEYS / 2 do
  local n = tonumber(redis.call('GET', KEYS[2 * k - 1]) or '0')
  if redis.call('EXISTS', KEYS[2 * k]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[2 * k])
    for j = 1, #info, 2 do
      if info[j] == 'last-generated-id' then
        local top = tonumber(string.match(info[j + 1], '^(%d+)'))
        if top > n then n = top end
      end
    end
  end
  nxt[k] = n
end
local offsets = {}
local i = 2
while i <= #ARGV do
  local k = tonumber(ARGV[i])
  local o = nxt[k]
  local c = bit.bxor(tonumber(ARGV[i + 3]), o % 4294967296)  -- a signed 32-bit result
  if c < 0 then c = c + 4294967296 end
  redis.call('XADD', KEYS[2 * k], string.format('%d', o + 1) .. '-1', 'k', ARGV[i + 1], 't', ARGV[1],
             'v', ARGV[i + 2], 'c', string.format('%d', c))
  offsets[#offsets + 1] = o
  nxt[k] = o + 1
  i = i + 4
end
for k = 1, #KEYS / 2 do
  redis.call('SET', KEYS[2 * k - 1], string.format('%d', nxt[k]))
end
return offsets
"""


class RedisEventLog(EventLog):
    """The broker backend: each partition is a Redis stream, entry ``n-1`` holding offset ``n-1``.

    Offsets are assigned by a server-side script from a per-partition counter (never below
    the last entry the stream ever had), so appends from several processes never collide and
    no offset is handed out twice; the script also mixes the offset into each record's checksum
    (:func:`record_checksum`, field ``c``), checked on every read. Committed offsets live in a
    Redis hash per group. An acknowledged event is one the server applied: it survives the
    *client* being killed; whether it survives the server crashing or losing power depends on
    the server's persistence (``appendonly yes``, ``appendfsync always`` for the strongest
    setting). Damage to the stored entries is detected on read (:class:`CorruptRecord`), not
    repaired. Data written before checksums existed (no ``<prefix>:format`` key) is refused.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    def __init__(self, client=None, *, url: str | None = None, prefix: str = "dmls"):
        super().__init__()
        import redis

        if client is None:
            if url is None:
                raise ValueError("RedisEventLog needs a redis client or a url such as redis://localhost:6379/0")
            client = redis.Redis.from_url(url)
        self._r = client
        self.prefix = check_name("prefix", prefix)
        self._append = self._r.register_script(_APPEND)
        self._check_format()

    def _check_format(self) -> None:
        key = self._key("format")
        version = self._r.get(key)
        if version is None:
            if self._r.exists(self._key("topics")):
                raise EventLogError(
                    f"the event log under Redis prefix {self.prefix!r} was made by an older version (format 1: "
                    f"entries without checksums), which this version cannot check; it is not migrated. "
                    f"Publish the events again under a new prefix.")
            self._r.set(key, FORMAT_VERSION, nx=True)
            version = self._r.get(key)
        if int(version) != FORMAT_VERSION:
            raise EventLogError(f"the event log under Redis prefix {self.prefix!r} has format {int(version)}; "
                                f"this version reads format {FORMAT_VERSION}")

    def __repr__(self) -> str:
        return f"RedisEventLog(prefix={self.prefix!r})"

    def close(self) -> None:
        self._r.close()

    def _key(self, *parts) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def _load_topic(self, name):
        raw = self._r.hget(self._key("topics"), name)
        if raw is None:
            return None
        d = orjson.loads(raw)
        return Topic(d["name"], d["partitions"], d["schema"], d["dead_letter"])

    def _store_topic(self, topic):
        self._r.hsetnx(self._key("topics"), topic.name, orjson.dumps(topic.__dict__))

    def _topic_names(self):
        return [n.decode() for n in self._r.hkeys(self._key("topics"))]

    def _write(self, topic, rows, timestamp):
        parts = sorted({r[0] for r in rows})
        index = {p: i + 1 for i, p in enumerate(parts)}
        keys = [k for p in parts for k in (self._key("next", topic.name, p), self._key("topic", topic.name, p))]
        args: list[Any] = [timestamp]
        for p, key, payload, partial in rows:
            args += [index[p], "" if key is None else "=" + key, payload, partial]
        return [int(o) for o in self._append(keys=keys, args=args)]

    def _read(self, topic, partition, offset, limit):
        entries = self._r.xrange(self._key("topic", topic, partition), min=f"{offset + 1}-1", count=limit)
        out = []
        for entry_id, fields in entries:
            ms, _, seq = entry_id.partition(b"-")
            key, ts, value, crc = fields.get(b"k"), fields.get(b"t"), fields.get(b"v"), fields.get(b"c")
            missing = [name for name, f in (("k", key), ("t", ts), ("v", value), ("c", crc)) if f is None]
            if missing:
                crc = f"the stream entry {entry_id.decode()} lacks the field(s) {', '.join(missing)}"
            elif seq != b"1":
                crc = f"the stream entry {entry_id.decode()} was not written by the event log (sequence is not 1)"
            else:
                crc = int(crc) if crc.isdigit() else f"the checksum field holds {crc!r}, not a number"
            key = key.decode("utf-8", "surrogateescape") if key else None
            out.append((int(ms) - 1, key[1:] if key else None, int(ts) if ts is not None and ts.isdigit() else ts,
                        value, crc))
        return out

    def _end_offsets(self, topic):
        values = self._r.mget([self._key("next", topic.name, p) for p in range(topic.partitions)])
        return [0 if v is None else int(v) for v in values]

    def _end_offset(self, topic, partition):
        value = self._r.get(self._key("next", topic, partition))
        return 0 if value is None else int(value)

    def _load_offsets(self, group, topic):
        return {int(p): int(o) for p, o in self._r.hgetall(self._key("offsets", group, topic)).items()}

    def _store_offsets(self, group, topic, offsets):
        if offsets:
            self._r.hset(self._key("offsets", group, topic), mapping={str(p): o for p, o in offsets.items()})
