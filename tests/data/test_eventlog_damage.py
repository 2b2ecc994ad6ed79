"""The event log under damage: every record checked on read, offsets never handed out twice.

Each test damages the stored data behind the log's back (raw SQL on the SQLite file, its bytes
on disk, or a raw Redis client) the way a flipped bit, a cut write or a lost page would, and
checks that the log says exactly where (:class:`CorruptRecord`) instead of returning a changed
event, failing with a JSON error, or reusing an offset.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from dmls.data import RedisEventLog, SQLiteEventLog
from dmls.data.eventlog import CorruptRecord, EventLogError, record_checksum

from .conftest import open_log

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ raw access, behind the log's back
def _redis(spec):
    import redis

    return redis.Redis.from_url(spec["url"])


def _stream(spec, topic, partition):
    return f"{spec['prefix']}:topic:{topic}:{partition}"


def raw_record(spec, topic, partition, offset) -> dict:
    """The stored fields of one record: value (bytes), key, ts, crc."""
    if spec["backend"] == "sqlite":
        with sqlite3.connect(spec["path"]) as db:
            db.row_factory = sqlite3.Row
            row = dict(db.execute("SELECT * FROM records WHERE topic = ? AND part = ? AND pos = ?",
                                  (topic, partition, offset)).fetchone())
        return {"value": row["value"], "key": row["key"], "ts": row["ts"], "crc": row.get("crc")}
    r = _redis(spec)
    [(_, fields)] = r.xrange(_stream(spec, topic, partition), min=f"{offset + 1}-1", max=f"{offset + 1}-1")
    r.close()
    key = fields[b"k"].decode()
    crc = fields.get(b"c")
    return {"value": fields[b"v"], "key": key[1:] if key else None, "ts": int(fields[b"t"]),
            "crc": None if crc is None else int(crc)}


def raw_update(spec, topic, partition, offset, **changes) -> None:
    """Overwrite stored fields of one record (value=bytes, crc=int) in place."""
    if spec["backend"] == "sqlite":
        with sqlite3.connect(spec["path"]) as db:
            columns = {r[1] for r in db.execute("PRAGMA table_info(records)")}
            for column, value in changes.items():
                assert column in ("value", "crc", "key", "ts")
                if column not in columns:
                    continue
                db.execute(f"UPDATE records SET {column} = ? WHERE topic = ? AND part = ? AND pos = ?",
                           (value, topic, partition, offset))
        return
    # Stream entries cannot be edited: rebuild the stream with the one entry changed, keeping
    # the stream's last generated id, as a damaged copy of the server's data would look.
    names = {"value": b"v", "crc": b"c"}
    r = _redis(spec)
    key = _stream(spec, topic, partition)
    last = r.xinfo_stream(key)["last-generated-id"]
    entries = r.xrange(key)
    pipe = r.pipeline(transaction=True)
    pipe.delete(key)
    for entry_id, fields in entries:
        if entry_id == f"{offset + 1}-1".encode():
            fields = {**fields, **{names[c]: v for c, v in changes.items()}}
        pipe.xadd(key, fields, id=entry_id)
    pipe.execute_command("XSETID", key, last)
    pipe.execute()
    r.close()


def raw_delete(spec, topic, partition, offsets) -> None:
    if spec["backend"] == "sqlite":
        with sqlite3.connect(spec["path"]) as db:
            db.executemany("DELETE FROM records WHERE topic = ? AND part = ? AND pos = ?",
                           [(topic, partition, o) for o in offsets])
        return
    r = _redis(spec)
    assert r.xdel(_stream(spec, topic, partition), *[f"{o + 1}-1" for o in offsets]) == len(offsets)
    r.close()


def _flip_one_bit(value: bytes) -> bytes:
    """The same payload with one bit of one digit flipped: still valid JSON, a different event."""
    i = value.index(b"12345")
    return value[:i + 2] + bytes([value[i + 2] ^ 0x01]) + value[i + 3:]  # "3" -> "2"


def _fill(log, topic="orders", partitions=1, n=10):
    log.create_topic(topic, partitions=partitions)
    acks = log.append_many(topic, [{"n": i, "amount": 12345, "note": "päckchen ✓"} for i in range(n)],
                           keys=[f"customer-{i % 3}" for i in range(n)])
    return acks


# ------------------------------------------------------------------ checksums
def test_a_flipped_bit_in_the_file_on_disk_is_caught(tmp_path):
    path = tmp_path / "events.db"
    log = SQLiteEventLog(str(path))
    log.create_topic("orders")
    log.append_many("orders", [{"n": i, "amount": 12345 if i == 6 else 99, "note": "one of ten"} for i in range(10)])
    log.close()
    data = bytearray(path.read_bytes())
    assert data.count(b'"amount":12345') == 1  # one copy of the payload, in its page
    at = data.index(b'"amount":12345') + len(b'"amount":12')
    data[at] ^= 0x01  # "3" -> "2": the event still parses, as {"amount": 12245}
    path.write_bytes(bytes(data))

    log = SQLiteEventLog(str(path))
    assert [r.value["n"] for r in log.read("orders", 0)] == list(range(6))  # the good records before it
    with pytest.raises(CorruptRecord, match=r"topic 'orders', partition 0, offset 6: checksum mismatch") as caught:
        log.read("orders", 0, offset=6)
    assert (caught.value.topic, caught.value.partition, caught.value.offset, caught.value.next_offset) == \
        ("orders", 0, 6, 7)
    assert b'"amount":12245' in caught.value.raw
    assert [r.value["n"] for r in log.read("orders", 0, offset=7)] == [7, 8, 9]
    log.close()


def test_an_altered_payload_is_caught(backend):
    log, spec = backend
    _fill(log)
    raw_update(spec, "orders", 0, 4, value=_flip_one_bit(raw_record(spec, "orders", 0, 4)["value"]))
    assert [r.offset for r in log.read("orders", 0)] == [0, 1, 2, 3]
    with pytest.raises(CorruptRecord, match=r"topic 'orders', partition 0, offset 4: checksum mismatch"):
        log.read("orders", 0, 4)


def test_a_truncated_payload_is_a_corrupt_record_not_a_json_error(backend):
    log, spec = backend
    _fill(log)
    cut = raw_record(spec, "orders", 0, 9)["value"][:-9]
    raw_update(spec, "orders", 0, 9, value=cut)
    with pytest.raises(CorruptRecord) as caught:
        log.read("orders", 0, 9)
    assert not isinstance(caught.value, orjson.JSONDecodeError)
    assert (caught.value.topic, caught.value.partition, caught.value.offset) == ("orders", 0, 9)
    assert caught.value.raw == cut and "offset 9" in str(caught.value)


def test_a_cut_payload_with_a_matching_checksum_is_still_named(backend):
    """A writer that stored bad bytes with their checksum: the JSON error is reported as damage too."""
    log, spec = backend
    _fill(log)
    rec = raw_record(spec, "orders", 0, 2)
    cut = rec["value"][:-3]
    raw_update(spec, "orders", 0, 2, value=cut, crc=record_checksum("orders", 0, 2, rec["key"], rec["ts"], cut))
    with pytest.raises(CorruptRecord, match=r"offset 2: the payload is not valid JSON"):
        log.read("orders", 0, 2)


def test_a_record_moved_to_another_offset_is_caught(backend):
    """The checksum covers the address: a whole record copied over another, checksum and all, fails."""
    log, spec = backend
    _fill(log)
    other = raw_record(spec, "orders", 0, 1)
    raw_update(spec, "orders", 0, 3, value=other["value"], crc=other["crc"])
    with pytest.raises(CorruptRecord, match="offset 3: checksum mismatch .* altered or moved"):
        log.read("orders", 0, 3)


def test_a_stored_field_of_the_wrong_type_is_named(tmp_path):
    path = str(tmp_path / "events.db")
    log = SQLiteEventLog(path)
    _fill(log)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE records SET value = CAST(value AS TEXT) WHERE pos = 0")
        db.execute("UPDATE records SET ts = 'yesterday' WHERE pos = 1")
    with pytest.raises(CorruptRecord, match="offset 0: the payload is stored as str, not bytes"):
        log.read("orders", 0)
    with pytest.raises(CorruptRecord, match="offset 1: the timestamp is stored as str 'yesterday'"):
        log.read("orders", 0, 1)
    assert len(log.read("orders", 0, 2)) == 8
    log.close()


def test_the_stored_checksum_is_record_checksum(backend):
    """Computed by the client (SQLite) or finished by the server's script (Redis): the same CRC-32."""
    log, spec = backend
    log.create_topic("t", partitions=2)
    acks = log.append_many("t", [{"i": i} for i in range(6)], keys=[None, "", "ключ", "a=b", None, "x\x00y"])
    for ack, key in zip(acks, [None, "", "ключ", "a=b", None, "x\x00y"]):
        rec = raw_record(spec, "t", ack.partition, ack.offset)
        assert rec["key"] == key
        assert rec["crc"] == record_checksum("t", ack.partition, ack.offset, key, rec["ts"], rec["value"])
    assert sorted(r.value["i"] for p in (0, 1) for r in log.read("t", p)) == list(range(6))


