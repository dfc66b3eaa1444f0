"""A results file far larger than memory should hold streams through ``results()`` flat.

The fake server renders the file line by line while it sends it (a generator of chunks),
so neither side ever holds it whole; the client cuts it into lines as it arrives. The
bound is memory growth, measured with ``tracemalloc`` (the server thread's allocations
count too), not time.
"""

from __future__ import annotations

import tracemalloc

from relay_lite import Client
from relay_lite.testing import BatchScript, ChatScript, FakeServer

ITEMS = 2_000
TEXT_CHARS = 100_000  # one reply per line: 2,000 lines of ~100 kB, ~200 MB in all
GROWTH_LIMIT_BYTES = 50 * 1024 * 1024


def _stream_results(client: Client, server: FakeServer) -> None:
    server.add(BatchScript(reply=ChatScript(text="x" * TEXT_CHARS)))
    batch = client.batches.submit([client.chat().user(str(n)) for n in range(ITEMS)])
    batch = client.batches.wait(batch.id, poll=0.001)

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        count = characters = 0
        for result in client.batches.results(batch):
            assert result.response is not None, result.error
            count += 1
            characters += len(result.response.text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, characters) == (ITEMS, ITEMS * TEXT_CHARS)
    assert peak - before < GROWTH_LIMIT_BYTES, f"memory grew by {(peak - before) / 2**20:.1f} MiB"


def test_anthropic_200mb_results_file_streams_with_flat_memory() -> None:
    with FakeServer.anthropic() as server:
        client = Client.anthropic(api_key="sk-ant-big", base_url=server.url, model="claude-3-5-haiku-latest")
        _stream_results(client, server)


def test_openai_200mb_output_file_streams_with_flat_memory() -> None:
    with FakeServer.openai() as server:
        client = Client.openai(api_key="sk-big", base_url=server.url + "/v1", model="gpt-4o-mini")
        _stream_results(client, server)
