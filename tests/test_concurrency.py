"""One client shared by many threads: every reply matched to its request, sockets bounded.

32 threads make 2,000 mixed calls (send and stream, OpenAI and Anthropic) against the echo
fake servers, whose reply names the request's own text, so a reply crossed between threads
(or left in a pooled socket for the next caller) shows as a wrong echo. Afterwards the
client holds no more sockets to each server than its pool size, and none after close().
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from relay_lite import Client, RetryPolicy, Timeouts
from relay_lite._config import DEFAULT_POOL_SIZE
from relay_lite.testing import FakeServer

THREADS = 32
CALLS = 2000

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="counts sockets through /proc")


def _open_sockets_to(port: int) -> int:
    """How many of this process's TCP sockets are connected to ``port`` on loopback."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            state, inode = fields[3], fields[9]
            # 01 = ESTABLISHED, 08 = CLOSE_WAIT (the server closed, we have not yet)
            if remote_port == port and inode in inodes and state in ("01", "08"):
                count += 1
    return count


@pytest.fixture
def servers() -> Iterator[tuple[FakeServer, FakeServer]]:
    with FakeServer.openai() as openai_server, FakeServer.anthropic() as anthropic_server:
        yield openai_server, anthropic_server


def _port(server: FakeServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_one_client_per_protocol_shared_by_32_threads_answers_every_call_correctly(
    servers: tuple[FakeServer, FakeServer],
) -> None:
    openai_server, anthropic_server = servers
    options = {"retry": RetryPolicy(max_retries=0), "timeouts": Timeouts(connect=5, read=20), "model": "m"}
    openai_client = Client.compatible(openai_server.url, **options)
    anthropic_client = Client.anthropic(api_key="k", base_url=anthropic_server.url, **options)
    clients = (openai_client, anthropic_client)
    seen_threads: set[str] = set()

    def call(n: int) -> tuple[int, str]:
        seen_threads.add(threading.current_thread().name)
        client = clients[n % 2]
        request = client.chat().user(f"request {n}")
        if n % 4 < 2:
            return n, request.send().text
        with request.stream() as stream:
            return n, "".join(stream.text())

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(call, range(CALLS)))

    wrong = [(n, text) for n, text in results if text != f"Echo: request {n}"]
    assert wrong == []
    assert len(results) == CALLS
    assert len(seen_threads) == THREADS
    for server in servers:
        assert 0 < _open_sockets_to(_port(server)) <= DEFAULT_POOL_SIZE  # kept alive, bounded
    for client in clients:
        client.close()
    for server in servers:
        assert _open_sockets_to(_port(server)) == 0