def test_the_checksum_covers_every_field():
    base = record_checksum("t", 0, 5, "k", 1000, b'{"a":1}')
    assert 0 <= base < 2**32
    assert len({base, record_checksum("u", 0, 5, "k", 1000, b'{"a":1}'), record_checksum("t", 1, 5, "k", 1000, b'{"a":1}'),
                record_checksum("t", 0, 6, "k", 1000, b'{"a":1}'), record_checksum("t", 0, 5, None, 1000, b'{"a":1}'),
                record_checksum("t", 0, 5, "", 1000, b'{"a":1}'), record_checksum("t", 0, 5, "k", 1001, b'{"a":1}'),
                record_checksum("t", 0, 5, "k", 1000, b'{"a":2}')}) == 8


# ------------------------------------------------------------------ missing records and offsets
def test_a_record_missing_in_the_middle_is_reported(backend):
    log, spec = backend
    _fill(log)
    raw_delete(spec, "orders", 0, [3, 4])
    assert [r.offset for r in log.read("orders", 0)] == [0, 1, 2]
    with pytest.raises(CorruptRecord, match=r"offsets 3 to 4: 2 record\(s\) missing") as caught:
        log.read("orders", 0, 3)
    assert (caught.value.offset, caught.value.next_offset, caught.value.raw) == (3, 5, None)
    assert [r.offset for r in log.read("orders", 0, 5)] == [5, 6, 7, 8, 9]


