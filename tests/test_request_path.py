"""The one request path (``_session.Session``) that chat, platform, embeddings and agent calls share.

Against a real loopback ``FakeServer``: the per-attempt authorizer, the adapter's error
mapper handed to the transport, configured headers and key scrubbing on every API family,
``AgentClient`` built like ``Client`` (``env=``, ``RELAY_LITE_LOG``, ``transport=``) and
``pool_size`` reaching urllib3.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Mapping

import pytest

from relay_lite import (
    AgentClient,
    APIError,
    AuthenticationError,
    Client,
    ConfigError,
    Provider,
    RetryPolicy,
    Timeouts,
)
from relay_lite._config import DEFAULT_POOL_SIZE
from relay_lite._session import KeyAuthorizer, PreparedRequest, Session
from relay_lite._transport import Authorizer, HTTPTransport, OutgoingRequest, Transport
from relay_lite.testing import FakeServer, MockTransport, Reply

RETRY_FAST = RetryPolicy(max_retries=2, backoff=0.0, max_backoff=0.0)
NO_RETRY = RetryPolicy(max_retries=0)

# OpenAI's chat completion body, as the API sends it (trimmed to the fields read).
OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


class SigningAuthorizer:
    """A stand-in for a request signer: the key headers plus a signature over the final bytes."""

    def __init__(self, inner: Authorizer) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, bytes, int]] = []

    def authorize(self, request: OutgoingRequest) -> Mapping[str, str]:
        self.seen.append((request.method, request.url, request.body, request.attempt))
        digest = hashlib.sha256(request.body).hexdigest()
        headers = dict(self.inner.authorize(request))
        headers["X-Test-Signature"] = f"attempt-{request.attempt}-{digest}"
        return headers

    def secrets(self) -> tuple[str, ...]:
        return self.inner.secrets()


def test_authorizer_runs_once_per_attempt_over_identical_body_bytes_across_503_503_200() -> None:
    with FakeServer() as server:
        server.add(Reply(status=503), Reply(status=503), Reply.json(OPENAI_REPLY))
        client = Client.openai(api_key="sk-test-123456", base_url=server.url, retry=RETRY_FAST)
        signer = SigningAuthorizer(client.session.authorizer)
        client.session.authorizer = signer
        reply = client.chat("gpt-4o-mini").user("Grüße").send()

    assert reply.text == "hi" and reply.attempts == 3
    assert [attempt for *_, attempt in signer.seen] == [1, 2, 3]
    bodies = {body for _, _, body, _ in signer.seen}
    assert len(bodies) == 1  # serialized once, signed three times
    (body,) = bodies
    assert json.loads(body)["messages"] == [{"role": "user", "content": "Grüße"}]
    assert "Grüße".encode() in body  # the exact UTF-8 bytes sent, not an ASCII-escaped copy
    assert [request.body for request in server.requests] == [body, body, body]
    assert {(method, url) for method, url, _, _ in signer.seen} == {
        ("POST", server.url + "/chat/completions")
    }
    digest = hashlib.sha256(body).hexdigest()
    assert [r.headers["x-test-signature"] for r in server.requests] == [
        f"attempt-{n}-{digest}" for n in (1, 2, 3)
    ]
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer sk-test-123456"] * 3


def test_transport_calls_the_authorizer_per_attempt_with_raw_bytes_body() -> None:
    calls: list[tuple[bytes, int]] = []

    class Recording:
        def authorize(self, request: OutgoingRequest) -> Mapping[str, str]:
            calls.append((request.body, request.attempt))
            assert "authorization" not in {name.lower() for name in request.headers}
            return {"Authorization": f"Bearer token-{request.attempt}"}

        def secrets(self) -> tuple[str, ...]:
            return ()

    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    with FakeServer() as server:
        server.add(Reply(status=503), Reply.json({"ok": True}))
        response = transport.request("PUT", server.url + "/upload", body=b"\x00raw", authorizer=Recording())
    transport.close()
    assert response.json() == {"ok": True}
    assert calls == [(b"\x00raw", 1), (b"\x00raw", 2)]
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer token-1", "Bearer token-2"]


def test_authorizer_header_with_a_newline_is_refused_before_sending() -> None:
    class Bad:
        def authorize(self, request: OutgoingRequest) -> Mapping[str, str]:
            return {"X-Sig": "a\r\nInjected: 1"}

        def secrets(self) -> tuple[str, ...]:
            return ()

    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=NO_RETRY)
    with FakeServer() as server:
        with pytest.raises(ConfigError, match="header 'X-Sig' contains CR, LF"):
            transport.request("GET", server.url + "/x", authorizer=Bad())
        assert server.requests == []
    transport.close()


def test_error_status_is_mapped_by_the_callers_error_mapper_and_scrubbed() -> None:
    seen: list[tuple[int, bytes, str, int]] = []

    def mapper(status: int, body: bytes, headers: Mapping[str, str], *, attempts: int) -> APIError:
        seen.append((status, body, headers.get("x-request-id", ""), attempts))
        return APIError(f"teapot says {body.decode()}", status=status, attempts=attempts)

    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=NO_RETRY)
    # The server echoes the key it was sent, as some gateways do in their error text.
    with FakeServer() as server:
        server.add(Reply(status=418, body=b"bad key sk-live-abcdef", headers={"x-request-id": "req_9"}))
        with pytest.raises(APIError) as caught:
            transport.request(
                "GET",
                server.url + "/x",
                authorizer=KeyAuthorizer({"Authorization": "Bearer sk-live-abcdef"}),
                map_error=mapper,
            )
    transport.close()
    assert seen == [(418, b"bad key sk-live-abcdef", "req_9", 1)]
    assert type(caught.value) is APIError and caught.value.status == 418
    assert "sk-live-abcdef" not in str(caught.value)
    assert str(caught.value).startswith("teapot says bad key [REDACTED]")


def test_configured_header_of_the_same_name_wins_over_the_key_header() -> None:
    with FakeServer() as server:
        server.add(Reply.json(OPENAI_REPLY))
        client = Client.openai(
            api_key="sk-default-key", base_url=server.url, headers={"authorization": "Bearer sk-override"}
        )
        client.chat("m").user("x").send()
    assert server.requests[0].headers["authorization"] == "Bearer sk-override"


def test_both_transports_satisfy_the_http_transport_protocol() -> None:
    transports: list[HTTPTransport] = [
        MockTransport(),
        Transport(timeouts=Timeouts(), retry=NO_RETRY),
    ]
    for transport in transports:
        transport.close()
    client = Client.compatible("http://127.0.0.1:9", transport=transports[0])
    assert client.transport is transports[0] and client.session.transport is transports[0]


# -- the ModelRelay account APIs and embeddings go the same way --------------------------------


def test_modelrelay_platform_call_carries_configured_headers_and_scrubs_an_echoed_key() -> None:
    key = "mr_sk_platform_secret_1"
    with FakeServer() as server:
        # ModelRelay's nested error shape, echoing the key (as a misconfigured proxy would).
        server.add(
            Reply.json(
                {"error": {"code": "unauthorized", "message": f"key {key} revoked", "status": 401}},
                status=401,
                headers={"X-ModelRelay-Chat-Request-Id": "mr-req-7"},
            )
        )
        client = Client.modelrelay(
            api_key=key, base_url=server.url, headers={"X-Team": "billing"}, retry=NO_RETRY
        )
        with pytest.raises(AuthenticationError) as caught:
            client.tiers.list()
    sent = server.requests[0].headers
    assert sent["x-team"] == "billing" and sent["x-modelrelay-api-key"] == key
    assert sent["user-agent"].startswith("relay-lite/")
    assert caught.value.request_id == "mr-req-7"
    assert key not in str(caught.value) and key not in repr(caught.value.body)


def test_embeddings_call_carries_account_headers_and_scrubs_an_echoed_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-embed")
    monkeypatch.setenv("RELAY_LITE_MAX_RETRIES", "0")
    key = "sk-embed-secret-99"
    with FakeServer() as server:
        # OpenAI's error envelope; the message quotes the key as OpenAI's 401 does (partly).
        server.add(
            Reply.json(
                {
                    "embedding": None,
                    "data": [{"embedding": [0.5, 1.0], "index": 0}],
                    "usage": {"prompt_tokens": 2},
                }
            ),
            Reply.json(
                {
                    "error": {
                        "message": f"Incorrect API key provided: {key}.",
                        "type": "invalid_request_error",
                    }
                },
                status=401,
                headers={"x-request-id": "req_embed"},
            ),
        )
        provider = Provider.openai("text-embedding-3-small", api_key=key, base_url=server.url)
        assert provider.embed("hi").embeddings == [[0.5, 1.0]]
        with pytest.raises(AuthenticationError) as caught:
            provider.embed_many(["a", "b"])
        provider.close()
    first = server.requests[0]
    assert first.path == "/embeddings"
    assert first.json() == {"model": "text-embedding-3-small", "input": ["hi"], "encoding_format": "base64"}
    assert first.headers["openai-organization"] == "org-embed"
    assert first.headers["authorization"] == f"Bearer {key}"
    assert caught.value.request_id == "req_embed"
    assert key not in str(caught.value)


# -- AgentClient: built on the same config and transport as Client ------------------------------

# The agent platform's conversation object (llmrix SDK 1.0), bare as the SDKs expect it.
CONVERSATION = {"id": "c1", "title": "Cats", "seq": 4}


def test_agent_client_reads_proxies_from_env_not_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # would fail: nothing listens there
    with FakeServer() as server:
        server.add(Reply.json(CONVERSATION))
        agents = AgentClient(server.url, env={})
        assert agents.conversations.get("c1").title == "Cats"
        agents.close()


def test_agent_client_sends_through_the_proxy_named_in_env() -> None:
    with FakeServer() as proxy:
        proxy.add(Reply.json(CONVERSATION))
        agents = AgentClient(
            "http://agents.invalid", "sk-agent-1", env={"HTTP_PROXY": proxy.url}, retry=NO_RETRY
        )
        assert agents.conversations.get("c1").id == "c1"
        agents.close()
    (request,) = proxy.requests
    assert request.path == "http://agents.invalid/api/open/v1/conversations/c1"
    assert request.headers["authorization"] == "Bearer sk-agent-1"


@pytest.fixture
def restore_relay_lite_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("relay_lite")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


def test_agent_client_honours_relay_lite_log_from_env(restore_relay_lite_logger: logging.Logger) -> None:
    logger = restore_relay_lite_logger
    logger.setLevel(logging.WARNING)
    AgentClient("https://agents.example.com", env={"RELAY_LITE_LOG": "debug"})
    assert logger.level == logging.DEBUG
    with pytest.raises(ConfigError, match="RELAY_LITE_LOG='loud' must be one of debug, info, warning, error"):
        AgentClient("https://agents.example.com", env={"RELAY_LITE_LOG": "loud"})


def test_agent_client_reads_the_ca_bundle_from_requests_ca_bundle() -> None:
    with pytest.raises(ConfigError, match="REQUESTS_CA_BUNDLE='/nonexistent/ca.pem' is not a readable file"):
        AgentClient("https://agents.example.com", env={"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"})


def test_agent_client_works_over_mock_transport_for_calls_and_runs() -> None:
    mock = MockTransport()
    # A run's stream as the platform sends it: SSE events ending in run_end.
    mock.add(
        Reply.json(CONVERSATION),
        Reply.sse(
            [
                'event: message_chunk\ndata: {"content": "Meow"}\n\n',
                'event: run_end\ndata: {"run_id": "r1"}\n\n',
            ]
        ),
    )
    agents = AgentClient(
        "https://agents.example.com", "sk-agent-mock", transport=mock, headers={"X-Tenant": "t1"}
    )
    assert agents.transport is mock
    assert agents.conversations.get("c1").title == "Cats"
    with agents.chat("c1").send("hello") as run:
        events = list(run)
    assert run.text == "Meow" and run.finished and len(events) == 2
    get, post = mock.requests
    assert (get.method, get.path) == ("GET", "/api/open/v1/conversations/c1")
    assert get.headers["authorization"] == "Bearer sk-agent-mock" and get.headers["x-tenant"] == "t1"
    assert get.headers["accept"] == "application/json"
    assert (post.method, post.path) == ("POST", "/api/open/v1/conversations/c1/chat")
    assert post.headers["accept"] == "text/event-stream" and post.json() == {"message": "hello"}


def test_agent_client_without_a_key_sends_no_authorization() -> None:
    mock = MockTransport().add(Reply.json(CONVERSATION))
    agents = AgentClient("https://agents.example.com", transport=mock, env={"RELAY_LITE_API_KEY": "sk-other"})
    agents.conversations.get("c1")
    assert "authorization" not in mock.requests[0].headers


def test_agent_error_envelope_is_mapped_by_the_agent_adapter() -> None:
    # The platform's failed envelope inside an HTTP 200 (llmrix answers code 40001 this way).
    mock = MockTransport().add(Reply.json({"code": 40001, "message": "conversation not found", "data": None}))
    agents = AgentClient("https://agents.example.com", transport=mock)
    with pytest.raises(APIError, match="conversation not found"):
        agents.conversations.get("c404")


# -- pool size ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "env", "message"),
    [
        ({"pool_size": 0}, {}, "pool_size must be a whole number >= 1, got 0"),
        ({"pool_size": True}, {}, "pool_size must be a whole number >= 1, got True"),
        ({"pool_size": 2.5}, {}, "pool_size must be a whole number >= 1, got 2.5"),
        ({}, {"RELAY_LITE_POOL_SIZE": "many"}, "RELAY_LITE_POOL_SIZE='many' must be a whole number >= 1"),
        ({}, {"RELAY_LITE_POOL_SIZE": "0"}, "RELAY_LITE_POOL_SIZE='0' must be a whole number >= 1"),
    ],
)
def test_bad_pool_size_is_refused_naming_the_value(
    kwargs: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Client.compatible("http://127.0.0.1:9", env=env, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AgentClient("http://127.0.0.1:9", env=env, **kwargs)  # type: ignore[arg-type]


def test_pool_size_from_argument_then_env_then_default() -> None:
    assert Client.compatible("http://h", pool_size=4, env={"RELAY_LITE_POOL_SIZE": "7"}).config.pool_size == 4
    assert Client.compatible("http://h", env={"RELAY_LITE_POOL_SIZE": " 7 "}).config.pool_size == 7
    assert Client.compatible("http://h", env={}).config.pool_size == DEFAULT_POOL_SIZE
    assert AgentClient("http://h", env={"RELAY_LITE_POOL_SIZE": "5"}).config.pool_size == 5


def _open_sockets_to(port: int) -> int:
    """This process's TCP sockets connected to ``port`` (as tests/test_concurrency.py counts)."""
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
            if int(fields[2].split(":")[1], 16) == port and fields[9] in inodes and fields[3] in ("01", "08"):
                count += 1
    return count


