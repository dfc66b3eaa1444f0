"""The six holes issue 11 found, each pinned by a test named after what was wrong.

Every test here failed before its fix (the message or timing it asserts is what changed).
All run against the raw-socket server of ``faultserver.py``.
"""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc

import pytest
from faultserver import NO_RETRY, Peer, RawServer, client_sockets_to, http_head, json_reply, make_transport

import relay_lite
from relay_lite import APIError, BadRequestError, DeadlineExceeded, StreamError, Timeouts

# -- 1. the total deadline covers the response head ---------------------------------------


def drip_head(peer: Peer) -> None:
    peer.read_request()
    peer.drip(json_reply(b"{}"), 0.2)  # about 80 bytes: 16 s if nothing stops it


@pytest.mark.parametrize("stream", [False, True])
def test_total_deadline_covers_a_response_head_dripped_one_byte_at_a_time(stream: bool):
    # Before: every recv() got a byte within the 5 s read timeout, so the call ran
    # until the server hung up (6 s in the report) and only then raised.
    with RawServer([drip_head]) as server:
        transport = make_transport(Timeouts(connect=2, read=5, total=1.5))
        send = transport.stream if stream else transport.request
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            send("GET", server.url + "/v1/models")
        elapsed = time.monotonic() - started
        transport.close()
        assert client_sockets_to(server.port) == 0
    assert 1.4 <= elapsed < 2.5  # was 13.8 s: the whole dripped head
    assert info.value.message == f"total deadline passed waiting for 127.0.0.1:{server.port}"
    assert info.value.attempts == 1


def test_total_deadline_covers_a_request_body_the_server_reads_slowly():
    def read_slowly(peer: Peer) -> None:
        peer.read_request(read_body=False)
        while not peer.sleep(0.1):
            try:
                peer.sock.recv(256)  # a trickle: the upload never stalls for a whole read timeout
            except OSError:
                return

    with RawServer([read_slowly], receive_buffer=4096) as server:
        transport = make_transport(Timeouts(connect=2, read=5, total=1.0))
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            transport.request("POST", server.url + "/upload", body=b"x" * (16 * 1024 * 1024))
        elapsed = time.monotonic() - started
        transport.close()
    assert 0.9 <= elapsed < 2.0
    assert info.value.message == f"total deadline passed while sending the request to 127.0.0.1:{server.port}"


# -- 2. interim 1xx responses are skipped; unread responses never go back to the pool ----


def early_hints_then_two_replies(peer: Peer) -> None:
    peer.read_request()
    # A CDN's 103 Early Hints (Cloudflare sends these) after a 100 Continue, then the answer.
    peer.send(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
        + json_reply(b'{"n": 1}')
    )
    peer.read_request()
    peer.send(json_reply(b'{"n": 2}'))


@pytest.mark.parametrize("stream", [False, True])
def test_interim_103_early_hints_is_skipped_and_the_final_reply_read(stream: bool):
    # Before: the 103 raised APIError "HTTP 103" and the 200 stayed in the socket, where
    # the next call on the pooled connection read it as its own reply.
    with RawServer([early_hints_then_two_replies]) as server:
        transport = make_transport()
        bodies = []
        for _ in range(2):
            if stream:
                with transport.stream("POST", server.url + "/x", json_body={}) as response:
                    bodies.append(b"".join(response.iter_bytes()))
            else:
                bodies.append(transport.request("POST", server.url + "/x", json_body={}).body)
        transport.close()
    assert bodies == [b'{"n": 1}', b'{"n": 2}']
    assert server.accepted == 1  # one kept-alive connection served both, in order


def test_connection_whose_response_was_not_read_to_its_end_is_never_pooled():
    # A 101 Switching Protocols we never asked for: what follows is not HTTP. The call
    # fails, and the next one must not read those bytes as its reply.
    def switch_protocols(peer: Peer) -> None:
        peer.read_request()
        upgrade = http_head(101, "Switching Protocols", {"Upgrade": "websocket"})
        peer.send(upgrade + json_reply(b'{"stale": 1}'))

    def answer(peer: Peer) -> None:
        peer.read_request()
        peer.send(json_reply(b'{"fresh": 1}'))

    with RawServer([switch_protocols, answer]) as server:
        transport = make_transport()
        with pytest.raises(APIError) as info:
            transport.request("GET", server.url + "/x")
        second = transport.request("GET", server.url + "/x")
        transport.close()
    assert info.value.status == 101
    assert second.json() == {"fresh": 1}
    assert server.accepted == 2


