"""Data engineering: formats, stores, event transport, and batch and stream processing.

Introduced in chapter 3 ("Data Engineering Fundamentals").
"""
from .eventlog import (Appended, Consumer, EventLog, InvalidEvent, Record, RedisEventLog, SQLiteEventLog, Topic,
                       TopicExists, UnknownTopic)

__all__ = ["Appended", "Consumer", "EventLog", "InvalidEvent", "Record", "RedisEventLog", "SQLiteEventLog", "Topic",
           "TopicExists", "UnknownTopic"]
