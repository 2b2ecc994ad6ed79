"""Data engineering: sources, formats, stores, event transport, and batch and stream processing.

Introduced in chapter 3 ("Data Engineering Fundamentals").
"""
from .eventlog import (Appended, Consumer, CorruptRecord, EventLog, EventLogError, InvalidEvent, Record, RedisEventLog,
                       SQLiteEventLog, Topic, TopicExists, UnknownTopic, record_checksum)
from .processing import (BatchRefresh, ClicksInWindow, batch_refresh, clicks_in_window_batch, clicks_in_window_stream,
                         publish)
from .schemas import EVENT_SCHEMA
from .sources import ListingSubmission, listing_submissions, partner_profiles, service_logs, validate_listings
from .stores import MarketplaceStore, StoreError, also_bought, interaction_graph, warehouse, write_warehouse

__all__ = [
    "EVENT_SCHEMA", "Appended", "BatchRefresh", "ClicksInWindow", "Consumer", "CorruptRecord", "EventLog", "EventLogError", "InvalidEvent", "ListingSubmission",
    "MarketplaceStore", "Record", "RedisEventLog", "SQLiteEventLog", "StoreError", "Topic", "TopicExists",
    "UnknownTopic", "also_bought", "batch_refresh", "clicks_in_window_batch", "clicks_in_window_stream", "listing_submissions",
    "partner_profiles", "publish", "interaction_graph", "record_checksum", "service_logs", "validate_listings", "warehouse",
    "write_warehouse",
]