# -- 3. a gzip bomb is inflated a bounded piece at a time ---------------------------------


def test_gzip_bomb_stream_is_stopped_by_the_line_cap_before_it_is_inflated():
    # 64 MiB of one SSE line without a newline, gzip-compressed to ~64 KiB on the wire.
    # Before: each 64 KiB read was inflated whole (tens of MB at once) and the process grew
    # by ~150 MB before the 16 MiB line cap looked at it.
    line = b"data: " + b"a" * (64 * 1024 * 1024)
    bomb = gzip.compress(line, compresslevel=9)

    def serve_bomb(peer: Peer) -> None:
        peer.read_request()
        headers = {
            "Content-Type": "text/event-stream",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(bomb)),
        }
        peer.send(http_head(200, "OK", headers) + bomb)

    with RawServer([serve_bomb]) as server:
        client = relay_lite.Client.compatible(server.url + "/v1", retry=NO_RETRY)
        tracemalloc.start()
        try:
            with pytest.raises(StreamError) as info:
                for _ in client.chat("m").user("hi").stream():
                    pass
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        client.close()
        assert client_sockets_to(server.port) == 0
    assert len(bomb) < 256 * 1024
    assert "longer than max_line_bytes=16777216" in info.value.message
    # The 16 MiB line buffer itself, plus bounded pieces: far below the 64 MiB line.
    assert peak < 40 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


# -- 4. an upload the peer never reads times out as a write timeout -----------------------


def test_upload_the_server_never_reads_raises_a_write_timeout_not_a_connect_error():
    # Before: ConnectError "connection ... dropped before a response".
    def never_read(peer: Peer) -> None:
        peer.read_request(read_body=False)
        peer.sleep(10)  # until the server stops

    with RawServer([never_read], receive_buffer=4096) as server:
        transport = make_transport(Timeouts(connect=2, read=0.5))
        started = time.monotonic()
        with pytest.raises(relay_lite.TimeoutError) as info:
            transport.request("POST", server.url + "/upload", body=b"x" * (32 * 1024 * 1024))
        elapsed = time.monotonic() - started
        transport.close()
        assert client_sockets_to(server.port) == 0
    assert type(info.value) is relay_lite.TimeoutError
    assert info.value.message == (
        f"write timeout: 127.0.0.1:{server.port} stopped reading the request body "
        "(no progress sending it for 0.5 s)"
    )
    assert elapsed < 3.0


# -- 5. close() closes every pooled connection itself --------------------------------------


def keep_alive_ok_then_400(peer: Peer) -> None:
    peer.read_request()
    peer.send(json_reply(b'{"ok": true}'))
    peer.read_request()
    peer.send(json_reply(b'{"error": {"message": "bad field"}}', 400, "Bad Request"))


def test_close_closes_pooled_sockets_while_an_error_still_holds_the_pool():
    # Before (urllib3 2.x): PoolManager.clear() forgot the pool without closing it, and
    # the held error's traceback kept the pool -- and its idle socket -- alive.
    with RawServer([keep_alive_ok_then_400]) as server:
        transport = make_transport()
        transport.request("GET", server.url + "/a")
        try:
            transport.request("GET", server.url + "/b")
        except BadRequestError as exc:
            held = exc  # the caller keeps the error (and its traceback) around
        assert client_sockets_to(server.port) == 1
        transport.close()
        assert client_sockets_to(server.port) == 0
        assert server.wait_until_all_closed()
    assert held.message == "bad field"


def test_client_close_closes_sockets_of_many_threads():
    def serve_forever(peer: Peer) -> None:
        while peer.read_request() is not None:
            peer.send(json_reply(b'{"ok": true}'))

    with RawServer([serve_forever]) as server:
        client = relay_lite.Client.compatible(server.url + "/v1")
        barrier = threading.Barrier(4)

        def call() -> None:
            barrier.wait()
            client.transport.request("GET", server.url + "/v1/models")

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client_sockets_to(server.port) >= 1
        client.close()
        assert client_sockets_to(server.port) == 0
        assert server.wait_until_all_closed()
