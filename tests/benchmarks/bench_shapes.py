"""Streams in two traffic shapes, relay_lite against a lean parser and raw urllib3 (issue 14).

Run by ``bench_clients.py shapes`` (and ``profile_shapes``) in a child process:

- shapes: ``bulk`` (the server writes 256 KiB HTTP chunks) and ``event`` (one HTTP chunk,
  one ``sendall``, per SSE event: what OpenAI, Anthropic and token-streaming servers send);
- providers: OpenAI ``chat.completion.chunk`` events and Anthropic ``content_block_delta``
  events, 20,000 text deltas each;
- clients, interleaved turn by turn in one process:
  ``relay_lite`` -- ``client.chat(...).stream()`` iterating ``.text()`` (every guarantee on:
  WHATWG SSE decoding, idle timeout, deadline, text kept for ``stream.response``);
  ``lean`` -- urllib3 ``preload_content=False``, ``read1``, split on blank lines,
  ``json.loads`` of each ``data:`` payload, the delta's text taken, nothing kept, nothing
  checked (the leanest parser one could write);
  ``raw`` -- the same urllib3 reads with no parsing at all (bytes counted): the I/O floor.

Time to first chunk (TTFC) is from starting the call to the first text delta
(``relay_lite``, ``lean``) or to the first body bytes (``raw``).
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any, Callable, Iterator

MODEL = "bench-model"
KEY = "sk-bench-not-a-real-key"
PROMPT = "Say something."
MAX_TOKENS = 1024
READ_BYTES = 65536

PROVIDERS = ("openai", "anthropic")
SHAPES = {"bulk": "", "event": "-ev", "ttfc": "-ttfc"}  # route suffix of bench_server.py
STREAM_SHAPES = ("bulk", "event")
VARIANTS = ("relay_lite", "lean", "raw")


def _route(base: str, provider: str, shape: str) -> str:
    return f"{base}/{provider}{SHAPES[shape]}"


def _request(http: Any, base: str, provider: str, shape: str) -> Any:
    route = _route(base, provider, shape)
    if provider == "openai":
        url = route + "/v1/chat/completions"
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + KEY}
        body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    else:
        url = route + "/v1/messages"
        headers = {"Content-Type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01"}
        body = {
            "model": MODEL,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
        }
    return http.request("POST", url, body=json.dumps(body).encode(), headers=headers, preload_content=False)


def _reads(response: Any) -> Iterator[bytes]:
    read = getattr(response, "read1", None)  # urllib3 2.x; 1.26 has only stream()
    if read is not None:
        return iter(lambda: read(READ_BYTES), b"")
    return response.stream(READ_BYTES)  # type: ignore[no-any-return]


def stream_factory(variant: str, provider: str, shape: str, base: str) -> Callable[[], Iterator[str]]:
    """A function that makes one streamed call and yields its text pieces (raw: byte reads)."""
    if variant == "relay_lite":
        import relay_lite

        if provider == "openai":
            client = relay_lite.Client.compatible(_route(base, provider, shape) + "/v1", api_key=KEY)
        else:
            client = relay_lite.Client.anthropic(api_key=KEY, base_url=_route(base, provider, shape))

        def relay_stream() -> Iterator[str]:
            with client.chat(MODEL).user(PROMPT).max_tokens(MAX_TOKENS).stream() as stream:
                yield from stream.text()

        return relay_stream

    import urllib3

    http = urllib3.PoolManager()
    if variant == "raw":

        def raw_stream() -> Iterator[str]:
            response = _request(http, base, provider, shape)
            for _ in _reads(response):
                yield ""
            response.release_conn()

        return raw_stream

    if variant != "lean":
        raise SystemExit(f"unknown variant {variant!r}")
    loads = json.loads
    if provider == "openai":

        def text_of(payload: Any) -> Any:
            choices = payload.get("choices")
            return choices[0]["delta"].get("content") if choices else None

    else:

        def text_of(payload: Any) -> Any:
            return payload["delta"].get("text") if payload["type"] == "content_block_delta" else None

    def lean_stream() -> Iterator[str]:
        response = _request(http, base, provider, shape)
        pending = b""
        for data in _reads(response):
            events = (pending + data).split(b"\n\n")
            pending = events.pop()
            for event in events:
                for line in event.split(b"\n"):
                    if line.startswith(b"data:"):
                        payload = line[5:].lstrip()
                        if payload == b"[DONE]":
                            continue
                        text = text_of(loads(payload))
                        if text:
                            yield text
        response.release_conn()

    return lean_stream


def _one(start: Callable[[], Iterator[str]]) -> dict[str, Any]:
    count = 0
    ttfc = None
    cpu = time.process_time()
    began = time.perf_counter()
    for _ in start():
        if ttfc is None:
            ttfc = time.perf_counter() - began
        count += 1
    total = time.perf_counter() - began
    return {"ttfc": ttfc, "total": total, "cpu": time.process_time() - cpu, "items": count}


def run(base: str, rounds: int, warmup: int = 1) -> dict[str, Any]:
    """Every (provider, shape, variant) stream, ``rounds`` times, variants interleaved."""
    cases = [(p, s) for p in PROVIDERS for s in STREAM_SHAPES]
    factories = {(p, s, v): stream_factory(v, p, s, base) for p, s in cases for v in VARIANTS}
    for start in factories.values():
        for _ in range(warmup):
            _one(start)
    samples: dict[str, list[dict[str, Any]]] = {f"{p}/{s}/{v}": [] for p, s in cases for v in VARIANTS}
    for r in range(rounds):
        for p, s in cases:
            k = r % len(VARIANTS)
            for v in VARIANTS[k:] + VARIANTS[:k]:
                samples[f"{p}/{s}/{v}"].append(_one(factories[(p, s, v)]))
    return {"samples": samples, "summary": summarize(samples)}


def _first(start: Callable[[], Iterator[str]]) -> float:
    """Seconds from starting a (short) stream to its first item; the rest is read too."""
    began = time.perf_counter()
    first = None
    for _ in start():
        if first is None:
            first = time.perf_counter() - began
    assert first is not None
    return first


def run_ttfc(base: str, rounds: int, n: int) -> dict[str, Any]:
    """Time to first chunk of short per-event streams: ``n`` per variant per round, interleaved.

    Each round's figure is the median of its ``n`` samples; ratios are per round, paired.
    """
    factories = {(p, v): stream_factory(v, p, "ttfc", base) for p in PROVIDERS for v in VARIANTS}
    for start in factories.values():
        for _ in range(max(5, n // 10)):
            _first(start)
    rows: dict[str, list[float]] = {f"{p}/{v}": [] for p in PROVIDERS for v in VARIANTS}
    for r in range(rounds):
        for p in PROVIDERS:
            k = r % len(VARIANTS)
            for v in VARIANTS[k:] + VARIANTS[:k]:
                start = factories[(p, v)]
                rows[f"{p}/{v}"].append(statistics.median(_first(start) for _ in range(n)))
    med = statistics.median
    summary: dict[str, Any] = {}
    for p in PROVIDERS:
        ours = rows[f"{p}/relay_lite"]
        summary[p] = {
            **{f"{v}_ms": med(rows[f"{p}/{v}"]) * 1e3 for v in VARIANTS},
            "vs_lean": med(a / b for a, b in zip(ours, rows[f"{p}/lean"])),
            "vs_raw": med(a / b for a, b in zip(ours, rows[f"{p}/raw"])),
        }
    return {"rounds": rounds, "n": n, "samples": rows, "summary": summary}


def summarize(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per case: medians, and paired (same round) ratios relay_lite / lean and / raw."""
    med = statistics.median
    out: dict[str, Any] = {}
    cases = sorted({key.rsplit("/", 1)[0] for key in samples})
    for case in cases:
        ours = samples[f"{case}/relay_lite"]
        row: dict[str, Any] = {"chunks": ours[0]["items"] if ours else 0}
        for v in VARIANTS:
            runs = samples[f"{case}/{v}"]
            row[v] = {
                "total_ms": med(r["total"] for r in runs) * 1e3,
                "cpu_ms": med(r["cpu"] for r in runs) * 1e3,
                "ttfc_ms": med(r["ttfc"] for r in runs) * 1e3,
                "chunks_per_s": row["chunks"] / med(r["total"] for r in runs),
            }
        for base in ("lean", "raw"):
            theirs = samples[f"{case}/{base}"]
            # Throughput ratio: their time / ours (same number of deltas); TTFC: ours / theirs.
            row[f"vs_{base}"] = med(b["total"] / a["total"] for a, b in zip(ours, theirs))
            row[f"cpu_vs_{base}"] = med(b["cpu"] / a["cpu"] for a, b in zip(ours, theirs))
            row[f"ttfc_vs_{base}"] = med(a["ttfc"] / b["ttfc"] for a, b in zip(ours, theirs))
        out[case] = row
    return out


def profile(base: str, provider: str, shape: str, top: int = 25) -> dict[str, Any]:
    """cProfile of one relay_lite stream and one lean stream of a case (after a warm-up)."""
    import cProfile

    from bench_clients import profile_summary

    out = {}
    for variant in ("lean", "relay_lite"):
        start = stream_factory(variant, provider, shape, base)
        _one(start)
        prof = cProfile.Profile()
        prof.enable()
        count = sum(1 for _ in start())
        prof.disable()
        out[variant] = profile_summary(prof, count, top=top)
    return out
