"""The service's launch with several workers: connections with Nagle's algorithm off (chapter 7).

``uvicorn --workers N`` binds its shared socket with the protocol left at 0, and asyncio then
leaves Nagle's algorithm on for every connection it accepts; uvicorn writes a response's head
and body in two writes, so each keep-alive request waits for the client's delayed ACK (~40 ms).
:func:`listening_socket` and :func:`serve_workers` (``TCP_NODELAY`` on the listening socket, which
accepted connections inherit) are the launch that avoids it."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dmls.serving.service import listening_socket, serve_workers

HERE = Path(__file__).resolve().parent


async def _accepted_nodelay(sock: socket.socket) -> tuple[int, int]:
    """(protocol, TCP_NODELAY) of a connection that asyncio accepts on ``sock``."""
    seen = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):
            accepted = transport.get_extra_info("socket")
            seen.set_result((accepted.proto, accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    port = sock.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=10):
        result = await asyncio.wait_for(seen, 10)
    server.close()
    await server.wait_closed()
    return result


def test_the_listening_socket_gives_connections_with_nagle_off():
    sock = listening_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP and sock.type == socket.SOCK_STREAM
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert sock.getsockname()[0] == "127.0.0.1" and sock.getsockname()[1] > 0
    proto, nodelay = asyncio.run(_accepted_nodelay(sock))
    assert proto == socket.IPPROTO_TCP and nodelay == 1


def test_a_socket_bound_as_uvicorn_binds_it_gets_nagle_on():
    """The cause the launch avoids, shown on the bare socket uvicorn's ``bind_socket`` makes
    (``socket.socket(family=AF_INET)``, protocol 0): asyncio leaves its connections' Nagle on."""
    sock = socket.socket(family=socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    assert sock.proto == 0
    assert asyncio.run(_accepted_nodelay(sock)) == (0, 0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: listening_socket("", 0), TypeError, "host must be a non-empty string"),
    (lambda: listening_socket(None, 0), TypeError, "host must be a non-empty string"),
    (lambda: listening_socket("127.0.0.1", 70_000), ValueError, "port must be <= 65535"),
    (lambda: listening_socket("127.0.0.1", "80"), TypeError, "port must be an integer"),
    (lambda: serve_workers("no_colon"), TypeError, "app must be an import string"),
    (lambda: serve_workers(object()), TypeError, "app must be an import string"),
    (lambda: serve_workers("m:app", workers=0), ValueError, "workers must be >= 1"),
    (lambda: serve_workers("m:app", workers=1.5), TypeError, "workers must be an integer"),
    (lambda: serve_workers("m:app", host=""), TypeError, "host must be a non-empty string"),
    (lambda: serve_workers("m:app", port=-1), ValueError, "port must be >= 0"),
    (lambda: serve_workers("m:app", limit_concurrency=0), ValueError, "limit_concurrency must be >= 1"),
    (lambda: serve_workers("m:app", limit_concurrency=2.5), TypeError, "limit_concurrency must be an integer"),
    (lambda: serve_workers("m:app", timeout_keep_alive=0), ValueError, "timeout_keep_alive"),
    (lambda: serve_workers("m:app", timeout_keep_alive="5"), TypeError, "timeout_keep_alive"),
])
def test_the_launch_checks_its_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_port_in_use_is_an_error_and_the_socket_is_not_leaked():
    with listening_socket("127.0.0.1", 0) as taken:
        taken.listen()
        with pytest.raises(OSError):
            listening_socket("127.0.0.1", taken.getsockname()[1])


def test_serve_workers_gives_uvicorn_its_limits(monkeypatch):
    import uvicorn

    seen = []

    def run(server, sockets=None):
        (sock,) = sockets
        seen.append((server.config, sock, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))

    monkeypatch.setattr(uvicorn.Server, "run", run)
    serve_workers("launch_app:app", port=0, limit_concurrency=3, timeout_keep_alive=2.5)
    serve_workers("launch_app:app", port=0)
    (limited, sock, nodelay), (default, _, _) = seen
    assert (limited.limit_concurrency, limited.timeout_keep_alive) == (3, 2.5)
    assert (default.limit_concurrency, default.timeout_keep_alive) == (100, 5.0)
    assert nodelay == 1  # set on uvicorn's socket, and inherited by the connections it accepts
    assert sock.fileno() == -1  # closed once the server returned


def test_a_bad_argument_to_serve_workers_opens_no_socket(monkeypatch):
    import uvicorn

    bound = []
    monkeypatch.setattr(uvicorn.Config, "bind_socket", lambda config: bound.append(config))
    with pytest.raises(KeyError):
        serve_workers("launch_app:app", port=0, log_level="bogus")
    assert bound == []


def test_serve_workers_serves_from_two_worker_processes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = ("import sys; from dmls.serving.service import serve_workers; "
            f"serve_workers('launch_app:app', port={port}, workers=2)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=HERE)
    try:
        pids = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(pids) < 2:
            if process.poll() is not None:
                raise AssertionError(f"serve_workers exited with {process.returncode}")
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:  # a new connection each
                    answer = client.get("/")
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            assert answer.status_code == 200
            pids.add(answer.json()["pid"])
        assert len(pids) == 2, pids  # both workers answered on the one socket
        assert process.pid not in pids  # the supervisor itself serves nothing
    finally:
        process.terminate()
        process.wait(timeout=30)
