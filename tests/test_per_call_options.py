"""Per-call options: one request (``.retries(n)``, ``.timeout(s)``) or a light client copy
(``with_options``) changes retries and timeouts without touching the client or its pool."""

from __future__ import annotations

import pytest

import relay_lite
from relay_lite import ConfigError, DeadlineExceeded, RetryPolicy, ServerError, Timeouts
from relay_lite.testing import FakeServer, Reply

# OpenAI's error body for a 503, as api.openai.com sends it.
BUSY = {"error": {"message": "The server is overloaded", "type": "server_error", "param": None, "code": None}}


def fast_retry_client(url: str) -> relay_lite.Client:
    return relay_lite.Client.compatible(url, model="m", retry=RetryPolicy(max_retries=2, backoff=0.01))


def test_retries_zero_makes_one_attempt_for_that_request_only():
    with FakeServer.openai() as server, fast_retry_client(server.url) as client:
        server.add(Reply.json(BUSY, status=503))
        with pytest.raises(ServerError) as info:
            client.chat().user("hi").retries(0).send()
        assert info.value.attempts == 1
        assert len(server.requests) == 1
        server.add(Reply.json(BUSY, status=503))
        assert client.chat().user("hi").send().text == "Echo: hi"  # the client still retries
    assert len(server.requests) == 3


def test_retries_keeps_the_clients_other_retry_settings():
    with FakeServer.openai() as server, fast_retry_client(server.url) as client:
        request = client.chat().user("hi").retries(5)
    assert request.params.retry == RetryPolicy(max_retries=5, backoff=0.01)


def test_retries_of_a_negative_count_is_a_config_error():
    with FakeServer.openai() as server, fast_retry_client(server.url) as client:
        with pytest.raises(ConfigError, match=r"RetryPolicy.max_retries must be a whole number >= 0, got -1"):
            client.chat().user("hi").retries(-1)


def test_retries_applies_to_streams_too():
    with FakeServer.openai() as server, fast_retry_client(server.url) as client:
        server.add(Reply.json(BUSY, status=503))
        with pytest.raises(ServerError) as info:
            client.chat().user("hi").retries(0).stream()
    assert info.value.attempts == 1 and len(server.requests) == 1


def test_with_options_is_a_light_copy_sharing_the_pool_and_hooks():
    with FakeServer.openai() as server, fast_retry_client(server.url) as client:
        seen: list[object] = []
        client.on("response", seen.append)
        quick = client.with_options(max_retries=0, timeout=7)
        assert quick.transport is client.transport
        assert quick.session.hooks is client.session.hooks
        assert quick.config.retry == RetryPolicy(max_retries=0, backoff=0.01)
        assert quick.config.timeouts == Timeouts(total=7)
        assert client.config.retry.max_retries == 2 and client.config.timeouts.total is None
        server.add(Reply.json(BUSY, status=503))
        with pytest.raises(ServerError) as info:
            quick.chat().user("hi").send()
        assert info.value.attempts == 1
        server.add(Reply.json(BUSY, status=503))
        assert client.chat().user("hi").send().text == "Echo: hi"
    assert [r.status for r in seen] == [503, 503, 200]  # type: ignore[attr-defined]


def test_with_options_timeout_bounds_every_call_of_the_copy():
    with FakeServer.openai() as server, relay_lite.Client.compatible(server.url, model="m") as client:
        server.add(Reply(delay=1.0, body=b"{}"))
        with pytest.raises(DeadlineExceeded):
            client.with_options(timeout=0.2).chat().user("hi").send()
        assert client.chat().user("hi").send().text == "Echo: hi"


def test_a_request_timeout_beats_the_copys_default():
    with FakeServer.openai() as server, relay_lite.Client.compatible(server.url, model="m") as client:
        server.add(Reply(delay=0.5, body=b"{}"))
        copy = client.with_options(timeout=30)
        with pytest.raises(DeadlineExceeded):
            copy.chat().user("hi").timeout(0.2).send()
