"""Responses API stream parsing: its cost per delta against chat completions, and its scaling.

1. The same text, cut into the same deltas, as a chat-completions chunk stream and as a
   Responses event stream (``event:`` lines, ``sequence_number``, ``item_id`` and index
   padding, as OpenAI sends them), each decoded by ``SSEDecoder`` and parsed by its
   adapter's stream parser. Timed alternately; the figure is the median of the pairwise
   ratios of process CPU time (Responses / chat). Its events are ~60% more bytes.
2. A function call whose arguments arrive in n and 4n ``function_call_arguments.delta``
   events: linear work gives t(4n)/t(n) close to 4.

    python tests/benchmarks/bench_responses_stream.py
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relay_lite._sse import SSEDecoder  # noqa: E402
from relay_lite.protocols.openai import StreamParser  # noqa: E402
from relay_lite.protocols.openai_responses import ResponsesStreamParser  # noqa: E402

COMPLETED = {
    "id": "resp_1",
    "status": "completed",
    "output": [],
    "usage": {"input_tokens": 1, "output_tokens": 2},
}


def _event(kind: str, **payload: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **payload})}\n\n".encode()


def chat_body(pieces: list[str]) -> bytes:
    def chunk(content: str) -> bytes:
        choice = {"index": 0, "delta": {"content": content}, "finish_reason": None}
        body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
        return f"data: {json.dumps(body)}\n\n".encode()

    return b"".join(chunk(p) for p in pieces) + b"data: [DONE]\n\n"


def responses_body(pieces: list[str]) -> bytes:
    at = {"item_id": "msg_68af4033f0c08193a3a0c1c3d0fa8c7e", "output_index": 0, "content_index": 0}
    deltas = b"".join(
        _event(
            "response.output_text.delta", sequence_number=i, **at, delta=p, logprobs=[], obfuscation="k2Hq"
        )
        for i, p in enumerate(pieces)
    )
    return deltas + _event("response.completed", sequence_number=len(pieces), response=COMPLETED)


def arguments_body(fragments: int) -> bytes:
    document = json.dumps({"items": [{"n": i, "name": f"item {i}"} for i in range(fragments)]})
    size = max(1, len(document) // fragments)
    item = {"id": "fc_1", "type": "function_call", "arguments": "", "call_id": "call_1", "name": "f"}
    body = _event("response.output_item.added", sequence_number=0, output_index=0, item=item)
    body += b"".join(
        _event(
            "response.function_call_arguments.delta",
            sequence_number=1,
            item_id="fc_1",
            output_index=0,
            delta=p,
        )
        for p in (document[i : i + size] for i in range(0, len(document), size))
    )
    return body + _event("response.completed", sequence_number=2, response=COMPLETED)


def parse(body: bytes, parser_type: Callable[[], Any], piece: int = 16384) -> float:
    """Process CPU seconds to decode and parse ``body`` fed in ``piece``-byte reads."""
    gc.disable()
    try:
        start = time.process_time()
        decoder, parser = SSEDecoder(), parser_type()
        for i in range(0, len(body), piece):
            for event in decoder.feed(body[i : i + piece]):
                parser.feed(event)
        assert parser.finished
        return time.process_time() - start
    finally:
        gc.enable()


def run(deltas: int = 20_000, pairs: int = 9) -> dict[str, float]:
    """The two figures: Responses/chat CPU ratio per delta, and t(4n)/t(n) for arguments."""
    pieces = [f"word{i % 10} " for i in range(deltas)]
    chat, responses = chat_body(pieces), responses_body(pieces)
    small, large = arguments_body(deltas // 4), arguments_body(deltas)
    versus: list[float] = []
    scaling: list[float] = []
    chat_times: list[float] = []
    for _ in range(pairs):
        chat_time = parse(chat, StreamParser)
        versus.append(parse(responses, ResponsesStreamParser) / chat_time)
        chat_times.append(chat_time)
        scaling.append(parse(large, ResponsesStreamParser) / parse(small, ResponsesStreamParser))
    return {
        "chat_us_per_delta": statistics.median(chat_times) / deltas * 1e6,
        "responses_vs_chat": statistics.median(versus),
        "responses_bytes_vs_chat": len(responses) / len(chat),
        "arguments_t4n_over_tn": statistics.median(scaling),
    }


if __name__ == "__main__":
    figures = run()
    print(
        f"chat completions {figures['chat_us_per_delta']:.2f} us/delta; Responses "
        f"{figures['responses_vs_chat']:.2f}x that CPU "
        f"for {figures['responses_bytes_vs_chat']:.2f}x the bytes; "
        f"function-call arguments t(4n)/t(n) = {figures['arguments_t4n_over_tn']:.2f}"
    )
