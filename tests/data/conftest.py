"""Backends for the event-log tests: the embedded SQLite file and a real redis-server."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest

from dmls.data import RedisEventLog, SQLiteEventLog


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """Start a private redis-server for the session (append-only file, fsync on every write)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server), "
                    "so the Redis Streams backend is not tested here")
    import redis

    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
                             "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    client.close()
    yield url
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path):
    """A fresh, empty event log on each backend, and how to open it again (as another process would)."""
    if request.param == "sqlite":
        path = str(tmp_path / "events.db")
        spec = {"backend": "sqlite", "path": path}
        log = SQLiteEventLog(path)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = "t" + uuid.uuid4().hex[:12]  # a namespace per test instead of flushing the server
        spec = {"backend": "redis", "url": url, "prefix": prefix}
        log = RedisEventLog(url=url, prefix=prefix)
    yield log, spec
    log.close()


def open_log(spec: dict):
    if spec["backend"] == "sqlite":
        return SQLiteEventLog(spec["path"])
    return RedisEventLog(url=spec["url"], prefix=spec["prefix"])
