"""Scaling of Anthropic tool-call argument reassembly: time for n and 4n fragments.

A tool call's ``input`` arrives as many ``input_json_delta`` fragments; the stream parser
must append them (linear) rather than re-parse the buffer on every fragment (quadratic).
Linear work gives t(4n)/t(n) close to 4.

    python tests/benchmarks/bench_anthropic_tool_args.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relay_lite._sse import ServerSentEvent  # noqa: E402
from relay_lite.protocols.anthropic import StreamParser  # noqa: E402


def _events(fragments: int) -> list[ServerSentEvent]:
    def event(kind: str, **payload: Any) -> ServerSentEvent:
        return ServerSentEvent(event=kind, data=json.dumps({"type": kind, **payload}))

    document = json.dumps({"items": [{"n": i, "name": f"item {i}"} for i in range(fragments)]})
    piece = max(1, len(document) // fragments)
    parts = [document[i : i + piece] for i in range(0, len(document), piece)]
    tool_block = {"type": "tool_use", "id": "t", "name": "f", "input": {}}
    deltas = [{"type": "input_json_delta", "partial_json": p} for p in parts]
    return [
        event("message_start", message={"id": "m", "model": "x", "usage": {"input_tokens": 1}}),
        event("content_block_start", index=0, content_block=tool_block),
        *[event("content_block_delta", index=0, delta=d) for d in deltas],
        event("content_block_stop", index=0),
        event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 1}),
        event("message_stop"),
    ]


def _time(events: list[ServerSentEvent]) -> float:
    started = time.process_time()
    parser = StreamParser()
    for item in events:
        parser.feed(item)
    parser.acc.response()
    return time.process_time() - started


def run(fragments: int = 20_000, runs: int = 7) -> dict[str, Any]:
    """Median CPU seconds for n and 4n fragments, and their ratio."""
    small, large = _events(fragments), _events(4 * fragments)
    t_n = statistics.median(_time(small) for _ in range(runs))
    t_4n = statistics.median(_time(large) for _ in range(runs))
    return {"n": fragments, "4n": 4 * fragments, "t_n": t_n, "t_4n": t_4n, "ratio": t_4n / t_n, "runs": runs}


if __name__ == "__main__":
    result = run()
    print(
        f"anthropic tool args: {result['n']:,} fragments {result['t_n'] * 1000:.1f} ms, "
        f"{result['4n']:,} fragments {result['t_4n'] * 1000:.1f} ms, ratio {result['ratio']:.2f} (linear ≈ 4)"
    )
