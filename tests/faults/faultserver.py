"""A raw-socket loopback server for the fault-injection suite, and socket accounting.

``FakeServer`` speaks correct HTTP through ``http.server``; the faults here need bytes that
no HTTP library would send (a status line dripped one byte at a time, a ``103`` before the
``200``, a chunked body cut inside a chunk, a reset instead of a FIN). So each accepted
connection is handed to a plain function (a *script*) that reads the request and writes
whatever bytes it likes through a ``Peer``.

Socket accounting: ``client_sockets_to(port)`` counts this process's open TCP sockets whose
remote end is ``port`` (Linux ``/proc``), which is how the suite proves that ``close()``
leaves no socket of the client open.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from relay_lite import RetryPolicy, Timeouts
from relay_lite._config import ProxySettings
from relay_lite._transport import Transport

__all__ = [
    "FAULT_TIMEOUTS",
    "NO_RETRY",
    "Peer",
    "RawRequest",
    "RawServer",
    "client_sockets_to",
    "http_head",
    "json_reply",
    "make_transport",
]

#: Short limits so that every fault ends in well under a second or two.
FAULT_TIMEOUTS = Timeouts(connect=2, read=5)
NO_RETRY = RetryPolicy(max_retries=0)


@dataclass
class RawRequest:
    """One request as the server read it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


def http_head(status: int = 200, reason: str = "OK", headers: Optional[dict[str, str]] = None) -> bytes:
    """A status line and header block, CRLF-terminated, exactly as given."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_reply(body: bytes, status: int = 200, reason: str = "OK") -> bytes:
    """A whole response with a Content-Length JSON body."""
    head = http_head(status, reason, {"Content-Type": "application/json", "Content-Length": str(len(body))})
    return head + body


def make_transport(timeouts: Timeouts = FAULT_TIMEOUTS, retry: RetryPolicy = NO_RETRY) -> Transport:
    """A transport that ignores the environment's proxies."""
    return Transport(timeouts=timeouts, retry=retry, proxies=ProxySettings())


class Peer:
    """The server's side of one connection, for a script to read from and write to."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self._stopping = stopping
        self._buffer = b""
        self.closed = False

    # -- reading ------------------------------------------------------------------------

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except OSError:
            return False
        self._buffer += data
        return bool(data)

    def read_request(self, read_body: bool = True) -> Optional[RawRequest]:
        """Read one request (Content-Length bodies); None if the client hung up first."""
        while b"\r\n\r\n" not in self._buffer:
            if not self._fill():
                return None
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if read_body:
            length = int(headers.get("content-length") or 0)
            while len(self._buffer) < length:
                if not self._fill():
                    break
            body, self._buffer = self._buffer[:length], self._buffer[length:]
        return RawRequest(method, path, headers, body)

    # -- writing ------------------------------------------------------------------------

    def send(self, data: bytes) -> bool:
        """Send ``data``; False if the client has gone away."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def drip(self, data: bytes, interval: float) -> bool:
        """Send ``data`` one byte at a time, ``interval`` seconds apart, until done or stopped."""
        for i in range(len(data)):
            if not self.send(data[i : i + 1]) or self.sleep(interval):
                return False
        return True

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True if the server is stopping (the script should return)."""
        return self._stopping.wait(seconds)

    def close(self) -> None:
        """Hang up cleanly (FIN)."""
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()

    def reset(self) -> None:
        """Hang up with a TCP reset (RST), as a crashed proxy or load balancer does."""
        if not self.closed:
            self.closed = True
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()


Script = Callable[[Peer], None]


@dataclass
class RawServer:
    """Serve each accepted connection with the next script (the last one repeats).

    A script that returns without hanging up is followed, on the same connection, by the
    last script (the server's steady behaviour). After that the server keeps reading
    until the client closes its end, so ``open_connections`` tells whether the client
    still holds a socket to it.
    """

    scripts: list[Script]
    #: SO_RCVBUF of accepted sockets; a small one makes an unread upload stall sooner.
    receive_buffer: Optional[int] = None
    accepted: int = 0
    requests: list[RawRequest] = field(default_factory=list)
    _open: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _listener: Optional[socket.socket] = None
    _port: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self._port, "RawServer was never started"
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections whose client end is still open (as the server sees it)."""
        with self._lock:
            return self._open

    def wait_until_all_closed(self, timeout: float = 2.0) -> bool:
        """True once every accepted connection is closed (by either end)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.open_connections == 0:
                return True
            time.sleep(0.01)
        return self.open_connections == 0

    def start(self) -> RawServer:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.receive_buffer is not None:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self._port = int(listener.getsockname()[1])
        listener.settimeout(0.05)
        self._listener = listener
        thread = threading.Thread(target=self._accept_loop, name="raw-fault-server", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                script = self.scripts[min(self.accepted, len(self.scripts) - 1)]
                self.accepted += 1
                self._open += 1
            thread = threading.Thread(target=self._serve, args=(sock, script), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket, script: Script) -> None:
        peer = Peer(sock, self._stopping)
        original_read = peer.read_request

        def recording_read(read_body: bool = True) -> Optional[RawRequest]:
            request = original_read(read_body)
            if request is not None:
                with self._lock:
                    self.requests.append(request)
            return request

        peer.read_request = recording_read  # type: ignore[method-assign]
        try:
            script(peer)
            if not peer.closed and script is not self.scripts[-1]:
                # A fault that leaves the connection open: the server then behaves as
                # its last script says, so a client that reuses the connection is served.
                self.scripts[-1](peer)
            # Wait for the client to hang up; what it sends now is read and dropped.
            if not peer.closed:
                sock.settimeout(0.05)
            while not peer.closed and not self._stopping.is_set():
                try:
                    if not sock.recv(65536):
                        break
                except socket.timeout:
                    continue
                except OSError:
                    break
        finally:
            peer.close()
            with self._lock:
                self._open -= 1

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _tcp_inodes_to_port(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if remote_port == port and fields[9] != "0":
                        inodes.add(fields[9])
        except FileNotFoundError:
            continue
    return inodes


def client_sockets_to(port: int) -> int:
    """How many open sockets this process holds to ``port`` on loopback (Linux only)."""
    inodes = _tcp_inodes_to_port(port)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count