THREADS = 32


def _kept_sockets_after_concurrent_calls(pool_size: int, *, agents: bool = False) -> int:
    # Every call is answered after 0.3 s, so the 32 threads hold 32 connections at once.
    reply = dataclasses.replace(Reply.json(CONVERSATION if agents else OPENAI_REPLY), delay=0.3)
    with FakeServer(handler=lambda request: reply) as server:
        # Retries: FakeServer's listen backlog (5) may reset a few of 32 simultaneous connects.
        retry = RetryPolicy(max_retries=3, backoff=0.05)
        options = {"retry": retry, "timeouts": Timeouts(connect=5, read=20), "pool_size": pool_size}
        port = int(server.url.rsplit(":", 1)[1])
        if agents:
            agent_client = AgentClient(server.url, env={}, **options)  # type: ignore[arg-type]

            def call(n: int) -> object:
                return agent_client.conversations.get(f"c{n}")

            closer = agent_client.close
        else:
            client = Client.compatible(server.url, model="m", env={}, **options)  # type: ignore[arg-type]

            def call(n: int) -> object:
                return client.chat().user(f"request {n}").send()

            closer = client.close
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(call, range(THREADS)))
        assert len(results) == THREADS
        kept = _open_sockets_to(port)
        closer()
        assert _open_sockets_to(port) == 0
    return kept


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="counts sockets through /proc")


