"""Test helpers: ``FakeServer``, a real HTTP/1.1 server on 127.0.0.1 scripted per request.

Use it in your own tests instead of mocking the network::

    from relay_lite.testing import FakeServer, Reply

    with FakeServer() as server:
        server.add(Reply(status=503), Reply.json({"ok": True}))
        ...  # point a client at server.url
        assert server.requests[1].path == "/v1/chat/completions"

Replies are served first-in first-out. When none is queued, the server's ``handler``
(a function from ``RecordedRequest`` to ``Reply``) answers. With ``protocol=`` set, the
server speaks that chat protocol instead: it renders queued ``ChatScript``s and, with
nothing queued, echoes (the renderers live in ``relay_lite._fake_chat``). Replies can
misbehave on purpose: delay, drip, stream in chunks, cut the connection mid-body or drop
it unanswered.

``Reply``, ``RecordedRequest`` and ``sse_event`` are defined in ``relay_lite._fake_wire``
(shared with the renderers) and exported here.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, Mapping, Optional
from urllib.parse import urlsplit

from ._config import RetryPolicy, Timeouts
from ._errors import ConfigError
from ._fake_batches import BatchScript
from ._fake_chat import RENDERERS, ChatScript
from ._fake_wire import Handler, RecordedRequest, Reply, sse_event
from ._fake_wire import to_bytes as _to_bytes
from ._hooks import CallEvents
from ._transport import Authorizer, ErrorMapper, Response, StreamResponse

__all__ = [
    "FakeServer",
    "MockTransport",
    "Reply",
    "RecordedRequest",
    "ChatScript",
    "BatchScript",
    "Handler",
    "sse_event",
]


class _Script:
    """What FakeServer and MockTransport share: the reply queue, the handler, the protocol."""

    def __init__(self, handler: Optional[Handler] = None, *, protocol: Optional[str] = None) -> None:
        self.handler = handler
        self.protocol = protocol
        if protocol is not None:
            if protocol not in RENDERERS:
                # ConfigError is a ValueError too; the CLI's demo reports it as such.
                raise ConfigError(
                    f"no fake protocol {protocol!r} (add a renderer to relay_lite._fake_chat.RENDERERS); "
                    f"known: {sorted(RENDERERS)}"
                )
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()

    def add(self, *replies: Any) -> Any:
        """Queue ``Reply``s or ``ChatScript``s, served in order to the next requests."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def _next_reply(self, request: RecordedRequest) -> Reply:
        item: Any = None
        with self._lock:
            self.requests.append(request)
            if self._queue:
                item = self._queue.popleft()
        if isinstance(item, Reply):
            return item
        if item is None and self.handler is not None:
            return self.handler(request)
        if self.protocol is not None:
            return self._render(item, request)
        if item is not None:
            raise TypeError(f"FakeServer without a protocol cannot serve {type(item).__name__}")
        message = f"FakeServer has no scripted reply for {request.method} {request.path}"
        return Reply.json({"error": {"message": message, "type": "fake_server_error"}}, status=500)

    def _render(self, script: Any, request: RecordedRequest) -> Reply:
        from ._fake_chat import RENDERERS, echo_script
        from ._fake_routes import answering, find_route

        render, neutral = RENDERERS[str(self.protocol)]
        try:
            route = find_route(str(self.protocol), request)
            if route is not None:
                with answering(self):
                    return route(script, request)
            if script is None:
                messages, tools = neutral(request.json())
                script = echo_script(messages, tools)
            return render(script, request)
        except (ValueError, KeyError, TypeError) as exc:
            error = {
                "type": "invalid_request_error",
                "message": f"FakeServer could not read the request: {exc}",
            }
            return Reply.json({"type": "error", "error": error}, status=400)