def test_deleted_newest_records_are_reported_and_their_offsets_never_reused(backend):
    log, spec = backend
    acks = _fill(log)
    handed_out = {a.offset for a in acks}
    raw_delete(spec, "orders", 0, [7, 8, 9])  # the newest acknowledged records vanish
    if spec["backend"] == "redis":  # and, worse, the partition's counter with them
        r = _redis(spec)
        assert r.delete(f"{spec['prefix']}:next:orders:0") == 1
        r.close()
    again = open_log(spec)
    new = again.append("orders", {"n": "new"})
    assert new.offset not in handed_out and new.offset == 10
    assert [r.offset for r in again.read("orders", 0)] == list(range(7))
    with pytest.raises(CorruptRecord, match=r"offsets 7 to 9: 3 record\(s\) missing"):
        again.read("orders", 0, 7)
    assert [r.value["n"] for r in again.read("orders", 0, 10)] == ["new"]
    again.close()


def test_a_lost_tail_below_the_counter_is_reported(tmp_path):
    path = str(tmp_path / "events.db")
    log = SQLiteEventLog(path)
    _fill(log, n=5)
    raw_delete({"backend": "sqlite", "path": path}, "orders", 0, [3, 4])
    assert log.end_offsets("orders") == [5]  # the counter remembers what was handed out
    assert len(log.read("orders", 0)) == 3
    with pytest.raises(CorruptRecord, match=r"2 record\(s\) missing: the partition's counter says 5 were written"):
        log.read("orders", 0, 3)
    assert log.read("orders", 0, 5) == []  # at the end: nothing, and nothing wrong
    log.close()


