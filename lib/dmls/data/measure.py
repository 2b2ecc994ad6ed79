"""Measuring a data system honestly: timings with their spread, and bytes read, which do not vary.

A timing on a shared machine moves by a quarter or more from one run to the next, so a single
number cannot carry a claim: :func:`time_call` repeats a call and reports the minimum and the
median. What an engine reads does not depend on the machine at all: :func:`sqlite_bytes_read`
counts the bytes SQLite reads from its file for one query, :func:`duckdb_bytes_read` asks DuckDB's
profiler, and :func:`parquet_column_bytes` sums the column chunks a Parquet reader must fetch.

Introduced in chapter 3 ("Data Formats" and "Transactional and Analytical Processing").
"""
from __future__ import annotations

import json
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .._validation import check_int

_THREAD_IO = Path("/proc/thread-self/io")


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated calls, with the minimum and the median.

    Introduced in chapter 3 ("Data Formats"); returned by :func:`time_call`.
    """

    seconds: tuple[float, ...]

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def max(self) -> float:
        return max(self.seconds)

    @property
    def repeats(self) -> int:
        return len(self.seconds)


def time_call(call: Callable[[], object], repeats: int = 5, warmup: int = 0) -> Timing:
    """Call ``call()`` ``warmup`` times untimed, then ``repeats`` times timed; return the timings.

    Report the minimum (the call with the least interference) beside the median (a typical call);
    a comparison of two timings is worth making only when their ratio is large next to the spread.

    Introduced in chapter 3 ("Data Formats").
    """
    if not callable(call):
        raise TypeError(f"call must be a callable taking no arguments, got {type(call).__name__}")
    return time_calls({"call": call}, repeats=repeats, warmup=warmup)["call"]


def time_calls(calls: Mapping[str, Callable[[], object]], repeats: int = 5, warmup: int = 0) -> dict[str, Timing]:
    """Time several calls in interleaved rounds, so a change in the machine's load hits each alike.

    Each round calls every entry of ``calls`` once; :func:`time_call` on one call and then the next
    would give the second call a different machine whenever another process starts or stops in
    between, and a comparison of their minimums would measure that instead. Round ``r`` starts at
    the ``r``-th call (mod their number), so no call always follows the same one: a call that
    fills the caches with its own data slows whichever call comes next. Returns one
    :class:`Timing` per name, in the order given.

    Introduced in chapter 6 ("Ensembles"), for comparing the latency of models.
    """
    if not isinstance(calls, Mapping) or not calls:
        raise ValueError("calls must be a non-empty mapping of name to callable")
    for name, call in calls.items():
        if not callable(call):
            raise TypeError(f"calls[{name!r}] must be a callable taking no arguments, got {type(call).__name__}")
    repeats = check_int("repeats", repeats, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    for _ in range(warmup):
        for call in calls.values():
            call()
    items = list(calls.items())
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(repeats):
        for name, call in items[r % len(items):] + items[:r % len(items)]:
            start = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(values)) for name, values in seconds.items()}


def _thread_read_bytes() -> tuple[int, int]:
    """The thread's read counter, and the bytes this reading of it adds to the counter afterwards.

    Reading the counter is itself a read: its text (whose length changes when a count gains a
    digit) is counted after the value in it was taken, so a difference of two readings includes
    the first reading's length, which the caller subtracts.
    """
    raw = _THREAD_IO.read_bytes()
    for line in raw.decode().splitlines():
        if line.startswith("rchar:"):
            return int(line.split(":")[1]), len(raw)
    raise OSError(f"{_THREAD_IO} has no rchar line")


def sqlite_bytes_read(path: str | Path, sql: str, params: Sequence = ()) -> int:
    """Bytes SQLite reads from its files to answer ``sql``, on a fresh connection (a cold page cache).

    SQLite reads in the calling thread, so the thread's own read counter (Linux's
    ``/proc/thread-self/io``) measures exactly the pages it fetched; the count depends on the
    file's layout and the query plan, not on the machine's speed.

    Raises FileNotFoundError if ``path`` does not exist, OSError where the per-thread counter is
    not available (systems other than Linux).

    Introduced in chapter 3 ("Transactional and Analytical Processing").
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no SQLite database at {path}")
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("sql must be a non-empty SQL string")
    if not _THREAD_IO.exists():
        raise OSError("counting bytes read needs Linux's /proc/thread-self/io")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        con.execute("SELECT count(*) FROM sqlite_schema").fetchall()  # the header and schema: count only the query
        before, own_read = _thread_read_bytes()
        con.execute(sql, tuple(params)).fetchall()
        return _thread_read_bytes()[0] - before - own_read
    finally:
        con.close()


def duckdb_bytes_read(con, sql: str, params: Sequence = ()) -> int:
    """Bytes DuckDB reads from storage (here, Parquet files) to answer ``sql``, from its profiler.

    Profiling is switched on for this one query and off again afterwards.

    Introduced in chapter 3 ("Transactional and Analytical Processing").
    """
    import duckdb

    if not isinstance(con, duckdb.DuckDBPyConnection):
        raise TypeError(f"con must be a DuckDB connection, got {type(con).__name__}")
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("sql must be a non-empty SQL string")
    con.execute("PRAGMA enable_profiling='no_output'")
    try:
        con.execute(sql, list(params)).fetchall()
        info = json.loads(con.get_profiling_information(format="json"))
    finally:
        con.execute("PRAGMA disable_profiling")
    return int(info["io"]["total_bytes_read"])


def parquet_column_bytes(path: str | Path, columns: Sequence[str] | None = None) -> int:
    """Bytes of the column chunks a reader fetches to read ``columns`` (all when None) of a Parquet file.

    Each column of each row group is stored as one compressed chunk, so reading two columns reads
    those two chunks per row group and skips the rest; the footer's metadata says how big each is.

    Introduced in chapter 3 ("Data Formats").
    """
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    wanted = set(names) if columns is None else set(columns)
    unknown = wanted - set(names)
    if unknown:
        raise ValueError(f"{path} has no columns {sorted(unknown)}; it has {names}")
    total = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for i in range(group.num_columns):
            if names[i] in wanted:
                total += group.column(i).total_compressed_size
    return total


__all__ = ["Timing", "duckdb_bytes_read", "parquet_column_bytes", "sqlite_bytes_read", "time_call", "time_calls"]
