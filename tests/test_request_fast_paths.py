"""The shortcuts the keep-alive request path takes (issue 14), pinned to the behaviour of
the long way round: header sets merged once per set, a static key authorizer asked once per
set, the plain-request body builder, one ``read()`` for a Content-Length body and response
headers read from urllib3's own container.

Against a real loopback ``FakeServer``, or sans-I/O where the shortcut is a pure function.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Mapping

import pytest

from relay_lite import Client, ConfigError, Message, RetryPolicy, StreamError, Timeouts
from relay_lite._config import ProxySettings
from relay_lite._models import ChatParams
from relay_lite._session import KeyAuthorizer
from relay_lite._transport import OutgoingRequest, Transport, _lower_headers
from relay_lite.protocols import openai
from relay_lite.testing import FakeServer, Reply

RETRY_FAST = RetryPolicy(max_retries=2, backoff=0.0, max_backoff=0.0)

# Fields the plain-request shortcut may ignore: they never reach the body (headers,
# timeouts, retries, request ids go elsewhere) or are written on both paths.
NOT_BODY_OPTIONS = {
    "model",
    "messages",
    "headers",
    "timeout",
    "retry",
    "request_id",
    "extra_body",
    "customer_id",
}


def _changed(default: Any) -> Any:
    if default is None:
        return 1
    if default == ():
        return (0,)
    if default is False:
        return True
    raise AssertionError(f"no test value for a field defaulting to {default!r}")


@pytest.mark.parametrize("field", sorted(set(ChatParams._fields) - NOT_BODY_OPTIONS))
def test_every_body_option_of_chat_params_takes_the_full_builder(field: str) -> None:
    # A field added to ChatParams but not to _only_messages would be silently dropped.
    params = ChatParams(model="m", messages=(Message("user", "x"),))
    assert openai._only_messages(params)
    changed = params.replace(**{field: _changed(getattr(params, field))})
    assert not openai._only_messages(changed)


def test_plain_request_body_is_model_messages_and_extra_body_only() -> None:
    params = ChatParams(model="m", messages=(Message("user", "Grüße"),), extra_body={"store": True})
    call = openai.build_request(params, stream=False)
    assert call.body == {"model": "m", "messages": [{"role": "user", "content": "Grüße"}], "store": True}
    assert call.headers == {"Accept": "application/json"}
    streamed = openai.build_request(params.replace(extra_body={"stream_options": None}), stream=True)
    assert streamed.body == {
        "model": "m",
        "messages": [{"role": "user", "content": "Grüße"}],
        "stream": True,
    }


def test_a_request_header_set_changing_per_call_is_sent_as_given_every_time() -> None:
    with FakeServer.openai() as server:  # echoes each chat request
        client = Client.openai(api_key="sk-test-123456", base_url=server.url)
        for n in (1, 2, 3):
            client.chat("gpt-4o-mini").user("x").request_id(f"req-{n}").send()
    assert [r.headers["x-client-request-id"] for r in server.requests] == ["req-1", "req-2", "req-3"]
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer sk-test-123456"] * 3


def test_a_callers_authorization_header_wins_after_calls_that_sent_the_key() -> None:
    with FakeServer.openai() as server:  # echoes each chat request
        client = Client.openai(api_key="sk-test-123456", base_url=server.url)
        client.chat("gpt-4o-mini").user("x").send()
        client.chat("gpt-4o-mini").user("x").headers({"Authorization": "Bearer other"}).send()
        client.chat("gpt-4o-mini").user("x").send()
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer sk-test-123456",
        "Bearer other",
        "Bearer sk-test-123456",
    ]


def test_a_bad_header_is_refused_on_every_call_not_only_the_first() -> None:
    with FakeServer.openai() as server:
        client = Client.openai(api_key="sk-test-123456", base_url=server.url)
        client.chat("gpt-4o-mini").user("x").send()
        for _ in range(2):
            with pytest.raises(ConfigError, match="header 'X-Note' contains CR, LF"):
                client.chat("gpt-4o-mini").user("x").headers({"X-Note": "a\r\nInjected: 1"}).send()
        assert len(server.requests) == 1


def test_an_unhashable_header_value_is_a_config_error_naming_the_header() -> None:
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    with FakeServer() as server:
        with pytest.raises(ConfigError, match="header 'X-List' must be a string, got list"):
            transport.request("GET", server.url + "/x", headers={"X-List": ["a"]})  # type: ignore[dict-item]
        assert server.requests == []
    transport.close()


class CountingKeys(KeyAuthorizer):
    """A static key authorizer that counts how often the transport asks it."""

    __slots__ = ("asked",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__(headers)
        self.asked = 0

    def authorize(self, request: OutgoingRequest) -> Mapping[str, str]:
        self.asked += 1
        return super().authorize(request)


def test_a_static_key_authorizer_is_asked_once_per_header_set_even_across_retries() -> None:
    keys = CountingKeys({"Authorization": "Bearer sk-test-123456"})
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    with FakeServer() as server:
        server.add(Reply(status=503), Reply.json({"n": 1}), Reply.json({"n": 2}), Reply.json({"n": 3}))
        for _ in range(2):
            transport.request("POST", server.url + "/x", json_body={"a": 1}, authorizer=keys)
        other = {"X-Other": "1"}
        transport.request("POST", server.url + "/x", json_body={"a": 1}, headers=other, authorizer=keys)
    transport.close()
    assert keys.asked == 2  # one header set, then a second one
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer sk-test-123456"] * 4


def test_a_per_attempt_authorizer_is_still_asked_on_every_attempt_of_every_call() -> None:
    attempts: list[int] = []

    class Signer:
        def authorize(self, request: OutgoingRequest) -> Mapping[str, str]:
            attempts.append(request.attempt)
            return {"X-Sig": f"sig-{len(attempts)}"}

        def secrets(self) -> tuple[str, ...]:
            return ()

    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    signer = Signer()
    with FakeServer() as server:
        server.add(Reply(status=503), Reply.json({"n": 1}), Reply.json({"n": 2}))
        for _ in range(2):
            transport.request("POST", server.url + "/x", json_body={"a": 1}, authorizer=signer)
    transport.close()
    assert attempts == [1, 2, 1]
    assert [r.headers["x-sig"] for r in server.requests] == ["sig-1", "sig-2", "sig-3"]


def _serve_once(answer: bytes) -> tuple[str, threading.Thread]:
    """A one-request server that sends ``answer`` and closes: a body cut short."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(answer)
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread


def test_a_content_length_body_cut_short_raises_with_the_bytes_missing() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\nContent-Type: application/json\r\n\r\n"
    url, thread = _serve_once(head + b'{"a": 1')
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RetryPolicy(max_retries=0))
    with pytest.raises(StreamError, match="connection closed with 13 bytes of the body missing") as caught:
        transport.request("GET", url + "/x")
    transport.close()
    thread.join(5)
    assert caught.value.attempts == 1


def test_response_headers_reach_the_caller_with_lower_cased_names() -> None:
    with FakeServer() as server:
        server.add(Reply.json({"ok": True}, headers={"X-Trace": "first", "Retry-After-Ms": "5"}))
        transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
        response = transport.request("GET", server.url + "/x")
        transport.close()
    assert response.headers["x-trace"] == "first"
    assert response.headers["retry-after-ms"] == "5"
    assert all(name == name.lower() for name in response.headers)


def test_lower_headers_keeps_the_last_of_repeated_values_like_items_would() -> None:
    from urllib3._collections import HTTPHeaderDict  # also where 1.26 keeps it

    class Raw:
        headers = HTTPHeaderDict()

    Raw.headers.add("X-A", "1")
    Raw.headers.add("x-a", "2")
    Raw.headers.add("Content-Type", "application/json")
    assert _lower_headers(Raw) == {"x-a": "2", "content-type": "application/json"}


def test_a_url_whose_pool_the_manager_evicted_is_routed_again() -> None:
    # urllib3's PoolManager keeps 10 pools; up to 1.26.16 it closes the one it evicts (later
    # versions drop it open): a remembered route must never use a closed pool, and no more
    # pools stay routed than the manager keeps.
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    servers = [FakeServer().start() for _ in range(12)]
    try:
        for server in servers:
            server.add(Reply.json({"ok": 1}), Reply.json({"ok": 2}))
        first = servers[0]
        assert transport.request("GET", first.url + "/a?x=1").json() == {"ok": 1}
        for server in servers[1:]:
            assert transport.request("GET", server.url + "/b").json() == {"ok": 1}
            assert len({id(pool) for pool, _ in transport._routes.values()}) <= 10
        assert transport.request("GET", first.url + "/a?x=1").json() == {"ok": 2}
    finally:
        transport.close()
        for server in servers:
            server.stop()
    assert [r.path for r in first.requests] == ["/a?x=1", "/a?x=1"]