# ------------------------------------------------------------------ consumers and dead letters
def test_a_consumer_dead_letters_the_damaged_record_and_reads_the_rest(backend):
    log, spec = backend
    _fill(log, n=10)  # a topic created without a dead-letter topic
    damaged = raw_record(spec, "orders", 0, 5)["value"][:-4]
    raw_update(spec, "orders", 0, 5, value=damaged)
    consumer = log.consumer("billing", "orders")
    assert [r.offset for r in consumer.poll(100)] == [0, 1, 2, 3, 4]  # up to the damage, no error yet
    with pytest.raises(CorruptRecord) as caught:
        consumer.poll(100)
    assert consumer.positions == {0: 5}  # exactly at the damaged record
    ack = consumer.dead_letter(caught.value)
    assert (ack.topic, ack.partition, ack.dead_letter) == ("orders.dead-letter", 0, True)
    assert consumer.positions == {0: 6}
    assert [r.offset for r in consumer.poll(100)] == [6, 7, 8, 9]
    consumer.commit()
    assert log.committed("billing", "orders") == [10]
    [letter] = log.read("orders.dead-letter", 0)
    assert {k: letter.value[k] for k in ("error", "topic", "partition", "offset", "next_offset")} == \
        {"error": "CorruptRecord", "topic": "orders", "partition": 0, "offset": 5, "next_offset": 6}
    assert letter.value["reason"] == caught.value.reason and "checksum mismatch" in letter.value["reason"]
    assert base64.b64decode(letter.value["raw_base64"]) == damaged
    # The topic's own configuration is unchanged: creating it again identically is still a no-op.
    assert log.create_topic("orders").dead_letter is False
    assert log.topics() == ["orders", "orders.dead-letter"]


def test_poll_can_dead_letter_on_its_own_across_partitions(backend):
    log, spec = backend
    acks = _fill(log, partitions=3, n=60)
    by_partition = {}
    for a in acks:
        by_partition.setdefault(a.partition, []).append(a.offset)
    p_bad, p_gap = sorted(by_partition)[:2]
    raw_update(spec, "orders", p_bad, 0, value=_flip_one_bit(raw_record(spec, "orders", p_bad, 0)["value"]))
    raw_delete(spec, "orders", p_gap, [2, 3])
    consumer = log.consumer("audit", "orders", on_corrupt="dead-letter")
    got = [r.value["n"] for r in consumer]
    assert len(got) == 60 - 3 and len(set(got)) == len(got)
    letters = [d.value for d in log.read("orders.dead-letter", 0)]
    assert sorted((d["partition"], d["offset"], d["next_offset"]) for d in letters) == \
        sorted([(p_bad, 0, 1), (p_gap, 2, 4)])
    assert [d["raw_base64"] is None for d in letters if d["partition"] == p_gap] == [True]  # nothing to keep
    assert len(consumer.dead_lettered) == 2 and consumer.lag() == 0
    # The default consumer raises; per-call choice overrides it.
    strict = log.consumer("strict", "orders")
    with pytest.raises(CorruptRecord):
        while strict.poll(1000):
            pass
    assert len(strict.poll(1000, on_corrupt="dead-letter")) > 0


def test_damage_after_records_ends_the_poll_and_the_next_poll_starts_there(backend):
    log, spec = backend
    log.create_topic("orders", partitions=2)
    log.append_many("orders", [{"n": i} for i in range(40)])  # no keys: spread over both partitions
    assert log.end_offsets("orders") == [20, 20]
    p = 1
    raw_update(spec, "orders", p, 0, value=b'{"trunc')
    consumer = log.consumer("c", "orders")
    first = consumer.poll(1000)  # partition 0's records, then the damage stops the poll
    assert [r.partition for r in first] == [0] * 20 and consumer.positions == {0: 20, 1: 0}
    with pytest.raises(CorruptRecord, match=f"partition {p}, offset 0"):
        consumer.poll(1000)


def test_dead_letter_refuses_an_error_the_consumer_is_not_at(backend):
    log, spec = backend
    _fill(log)
    raw_update(spec, "orders", 0, 2, value=b"{}")
    with pytest.raises(CorruptRecord) as caught:
        log.read("orders", 0, 2)
    consumer = log.consumer("c", "orders")
    with pytest.raises(ValueError, match="at offset 0 of partition 0, not at the damaged record's offset 2"):
        consumer.dead_letter(caught.value)
    with pytest.raises(TypeError, match="takes a CorruptRecord"):
        consumer.dead_letter(ValueError("x"))
    with pytest.raises(ValueError, match="on_corrupt must be one of"):
        consumer.poll(10, on_corrupt="ignore")
    with pytest.raises(ValueError, match="on_corrupt must be one of"):
        log.consumer("c", "orders", on_corrupt="skip")


