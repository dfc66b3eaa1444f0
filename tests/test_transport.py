"""The transport against a real loopback server that misbehaves on purpose."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
import time
from email.utils import formatdate

import pytest

from relay_lite import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConnectError,
    DeadlineExceeded,
    RateLimitError,
    ReadTimeout,
    RetryPolicy,
    ServerError,
    StreamError,
    Timeouts,
)
from relay_lite._config import ProxySettings
from relay_lite._transport import Transport, parse_retry_after
from relay_lite.testing import FakeServer, Reply

FAST_RETRY = RetryPolicy(backoff=0.01, max_backoff=0.05)
NO_PROXY = ProxySettings()


DEFAULT_TIMEOUTS = Timeouts()


def make_transport(
    retry: RetryPolicy = FAST_RETRY, timeouts: Timeouts = DEFAULT_TIMEOUTS, **kwargs
) -> Transport:
    return Transport(timeouts=timeouts, retry=retry, proxies=kwargs.pop("proxies", NO_PROXY), **kwargs)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- retries ------------------------------------------------------------------------------


def test_503_then_200_succeeds_after_one_retry():
    with FakeServer() as server:
        server.add(Reply(status=503), Reply.json({"ok": True}))
        response = make_transport().request("POST", server.url + "/x", json_body={"a": 1})
    assert response.json() == {"ok": True}
    assert response.attempts == 2
    assert [r.json() for r in server.requests] == [{"a": 1}, {"a": 1}]


def test_400_is_not_retried():
    with FakeServer() as server:
        server.add(Reply.json({"error": {"message": "bad field", "code": "invalid"}}, status=400))
        with pytest.raises(BadRequestError) as info:
            make_transport().request("POST", server.url + "/x", json_body={})
    assert len(server.requests) == 1
    assert info.value.attempts == 1
    assert info.value.message == "bad field"
    assert info.value.code == "invalid"


def test_retry_after_one_second_is_obeyed():
    with FakeServer() as server:
        server.add(Reply(status=429, headers={"Retry-After": "1"}), Reply.json({"ok": True}))
        started = time.monotonic()
        response = make_transport().request("GET", server.url + "/x")
        waited = time.monotonic() - started
    assert response.attempts == 2
    assert waited >= 1.0


def test_retry_after_ms_beats_retry_after():
    headers = {"retry-after-ms": "250", "retry-after": "30"}
    assert parse_retry_after(headers) == 0.25


def test_retry_after_http_date_is_understood():
    now = time.time()
    headers = {"retry-after": formatdate(now + 30, usegmt=True)}
    assert 28 <= (parse_retry_after(headers, now=now) or 0) <= 30


def test_retry_after_garbage_is_ignored():
    assert parse_retry_after({"retry-after": "soon"}) is None


def test_retry_after_3600_raises_at_once_with_status_and_wait():
    with FakeServer() as server:
        server.add(Reply(status=503, headers={"Retry-After": "3600"}))
        started = time.monotonic()
        with pytest.raises(ServerError) as info:
            make_transport().request("GET", server.url + "/x")
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert len(server.requests) == 1
    text = str(info.value)
    assert "status 503" in text
    assert "retry after 3600 s" in text
    assert "60 s cap" in text


def test_x_should_retry_false_on_500_is_not_retried():
    with FakeServer() as server:
        server.add(Reply(status=500, headers={"x-should-retry": "false"}))
        with pytest.raises(ServerError) as info:
            make_transport().request("GET", server.url + "/x")
    assert len(server.requests) == 1
    assert info.value.attempts == 1


def test_x_should_retry_true_on_400_is_retried():
    with FakeServer() as server:
        server.add(Reply(status=400, headers={"x-should-retry": "true"}), Reply.json({"ok": 1}))
        response = make_transport().request("GET", server.url + "/x")
    assert response.attempts == 2


def test_429_with_insufficient_quota_is_not_retried():
    body = {
        "error": {
            "message": "You exceeded your current quota",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    with FakeServer() as server:
        server.add(Reply.json(body, status=429))
        with pytest.raises(RateLimitError) as info:
            make_transport().request("GET", server.url + "/x")
    assert len(server.requests) == 1
    assert info.value.quota_exhausted is True


def test_retries_stop_after_max_retries_with_attempt_count():
    with FakeServer() as server:
        server.add(*[Reply(status=502) for _ in range(3)])
        with pytest.raises(ServerError) as info:
            make_transport().request("GET", server.url + "/x")
    assert len(server.requests) == 3
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)


def test_connection_refused_is_retried_then_raises_connect_error():
    port = closed_port()
    slept: list[float] = []
    transport = make_transport()
    transport.sleep = slept.append
    with pytest.raises(ConnectError) as info:
        transport.request("GET", f"http://127.0.0.1:{port}/x")
    assert info.value.attempts == 3
    assert len(slept) == 2
    assert "after 3 attempts" in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_connection_dropped_without_response_is_retried():
    with FakeServer() as server:
        server.add(Reply(drop=True), Reply.json({"ok": True}))
        response = make_transport().request("POST", server.url + "/x", json_body={})
    assert response.json() == {"ok": True}
    assert response.attempts == 2


def test_backoff_waits_grow_and_are_capped():
    transport = make_transport(RetryPolicy(max_retries=4, backoff=0.5, max_backoff=1.0))
    slept: list[float] = []
    transport.sleep = slept.append
    with pytest.raises(ConnectError):
        transport.request("GET", f"http://127.0.0.1:{closed_port()}/x")
    assert len(slept) == 4
    for wait, base in zip(slept, [0.5, 1.0, 1.0, 1.0]):
        assert base * 0.75 <= wait <= base


# -- timeouts and the total deadline -----------------------------------------------------


def test_total_deadline_cuts_a_slow_drip_stream():
    with FakeServer() as server:
        server.add(Reply.drip("data: 1\n\n" * 20, interval=0.2))
        transport = make_transport(timeouts=Timeouts(read=5, total=1.0))
        started = time.monotonic()
        received = b""
        with pytest.raises(DeadlineExceeded):
            with transport.stream("GET", server.url + "/s") as stream:
                for chunk in stream.iter_bytes():
                    received += chunk
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.6
    assert 0 < len(received) < len("data: 1\n\n" * 20)


def test_total_deadline_cuts_a_slow_drip_body():
    with FakeServer() as server:
        server.add(Reply.drip(json.dumps({"text": "x" * 50}), interval=0.1))
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            make_transport(timeouts=Timeouts(read=5, total=0.8)).request("GET", server.url + "/x")
    assert time.monotonic() - started < 1.4


def test_read_timeout_while_waiting_for_headers():
    with FakeServer() as server:
        server.add(Reply(delay=1.0), Reply(delay=1.0))
        transport = make_transport(RetryPolicy(max_retries=1, backoff=0.01), Timeouts(read=0.2))
        with pytest.raises(ReadTimeout) as info:
            transport.request("GET", server.url + "/x")
    assert info.value.attempts == 2


def test_read_timeout_between_stream_bytes():
    with FakeServer() as server:
        server.add(Reply(chunks=[b"a", b"b"], chunk_delay=0.6))
        transport = make_transport(timeouts=Timeouts(read=0.2))
        with pytest.raises(ReadTimeout):
            with transport.stream("GET", server.url + "/x") as stream:
                list(stream.iter_bytes())


def test_no_backoff_wait_crosses_the_deadline():
    with FakeServer() as server:
        server.add(Reply(status=503, headers={"Retry-After": "5"}))
        transport = make_transport(timeouts=Timeouts(total=1.0))
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            transport.request("GET", server.url + "/x")
        assert time.monotonic() - started < 0.5
    assert "status 503" in str(info.value)
    assert isinstance(info.value.__cause__, ServerError)


# -- streaming ----------------------------------------------------------------------------


def test_stream_yields_bytes_as_they_arrive():
    with FakeServer() as server:
        server.add(Reply(chunks=[b"first", b"second"], chunk_delay=0.5))
        started = time.monotonic()
        with make_transport().stream("GET", server.url + "/x") as stream:
            chunks = stream.iter_bytes()
            assert next(chunks) == b"first"
            first_at = time.monotonic() - started
            assert next(chunks) == b"second"
    # the first chunk is sent 0.5 s in and the second 1.0 s in: no waiting for a block
    assert first_at < 0.9


def test_stream_is_not_retried_after_its_first_byte():
    with FakeServer() as server:
        server.add(Reply(chunks=[b"partial"], abort=True), Reply(chunks=[b"never"]))
        received = []
        with pytest.raises(StreamError) as info:
            with make_transport().stream("GET", server.url + "/x") as stream:
                for chunk in stream.iter_bytes():
                    received.append(chunk)
    assert received == [b"partial"]
    assert len(server.requests) == 1
    assert info.value.attempts == 1


def test_stream_retries_error_statuses_before_it_starts():
    with FakeServer() as server:
        server.add(Reply(status=503), Reply(chunks=[b"ok"]))
        with make_transport().stream("GET", server.url + "/x") as stream:
            assert b"".join(stream.iter_bytes()) == b"ok"
            assert stream.attempts == 2


def test_closing_a_stream_early_frees_the_connection():
    transport = make_transport()
    with FakeServer() as server:
        server.add(Reply(chunks=[b"a", b"b", b"c"], chunk_delay=0.05), Reply.json({"next": True}))
        with transport.stream("GET", server.url + "/x") as stream:
            assert next(stream.iter_bytes()) == b"a"
        pool = transport._direct.connection_from_url(server.url)
        assert pool.pool.qsize() == pool.pool.maxsize  # the slot is back in the pool
        assert transport.request("GET", server.url + "/y").json() == {"next": True}


# -- connections, encoding, headers -------------------------------------------------------


def test_keep_alive_reuses_one_connection():
    transport = make_transport()
    with FakeServer() as server:
        server.add(*[Reply.json({"n": i}) for i in range(5)])
        for i in range(5):
            assert transport.request("GET", server.url + "/x").json() == {"n": i}
        pool = transport._direct.connection_from_url(server.url)
    assert pool.num_connections == 1


def test_gzip_bodies_are_decoded():
    body = gzip.compress(json.dumps({"text": "héllo"}).encode())
    with FakeServer() as server:
        server.add(Reply(headers={"Content-Encoding": "gzip"}, body=body))
        response = make_transport().request("GET", server.url + "/x")
    assert response.json() == {"text": "héllo"}
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_header_with_newline_is_refused_before_sending():
    with FakeServer() as server:
        with pytest.raises(ConfigError) as info:
            make_transport().request("GET", server.url + "/x", headers={"X-Evil": "a\r\nInjected: 1"})
    assert server.requests == []
    assert "X-Evil" in str(info.value)
    assert "Injected" not in str(info.value)


def test_api_key_never_in_errors_or_logs(caplog):
    secret = "sk-SECRET-do-not-log"
    caplog.set_level(logging.DEBUG, logger="relay_lite")
    with FakeServer() as server:
        server.add(Reply.json({"error": {"message": "Incorrect API key"}}, status=401))
        with pytest.raises(AuthenticationError) as info:
            make_transport().request("GET", server.url + "/x", headers={"Authorization": f"Bearer {secret}"})
    assert server.requests[0].headers["authorization"] == f"Bearer {secret}"
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert secret not in caplog.text


def test_one_transport_serves_many_threads():
    transport = make_transport()
    results: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(5):
            value = transport.request("POST", server.url + "/x", json_body={"n": n}).json()
            with lock:
                results.append(value["n"])

    def echo(request):
        return Reply.json(request.json())

    with FakeServer(handler=echo) as server:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results) == sorted(n for n in range(8) for _ in range(5))


def test_http_proxy_from_settings_is_used():
    with FakeServer() as proxy:
        proxy.add(Reply.json({"via": "proxy"}))
        transport = make_transport(proxies=ProxySettings(http=proxy.url))
        response = transport.request("GET", "http://upstream.invalid/v1/models")
    assert response.json() == {"via": "proxy"}
    assert proxy.requests[0].path == "http://upstream.invalid/v1/models"


def test_no_proxy_host_connects_directly():
    with FakeServer() as server:
        server.add(Reply.json({"direct": True}))
        settings = ProxySettings(http="http://127.0.0.1:9", no_proxy=("127.0.0.1",))
        response = make_transport(proxies=settings).request("GET", server.url + "/x")
    assert response.json() == {"direct": True}


# -- bodies that lie about themselves ---------------------------------------------------------


def raw_http_server(response: bytes):
    """A one-shot server that sends ``response`` verbatim and hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(response)
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_body_shorter_than_its_content_length_is_an_error():
    url = raw_http_server(
        b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{"a": 1}'
    )
    with pytest.raises(StreamError) as info:
        make_transport().request("GET", url + "/x")
    assert "92 bytes of the body missing" in str(info.value)


