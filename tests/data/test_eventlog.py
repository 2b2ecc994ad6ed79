"""The event log, on both backends: the same tests against SQLite and a real redis-server."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dmls.data import InvalidEvent, TopicExists, UnknownTopic
from dmls.data.eventlog import partition_for

from .conftest import open_log

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = {"type": "object", "required": ["user_id", "item_id"],
          "properties": {"user_id": {"type": "integer", "minimum": 0}, "item_id": {"type": "integer", "minimum": 0}}}


def test_append_and_read_back(backend):
    log, _ = backend
    log.create_topic("clicks", partitions=3)
    acks = log.append_many("clicks", [{"user_id": u, "i": i} for i, u in enumerate([1, 2, 1, 3, 1])],
                           keys=[str(u) for u in [1, 2, 1, 3, 1]])
    assert [a.partition for a in acks] == [partition_for(str(u), 3, 0) for u in [1, 2, 1, 3, 1]]
    by_partition = {}
    for a in acks:
        by_partition.setdefault(a.partition, []).append(a.offset)
    assert all(offsets == list(range(len(offsets))) for offsets in by_partition.values())  # 0, 1, 2 ... per partition
    p = acks[0].partition
    records = log.read("clicks", p)
    assert [r.value["i"] for r in records if r.key == "1"] == [0, 2, 4]  # one key's events stay in order
    assert all(r.topic == "clicks" and r.partition == p and r.timestamp > 0 for r in records)
    assert log.read("clicks", p, offset=1, max_records=1)[0].offset == 1
    assert sum(log.end_offsets("clicks")) == 5


def test_keyless_events_spread_over_partitions(backend):
    log, _ = backend
    log.create_topic("logs", partitions=4)
    acks = log.append_many("logs", [{"i": i} for i in range(40)])
    assert {a.partition for a in acks} == {0, 1, 2, 3}


def test_values_round_trip_as_json(backend):
    log, _ = backend
    log.create_topic("misc")
    value = {"text": "naïve ✓", "none": None, "nested": {"a": [1, 2.5, True]}, "np_int": np.int64(7),
             "np_float": np.float64(0.25)}
    log.append("misc", value)
    assert log.read("misc", 0)[0].value == {"text": "naïve ✓", "none": None, "nested": {"a": [1, 2.5, True]},
                                          "np_int": 7, "np_float": 0.25}


def test_consumer_resumes_from_committed_offsets(backend):
    log, spec = backend
    log.create_topic("events", partitions=2)
    log.append_many("events", [{"i": i} for i in range(10)], keys=[str(i % 2) for i in range(10)])
    first = log.consumer("feature-builder", "events")
    seen = first.poll(max_records=6)
    assert len(seen) == 6
    first.commit()
    # A consumer that read more but died before committing: its records come again (at-least-once).
    first.poll(max_records=2)
    again = open_log(spec)  # a new process, a new connection
    rest = list(again.consumer("feature-builder", "events"))
    assert sorted(r.value["i"] for r in seen + rest) == list(range(10))
    assert again.consumer("feature-builder", "events").lag() == 4
    again.close()


def test_groups_are_pub_sub_and_members_of_a_group_share_the_work(backend):
    log, _ = backend
    log.create_topic("events", partitions=4)
    log.append_many("events", [{"i": i} for i in range(100)], keys=[f"u{i % 13}" for i in range(100)])
    # Two groups (pub/sub): each sees everything.
    for group in ("monitoring", "features"):
        assert sorted(r.value["i"] for r in log.consumer(group, "events")) == list(range(100))
    # Two members of one group (a queue): disjoint partitions that together cover the topic.
    a, b = log.consumer("workers", "events", member=0, members=2), log.consumer("workers", "events", member=1, members=2)
    assert set(a.assignment).isdisjoint(b.assignment) and set(a.assignment) | set(b.assignment) == {0, 1, 2, 3}
    got_a, got_b = [r.value["i"] for r in a], [r.value["i"] for r in b]
    assert not set(got_a) & set(got_b) and sorted(got_a + got_b) == list(range(100))


def test_schema_violations_are_rejected_with_the_reason_and_nothing_is_written(backend):
    log, _ = backend
    log.create_topic("clicks", partitions=2, schema=SCHEMA)
    with pytest.raises(InvalidEvent, match=r"event 1 .*user_id must be integer"):
        log.append_many("clicks", [{"user_id": 1, "item_id": 2}, {"user_id": "one", "item_id": 2}])
    with pytest.raises(InvalidEvent, match="must contain"):
        log.append("clicks", {"user_id": 1})
    with pytest.raises(InvalidEvent, match="must be a JSON object"):
        log.append("clicks", [1, 2])
    with pytest.raises(InvalidEvent, match="not JSON-serialisable"):
        log.append("clicks", {"user_id": 1, "item_id": 2, "when": object()})
    assert log.end_offsets("clicks") == [0, 0]  # the good event of the rejected batch was not kept either


def test_dead_letter_topic_keeps_bad_events_with_reasons(backend):
    log, _ = backend
    log.create_topic("clicks", partitions=2, schema=SCHEMA, dead_letter=True)
    acks = log.append_many("clicks", [{"user_id": 1, "item_id": 2}, {"user_id": -5, "item_id": 2}, "oops"],
                           keys=["1", "2", None])
    assert [a.dead_letter for a in acks] == [False, True, True]
    assert acks[1].topic == "clicks.dead-letter" and "user_id must be bigger than or equal to 0" in acks[1].reason
    letters = log.read("clicks.dead-letter", 0)
    assert [d.value["value"] for d in letters] == [{"user_id": -5, "item_id": 2}, "oops"]
    assert all(d.value["topic"] == "clicks" and d.value["reason"] for d in letters)
    assert sum(log.end_offsets("clicks")) == 1


def test_topics_are_created_once(backend):
    log, _ = backend
    log.create_topic("clicks", partitions=2, schema=SCHEMA)
    assert log.create_topic("clicks", partitions=2, schema=SCHEMA).partitions == 2  # same again: fine
    with pytest.raises(TopicExists, match="another configuration"):
        log.create_topic("clicks", partitions=3)
    log.create_topic("records")  # a name that is also a table or key name inside a backend
    log.append("records", {"x": 1})
    assert log.topics() == ["clicks", "records"]


@pytest.mark.parametrize("call, error, message", [
    (lambda log: log.append("nope", {"a": 1}), UnknownTopic, "no topic 'nope'"),
    (lambda log: log.create_topic("x'; DROP TABLE records; --"), ValueError, "topic name must be"),
    (lambda log: log.create_topic("ok", partitions=0), ValueError, "partitions must be"),
    (lambda log: log.create_topic("ok.dead-letter"), ValueError, "reserved"),
    (lambda log: log.create_topic("ok", schema={"type": "nonsense"}), ValueError, "not a valid JSON Schema"),
    (lambda log: log.read("t", partition=2), ValueError, "partitions 0 to 1"),
    (lambda log: log.read("t", 0, offset=-1), ValueError, "offset must be"),
    (lambda log: log.append("t", {"a": 1}, key=5), TypeError, "keys must be strings"),
    (lambda log: log.append_many("t", [{"a": 1}], keys=["a", "b"]), ValueError, "2 keys for 1 events"),
    (lambda log: log.commit("g", "t", {0: 99}), ValueError, "between 0 and 0"),
    (lambda log: log.commit("bad group!", "t", {0: 0}), ValueError, "group name must be"),
    (lambda log: log.consumer("g", "t", member=2, members=2), ValueError, "member must be from 0 to 1"),
    (lambda log: log.consumer("g", "t").seek(5, 0), ValueError, "not assigned"),
])
def test_bad_calls_are_named(backend, call, error, message):
    log, _ = backend
    log.create_topic("t", partitions=2)
    with pytest.raises(error, match=message):
        call(log)


def test_acknowledged_events_survive_the_writer_being_killed(backend):
    log, spec = backend
    log.create_topic("events", partitions=3)
    writer = subprocess.Popen([sys.executable, str(Path(__file__).with_name("writer.py")), json.dumps(spec), "events"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    acked = []
    for line in writer.stdout:
        acked.append(json.loads(line))
        if len(acked) == 300:
            writer.send_signal(signal.SIGKILL)  # no chance to flush or close anything
            break
    writer.wait(timeout=30)
    writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    reopened = open_log(spec)
    stored = {(r.partition, r.offset): r.value["n"] for p in range(3) for r in reopened.read("events", p, 0, 100_000)}
    for partition, offset, n in acked:
        assert stored[(partition, offset)] == n
    # Whatever was stored is whole and in order: offsets 0..end-1 per partition, nothing torn.
    for p, end in enumerate(reopened.end_offsets("events")):
        assert sorted(o for q, o in stored if q == p) == list(range(end))
    reopened.append("events", {"n": -1})  # and the log is still writable
    reopened.close()


def test_concurrent_writers_get_distinct_offsets(backend):
    log, spec = backend
    log.create_topic("events", partitions=1)
    writers = [subprocess.Popen([sys.executable, str(Path(__file__).with_name("writer.py")), json.dumps(spec), "events"],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
               for _ in range(2)]
    acked = [[], []]
    while min(map(len, acked)) < 150:
        for i, w in enumerate(writers):
            if len(acked[i]) < 150:
                acked[i].append(tuple(json.loads(w.stdout.readline())[:2]))
    for w in writers:
        w.kill()
        w.wait(timeout=30)
        w.stdout.close()
    offsets = [o for a in acked for _, o in a]
    assert len(set(offsets)) == len(offsets)