def test_reading_while_another_process_writes_finds_no_damage(backend):
    """The gap check must not mistake a record being appended for a missing one."""
    log, spec = backend
    log.create_topic("events", partitions=3)
    writer = subprocess.Popen([sys.executable, str(Path(__file__).with_name("writer.py")), json.dumps(spec), "events"],
                              stdout=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        consumer = log.consumer("live", "events")
        seen = []
        deadline = time.monotonic() + 60
        while len(seen) < 300:
            assert writer.poll() is None and time.monotonic() < deadline, "the writer stopped"
            seen.extend(r.value["n"] for r in consumer.poll(7))
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert len(set(seen)) == len(seen)


# ------------------------------------------------------------------ what an acknowledgement guarantees
def test_an_acknowledged_append_is_in_the_main_database_file(tmp_path):
    """No side file holds acknowledged data: a copy of the .db file alone has every acked record."""
    path = tmp_path / "events.db"
    log = SQLiteEventLog(str(path))  # kept open, as a running producer would
    log.create_topic("orders", partitions=2)
    acks = [log.append("orders", {"n": i}, key=f"c{i}") for i in range(20)]
    assert not (tmp_path / "events.db-wal").exists() and not (tmp_path / "events.db-journal").exists()
    copy = tmp_path / "elsewhere" / "copy.db"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)  # the main file only
    reopened = SQLiteEventLog(str(copy))
    stored = {(r.partition, r.offset): r.value["n"] for p in (0, 1) for r in reopened.read("orders", p)}
    assert {(a.partition, a.offset): i for i, a in enumerate(acks)} == stored
    reopened.close()
    log.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


# ------------------------------------------------------------------ files of an older version
def test_a_file_made_by_the_older_version_is_refused_untouched(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the schema as the event log wrote it before checksums
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript("""
            CREATE TABLE topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL, schema TEXT,
                                 dead_letter INTEGER NOT NULL);
            CREATE TABLE records (topic TEXT NOT NULL, part INTEGER NOT NULL, pos INTEGER NOT NULL, key TEXT,
                                  ts INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (topic, part, pos)) WITHOUT ROWID;
            CREATE TABLE offsets (grp TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, pos INTEGER NOT NULL,
                                  PRIMARY KEY (grp, topic, part)) WITHOUT ROWID;
            INSERT INTO topics VALUES ('orders', 1, NULL, 0);
            INSERT INTO records VALUES ('orders', 0, 0, NULL, 1, '{"n":0}');
        """)
    with pytest.raises(EventLogError, match=r"old\.db was made by an older version of the event log \(format 1"):
        SQLiteEventLog(str(path))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # not switched, not migrated
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 1


def test_a_file_of_another_kind_or_a_newer_version_is_refused(tmp_path):
    with sqlite3.connect(tmp_path / "other.db") as db:
        db.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(EventLogError, match="is not an event log of format 2"):
        SQLiteEventLog(str(tmp_path / "other.db"))
    SQLiteEventLog(str(tmp_path / "newer.db")).close()
    with sqlite3.connect(tmp_path / "newer.db") as db:
        db.execute("PRAGMA user_version = 3")
    with pytest.raises(EventLogError, match="made by a newer version of the event log \\(format 3"):
        SQLiteEventLog(str(tmp_path / "newer.db"))


def test_redis_data_of_the_older_version_is_refused(redis_url):
    import redis

    r = redis.Redis.from_url(redis_url)
    r.hset("oldprefix:topics", "orders", orjson.dumps({"name": "orders", "partitions": 1, "schema": None,
                                                       "dead_letter": False}))
    try:
        with pytest.raises(EventLogError, match="prefix 'oldprefix' was made by an older version"):
            RedisEventLog(url=redis_url, prefix="oldprefix")
        assert r.get("oldprefix:format") is None
    finally:
        r.delete("oldprefix:topics")
        r.close()