class FakeServer(_Script):
    """A scripted HTTP/1.1 server on a random loopback port, run in a background thread.

    With ``protocol`` ("openai", "anthropic", "modelrelay") it speaks that chat API: queued
    ``ChatScript``s are rendered in its wire format (streamed when the request asks), and
    with nothing queued it answers every request with a deterministic echo.
    """

    def __init__(
        self, handler: Optional[Handler] = None, *, protocol: Optional[str] = None, ssl_context: Any = None
    ) -> None:
        super().__init__(handler, protocol=protocol)
        #: An ``ssl.SSLContext`` (server side) to serve HTTPS instead of HTTP.
        self.ssl_context = ssl_context
        self._stopping = threading.Event()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @classmethod
    def openai(cls) -> FakeServer:
        """A server speaking OpenAI chat completions (scripted or echo)."""
        return cls(protocol="openai")

    @classmethod
    def anthropic(cls) -> FakeServer:
        """A server speaking the Anthropic Messages API (scripted or echo)."""
        return cls(protocol="anthropic")

    @classmethod
    def modelrelay(cls) -> FakeServer:
        """A server speaking ModelRelay's ``/llm/proxy`` chat API (scripted or echo)."""
        return cls(protocol="modelrelay")

    @classmethod
    def bedrock(cls) -> FakeServer:
        """A server speaking Amazon Bedrock's Converse and ConverseStream (scripted or echo).

        It accepts the credentials in ``relay_lite._fake_bedrock``: a SigV4 signature
        made with ``FAKE_ACCESS_KEY_ID`` / ``FAKE_SECRET_ACCESS_KEY``, or the bearer key
        ``FAKE_API_KEY``; others get AWS's 403.
        """
        return cls(protocol="bedrock")

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with an ``ssl_context``) of the running server."""
        if self._server is None:
            raise RuntimeError("FakeServer is not running; use it as a context manager")
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Start serving in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="relay-lite-fake-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket; slow replies are cut short."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _make_handler(owner: FakeServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, chunked responses
        # Without this, Nagle's algorithm meets the client's delayed ACK and every
        # kept-alive request waits ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            pass  # keep test output clean

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionResetError, BrokenPipeError):
                pass  # the client hung up (for example after closing a stream early)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = owner._next_reply(request)
            try:
                self._write(reply)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away; nothing to do

        def _write(self, reply: Reply) -> None:
            if reply.delay and owner._stopping.wait(reply.delay):
                return
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(reply.status)
            headers = dict(reply.headers)
            body = reply.body
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode("utf-8")
                headers.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                body = body.encode("utf-8")
            if reply.chunks is None:
                data = body or b""
                headers.setdefault("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                return
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for chunk in reply.chunks:
                if reply.chunk_delay and owner._stopping.wait(reply.chunk_delay):
                    self.close_connection = True
                    return
                data = _to_bytes(chunk)
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
            if reply.abort:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return _Handler


class MockTransport(_Script):
    """A transport that answers from a script without any socket, for fast unit tests.

    Pass it as ``Client(..., transport=MockTransport(...))`` (or to ``AgentClient``); it
    satisfies ``relay_lite._transport.HTTPTransport``, as ``Transport`` does. It takes the
    same ``Reply``s and ``ChatScript``s as ``FakeServer`` (and its echo with a
    ``protocol``) but makes no retries and has no clock: delays are ignored. The call's
    authorizer runs once, on the serialized body, and error statuses go through the
    call's error mapper, as on the wire. Prefer ``FakeServer`` to test timeouts, retries
    and anything on the wire.
    """

    def _record(
        self,
        method: str,
        url: str,
        headers: Optional[Mapping[str, str]],
        json_body: object,
        body: Optional[bytes],
        authorizer: Optional[Authorizer],
        events: Optional[CallEvents] = None,
    ) -> Reply:
        from ._transport import authorized_headers, check_headers, encode_json_body

        check_headers(headers or {})
        if json_body is not None:
            body = encode_json_body(json_body)
        sent = authorized_headers(method, url, headers or {}, body or b"", authorizer, 1)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lowered = {k.lower(): v for k, v in sent.items()}
        if events is not None:  # one attempt, answered at once: the hooks hear of both
            events.request(method, url, 1, 1)
        reply = self._next_reply(RecordedRequest(method, path, lowered, body or b""))
        if events is not None and not reply.drop:
            reply_headers = {k.lower(): v for k, v in reply.headers.items()}
            events.response(method, url, reply.status, 0.0, reply_headers, 1)
        return reply

    @staticmethod
    def _raise_for(reply: Reply, data: bytes, map_error: Optional[ErrorMapper]) -> None:
        from ._errors import ConnectError, api_error

        if reply.drop:
            raise ConnectError("MockTransport: connection dropped before a response")
        if not 200 <= reply.status < 300:
            mapper = map_error or api_error
            raise mapper(reply.status, data, {k.lower(): v for k, v in reply.headers.items()}, attempts=1)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: object = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
        authorizer: Optional[Authorizer] = None,
        map_error: Optional[ErrorMapper] = None,
        events: Optional[CallEvents] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> Response:
        """Answer one request with the next scripted reply, as ``Transport.request`` would."""
        from ._errors import StreamError

        reply = self._record(method, url, headers, json_body, body, authorizer, events)
        data = _reply_bytes(reply)
        self._raise_for(reply, data, map_error)
        if reply.abort:
            raise StreamError("MockTransport: connection broke while reading the response")
        return Response(reply.status, {k.lower(): v for k, v in reply.headers.items()}, data, 1)

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: object = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
        authorizer: Optional[Authorizer] = None,
        map_error: Optional[ErrorMapper] = None,
        events: Optional[CallEvents] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> StreamResponse:
        """Answer with the next scripted reply as an open stream of its chunks."""
        reply = self._record(method, url, headers, json_body, body, authorizer, events)
        # A 2xx body is left to iter_bytes: its chunks may be a generator, read only once.
        error_body = _reply_bytes(reply) if not 200 <= reply.status < 300 else b""
        self._raise_for(reply, error_body, map_error)
        stream = _MockStream(reply)
        stream.events = events
        return stream

    def close(self) -> None:
        """Nothing to release."""


def _reply_bytes(reply: Reply) -> bytes:
    if reply.chunks is not None:
        return b"".join(_to_bytes(c) for c in reply.chunks)
    if isinstance(reply.body, (dict, list)):
        return json.dumps(reply.body).encode("utf-8")
    return _to_bytes(reply.body or b"")


class _MockStream(StreamResponse):
    """The ``StreamResponse`` side of ``MockTransport``: scripted chunks, no socket."""

    def __init__(self, reply: Reply) -> None:  # no urllib3 response behind it: no super()
        self.status = reply.status
        self.headers = {k.lower(): v for k, v in reply.headers.items()}
        self.attempts = 1
        self.deadline = None
        self.closed = False
        self.events = None
        self._reply = reply

    def iter_bytes(self) -> Iterator[bytes]:
        """The scripted chunks, then the scripted break (``abort``) if any."""
        from ._errors import StreamError

        chunks = self._reply.chunks if self._reply.chunks is not None else [_reply_bytes(self._reply)]
        for chunk in chunks:
            if self.closed:
                return
            data = _to_bytes(chunk)
            if data:
                yield data
        if self._reply.abort:
            raise StreamError("MockTransport: connection broke while reading the response")

    def drain(self, grace: float = 0.0) -> None:
        """Nothing to read off a socket: just close."""
        self.close()

    def close(self) -> None:
        """Mark closed; later chunks are not yielded."""
        self.closed = True