@needs_proc
def test_pool_size_bounds_the_sockets_kept_after_32_concurrent_calls() -> None:
    assert 0 < _kept_sockets_after_concurrent_calls(3) <= 3
    assert DEFAULT_POOL_SIZE < _kept_sockets_after_concurrent_calls(32) <= 32


@needs_proc
def test_agent_client_pool_size_bounds_its_sockets_too() -> None:
    assert 0 < _kept_sockets_after_concurrent_calls(2, agents=True) <= 2


def test_session_sends_a_prepared_request_with_overrides_last() -> None:
    mock = MockTransport().add(Reply.json({"ok": True}))
    client = Client.openai(
        api_key="sk-session-1",
        base_url="https://api.example.com/v1",
        transport=mock,
        headers={"X-A": "config", "X-B": "config"},
        project="proj-1",
    )
    session: Session = client.session
    request = PreparedRequest(
        "GET", "/models?limit=2", headers={"X-A": "call", "X-C": "call"}, overrides={"X-B": "override"}
    )
    assert session.send(request).json() == {"ok": True}
    sent = mock.requests[0]
    assert sent.path == "/v1/models?limit=2"
    assert (sent.headers["x-a"], sent.headers["x-b"], sent.headers["x-c"]) == ("config", "override", "call")
    assert sent.headers["openai-project"] == "proj-1"
    assert sent.headers["authorization"] == "Bearer sk-session-1"
    assert "sk-session-1" in session.secrets_for(request)