def test_corrupt_gzip_is_a_stream_error_and_frees_the_connection():
    transport = make_transport()
    with FakeServer() as server:
        server.add(
            Reply(headers={"Content-Encoding": "gzip"}, body=b"this is not gzip"), Reply.json({"ok": 1})
        )
        with pytest.raises(StreamError) as info:
            transport.request("GET", server.url + "/x")
        assert "not valid gzip" in str(info.value)
        assert transport.request("GET", server.url + "/y").json() == {"ok": 1}
        pool = transport._direct.connection_from_url(server.url)
        assert pool.pool.qsize() == pool.pool.maxsize  # every slot is back


def test_truncated_gzip_is_a_stream_error():
    body = gzip.compress(b'{"text": "' + b"x" * 1000 + b'"}')
    with FakeServer() as server:
        server.add(Reply(headers={"Content-Encoding": "gzip"}, body=body[: len(body) // 2]))
        with pytest.raises(StreamError) as info:
            make_transport().request("GET", server.url + "/x")
    assert "ended in the middle of its gzip data" in str(info.value)


def test_raw_deflate_is_decoded_too():
    import zlib

    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = compressor.compress(b'{"ok": true}') + compressor.flush()
    with FakeServer() as server:
        server.add(Reply(headers={"Content-Encoding": "deflate"}, body=body))
        assert make_transport().request("GET", server.url + "/x").json() == {"ok": True}


def test_non_latin1_header_value_is_refused_without_showing_it():
    with FakeServer() as server:
        with pytest.raises(ConfigError) as info:
            make_transport().request("GET", server.url + "/x", headers={"Authorization": "Bearer sk-secret…"})
    assert "Authorization" in str(info.value)
    assert "sk-secret" not in str(info.value)
    assert server.requests == []
