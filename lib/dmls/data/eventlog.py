"""A durable event log: topics split into partitions, records addressed by offsets, consumer groups.

Introduced in chapter 3 ("Data Passing Through Real-Time Transport"). This is the shape of
Kafka, Redpanda or Redis Streams, small enough to read: producers append JSON events to a topic;
a record's key picks its partition, so one user's events stay in order; every record in a
partition has an offset; consumers in a group split the partitions between them and commit how
far they got, so a consumer that restarts resumes where its group left off (at-least-once
delivery). Two backends share the interface and its tests:

- :class:`SQLiteEventLog`, embedded: one SQLite file, each append a transaction that is on disk
  before it is acknowledged;
- :class:`RedisEventLog`, a real broker: one Redis stream per partition on a ``redis-server``.

A topic can carry a JSON Schema (draft 7). Events that break it are rejected with the reason or,
if the topic has a dead-letter topic, recorded there with the reason; either way the caller is
told, and nothing is dropped silently.
"""
from __future__ import annotations

import re
import sqlite3
import time
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from itertools import count
from typing import Any, Iterator, Mapping, NamedTuple, Sequence

import fastjsonschema
import jsonschema
import orjson

DEAD_LETTER_SUFFIX = ".dead-letter"
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
    def _write(self, topic: Topic, rows: list[tuple[int, str | None, bytes]], timestamp: int) -> list[int]:
        """Append (partition, key, payload) rows atomically; return their offsets, in order."""

    @abstractmethod
    def _read(self, topic: str, partition: int, offset: int, limit: int) -> list[tuple[int, str | None, int, bytes]]:
        """Rows (offset, key, timestamp, payload) of one partition from ``offset`` on."""

    @abstractmethod
    def _end_offsets(self, topic: Topic) -> list[int]: ...

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
            offsets = self._write(config, [(p, k, v) for _, p, k, v in good], now)
            for (i, p, _, _), offset in zip(good, offsets):
                acks[i] = Appended(topic, p, offset)
        if bad:
            dlq = self.topic(config.dead_letter_topic)
            offsets = self._write(dlq, [(0, k, v) for _, k, v, _ in bad], now)
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
        """Records of one partition from ``offset`` on, at most ``max_records``."""
        config = self.topic(topic)
        self._check_partition(config, partition)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be an integer >= 0, got {offset!r}")
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
            raise ValueError(f"max_records must be a positive integer, got {max_records!r}")
        rows = self._read(topic, partition, offset, max_records)
        # This line runs once per event consumed: local names, and the tuple built without the
        # Python-level __new__ a named tuple adds (a quarter of a stream processor's time).
        loads, new = orjson.loads, tuple.__new__
        return [new(Record, (topic, partition, o, k, loads(v), ts)) for o, k, ts, v in rows]

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

    def consumer(self, group: str, topic: str, member: int = 0, members: int = 1) -> "Consumer":
        """A consumer in ``group``: member ``member`` of ``members`` gets its share of partitions."""
        check_name("group", group)
        config = self.topic(topic)
        if isinstance(members, bool) or not isinstance(members, int) or members < 1:
            raise ValueError(f"members must be a positive integer, got {members!r}")
        if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < members:
            raise ValueError(f"member must be from 0 to {members - 1}, got {member!r}")
        assigned = [p for p in range(config.partitions) if p % members == member]
        return Consumer(self, group, topic, assigned)

    @staticmethod
    def _check_partition(topic: Topic, partition: int) -> None:
        if isinstance(partition, bool) or not isinstance(partition, int) or not 0 <= partition < topic.partitions:
            raise ValueError(f"topic {topic.name!r} has partitions 0 to {topic.partitions - 1}, not {partition!r}")