def test_agent_run_refused_with_401_is_mapped_and_scrubbed_like_chat() -> None:
    key = "sk-agent-secret-42"
    with FakeServer() as server:
        # A gateway's 401 that quotes the bearer token it refused.
        server.add(
            Reply.json(
                {"error": {"message": f"invalid token Bearer {key}", "type": "authentication_error"}},
                status=401,
                headers={"x-request-id": "run-req-1"},
            )
        )
        agents = AgentClient(server.url, key, env={}, retry=NO_RETRY)
        with pytest.raises(AuthenticationError) as caught:
            agents.chat("c1").send("hello")
        agents.close()
    assert server.requests[0].path == "/api/open/v1/conversations/c1/chat"
    assert caught.value.request_id == "run-req-1" and caught.value.status == 401
    assert key not in str(caught.value) and key not in repr(caught.value.body)


def test_mock_transport_runs_the_authorizer_once_on_the_serialized_body() -> None:
    mock = MockTransport().add(Reply.json(OPENAI_REPLY))
    client = Client.openai(api_key="sk-mock-key-1", base_url="https://api.example.com/v1", transport=mock)
    signer = SigningAuthorizer(client.session.authorizer)
    client.session.authorizer = signer
    client.chat("gpt-4o-mini").user("hi").send()
    ((method, url, body, attempt),) = signer.seen
    assert (method, url, attempt) == ("POST", "https://api.example.com/v1/chat/completions", 1)
    sent = mock.requests[0]
    assert sent.body == body
    assert sent.headers["x-test-signature"] == f"attempt-1-{hashlib.sha256(body).hexdigest()}"
    assert sent.headers["authorization"] == "Bearer sk-mock-key-1"
