"""Data engineering: formats, stores, event transport, and batch and stream processing.

Introduced in chapter 3 ("Data Engineering Fundamentals").
"""
from .processing import ClicksInWindow, clicks_in_window_batch, clicks_in_window_stream, publish
from .schemas import EVENT_SCHEMA
from .eventlog import (Appended, Consumer, EventLog, InvalidEvent, Record, RedisEventLog, SQLiteEventLog, Topic,
                       TopicExists, UnknownTopic)

__all__ = ["EVENT_SCHEMA", "ClicksInWindow", "clicks_in_window_batch", "clicks_in_window_stream", "publish", "Appended", "Consumer", "EventLog", "InvalidEvent", "Record", "RedisEventLog", "SQLiteEventLog", "Topic",
           "TopicExists", "UnknownTopic"]
