"""A fast loopback HTTP/1.1 server for the benchmarks: it only sends pre-rendered bytes.

Run by ``run.py`` as a separate process (so it never competes with the measured client
for the GIL); it prints its port on the first line of stdout and serves until killed.

Per request it reads the head up to the blank line, reads ``Content-Length`` bytes of
body, looks for ``"stream": true`` in the body and answers with bytes rendered at start:

- ``/openai/...``        a ``chat.completion`` JSON (Content-Length, keep-alive), or a
                         20,000-chunk SSE stream (chunked, sent in 256 KiB writes)
- ``/big/...``           the same JSON, or an OpenAI SSE stream of about 100 MB
- ``/anthropic/...``     an Anthropic Messages JSON, or a 20,000-delta Messages stream
- ``/openai-ev/...``, ``/anthropic-ev/...``  the same streams in the per-event shape: one
                         HTTP chunk per SSE event, each sent by its own ``sendall`` (what
                         OpenAI, Anthropic and token-streaming servers do), instead of
                         256 KiB writes
- ``/openai-ttfc/...``, ``/anthropic-ttfc/...``  20-delta streams in the per-event shape,
                         for time-to-first-chunk samples

Run as ``bench_server.py [PORT] [--cpu N]``: ``--cpu`` pins the server to that core
(``os.sched_setaffinity``) so it never competes with the measured client for one.

Nothing is parsed or encoded per request beyond finding the end of the head, so the
server costs a few microseconds per call and is never the bottleneck.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from typing import Iterable

STREAM_CHUNKS = 20_000  # text deltas in the /openai and /anthropic streams
TTFC_CHUNKS = 20  # text deltas in the short /openai-ttfc and /anthropic-ttfc streams
BIG_STREAM_BYTES = 100 * 1024 * 1024  # size of the /big stream, about
WRITE_BYTES = 256 * 1024  # size of one socket write (and one HTTP chunk)
MODEL = "bench-model"
REPLY_TEXT = (
    "Benchmarks measure what a user waits for: the import, the first call, every call after "
    "it, and the stream. This reply is about as long as a short answer from a chat model, "
    "with usage figures and the usual fields around it, so parsing it costs what it costs "
    "in real use."
)


def _piece(i: int) -> str:
    """The text of delta ``i``: a short word, as a tokenizer would emit it."""
    return f" w{i % 997}"


def openai_json() -> bytes:
    payload = {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": REPLY_TEXT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 21,
            "completion_tokens": 58,
            "total_tokens": 79,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    return json.dumps(payload).encode()


def anthropic_json() -> bytes:
    payload = {
        "id": "msg_bench0001",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": REPLY_TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 21, "output_tokens": 58},
    }
    return json.dumps(payload).encode()


def _openai_chunk(delta: dict, finish: object = None, choices: bool = True, usage: object = None) -> bytes:
    chunk: dict = {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if choices
        else [],
    }
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def openai_stream_parts(chunks: int) -> tuple[bytes, bytes, bytes]:
    """(head, one block of ``chunks`` text deltas, tail) of an OpenAI SSE body."""
    head = _openai_chunk({"role": "assistant", "content": ""})
    block = b"".join(_openai_chunk({"content": _piece(i)}) for i in range(chunks))
    usage = {"prompt_tokens": 21, "completion_tokens": chunks, "total_tokens": 21 + chunks}
    tail = (
        _openai_chunk({}, finish="stop") + _openai_chunk({}, choices=False, usage=usage) + b"data: [DONE]\n\n"
    )
    return head, block, tail


def _anthropic_event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: ".encode() + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def anthropic_stream(chunks: int) -> bytes:
    message = {
        "id": "msg_bench0001",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 21, "output_tokens": 1},
    }
    parts = [
        _anthropic_event("message_start", {"type": "message_start", "message": message}),
        _anthropic_event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    for i in range(chunks):
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": _piece(i)},
        }
        parts.append(_anthropic_event("content_block_delta", delta))
    parts += [
        _anthropic_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _anthropic_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": chunks},
            },
        ),
        _anthropic_event("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(parts)


def frame(body: bytes) -> bytes:
    """``body`` as HTTP/1.1 chunks of WRITE_BYTES (no terminating zero chunk)."""
    out = []
    for i in range(0, len(body), WRITE_BYTES):
        piece = body[i : i + WRITE_BYTES]
        out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    return b"".join(out)


def frame_events(body: bytes) -> list[bytes]:
    """``body`` cut after each blank line, every event its own HTTP chunk (own send)."""
    events = body.split(b"\n\n")
    tail = events.pop()  # b"" when the body ends with a blank line
    out = [b"%x\r\n%s\n\n\r\n" % (len(event) + 2, event) for event in events]
    if tail:
        out.append(b"%x\r\n%s\r\n" % (len(tail), tail))
    return out


def json_response(body: bytes, request_id_header: str) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{request_id_header}: req_bench0001\r\n"
        "\r\n"
    )
    return head.encode() + body


def stream_head(request_id_header: str) -> bytes:
    return (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\n"
        f"{request_id_header}: req_bench0001\r\n"
        "\r\n"
    ).encode()


class Routes:
    """Every response, rendered once: lists of buffers to ``sendall`` in order."""

    def __init__(self) -> None:
        openai_reply = json_response(openai_json(), "x-request-id")
        head, block, tail = openai_stream_parts(STREAM_CHUNKS)
        self.openai_stream = [stream_head("x-request-id") + frame(head + block + tail) + b"0\r\n\r\n"]
        # The big stream repeats one block of 1,000 deltas; each block goes out framed.
        big_head, big_block, big_tail = openai_stream_parts(1000)
        repeats = max(1, BIG_STREAM_BYTES // len(big_block))
        framed_block = frame(big_block)
        self.big_stream: Iterable[bytes] = [
            stream_head("x-request-id") + frame(big_head),
            *([framed_block] * repeats),
            frame(big_tail) + b"0\r\n\r\n",
        ]
        self.big_chunks = repeats * 1000
        self.big_bytes = len(big_head) + repeats * len(big_block) + len(big_tail)
        self.json = {"openai": [openai_reply], "big": [openai_reply]}
        self.json["anthropic"] = [json_response(anthropic_json(), "request-id")]
        self.streams = {
            "openai": self.openai_stream,
            "big": self.big_stream,
            "anthropic": [stream_head("request-id") + frame(anthropic_stream(STREAM_CHUNKS)) + b"0\r\n\r\n"],
        }
        # The per-event shape: head, then one send per event, then the last chunk.
        ev_head, ev_block, ev_tail = openai_stream_parts(STREAM_CHUNKS)
        ev_openai = frame_events(ev_head + ev_block + ev_tail)
        ev_anthropic = frame_events(anthropic_stream(STREAM_CHUNKS))
        self.streams["openai-ev"] = [stream_head("x-request-id"), *ev_openai, b"0\r\n\r\n"]
        self.streams["anthropic-ev"] = [stream_head("request-id"), *ev_anthropic, b"0\r\n\r\n"]
        # Short per-event streams (20 deltas) for time-to-first-chunk samples.
        short_head, short_block, short_tail = openai_stream_parts(TTFC_CHUNKS)
        self.streams["openai-ttfc"] = [
            stream_head("x-request-id"),
            *frame_events(short_head + short_block + short_tail),
            b"0\r\n\r\n",
        ]
        self.streams["anthropic-ttfc"] = [
            stream_head("request-id"),
            *frame_events(anthropic_stream(TTFC_CHUNKS)),
            b"0\r\n\r\n",
        ]
        self.json["openai-ev"] = self.json["openai"]
        self.json["anthropic-ev"] = self.json["anthropic"]
        self.not_found = [b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"]

    def pick(self, path: bytes, body: bytes) -> list[bytes]:
        route = path.split(b"/", 2)[1].decode("ascii", "replace") if path.startswith(b"/") else ""
        streaming = b'"stream":true' in body or b'"stream": true' in body
        table = self.streams if streaming else self.json
        return list(table.get(route, self.not_found))


def _serve_connection(conn: socket.socket, routes: Routes) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        while True:
            end = buf.find(b"\r\n\r\n")
            while end < 0:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                end = buf.find(b"\r\n\r\n")
            head = buf[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else len(lower)].strip())
            need = end + 4 + length
            while len(buf) < need:
                data = conn.recv(max(65536, need - len(buf)))
                if not data:
                    return
                buf += data
            body = buf[end + 4 : need]
            buf = buf[need:]
            path = head.split(b" ", 2)[1] if b" " in head else b""
            for part in routes.pick(path, body):
                conn.sendall(part)
    except OSError:
        return
    finally:
        conn.close()


def main() -> int:
    argv = sys.argv[1:]
    if "--cpu" in argv:
        at = argv.index("--cpu")
        cpu = int(argv[at + 1])
        del argv[at : at + 2]
        if hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0):
            os.sched_setaffinity(0, {cpu})
    routes = Routes()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(argv[0]) if argv else 0))
    listener.listen(128)
    info = {"port": listener.getsockname()[1], "big_chunks": routes.big_chunks, "big_bytes": routes.big_bytes}
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve_connection, args=(conn, routes), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