def test_a_closed_transport_routes_its_urls_again_and_reconnects() -> None:
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    with FakeServer() as server:
        server.add(Reply.json({"n": 1}), Reply.json({"n": 2}))
        assert transport.request("GET", server.url + "/x").json() == {"n": 1}
        transport.close()
        assert transport.request("GET", server.url + "/x").json() == {"n": 2}
    transport.close()


def test_close_also_closes_a_routed_pool_the_manager_no_longer_tracks() -> None:
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    with FakeServer() as server:
        server.add(Reply.json({"n": 1}))
        transport.request("GET", server.url + "/x")
        (pool, target) = transport._routes[server.url + "/x"]
        transport._direct.pools.clear()  # what eviction does to the manager's own list
        transport.close()
    assert target == "/x"
    assert pool.pool is None  # closed: its kept-alive connection is not left open


def test_the_same_headers_streamed_and_not_keep_their_own_accept_encoding() -> None:
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    headers = {"X-Same": "1"}
    with FakeServer() as server:
        server.add(Reply.json({"n": 1}), Reply.json({"n": 2}), Reply.json({"n": 3}))
        transport.request("POST", server.url + "/x", json_body={"a": 1}, headers=headers)
        with transport.stream("POST", server.url + "/x", json_body={"a": 1}, headers=headers) as response:
            b"".join(response.iter_bytes())
        transport.request("POST", server.url + "/x", body=b"raw", headers=headers)
    transport.close()
    sent = [(r.headers["accept-encoding"], r.headers.get("content-type")) for r in server.requests]
    assert sent == [
        ("gzip, deflate", "application/json"),
        ("identity", "application/json"),
        ("gzip, deflate", None),
    ]


def test_two_key_authorizers_sharing_a_transport_each_send_their_own_key() -> None:
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST)
    first = KeyAuthorizer({"Authorization": "Bearer sk-first-1111"})
    second = KeyAuthorizer({"Authorization": "Bearer sk-second-2222"})
    with FakeServer() as server:
        server.add(*[Reply.json({"n": n}) for n in range(3)])
        for keys in (first, second, first):
            transport.request("POST", server.url + "/x", json_body={"a": 1}, authorizer=keys)
    transport.close()
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer sk-first-1111",
        "Bearer sk-second-2222",
        "Bearer sk-first-1111",
    ]


@pytest.mark.parametrize(
    ("length", "announced"),
    [("+268435457", 268435457), ("100_000_000_000_000", 100_000_000_000_000), (" 268435457", 268435457)],
)
def test_a_content_length_http_client_reads_above_the_cap_is_refused(length: str, announced: int) -> None:
    # http.client reads Content-Length with int(), which takes a sign and underscores.
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n".encode()
    url, thread = _serve_once(head + b"{}")
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RetryPolicy(max_retries=0))
    with pytest.raises(StreamError) as caught:
        transport.request("GET", url + "/x")
    transport.close()
    thread.join(5)
    assert caught.value.message == (
        f"response announces a body of {announced} bytes, more than the 268435456-byte limit "
        "for a whole response"
    )


def test_a_content_length_of_unicode_digits_is_read_to_the_close_not_a_bare_value_error() -> None:
    url, thread = _serve_once("HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\n\r\n{}".encode("latin-1"))
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RetryPolicy(max_retries=0))
    response = transport.request("GET", url + "/x")
    transport.close()
    thread.join(5)
    assert response.json() == {}


def test_a_proxy_of_an_unusable_scheme_is_a_config_error_naming_the_proxy_not_its_password() -> None:
    proxies = ProxySettings.from_env({"HTTPS_PROXY": "socks5://user:hunter2@proxy.example:1080"})
    transport = Transport(timeouts=Timeouts(connect=2, read=5), retry=RETRY_FAST, proxies=proxies)
    with pytest.raises(ConfigError) as caught:
        transport.request("GET", "https://api.example.invalid/v1/x")
    transport.close()
    assert "socks5" in caught.value.message
    assert "proxy.example:1080" in caught.value.message
    assert "hunter2" not in str(caught.value)
    assert "api.example.invalid" not in caught.value.message