class Consumer:
    """Reads a topic's assigned partitions from the group's committed offsets onward.

    Nothing is marked as processed until :meth:`commit`: a consumer that stops before
    committing leaves its records to be read again (at-least-once).

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    def __init__(self, log: EventLog, group: str, topic: str, partitions: list[int]):
        self.log, self.group, self.topic = log, group, topic
        committed = log.committed(group, topic)
        self.positions = {p: committed[p] for p in partitions}

    @property
    def assignment(self) -> list[int]:
        return list(self.positions)

    def poll(self, max_records: int = 1000) -> list[Record]:
        """Up to ``max_records`` new records, taken from the assigned partitions in turn."""
        out: list[Record] = []
        active = list(self.positions)
        while active and len(out) < max_records:
            share = max(1, (max_records - len(out)) // len(active))
            still = []
            for p in active:
                batch = self.log.read(self.topic, p, self.positions[p], min(share, max_records - len(out)))
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


def _jsonable(value: Any) -> Any:
    try:
        orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
        return value
    except TypeError:
        return repr(value)


# ---------------------------------------------------------------------------------- SQLite
class SQLiteEventLog(EventLog):
    """The embedded backend: one SQLite database file (write-ahead log, full sync).

    Each append is one transaction, committed to the file before the call returns, so an
    acknowledged event survives the writing process being killed. Several processes may use
    the same file; SQLite serialises their writes.

    Introduced in chapter 3 ("Data Passing Through Real-Time Transport").
    """

    def __init__(self, path: str, *, timeout_s: float = 30.0):
        super().__init__()
        self.path = str(path)
        self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS topics (
                name TEXT PRIMARY KEY, partitions INTEGER NOT NULL, schema TEXT, dead_letter INTEGER NOT NULL);
            -- part = partition, pos = offset (both are SQL keywords)
            CREATE TABLE IF NOT EXISTS records (
                topic TEXT NOT NULL, part INTEGER NOT NULL, pos INTEGER NOT NULL,
                key TEXT, ts INTEGER NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY (topic, part, pos)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS offsets (
                grp TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, pos INTEGER NOT NULL,
                PRIMARY KEY (grp, topic, part)) WITHOUT ROWID;
        """)

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

    def _write(self, topic, rows, timestamp):
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # takes the write lock: offsets cannot interleave with another writer
        try:
            nxt = {}
            for p in {p for p, _, _ in rows}:
                last = db.execute("SELECT MAX(pos) FROM records WHERE topic = ? AND part = ?",
                                  (topic.name, p)).fetchone()[0]
                nxt[p] = 0 if last is None else last + 1
            offsets, params = [], []
            for p, key, payload in rows:
                offsets.append(nxt[p])
                params.append((topic.name, p, nxt[p], key, timestamp, payload))
                nxt[p] += 1
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", params)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return offsets

    def _read(self, topic, partition, offset, limit):
        return self._db.execute(
            "SELECT pos, key, ts, value FROM records WHERE topic = ? AND part = ? AND pos >= ? "
            "ORDER BY pos LIMIT ?", (topic, partition, offset, limit)).fetchall()

    def _end_offsets(self, topic):
        # One indexed MAX per partition (a GROUP BY would scan the whole topic).
        query = "SELECT MAX(pos) FROM records WHERE topic = ? AND part = ?"
        last = [self._db.execute(query, (topic.name, p)).fetchone()[0] for p in range(topic.partitions)]
        return [0 if m is None else m + 1 for m in last]

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
-- then per record: index of its partition's keys (1-based pair), key ('' for none), payload.
local offsets = {}
local i = 2
while i <= #ARGV do
  local k = tonumber(ARGV[i])
  local n = redis.call('INCR', KEYS[2 * k - 1])
  redis.call('XADD', KEYS[2 * k], n .. '-1', 'k', ARGV[i + 1], 't', ARGV[1], 'v', ARGV[i + 2])
  offsets[#offsets + 1] = n - 1
  i = i + 3
end
return offsets
"""


class RedisEventLog(EventLog):
    """The broker backend: each partition is a Redis stream, entry ``n-1`` holding offset ``n-1``.

    Offsets are assigned by a server-side script, so appends from several processes never
    collide; committed offsets live in a Redis hash per group. How durable an acknowledged
    event is depends on the server's persistence (``appendonly yes``, ``appendfsync always``
    for the strongest setting); a killed *client* never loses what the server acknowledged.

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
        parts = sorted({p for p, _, _ in rows})
        index = {p: i + 1 for i, p in enumerate(parts)}
        keys = [k for p in parts for k in (self._key("next", topic.name, p), self._key("topic", topic.name, p))]
        args: list[Any] = [timestamp]
        for p, key, payload in rows:
            args += [index[p], "" if key is None else "=" + key, payload]
        return [int(o) for o in self._append(keys=keys, args=args)]

    def _read(self, topic, partition, offset, limit):
        entries = self._r.xrange(self._key("topic", topic, partition), min=f"{offset + 1}-1", count=limit)
        out = []
        for entry_id, fields in entries:
            key = fields[b"k"].decode()
            out.append((int(entry_id.split(b"-")[0]) - 1, key[1:] if key else None, int(fields[b"t"]), fields[b"v"]))
        return out

    def _end_offsets(self, topic):
        values = self._r.mget([self._key("next", topic.name, p) for p in range(topic.partitions)])
        return [0 if v is None else int(v) for v in values]

    def _load_offsets(self, group, topic):
        return {int(p): int(o) for p, o in self._r.hgetall(self._key("offsets", group, topic)).items()}

    def _store_offsets(self, group, topic, offsets):
        if offsets:
            self._r.hset(self._key("offsets", group, topic), mapping={str(p): o for p, o in offsets.items()})
